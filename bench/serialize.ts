// The response serializer alone, in-process: the receipt of bench/validation.ts written by Phial's
// compiled serializer (from the zod schema's JSON Schema), by fast-json-stringify from the same JSON
// Schema, and by JSON.stringify (which would also send the field the schema drops).
//
//   npx tsx --conditions=phial-source bench/serialize.ts [rounds]

import fastJson from "fast-json-stringify";
import { compileSerializer } from "phial";
import { ORDER_BODY, type OrderIn, RECEIPT_JSON_SCHEMA, receipt } from "./validated/fixture.ts";

const { $schema: _s, ...schema } = RECEIPT_JSON_SCHEMA as Record<string, unknown>;
const ours = compileSerializer(schema);
if (ours === undefined) throw new Error("the receipt schema did not compile");
const fjs = fastJson(schema as unknown as Parameters<typeof fastJson>[0]);
const value = receipt(JSON.parse(ORDER_BODY) as OrderIn);
if (ours(value) !== fjs(value)) throw new Error("the serializers disagree");

const rows: [string, (v: unknown) => string][] = [
  ["phial compiled", ours],
  ["fast-json-stringify", fjs as (v: unknown) => string],
  ["JSON.stringify", (v) => JSON.stringify(v)],
];
const rounds = Number(process.argv[2] ?? 5);
const N = 200_000;
const best = new Map<string, number>();
let sink = 0;
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of rows) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += fn(value).length;
    const ns = Number(process.hrtime.bigint() - t0) / N;
    best.set(name, Math.min(best.get(name) ?? Number.POSITIVE_INFINITY, ns));
  }
}
const base = best.get("JSON.stringify")!;
console.log(`receipt (${ours(value).length} bytes), best of ${rounds} rounds × ${N} (sink ${sink % 10})`);
for (const [name] of rows) {
  const ns = best.get(name)!;
  console.log(
    `  ${name.padEnd(20)} ${ns.toFixed(0).padStart(6)} ns  ${(base / ns).toFixed(2)}× JSON.stringify`,
  );
}
