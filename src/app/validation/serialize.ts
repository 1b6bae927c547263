// A response body written by its JSON Schema, fast-json-stringify's idea: the schema is compiled once
// into a function that writes the declared fields and nothing else (no accidental leaks), without
// JSON.stringify's walk over every key. Supported: objects with `properties` (closed: undeclared keys
// are dropped), arrays with `items`, string/number/integer/boolean/null, nullable types (`["string",
// "null"]`, `anyOf [X, {type:"null"}]`), enum/const, and `{}` (anything: JSON.stringify). Anything else
// (`$ref`, other unions, open maps) → undefined, and the route checks its result with the validator
// instead. A value of the wrong type throws (a 500 naming the field: the handler broke its schema).

import type { JsonSchema } from "./json-schema.ts";

export type Serializer = (value: unknown) => string;

class Unsupported extends Error {}

/** The compiled writer for a schema, or undefined when the schema uses what this writer can't do. */
export function compileSerializer(schema: JsonSchema): Serializer | undefined {
  const ctx = { n: 0, helpers: [] as unknown[] };
  let body: string;
  try {
    body = gen(schema, "v", "(body)", ctx, 0);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  try {
    const make = new Function(
      "bad",
      "num",
      "str",
      `"use strict"; return function serialize(v) { let s = ""; ${body} return s; };`,
    ) as (bad: typeof badValue, num: typeof numberText, str: typeof stringText) => Serializer;
    return make(badValue, numberText, stringText);
  } catch {
    return undefined; // code generation is disallowed: the validator path
  }
}

function badValue(where: string, expected: string, v: unknown): never {
  const got = v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
  throw new TypeError(
    `The response does not match its schema: ${where} is ${got}, the schema says ${expected}. ` +
      "Fix the handler's return value or the route's `response` schema.",
  );
}

/**
 * A string as JSON: short strings with nothing to escape (no control character, quote, backslash or
 * surrogate) are quoted as they are; anything else goes through JSON.stringify (which escapes lone
 * surrogates too).
 */
function stringText(v: string): string {
  const n = v.length;
  if (n > 64) return JSON.stringify(v);
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(v);
  }
  return `"${v}"`;
}

function numberText(v: number): string {
  return Number.isFinite(v) ? `${v}` : "null";
}

const lit = (s: string) => JSON.stringify(s);

function nonNull(s: JsonSchema): { inner: JsonSchema; nullable: boolean } {
  const t = s.type;
  if (Array.isArray(t)) {
    const rest = t.filter((x) => x !== "null");
    if (rest.length === t.length) return { inner: s, nullable: false };
    if (rest.length !== 1) throw new Unsupported();
    return { inner: { ...s, type: rest[0] }, nullable: true };
  }
  const alts = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(alts) && alts.length === 2) {
    const i = alts.findIndex((a) => a.type === "null");
    if (i !== -1) return { inner: alts[1 - i]!, nullable: true };
  }
  return { inner: s, nullable: false };
}

/** Code that appends the JSON of the value in variable `v` to `s`. */
function gen(schema: JsonSchema, v: string, where: string, ctx: { n: number }, depth: number): string {
  if (depth > 32) throw new Unsupported();
  if (typeof schema !== "object" || schema === null) throw new Unsupported();
  if ("$ref" in schema || "allOf" in schema || "not" in schema || "if" in schema) throw new Unsupported();
  const { inner, nullable } = nonNull(schema);
  if ((inner.anyOf ?? inner.oneOf) !== undefined) throw new Unsupported();
  const code = genNonNull(inner, v, where, ctx, depth);
  return nullable ? `if (${v} === null) s += "null"; else { ${code} }` : code;
}

function genNonNull(s: JsonSchema, v: string, where: string, ctx: { n: number }, depth: number): string {
  const w = lit(where);
  if (s.enum !== undefined || s.const !== undefined) return `s += JSON.stringify(${v});`;
  const t = s.type;
  if (t === undefined) {
    if (Object.keys(s).filter((k) => k !== "description" && k !== "title").length > 0)
      throw new Unsupported();
    return `{ const j = JSON.stringify(${v}); s += j === undefined ? "null" : j; }`;
  }
  switch (t) {
    case "string":
      return `if (typeof ${v} === "string") s += str(${v}); else if (${v} instanceof Date) s += JSON.stringify(${v}.toISOString()); else bad(${w}, "a string", ${v});`;
    case "number":
      return `if (typeof ${v} === "number") s += num(${v}); else bad(${w}, "a number", ${v});`;
    case "integer":
      return `if (Number.isInteger(${v})) s += "" + ${v}; else if (typeof ${v} === "bigint") s += ${v}.toString(); else bad(${w}, "an integer", ${v});`;
    case "boolean":
      return `if (${v} === true) s += "true"; else if (${v} === false) s += "false"; else bad(${w}, "a boolean", ${v});`;
    case "null":
      return `s += "null";`;
    case "array": {
      const items = s.items as JsonSchema | undefined;
      if (items === undefined || Array.isArray(items) || s.prefixItems !== undefined) throw new Unsupported();
      const a = `a${ctx.n++}`;
      const i = `i${ctx.n++}`;
      const x = `x${ctx.n++}`;
      return (
        `if (!Array.isArray(${v})) bad(${w}, "an array", ${v}); s += "["; ` +
        `for (let ${i} = 0, ${a} = ${v}; ${i} < ${a}.length; ${i}++) { if (${i} !== 0) s += ","; const ${x} = ${a}[${i}]; ` +
        `${gen(items, x, `${where}[]`, ctx, depth + 1)} } s += "]";`
      );
    }
    case "object": {
      const props = s.properties as Record<string, JsonSchema> | undefined;
      const extra = s.additionalProperties;
      if (props === undefined || Object.keys(props).length === 0) {
        if (extra === false)
          return `if (typeof ${v} !== "object" || ${v} === null) bad(${w}, "an object", ${v}); s += "{}";`;
        throw new Unsupported(); // an open map: not ours to filter
      }
      if (extra !== undefined && extra !== false) throw new Unsupported();
      if (s.patternProperties !== undefined) throw new Unsupported();
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      const o = `o${ctx.n++}`;
      const c = `c${ctx.n++}`;
      let code = `const ${o} = ${v}; if (typeof ${o} !== "object" || ${o} === null || Array.isArray(${o})) bad(${w}, "an object", ${o}); s += "{"; let ${c} = false; `;
      for (const [name, sub] of Object.entries(props)) {
        const x = `x${ctx.n++}`;
        const path = where === "(body)" ? name : `${where}.${name}`;
        const value = gen(sub, x, path, ctx, depth + 1);
        const key = `${lit(name)}:`;
        code +=
          `{ const ${x} = ${o}[${lit(name)}]; if (${x} !== undefined) { s += ${c} ? ${lit(`,${key}`)} : ${lit(key)}; ${c} = true; ${value} }` +
          (required.has(name) ? ` else bad(${lit(path)}, "required", ${x}); }` : " }");
      }
      return `${code}s += "}";`;
    }
    default:
      throw new Unsupported();
  }
}
