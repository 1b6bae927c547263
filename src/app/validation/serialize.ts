// A response body written by its JSON Schema, fast-json-stringify's idea: the schema is compiled once
// into a function that writes the declared fields and nothing else (no accidental leaks), without
// JSON.stringify's walk over every key. Supported:
// - objects with `properties` (closed: undeclared keys are dropped unless `additionalProperties` says
//   what they may be: a schema, `{}`/true for anything); open maps (`additionalProperties` alone, a
//   record), keys limited by `propertyNames` `enum`/`const`;
// - arrays with `items`, tuples (`prefixItems`, extra items by `items` or dropped when it is false);
// - string/number/integer/boolean/null, enum/const (the value must be one of them), `{}` (anything:
//   JSON.stringify);
// - unions: `anyOf`/`oneOf` and type lists: the value is written by the first alternative it matches
//   (its type, required fields, consts and enums, recursively), so only that alternative's fields;
// - `$ref` to the root (`#`) or to `$defs`/`definitions` (a function per target: recursion works).
// Anything else (`allOf`, `not`, `if`, `patternProperties`, other `propertyNames`) → undefined, and the
// route checks its result with the validator instead. A value that fits nothing throws (a 500 naming
// the field: the handler broke its schema).

import type { JsonSchema } from "./json-schema.ts";

export type Serializer = (value: unknown) => string;

class Unsupported extends Error {}

interface Ctx {
  n: number;
  root: JsonSchema;
  /** A `$ref` target → the name of its function. */
  refs: Map<object, string>;
  /** The functions of `$ref` targets. */
  fns: string[];
  /** Values the code reads as `H[i]` (sets of names, union alternatives). */
  helpers: unknown[];
}

/** Keys that say nothing about how a value is written. */
const ANNOTATIONS = new Set([
  "description",
  "title",
  "examples",
  "default",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$comment",
  "$id",
  "$schema",
  "$defs",
  "definitions",
  "format",
  "id",
]);

/** The compiled writer for a schema, or undefined when the schema uses what this writer can't do. */
export function compileSerializer(schema: JsonSchema): Serializer | undefined {
  const ctx: Ctx = { n: 0, root: schema, refs: new Map(), fns: [], helpers: [] };
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
      "pick",
      "same",
      "H",
      `"use strict"; ${ctx.fns.join("\n")}\nreturn function serialize(v) { let s = ""; ${body} return s; };`,
    ) as (
      bad: typeof badValue,
      num: typeof numberText,
      str: typeof stringText,
      pick: (alts: readonly unknown[], v: unknown) => number,
      same: typeof sameValue,
      H: unknown[],
    ) => Serializer;
    const root = schema;
    const pick = (alts: readonly unknown[], v: unknown): number => {
      for (let i = 0; i < alts.length; i++) if (matches(alts[i], v, root, 0)) return i;
      return -1;
    };
    return make(badValue, numberText, stringText, pick, sameValue, ctx.helpers);
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

/** Equal as JSON values (for const and enum). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

const lit = (s: string) => JSON.stringify(s);

function isSchemaObject(s: unknown): s is JsonSchema {
  return typeof s === "object" && s !== null && !Array.isArray(s);
}

/** The target of a local `$ref` (`#`, `#/$defs/x`, any JSON pointer into the root), else undefined. */
function resolveRef(root: JsonSchema, ref: unknown): unknown {
  if (typeof ref !== "string" || !ref.startsWith("#")) return undefined;
  if (ref === "#") return root;
  if (!ref.startsWith("#/")) return undefined;
  let at: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (!isSchemaObject(at) || !Object.hasOwn(at, key)) return undefined;
    at = at[key];
  }
  return at;
}

function typeMatches(t: unknown, v: unknown): boolean {
  switch (t) {
    case "string":
      return typeof v === "string" || v instanceof Date;
    case "number":
      return typeof v === "number";
    case "integer":
      return Number.isInteger(v) || typeof v === "bigint";
    case "boolean":
      return typeof v === "boolean";
    case "null":
      return v === null;
    case "array":
      return Array.isArray(v);
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    default:
      return false;
  }
}

/**
 * Whether a value fits a schema, for picking a union's alternative: types, required fields, const and
 * enum, properties, items and `$ref`s, recursively (not string lengths, ranges or patterns). Fields a
 * closed object doesn't declare don't stop a match: they are dropped when it is written.
 */
function matches(s: unknown, v: unknown, root: JsonSchema, depth: number): boolean {
  if (s === true) return true;
  if (s === false || depth > 64) return false;
  if (!isSchemaObject(s)) return true;
  if (s.$ref !== undefined) {
    const target = resolveRef(root, s.$ref);
    if (target === undefined || !matches(target, v, root, depth + 1)) return false;
  }
  if (s.const !== undefined && !sameValue(s.const, v)) return false;
  if (Array.isArray(s.enum) && !s.enum.some((e) => sameValue(e, v))) return false;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => typeMatches(t, v))) return false;
  }
  if (Array.isArray(s.allOf) && !s.allOf.every((a) => matches(a, v, root, depth + 1))) return false;
  for (const k of ["anyOf", "oneOf"] as const) {
    const alts = s[k];
    if (Array.isArray(alts) && !alts.some((a) => matches(a, v, root, depth + 1))) return false;
  }
  if (typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date)) {
    const o = v as Record<string, unknown>;
    const props = isSchemaObject(s.properties) ? s.properties : undefined;
    if (Array.isArray(s.required)) {
      for (const k of s.required) if (typeof k === "string" && o[k] === undefined) return false;
    }
    if (props !== undefined) {
      for (const k of Object.keys(props)) {
        const x = o[k];
        if (x !== undefined && !matches(props[k], x, root, depth + 1)) return false;
      }
    }
    const extra = s.additionalProperties;
    if (isSchemaObject(extra) && Object.keys(extra).length > 0) {
      for (const k of Object.keys(o)) {
        if (props !== undefined && Object.hasOwn(props, k)) continue;
        if (o[k] !== undefined && !matches(extra, o[k], root, depth + 1)) return false;
      }
    }
  } else if (Array.isArray(v)) {
    const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
    for (let i = 0; i < v.length; i++) {
      const sub = i < prefix.length ? prefix[i] : s.items;
      if (sub === false) break; // extra items are dropped when written
      if (sub !== undefined && !matches(sub, v[i], root, depth + 1)) return false;
    }
  }
  return true;
}

function nonNull(s: JsonSchema): { inner: JsonSchema; nullable: boolean } {
  const t = s.type;
  if (Array.isArray(t)) {
    const rest = t.filter((x) => x !== "null");
    if (rest.length === t.length) return { inner: s, nullable: false };
    if (rest.length === 0) return { inner: { ...s, type: "null" }, nullable: false };
    return { inner: { ...s, type: rest.length === 1 ? rest[0] : rest }, nullable: true };
  }
  const alts = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(alts) && alts.length === 2) {
    const i = alts.findIndex((a) => isSchemaObject(a) && a.type === "null" && Object.keys(a).length === 1);
    if (i !== -1 && onlyAnnotationsBesides(s, ["anyOf", "oneOf"]))
      return { inner: alts[1 - i]!, nullable: true };
  }
  return { inner: s, nullable: false };
}

function onlyAnnotationsBesides(s: JsonSchema, keys: readonly string[]): boolean {
  for (const k of Object.keys(s)) if (!keys.includes(k) && !ANNOTATIONS.has(k)) return false;
  return true;
}

/** Code that appends the JSON of the value in variable `v` to `s`. */
function gen(schema: unknown, v: string, where: string, ctx: Ctx, depth: number): string {
  if (depth > 32) throw new Unsupported();
  if (schema === true) return anything(v);
  if (schema === false) return `bad(${lit(where)}, "nothing (a false schema)", ${v});`;
  if (!isSchemaObject(schema)) throw new Unsupported();
  if ("allOf" in schema || "not" in schema || "if" in schema) throw new Unsupported();
  if ("$ref" in schema) {
    if (!onlyAnnotationsBesides(schema, ["$ref"])) throw new Unsupported();
    return refCall(schema.$ref, v, where, ctx);
  }
  const { inner, nullable } = nonNull(schema);
  if (nullable) return `if (${v} === null) s += "null"; else { ${gen(inner, v, where, ctx, depth + 1)} }`;
  const alts = alternativesOf(inner);
  if (alts !== undefined) return union(alts, v, where, ctx, depth);
  return genNonNull(inner, v, where, ctx, depth);
}

/** A union's alternatives (anyOf/oneOf, or a list of types), or undefined for a plain schema. */
function alternativesOf(s: JsonSchema): unknown[] | undefined {
  const alts = s.anyOf ?? s.oneOf;
  if (alts !== undefined) {
    if (!Array.isArray(alts) || alts.length === 0) throw new Unsupported();
    if (s.anyOf !== undefined && s.oneOf !== undefined) throw new Unsupported();
    if (!onlyAnnotationsBesides(s, ["anyOf", "oneOf"])) throw new Unsupported();
    return alts;
  }
  if (Array.isArray(s.type)) {
    if (s.type.length === 1) return undefined;
    return s.type.map((t) => ({ ...s, type: t }));
  }
  return undefined;
}

function union(alts: unknown[], v: string, where: string, ctx: Ctx, depth: number): string {
  const h = ctx.helpers.length;
  ctx.helpers.push(alts);
  let code = `switch (pick(H[${h}], ${v})) {`;
  for (let i = 0; i < alts.length; i++) {
    code += ` case ${i}: { ${gen(alts[i], v, where, ctx, depth + 1)} break; }`;
  }
  return `${code} default: bad(${lit(where)}, "one of its alternatives", ${v}); }`;
}

function refCall(ref: unknown, v: string, where: string, ctx: Ctx): string {
  const target = resolveRef(ctx.root, ref);
  if (typeof target === "boolean") return gen(target, v, where, ctx, 0);
  if (!isSchemaObject(target)) throw new Unsupported(); // a remote or broken reference
  let name = ctx.refs.get(target);
  if (name === undefined) {
    name = `r${ctx.refs.size}`;
    ctx.refs.set(target, name); // before generating: a recursive schema calls its own function
    const body = gen(target, "v", where, ctx, 0);
    ctx.fns.push(`function ${name}(v) { let s = ""; ${body} return s; }`);
  }
  return `s += ${name}(${v});`;
}

/** Anything: JSON.stringify (undefined, a function → null, as in an array). */
function anything(v: string): string {
  return `{ const j = JSON.stringify(${v}); s += j === undefined ? "null" : j; }`;
}

function isAnything(s: unknown): boolean {
  return s === true || (isSchemaObject(s) && Object.keys(s).every((k) => ANNOTATIONS.has(k)));
}

function genNonNull(s: JsonSchema, v: string, where: string, ctx: Ctx, depth: number): string {
  const w = lit(where);
  if (s.enum !== undefined || s.const !== undefined) {
    const allowed = s.const !== undefined ? [s.const] : s.enum;
    if (!Array.isArray(allowed)) throw new Unsupported();
    const h = ctx.helpers.length;
    const primitive = allowed.every((x) => x === null || typeof x !== "object");
    ctx.helpers.push(primitive ? new Set(allowed) : allowed);
    const test = primitive ? `H[${h}].has(${v})` : `H[${h}].some((x) => same(x, ${v}))`;
    const text = JSON.stringify(allowed.length === 1 ? allowed[0] : null);
    // A single allowed value is written as the schema has it; otherwise the value (one of them).
    return allowed.length === 1
      ? `if (${test}) s += ${lit(text)}; else bad(${w}, ${lit(`the value ${text.slice(0, 40)}`)}, ${v});`
      : `if (${test}) s += JSON.stringify(${v}); else bad(${w}, "one of its enum values", ${v});`;
  }
  const t = s.type;
  if (t === undefined) {
    if (!isAnything(s)) throw new Unsupported();
    return anything(v);
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
      return `if (${v} === null) s += "null"; else bad(${w}, "null", ${v});`;
    case "array":
      return genArray(s, v, where, ctx, depth);
    case "object":
      return genObject(s, v, where, ctx, depth);
    default:
      throw new Unsupported();
  }
}

function genArray(s: JsonSchema, v: string, where: string, ctx: Ctx, depth: number): string {
  const w = lit(where);
  const prefix = s.prefixItems;
  const items = s.items;
  if (prefix !== undefined && !Array.isArray(prefix)) throw new Unsupported();
  if (prefix === undefined && (items === undefined || Array.isArray(items))) throw new Unsupported();
  const a = `a${ctx.n++}`;
  const i = `i${ctx.n++}`;
  const x = `x${ctx.n++}`;
  let code = `if (!Array.isArray(${v})) bad(${w}, "an array", ${v}); const ${a} = ${v}; s += "[";`;
  const p = prefix?.length ?? 0;
  for (let k = 0; k < p; k++) {
    code += ` if (${a}.length > ${k}) { ${k > 0 ? `s += ",";` : ""} const ${x} = ${a}[${k}]; ${gen(prefix![k], x, `${where}[${k}]`, ctx, depth + 1)} }`;
  }
  // After a tuple's items: the rest by `items` (anything when absent), none when `items` is false.
  if (items !== false) {
    const rest = items === undefined ? {} : items;
    code +=
      ` for (let ${i} = ${p}; ${i} < ${a}.length; ${i}++) { if (${i} !== 0) s += ","; const ${x} = ${a}[${i}]; ` +
      `${gen(rest, x, `${where}[]`, ctx, depth + 1)} }`;
  }
  return `${code} s += "]";`;
}

function genObject(s: JsonSchema, v: string, where: string, ctx: Ctx, depth: number): string {
  const w = lit(where);
  const props = (isSchemaObject(s.properties) ? s.properties : {}) as Record<string, unknown>;
  const names = Object.keys(props);
  const extra = s.additionalProperties;
  if (s.patternProperties !== undefined) throw new Unsupported();
  // Undeclared keys: dropped when additionalProperties is absent or false (a closed object, as zod's
  // and fast-json-stringify's), written by it when it is a schema or true. A bare {type: "object"}
  // declares nothing: left to the validator.
  const open = extra !== undefined && extra !== false;
  if (names.length === 0 && !open) {
    if (extra === false)
      return `if (typeof ${v} !== "object" || ${v} === null) bad(${w}, "an object", ${v}); s += "{}";`;
    throw new Unsupported();
  }
  let allowedKeys: unknown[] | undefined;
  const pn = s.propertyNames;
  if (pn !== undefined && open) {
    if (!isSchemaObject(pn)) throw new Unsupported();
    if (pn.const !== undefined) allowedKeys = [pn.const];
    else if (Array.isArray(pn.enum)) allowedKeys = pn.enum;
    if (!Object.keys(pn).every((k) => k === "type" || k === "enum" || k === "const" || ANNOTATIONS.has(k)))
      throw new Unsupported(); // a pattern or length on key names: not checked here
    if (pn.type !== undefined && pn.type !== "string") throw new Unsupported();
  }
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const o = `o${ctx.n++}`;
  const c = `c${ctx.n++}`;
  let code = `const ${o} = ${v}; if (typeof ${o} !== "object" || ${o} === null || Array.isArray(${o})) bad(${w}, "an object", ${o}); s += "{"; let ${c} = false; `;
  for (const name of names) {
    const x = `x${ctx.n++}`;
    const path = where === "(body)" ? name : `${where}.${name}`;
    const value = gen(props[name], x, path, ctx, depth + 1);
    const key = `${lit(name)}:`;
    code +=
      `{ const ${x} = ${o}[${lit(name)}]; if (${x} !== undefined) { s += ${c} ? ${lit(`,${key}`)} : ${lit(key)}; ${c} = true; ${value} }` +
      (required.has(name) ? ` else bad(${lit(path)}, "required", ${x}); }` : " }");
  }
  if (open) {
    const k = `k${ctx.n++}`;
    const x = `x${ctx.n++}`;
    const declared = ctx.helpers.length;
    ctx.helpers.push(new Set(names));
    let filter = `if (!Object.prototype.hasOwnProperty.call(${o}, ${k}) || H[${declared}].has(${k})) continue;`;
    if (allowedKeys !== undefined) {
      const allowed = ctx.helpers.length;
      ctx.helpers.push(new Set(allowedKeys));
      filter += ` if (!H[${allowed}].has(${k})) continue;`;
    }
    const path = where === "(body)" ? "(a key)" : `${where}.(a key)`;
    // Anything: as JSON.stringify writes an object's field (undefined, functions, symbols left out).
    const write = isAnything(extra)
      ? `const j = JSON.stringify(${x}); if (j === undefined) continue; s += (${c} ? "," : "") + str(${k}) + ":" + j; ${c} = true;`
      : `if (${x} === undefined) continue; s += (${c} ? "," : "") + str(${k}) + ":"; ${c} = true; ${gen(extra, x, path, ctx, depth + 1)}`;
    code += `for (const ${k} in ${o}) { ${filter} const ${x} = ${o}[${k}]; ${write} } `;
  }
  return `${code}s += "}";`;
}
