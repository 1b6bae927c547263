// Parsing a rule string (`/user/<int(signed=True):id>/posts/`) into segments. Errors are thrown at
// registration and name the rule and the fix (LESSONS 23).

import { type Converter, type ConverterFactory, parseConverterArgs } from "./converters.ts";

/** A `<converter(args):name>` part. */
export interface VariablePart {
  readonly name: string;
  readonly converterName: string;
  readonly converter: Converter;
  /** Identifies the converter with its arguments (rules sharing it share a matcher state). */
  readonly key: string;
}

/** One `/`-separated segment of a rule: static text and variables, alternating. */
export interface Segment {
  /** Static text and variables in order; static pieces are never empty, two variables never touch. */
  readonly pieces: readonly (string | VariablePart)[];
  /** Static segments only: the text (`""` for the trailing slash). */
  readonly text: string | undefined;
  /** Identity for sharing matcher states between rules. */
  readonly key: string;
  /** The segment holds a slash-spanning converter (`path`). */
  readonly slashes: boolean;
}

export interface ParsedRule {
  readonly rule: string;
  /** The segments after the leading `/`; a rule ending in `/` ends with a static `""` segment. */
  readonly segments: readonly Segment[];
  /** Parameter names in order of appearance. */
  readonly names: readonly string[];
}

/** Thrown for a malformed rule; the message names the rule and how to fix it. */
export class RuleSyntaxError extends Error {
  readonly rule: string;
  constructor(rule: string, message: string) {
    super(`Rule ${JSON.stringify(rule)}: ${message}`);
    this.name = "RuleSyntaxError";
    this.rule = rule;
  }
}

function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}
function isIdent(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39);
}

export function parseRule(rule: string, converters: ReadonlyMap<string, ConverterFactory>): ParsedRule {
  const fail = (msg: string): never => {
    throw new RuleSyntaxError(rule, msg);
  };
  if (typeof rule !== "string" || rule.charCodeAt(0) !== 0x2f) {
    fail(`a rule must start with "/"; write ${JSON.stringify(`/${String(rule)}`)}`);
  }
  const segments: Segment[] = [];
  const names: string[] = [];
  let pieces: (string | VariablePart)[] = [];
  let text = "";
  const endSegment = (last: boolean) => {
    if (text !== "") pieces.push(text);
    text = "";
    if (pieces.length === 0) {
      if (!last)
        fail(`it has an empty segment ("//"); write ${JSON.stringify(rule.replace(/\/{2,}/g, "/"))}`);
      segments.push({ pieces: [], text: "", key: "s", slashes: false });
    } else if (pieces.length === 1 && typeof pieces[0] === "string") {
      segments.push({ pieces, text: pieces[0], key: `s${pieces[0]}`, slashes: false });
    } else {
      const vars = pieces.filter((p): p is VariablePart => typeof p !== "string");
      const slashes = vars.some((v) => v.converter.slashes === true);
      if (slashes) {
        if (vars.length > 1) {
          fail(
            `a slash-spanning converter (like path) must be the only parameter in its segment; ` +
              `put the others in their own segments`,
          );
        }
      }
      const key = pieces.map((p) => (typeof p === "string" ? `s${p}` : `v${p.key}`)).join("\u0000");
      segments.push({ pieces, text: undefined, key, slashes });
    }
    pieces = [];
  };
  let i = 1;
  const n = rule.length;
  while (i < n) {
    const c = rule.charCodeAt(i);
    if (c === 0x2f) {
      endSegment(false);
      i++;
      continue;
    }
    if (c === 0x3e)
      fail(`">" at position ${i} has no "<"; a parameter is written "<name>" or "<converter:name>"`);
    if (c !== 0x3c) {
      text += rule[i];
      i++;
      continue;
    }
    // a variable: <name>, <conv:name>, <conv(args):name>
    const open = i;
    if (text !== "") pieces.push(text);
    else if (pieces.length > 0 && typeof pieces[pieces.length - 1] !== "string") {
      const prev = pieces[pieces.length - 1] as VariablePart;
      fail(
        `the parameter after "${prev.name}" touches it, so the split between them is ambiguous; ` +
          `put static text between them (e.g. "<${prev.name}>-<other>") or a "/"`,
      );
    }
    text = "";
    i++;
    const readIdent = (what: string): string => {
      const s = i;
      if (i < n && isIdentStart(rule.charCodeAt(i))) {
        i++;
        while (i < n && isIdent(rule.charCodeAt(i))) i++;
      }
      if (i === s) {
        const close = rule.indexOf(">", s);
        const got = close === -1 ? rule.slice(s) : rule.slice(s, close);
        if (close === -1 && rule.indexOf("<", s) === -1 && got.indexOf("/") === -1 && got !== "") {
          fail(`the "<" at position ${open} is never closed; write "<${got}>"`);
        }
        fail(
          `expected a ${what} at position ${s} (letters, digits and "_", not starting with a digit), ` +
            `got ${JSON.stringify(got)}; a parameter is written "<name>" or "<converter:name>"`,
        );
      }
      return rule.slice(s, i);
    };
    let convName = "default";
    let argsText = "";
    let name = readIdent("parameter or converter name");
    if (rule[i] === "(" || rule[i] === ":") {
      convName = name;
      if (rule[i] === "(") {
        const argStart = i + 1;
        let j = argStart;
        let quote = "";
        for (; j < n; j++) {
          const ch = rule[j]!;
          if (quote !== "") {
            if (ch === quote) quote = "";
          } else if (ch === '"' || ch === "'") quote = ch;
          else if (ch === ")") break;
        }
        if (j >= n)
          fail(`the arguments of converter "${convName}" at position ${i} are never closed with ")"`);
        argsText = rule.slice(argStart, j);
        i = j + 1;
      }
      if (rule[i] !== ":") {
        fail(
          `expected ":" after converter "${convName}${argsText === "" ? "" : `(${argsText})`}" at position ${i}; write "<${convName}:name>"`,
        );
      }
      i++;
      name = readIdent("parameter name");
    }
    if (rule[i] !== ">") {
      fail(
        `the "<" at position ${open} is not closed by ">" after "${name}"; write "<${convName === "default" ? "" : `${convName}:`}${name}>"`,
      );
    }
    i++;
    if (name === "__proto__") fail(`"__proto__" can't be a parameter name; choose another`);
    if (names.includes(name)) fail(`the parameter "${name}" is used twice; rename one`);
    const factory = converters.get(convName);
    if (factory === undefined) {
      fail(
        `unknown converter "${convName}"; known: ${[...converters.keys()].filter((k) => k !== "default").join(", ")}. ` +
          `Register it first with router.addConverter(${JSON.stringify(convName)}, factory)`,
      );
    }
    let converter: Converter;
    try {
      converter = factory!(parseConverterArgs(argsText), rule);
    } catch (err) {
      fail(`converter "${convName}(${argsText})": ${err instanceof Error ? err.message : String(err)}`);
    }
    names.push(name);
    pieces.push({
      name,
      converterName: convName,
      converter: converter!,
      key: `${convName}(${argsText.trim()})`,
    });
  }
  endSegment(true);
  return { rule, segments, names };
}
