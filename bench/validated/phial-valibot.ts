// Row "phial (valibot)": the same route with valibot schemas (JSON Schema through toStandardJsonSchema).
import { toStandardJsonSchema } from "@valibot/to-json-schema";
import { Phial } from "phial";
import * as v from "valibot";
import { requestedPort, serve } from "../servers/common.ts";
import { receipt } from "./fixture.ts";

const Order = v.object({
  orderId: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  customer: v.object({
    name: v.pipe(v.string(), v.minLength(1)),
    email: v.pipe(v.string(), v.maxLength(254)),
    tier: v.picklist(["bronze", "silver", "gold"]),
  }),
  items: v.pipe(
    v.array(
      v.object({
        sku: v.string(),
        qty: v.pipe(v.number(), v.integer(), v.minValue(1)),
        price: v.pipe(v.number(), v.minValue(0)),
      }),
    ),
    v.maxLength(100),
  ),
  currency: v.picklist(["EUR", "USD", "GBP"]),
  paid: v.boolean(),
  coupon: v.nullable(v.string()),
  tags: v.pipe(v.array(v.string()), v.maxLength(20)),
  shipping: v.object({ city: v.string(), zip: v.string(), country: v.pipe(v.string(), v.length(2)) }),
  priority: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(9)),
  note: v.pipe(v.string(), v.maxLength(2000)),
});
const Receipt = toStandardJsonSchema(
  v.object({
    orderId: v.string(),
    status: v.string(),
    customer: v.object({ name: v.string(), tier: v.string() }),
    lines: v.pipe(v.number(), v.integer()),
    total: v.number(),
    currency: v.string(),
    tags: v.array(v.string()),
  }),
);

serve(async () => {
  const app = new Phial(import.meta.url, { fromEnv: false, staticFolder: null });
  app.post("/orders", { json: Order, response: Receipt }, (req) => receipt(req.valid.json));
  const server = app.listen();
  const addr = await server.listen(requestedPort(), "127.0.0.1");
  return { port: addr.port, close: () => server.close() };
});
