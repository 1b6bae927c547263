// Text inputs (query, form, headers, cookies) as objects for a schema. The rules, per field:
// - The schema's JSON Schema (when it has one) says what each field is. An array field takes every
//   value (`?tag=a&tag=b` → ["a", "b"]; one value → a one-item array); any other field takes the first.
// - A field (or array item) declared number/integer becomes a number when the text is a decimal number
//   (`42`, `-1.5`, `1e3`); boolean takes `true`/`1`/`on` and `false`/`0`/`off`. Other text is left as
//   it is, for the schema to refuse with its own message ("expected number, received string").
// - Without JSON Schema (or for a field it doesn't declare): a value given once is a string, a value
//   given several times an array of strings.
// Headers are keyed by their lower-case name; repeats are joined with ", " unless declared an array.

import { type JsonSchema, typesOf } from "./json-schema.ts";

type Scalar = 0 | 1 | 2 | 3; // text, number, boolean, anything
const TEXT: Scalar = 0;
const NUMBER: Scalar = 1;
const BOOLEAN: Scalar = 2;

interface Field {
  many: boolean;
  scalar: Scalar;
}

/** How each declared field is read; undefined when the schema declares no fields. */
export type FieldPlan = ReadonlyMap<string, Field> | undefined;

export function planFor(s: JsonSchema | undefined): FieldPlan {
  const props = s?.properties;
  if (props === null || typeof props !== "object") return undefined;
  const plan = new Map<string, Field>();
  for (const [name, sub] of Object.entries(props as Record<string, JsonSchema>)) {
    const types = typesOf(sub);
    if (types.has("array")) {
      const items = (sub.items ?? findArray(sub)?.items) as JsonSchema | undefined;
      plan.set(name, { many: true, scalar: scalarOf(typesOf(items)) });
    } else {
      plan.set(name, { many: false, scalar: scalarOf(types) });
    }
  }
  return plan;
}

function findArray(s: JsonSchema): JsonSchema | undefined {
  for (const k of ["anyOf", "oneOf"]) {
    const alts = s[k];
    if (Array.isArray(alts)) for (const a of alts) if (typesOf(a as JsonSchema).has("array")) return a;
  }
  return undefined;
}

function scalarOf(types: Set<string>): Scalar {
  if (types.has("string") || types.size === 0) return TEXT;
  if (types.has("number") || types.has("integer")) return NUMBER;
  if (types.has("boolean")) return BOOLEAN;
  return TEXT;
}

const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function convert(v: unknown, scalar: Scalar): unknown {
  if (typeof v !== "string" || scalar === TEXT) return v;
  if (scalar === NUMBER) return v.length <= 64 && DECIMAL.test(v) ? Number(v) : v;
  if (scalar === BOOLEAN) {
    const l = v.toLowerCase();
    if (l === "true" || l === "1" || l === "on") return true;
    if (l === "false" || l === "0" || l === "off") return false;
  }
  return v;
}

/** Name → values (in order), from pairs. */
function group<T>(pairs: Iterable<readonly [string, T]>): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const [k, v] of pairs) {
    const list = m.get(k);
    if (list === undefined) m.set(k, [v]);
    else list.push(v);
  }
  return m;
}

/** Pairs as an object for a schema, by the plan (see the rules at the top). */
export function pairsToObject<T>(
  pairs: Iterable<readonly [string, T]>,
  plan: FieldPlan,
  join?: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, values] of group(pairs)) {
    if (k === "__proto__") continue;
    const f = plan?.get(k);
    if (f === undefined) {
      out[k] = values.length === 1 ? values[0] : join !== undefined ? values.join(join) : values;
    } else if (f.many) {
      out[k] = values.map((v) => convert(v, f.scalar));
    } else {
      out[k] = convert(join !== undefined && values.length > 1 ? values.join(join) : values[0], f.scalar);
    }
  }
  return out;
}
