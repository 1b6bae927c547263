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

test("client.for(schemas): the request typed by the route's inputs, the answer by its response", async () => {
  const { app } = makeApp();
  const Item = z.object({ name: z.string().min(1), qty: z.number().int().default(1) });
  const Out = z.object({ id: z.number(), name: z.string(), qty: z.number() });
  const Search = z.object({ page: z.number().int().default(1), tag: z.array(z.string()).default([]) });
  // One object, given to the route and to the client.
  const CreateItem = { json: Item, query: Search, response: Out };
  app.post("/items/<int:id>", CreateItem, (req) => [{ id: req.params.id, ...req.valid.json }, 201]);
  const client = app.testClient();
  const items = client.for(CreateItem);

  const r = await items.post("/items/3", { json: { name: "a" }, query: { page: 2, tag: ["x", "y"] } });
  assert.equal(r.status, 201);
  const qty: number = r.json.qty; // the default filled in by the schema, typed by the response schema
  assert.equal(qty, 1);
  assert.deepEqual(r.json, { id: 3, name: "a", qty: 1 });
  // @ts-expect-error: not in the response schema
  r.json.passwordHash;

  // @ts-expect-error: `name` is required by the json schema
  const noName = await items.post("/items/3", { json: { qty: 2 } });
  assert.equal(noName.status, 422); // and the server says so too
  // @ts-expect-error: `qty` is a number
  const badQty = await items.post("/items/3", { json: { name: "a", qty: "2" } });
  assert.equal(badQty.status, 422);
  // @ts-expect-error: `page` is a number in the query schema
  await items.post("/items/3", { json: { name: "a" }, query: { page: "2" } });
  // @ts-expect-error: `tag` is a list
  await items.post("/items/3", { json: { name: "a" }, query: { tag: 1 } });

  // A route without a response schema: json is unknown; without a json schema: any body.
  const Ping = { query: z.object({ n: z.number() }) };
  app.get("/ping", Ping, (req) => ({ n: req.valid.query.n }));
  const p = await client.for(Ping).get("/ping", { query: { n: 4 } });
  const unknownBody: unknown = p.json;
  assert.deepEqual(unknownBody, { n: 4 });
  // @ts-expect-error: unknown until a response schema says
  p.json.n;
  // valibot: the same, from its own types.
  const VSignup = { json: v.object({ email: v.string(), age: v.optional(v.number()) }) };
  app.post("/signup", VSignup, (req) => [{ welcome: req.valid.json.email }, 201]);
  const signup = await client.for(VSignup).post("/signup", { json: { email: "a@b.test", age: 30 } });
  assert.equal(signup.status, 201);
  // @ts-expect-error: `age` is a number in the valibot schema
  const badAge = await client.for(VSignup).post("/signup", { json: { email: "a@b.test", age: "30" } });
  assert.equal(badAge.status, 422);
  // The same cookies: one client underneath.
  assert.equal(client.for(Ping) as unknown, client);
});
