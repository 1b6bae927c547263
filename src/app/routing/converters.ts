// Converters: what a `<converter(args):name>` part matches, what value it gives the handler, and how a
// value is written back into a URL. The built-in checks are hand-written scans (linear, no regex, no
// backtracking: LESSONS 4).

import { hasDotSegment } from "./encoding.ts";

/** A value in a converter's argument list: `int(fixed_digits=4, signed=True)`, `any(a, "b c")`. */
export type ConverterArg = string | number | boolean | null;

/** Parsed converter arguments, Werkzeug-style: positional values and `name=value` pairs. */
export interface ConverterArgs {
  readonly positional: readonly ConverterArg[];
  /** The positional arguments as written, unquoted but not converted (`any(1.0)` keeps `1.0`). */
  readonly rawPositional: readonly string[];
  readonly named: Readonly<Record<string, ConverterArg>>;
}

/**
 * One converter instance (the converter of one rule part, with its arguments applied).
 * Werkzeug's `to_python` is `parse`, `to_url` is `format`.
 */
export interface Converter {
  /**
   * Checks a decoded piece of the path and converts it. Return `undefined` when it doesn't match (the
   * router then tries the next rule). Must be linear in the length of `text`; it is never empty.
   */
  parse(text: string): unknown;
  /**
   * Writes a value as URL text (before percent-encoding). Return `undefined` when the value can't be
   * expressed (the rule is then not used to build). The result must be accepted by `parse`.
   */
  format(value: unknown): string | undefined;
  /** Order among alternatives at one position: lower first (int/float 50, string 100, path 200). */
  readonly weight: number;
  /** True when the converter spans slashes, like `path`. At most one per rule, alone in its segment. */
  readonly slashes?: boolean;
}

/** Makes a converter from the arguments written in the rule. Throw an Error to reject them. */
export type ConverterFactory = (args: ConverterArgs, rule: string) => Converter;

/** A converter written as a pattern; see `patternConverter`. */
export interface PatternConverterOptions {
  /** Must match the whole text (it is anchored for you). Keep it linear: no nested quantifiers. */
  pattern: RegExp;
  /** Texts longer than this never match, bounding the regex's work. Default 256. */
  maxLength?: number;
  parse?: (text: string) => unknown;
  format?: (value: unknown) => string | undefined;
  weight?: number;
  slashes?: boolean;
}

/**
 * A converter from a regular expression, for custom converters: `router.addConverter("hex", () =>
 * patternConverter({ pattern: /[0-9a-f]+/, parse: (s) => BigInt(`0x${s}`) }))`.
 */
export function patternConverter(options: PatternConverterOptions): Converter {
  const flags = options.pattern.flags.replace(/[gy]/g, "");
  const re = new RegExp(`^(?:${options.pattern.source})$`, flags);
  const max = options.maxLength ?? 256;
  const parse = options.parse ?? ((s: string) => s);
  return {
    parse: (text) => (text.length <= max && re.test(text) ? parse(text) : undefined),
    format: options.format ?? ((v) => (v === null || v === undefined ? undefined : String(v))),
    weight: options.weight ?? 100,
    slashes: options.slashes ?? false,
  };
}

// ---- argument parsing -------------------------------------------------------------------------

/** Parses `length=3`, `signed=True`, `a, 'b', 2.5`. Throws a message naming what is wrong. */
export function parseConverterArgs(src: string): ConverterArgs {
  const positional: ConverterArg[] = [];
  const rawPositional: string[] = [];
  const named: Record<string, ConverterArg> = Object.create(null);
  let i = 0;
  const n = src.length;
  const skipWs = () => {
    while (i < n && (src[i] === " " || src[i] === "\t")) i++;
  };
  skipWs();
  if (i === n) return { positional, rawPositional, named };
  for (;;) {
    skipWs();
    let key: string | undefined;
    const idStart = i;
    while (i < n && /[A-Za-z0-9_]/.test(src[i]!)) i++;
    const ident = src.slice(idStart, i);
    skipWs();
    if (ident !== "" && src[i] === "=" && /^[A-Za-z_]/.test(ident)) {
      key = ident;
      i++;
      skipWs();
    } else {
      i = idStart;
    }
    let value: ConverterArg;
    let raw: string;
    const q = src[i];
    if (q === '"' || q === "'") {
      const end = src.indexOf(q, i + 1);
      if (end === -1) throw new Error(`unterminated quote in converter arguments "${src}"`);
      value = raw = src.slice(i + 1, end);
      i = end + 1;
    } else {
      const start = i;
      while (i < n && src[i] !== ",") i++;
      raw = src.slice(start, i).trim();
      if (raw === "") throw new Error(`empty value in converter arguments "${src}"`);
      value = literal(raw);
    }
    if (key === undefined) {
      if (Object.keys(named).length > 0) {
        throw new Error(`positional argument after a named one in converter arguments "${src}"`);
      }
      positional.push(value);
      rawPositional.push(raw);
    } else {
      if (key in named) throw new Error(`argument "${key}" given twice in "${src}"`);
      named[key] = value;
    }
    skipWs();
    if (i === n) break;
    if (src[i] !== ",") throw new Error(`expected "," at "${src.slice(i)}" in converter arguments "${src}"`);
    i++;
  }
  return { positional, rawPositional, named };
}

function literal(raw: string): ConverterArg {
  if (raw === "True" || raw === "true") return true;
  if (raw === "False" || raw === "false") return false;
  if (raw === "None" || raw === "null") return null;
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

// ---- helpers for the built-ins ----------------------------------------------------------------

type Getter = (name: string, pos: number) => ConverterArg | undefined;

function argReader(args: ConverterArgs, conv: string, allowed: readonly string[]): Getter {
  for (const k of Object.keys(args.named)) {
    if (!allowed.includes(k)) {
      throw new Error(
        `${conv}() has no argument "${k}"; it takes ${allowed.length === 0 ? "none" : allowed.join(", ")}`,
      );
    }
  }
  if (args.positional.length > allowed.length) {
    throw new Error(`${conv}() takes at most ${allowed.length} argument(s), got ${args.positional.length}`);
  }
  return (name, pos) => {
    const v = args.named[name];
    if (v !== undefined) {
      if (pos < args.positional.length) throw new Error(`${conv}(): "${name}" given twice`);
      return v;
    }
    return args.positional[pos];
  };
}

function optInt(get: Getter, conv: string, name: string, pos: number, min: number): number | undefined {
  const v = get(name, pos);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    throw new Error(`${conv}(${name}=...) must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optNum(get: Getter, conv: string, name: string, pos: number): number | undefined {
  const v = get(name, pos);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(`${conv}(${name}=...) must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optBool(get: Getter, conv: string, name: string, pos: number): boolean {
  const v = get(name, pos);
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean")
    throw new Error(`${conv}(${name}=...) must be True or False, got ${JSON.stringify(v)}`);
  return v;
}

/** Length in code points (what Werkzeug counts), without allocating. */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  return undefined;
}

// ---- the built-ins ----------------------------------------------------------------------------

/** `string` (the default): one segment; `minlength`, `maxlength`, `length` in characters. */
export const stringConverter: ConverterFactory = (args) => {
  const get = argReader(args, "string", ["minlength", "maxlength", "length"]);
  const minlength = optInt(get, "string", "minlength", 0, 1);
  const maxlength = optInt(get, "string", "maxlength", 1, 1);
  const length = optInt(get, "string", "length", 2, 1);
  if (length !== undefined && (minlength !== undefined || maxlength !== undefined)) {
    throw new Error("string(): give either length or minlength/maxlength");
  }
  if (minlength !== undefined && maxlength !== undefined && minlength > maxlength) {
    throw new Error(`string(): minlength ${minlength} is greater than maxlength ${maxlength}`);
  }
  const lo = length ?? minlength ?? 1;
  const hi = length ?? maxlength ?? Number.POSITIVE_INFINITY;
  const bounded = lo > 1 || hi !== Number.POSITIVE_INFINITY;
  const fits = (s: string) => {
    if (!bounded) return true;
    if (s.length < lo || s.length > hi * 2) return false; // cheap bounds: a code point is 1-2 units
    const cp = codePoints(s);
    return cp >= lo && cp <= hi;
  };
  return {
    parse: (s) => (fits(s) ? s : undefined),
    format: (v) => {
      const s = scalarText(v);
      // A value with `/` builds with the slash as is, as Werkzeug's to_url (`/s/a/b` for "a/b"); one
      // that would make a `.` or `..` segment (a link a client resolves elsewhere) does not build.
      return s !== undefined && s !== "" && fits(s) && !(s.indexOf("/") !== -1 && hasDotSegment(s))
        ? s
        : undefined;
    },
    weight: 100,
  };
};

/** `path`: like string but spans slashes; never empty, never starts with `/`. */
export const pathConverter: ConverterFactory = (args) => {
  argReader(args, "path", []);
  const ok = (s: string) => s.length > 0 && s.charCodeAt(0) !== 0x2f;
  return {
    parse: (s) => (ok(s) ? s : undefined),
    format: (v) => {
      const s = scalarText(v);
      return s !== undefined && ok(s) ? s : undefined;
    },
    weight: 200,
    slashes: true,
  };
};

/** `any(a, b, c)`: one of the listed values, exactly. */
export const anyConverter: ConverterFactory = (args) => {
  if (Object.keys(args.named).length > 0)
    throw new Error("any() takes only positional choices: any(a, b, c)");
  if (args.positional.length === 0) throw new Error("any() needs at least one choice: any(a, b, c)");
  const choices = new Set<string>();
  for (const s of args.rawPositional) {
    if (s === "" || s.indexOf("/") !== -1)
      throw new Error(`any(): the choice ${JSON.stringify(s)} can't be a segment`);
    choices.add(s);
  }
  return {
    parse: (s) => (choices.has(s) ? s : undefined),
    format: (v) => {
      const s = scalarText(v);
      return s !== undefined && choices.has(s) ? s : undefined;
    },
    weight: 100,
  };
};

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** `int`: ASCII digits; `fixed_digits`, `min`, `max`, `signed`. Beyond `MAX_SAFE_INTEGER` never matches. */
export const intConverter: ConverterFactory = (args) => {
  const get = argReader(args, "int", ["fixed_digits", "min", "max", "signed"]);
  const fixed = optInt(get, "int", "fixed_digits", 0, 0) ?? 0;
  const min = optNum(get, "int", "min", 1);
  const max = optNum(get, "int", "max", 2);
  const signed = optBool(get, "int", "signed", 3);
  const inRange = (v: number) => (min === undefined || v >= min) && (max === undefined || v <= max);
  return {
    parse: (s) => {
      let i = 0;
      let neg = false;
      if (signed && s.charCodeAt(0) === 0x2d) {
        neg = true;
        i = 1;
      }
      const digits = s.length - i;
      if (digits === 0 || (fixed !== 0 && digits !== fixed)) return undefined;
      let v = 0;
      for (; i < s.length; i++) {
        const d = s.charCodeAt(i) - 0x30;
        if (d < 0 || d > 9) return undefined;
        v = v * 10 + d;
        if (v > MAX_SAFE) return undefined;
      }
      if (neg) v = v === 0 ? 0 : -v;
      return inRange(v) ? v : undefined;
    },
    format: (value) => {
      let v: number;
      if (typeof value === "number") v = value;
      else if (typeof value === "bigint") v = Number(value);
      else if (typeof value === "string" && /^-?\d{1,16}$/.test(value)) v = Number(value);
      else return undefined;
      if (!Number.isSafeInteger(v) || (v < 0 && !signed) || !inRange(v)) return undefined;
      const neg = v < 0;
      let s = String(neg ? -v : v);
      if (fixed !== 0) {
        if (s.length > fixed) return undefined;
        s = s.padStart(fixed, "0");
      }
      return neg ? `-${s}` : s;
    },
    weight: 50,
  };
};

/** `float`: `digits.digits` (as Werkzeug: `1.5`, not `1` or `1e3`); `min`, `max`, `signed`. */
export const floatConverter: ConverterFactory = (args) => {
  const get = argReader(args, "float", ["min", "max", "signed"]);
  const min = optNum(get, "float", "min", 0);
  const max = optNum(get, "float", "max", 1);
  const signed = optBool(get, "float", "signed", 2);
  const inRange = (v: number) => (min === undefined || v >= min) && (max === undefined || v <= max);
  return {
    parse: (s) => {
      let i = signed && s.charCodeAt(0) === 0x2d ? 1 : 0;
      const intStart = i;
      while (i < s.length && isDigit(s.charCodeAt(i))) i++;
      if (i === intStart || s.charCodeAt(i) !== 0x2e) return undefined;
      i++;
      const fracStart = i;
      while (i < s.length && isDigit(s.charCodeAt(i))) i++;
      if (i === fracStart || i !== s.length) return undefined;
      const v = Number(s);
      return Number.isFinite(v) && inRange(v) ? v : undefined;
    },
    format: (value) => {
      const v = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
      if (!Number.isFinite(v) || (v < 0 && !signed) || !inRange(v)) return undefined;
      return decimalText(v);
    },
    weight: 50,
  };
};

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** `2` → `2.0`, `1e-7` → `0.0000001`, `1e21` → `1000000000000000000000.0`: never an exponent. */
export function decimalText(v: number): string {
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  let s = String(a);
  const e = s.indexOf("e");
  if (e !== -1) {
    const mant = s.slice(0, e).replace(".", "");
    const dot = s.indexOf(".");
    const intLen = (dot === -1 || dot > e ? e : dot) + Number(s.slice(e + 1));
    if (intLen <= 0) s = `0.${"0".repeat(-intLen)}${mant}`;
    else if (intLen >= mant.length) s = `${mant}${"0".repeat(intLen - mant.length)}`;
    else s = `${mant.slice(0, intLen)}.${mant.slice(intLen)}`;
  }
  if (s.indexOf(".") === -1) s += ".0";
  return neg && a !== 0 ? `-${s}` : s;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function uuidShape(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!isHex(c)) return false;
  }
  return true;
}

/** `uuid`: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex, any case; the value is lowercased. */
export const uuidConverter: ConverterFactory = (args) => {
  argReader(args, "uuid", []);
  return {
    parse: (s) => (uuidShape(s) ? s.toLowerCase() : undefined),
    format: (v) => (typeof v === "string" && uuidShape(v) ? v.toLowerCase() : undefined),
    weight: 100,
  };
};

/** The converters every router starts with. */
export const BUILTIN_CONVERTERS: Readonly<Record<string, ConverterFactory>> = {
  default: stringConverter,
  string: stringConverter,
  path: pathConverter,
  any: anyConverter,
  int: intConverter,
  float: floatConverter,
  uuid: uuidConverter,
};
