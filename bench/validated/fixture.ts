// The validated-POST benchmark's API, declared once: zod schemas for Phial, and the same schemas as
// JSON Schema (zod's own conversion) for Fastify's ajv + fast-json-stringify path.

import { z } from "zod";

export const Order = z.object({
  orderId: z.string().min(1).max(64),
  customer: z.object({
    name: z.string().min(1),
    email: z.string().max(254),
    tier: z.enum(["bronze", "silver", "gold"]),
  }),
  items: z
    .array(z.object({ sku: z.string(), qty: z.number().int().min(1), price: z.number().min(0) }))
    .max(100),
  currency: z.enum(["EUR", "USD", "GBP"]),
  paid: z.boolean(),
  coupon: z.string().nullable(),
  tags: z.array(z.string()).max(20),
  shipping: z.object({ city: z.string(), zip: z.string(), country: z.string().length(2) }),
  priority: z.number().int().min(0).max(9),
  note: z.string().max(2000),
});

export const Receipt = z.object({
  orderId: z.string(),
  status: z.string(),
  customer: z.object({ name: z.string(), tier: z.string() }),
  lines: z.number().int(),
  total: z.number(),
  currency: z.string(),
  tags: z.array(z.string()),
});

export type OrderIn = z.infer<typeof Order>;

/** The handler's work, the same for every row; `internal` must not reach the client (stripped). */
export function receipt(o: OrderIn) {
  let total = 0;
  for (const it of o.items) total += it.qty * it.price;
  return {
    orderId: o.orderId,
    status: "accepted",
    customer: o.customer,
    lines: o.items.length,
    total,
    currency: o.currency,
    tags: o.tags,
    internal: { cost: total * 0.6, margin: "secret" },
  };
}

export const ORDER_JSON_SCHEMA = z.toJSONSchema(Order, { io: "input" });
export const RECEIPT_JSON_SCHEMA = z.toJSONSchema(Receipt, { io: "output" });

/** A 1 KiB order. */
export const ORDER_BODY: string = (() => {
  const doc: OrderIn = {
    orderId: "ord-2026-000042",
    customer: { name: "Ada Lovelace", email: "ada@example.test", tier: "gold" },
    items: Array.from({ length: 6 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i + 1, price: 9.5 + i })),
    currency: "EUR",
    paid: true,
    coupon: null,
    tags: ["bench", "validated", "json"],
    shipping: { city: "London", zip: "NW1 6XE", country: "GB" },
    priority: 3,
    note: "",
  };
  const base = JSON.stringify(doc).length;
  doc.note = "x".repeat(1024 - base);
  const s = JSON.stringify(doc);
  if (Buffer.byteLength(s) !== 1024) throw new Error("order body is not 1 KiB");
  return s;
})();

/** What every row must answer. */
export const RECEIPT_REPLY: string = (() => {
  const { internal: _i, ...r } = receipt(JSON.parse(ORDER_BODY) as OrderIn);
  return JSON.stringify({ ...r, customer: { name: r.customer.name, tier: r.customer.tier } });
})();
