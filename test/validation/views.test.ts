// Class-based views with schemas per method (`static schemas = { post: {...} }`): each method's
// requests checked by its own schemas, its answer written by its response schema, and the OpenAPI
// document listing each method with its own request body, parameters and response.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { MethodView, openapiDocument, type Request, type ValidOf } from "phial";
import { z } from "zod";
import { makeApp } from "../app/helpers.ts";

const Item = z.object({ name: z.string().min(1), price: z.number().positive() });
const Stored = Item.extend({ id: z.number().int() });

function buildApp() {
  const { app } = makeApp({ name: "shop" });
  const items = new Map<number, z.output<typeof Stored> & { secret?: string }>();
  class ItemApi extends MethodView {
    static override schemas = {
      get: { query: z.object({ verbose: z.boolean().default(false) }), response: Stored, summary: "Read" },
      put: { json: Item, response: Stored, summary: "Replace", tags: ["writes"] },
    };
    get(req: Request<{ id: number }, ValidOf<typeof ItemApi.schemas.get>>) {
      const item = items.get(req.params.id);
      if (item === undefined) return ["no such item", 404] as const;
      return req.valid.query.verbose ? item : { ...item, name: item.name.slice(0, 1) };
    }
    put(req: Request<{ id: number }, ValidOf<typeof ItemApi.schemas.put>>) {
      const stored = { id: req.params.id, ...req.valid.json, secret: "internal" };
      items.set(stored.id, stored);
      return [stored, 201] as const;
    }
    delete(req: Request<{ id: number }>) {
      items.delete(req.params.id);
      return ["", 204] as const;
    }
  }
  app.route("/items/<int:id>", ItemApi.asView("item"));
  return app;
}

test("MethodView: each method checked by its own schemas, answered through its response schema", async () => {
  const app = buildApp();
  const c = app.testClient();
  const put = await c.put("/items/3", { json: { name: "pen", price: 2, extra: 1 } });
  assert.equal(put.status, 201);
  assert.deepEqual(put.json, { name: "pen", price: 2, id: 3 }, "secret and extra dropped by Stored");

  const bad = await c.put("/items/3", { json: { name: "", price: -1 } });
  assert.equal(bad.status, 422);
  assert.equal(bad.headers.get("content-type"), "application/problem+json");
  assert.deepEqual(
    (bad.json as { errors: { location: string }[] }).errors.map((e) => e.location),
    ["json.name", "json.price"],
  );

  // GET's query schema (a boolean from text), not PUT's json schema.
  assert.deepEqual((await c.get("/items/3")).json, { name: "p", price: 2, id: 3 });
  assert.deepEqual((await c.get("/items/3?verbose=1")).json, { name: "pen", price: 2, id: 3 });
  const badQuery = await c.get("/items/3?verbose=perhaps");
  assert.equal(badQuery.status, 422);
  assert.equal((badQuery.json as { errors: { location: string }[] }).errors[0]?.location, "query.verbose");
  // HEAD goes to get, with get's schemas.
  assert.equal((await c.open("HEAD", "/items/3?verbose=perhaps")).status, 422);
  assert.equal((await c.open("HEAD", "/items/3")).status, 200);
  // A method without schemas runs as before.
  assert.equal((await c.delete("/items/3")).status, 204);
  assert.equal((await c.get("/items/3")).status, 404);
});

test("MethodView: the OpenAPI document has each method with its own schemas and docs", async () => {
  const doc = openapiDocument(buildApp(), { title: "Shop", version: "1.0.0" });
  const r = await new Validator().validate(doc as never);
  assert.equal(r.valid, true, JSON.stringify(r.errors));
  const item = doc.paths["/items/{id}"] as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(item).sort(), ["delete", "get", "put"]);
  const put = item.put!;
  assert.equal(put.summary, "Replace");
  assert.deepEqual(put.tags, ["writes"]);
  const body = put.requestBody as { content: Record<string, { schema: { required: string[] } }> };
  assert.deepEqual(body.content["application/json"]?.schema.required, ["name", "price"]);
  assert.ok((put.responses as Record<string, unknown>)["422"] !== undefined);
  const get = item.get!;
  assert.equal(get.summary, "Read");
  assert.equal(get.requestBody, undefined);
  assert.deepEqual(
    (get.parameters as { name: string; in: string }[]).map((p) => `${p.in}:${p.name}`),
    ["path:id", "query:verbose"],
  );
  const ok = (
    get.responses as Record<string, { content?: Record<string, { schema: { properties: object } }> }>
  )["200"];
  assert.deepEqual(Object.keys(ok?.content?.["application/json"]?.schema.properties ?? {}), [
    "name",
    "price",
    "id",
  ]);
  const del = item.delete!;
  assert.equal(del.requestBody, undefined);
  assert.equal((del.responses as Record<string, unknown>)["422"], undefined);
});

test("MethodView: the route's own schemas and the method's, each checked once", async () => {
  const { app } = makeApp();
  let checks = 0;
  const Counted = z.object({ v: z.string() }).refine(() => ++checks > 0);
  class Api extends MethodView {
    static override schemas = { post: { json: z.object({ n: z.number() }) } };
    get(req: Request) {
      return { q: (req.valid as { query: { v: string } }).query.v };
    }
    post(req: Request<{}, ValidOf<typeof Api.schemas.post> & { query: { v: string } }>) {
      return { n: req.valid.json.n, q: req.valid.query.v };
    }
  }
  app.route("/api", { query: Counted }, Api.asView("api"));
  const c = app.testClient();
  assert.deepEqual((await c.post("/api?v=x", { json: { n: 1 } })).json, { n: 1, q: "x" });
  assert.equal(checks, 1);
  assert.deepEqual((await c.get("/api?v=y")).json, { q: "y" });
  assert.equal(checks, 2);
  const bad = await c.post("/api", { json: { n: "1" } });
  assert.deepEqual((bad.json as { errors: { location: string }[] }).errors.map((e) => e.location).sort(), [
    "json.n",
    "query.v",
  ]);
});

test("MethodView: a schemas key that is not a verb is refused when the view is made", () => {
  class Bad extends MethodView {
    static override schemas = { pots: { json: Item } } as never;
    get() {
      return "x";
    }
  }
  assert.throws(() => Bad.asView("bad"), /Bad\.schemas has "pots", which is not an HTTP verb/);
});
