// The types one declaration gives: `req.valid` from the schemas, the handler's result from `response`.
// Checked by `tsc` (npm test's typecheck): each @ts-expect-error must be an error, or tsc fails.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Blueprint } from "phial";
import * as v from "valibot";
import { z } from "zod";
import { makeApp } from "../app/helpers.ts";

test("req.valid and the result are typed by the route's schemas", async () => {
  const { app } = makeApp();
  const Item = z.object({ name: z.string(), qty: z.number().int() });
  const Out = z.object({ id: z.number(), name: z.string() });
  app.post(
    "/items/<int:id>",
    { query: v.object({ dry: v.optional(v.string()) }), json: Item, response: Out },
    (req) => {
      const id: number = req.params.id;
      const name: string = req.valid.json.name;
      const dry: string | undefined = req.valid.query.dry;
      // @ts-expect-error: not declared
      req.valid.form;
      // @ts-expect-error: qty is a number
      const q: string = req.valid.json.qty;
      void q;
      void dry;
      return [{ id, name }, 201];
    },
  );
  // @ts-expect-error: the response schema needs `name`
  app.get("/bad", { response: Out }, () => ({ id: 1 }));
  // @ts-expect-error: a route without schemas has nothing in req.valid
  app.get("/none", (req) => req.valid.json);
  const bp = new Blueprint("bp");
  bp.put("/x", { json: Item }, (req) => ({ qty: req.valid.json.qty + 1 }));
  // Tuples without schemas still infer as tuples.
  app.route("/t", { methods: ["GET"] }, () => ["x", 200, { "X-A": "1" }]);
  const body: z.input<typeof Item> = { name: "a", qty: 1 }; // the request body, typed by the route's schema
  const r = await app.testClient().post<z.output<typeof Out>>("/items/3", { json: body });
  assert.equal(r.status, 201);
  const created: string = r.json.name; // the answer, typed by the response schema
  assert.equal(created, "a");
  // @ts-expect-error: not in the response schema
  r.json.qty;
});
