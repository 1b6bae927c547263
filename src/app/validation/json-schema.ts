// JSON Schema from a Standard Schema, through the Standard JSON Schema interface (`~standard.jsonSchema`:
// zod 4 has it; valibot through `toStandardJsonSchema` of @valibot/to-json-schema). A schema without it
// (or one the library can't convert, e.g. zod's `z.date()`) has no JSON Schema: validation still works,
// coercion falls back to the generic rules and the OpenAPI document says `{}` for it.

import type { StandardJSONSchemaV1, StandardSchemaV1 } from "@standard-schema/spec";

/** A JSON Schema object (draft 2020-12, the dialect of OpenAPI 3.1). */
export type JsonSchema = Record<string, unknown>;

/** A converter for schemas that lack `~standard.jsonSchema` (e.g. another library's own function). */
export type JsonSchemaConverter = (
  schema: StandardSchemaV1,
  io: "input" | "output",
) => JsonSchema | undefined;

const cache = new WeakMap<object, { input?: JsonSchema | null; output?: JsonSchema | null }>();

/** The schema's JSON Schema for its input or output; undefined when it has none. Cached per schema. */
export function jsonSchemaOf(
  schema: StandardSchemaV1,
  io: "input" | "output",
  fallback?: JsonSchemaConverter,
): JsonSchema | undefined {
  let entry = cache.get(schema);
  if (entry === undefined) {
    entry = {};
    cache.set(schema, entry);
  }
  const known = entry[io];
  if (known !== undefined) return known ?? fallback?.(schema, io);
  let out: JsonSchema | null = null;
  const conv = (schema["~standard"] as Partial<StandardJSONSchemaV1.Props>).jsonSchema;
  if (conv !== undefined && typeof conv[io] === "function") {
    try {
      const s = conv[io]({ target: "draft-2020-12" });
      if (s !== null && typeof s === "object") {
        const { $schema: _drop, ...rest } = s;
        out = rest;
      }
    } catch {
      out = null; // the library can't express it (a date, a transform): no JSON Schema
    }
  }
  entry[io] = out;
  return out ?? fallback?.(schema, io);
}

/** The types a JSON Schema allows (`type`, a type array, or the members of anyOf/oneOf). */
export function typesOf(s: JsonSchema | undefined): Set<string> {
  const out = new Set<string>();
  if (s === undefined) return out;
  const t = s.type;
  if (typeof t === "string") out.add(t);
  else if (Array.isArray(t)) for (const x of t) if (typeof x === "string") out.add(x);
  for (const k of ["anyOf", "oneOf"]) {
    const alts = s[k];
    if (Array.isArray(alts)) for (const a of alts) for (const x of typesOf(a as JsonSchema)) out.add(x);
  }
  if (out.size === 0 && s.enum === undefined && s.const === undefined) return out;
  if (Array.isArray(s.enum)) for (const v of s.enum) out.add(v === null ? "null" : typeof v);
  if (s.const !== undefined) out.add(s.const === null ? "null" : typeof s.const);
  return out;
}
