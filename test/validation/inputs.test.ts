// Schemas for every input kind, with zod 4 and valibot: the checked values in `req.valid`, the 422
// problem+json answers field by field, the coercion rules for text inputs, and errors through handlers.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toStandardJsonSchema } from "@valibot/to-json-schema";
import { Blueprint, request, ValidationError, type ValidationProblem } from "phial";
import * as v from "valibot";
import { z } from "zod";
import { makeApp } from "../app/helpers.ts";

const problem = (r: { json: unknown }) => r.json as ValidationProblem;

describe("json bodies", () => {
  const ZItem = z.object({
    name: z.string().min(1),
    price: z.number().positive(),
    items: z.array(z.object({ name: z.string().min(1), qty: z.number().int() })).optional(),
  });
  const VItem = v.object({
    name: v.pipe(v.string(), v.minLength(1)),
    price: v.pipe(v.number(), v.minValue(0.01)),
    items: v.optional(v.array(v.object({ name: v.pipe(v.string(), v.minLength(1)), qty: v.number() }))),
  });
  const { app } = makeApp();
  app.post("/zod/<int:id>", { json: ZItem }, (req) => {
    const item = req.valid.json; // typed: { name: string; price: number; items?: … }
    return { id: req.params.id, name: item.name.toUpperCase(), total: item.price * 2 };
  });
  app.post("/valibot", { json: VItem }, (req) => ({
    name: req.valid.json.name,
    price: req.valid.json.price,
  }));
  const client = app.testClient();

  test("a valid body reaches the handler converted and typed (zod)", async () => {
    const r = await client.post("/zod/7", { json: { name: "pen", price: 1.5 } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { id: 7, name: "PEN", total: 3 });
  });

  test("a valid body reaches the handler (valibot)", async () => {
    const r = await client.post("/valibot", { json: { name: "pen", price: 2 } });
    assert.deepEqual(r.json, { name: "pen", price: 2 });
  });

  for (const path of ["/zod/1", "/valibot"]) {
    test(`an invalid body is a 422 problem+json listing each issue (${path})`, async () => {
      const r = await client.post(path, {
        json: {
          name: "",
          price: "9",
          items: [
            { name: "a", qty: 1 },
            { name: "b", qty: 2 },
            { name: "", qty: 3 },
          ],
        },
      });
      assert.equal(r.status, 422);
      assert.equal(r.headers.get("content-type"), "application/problem+json");
      const p = problem(r);
      assert.equal(p.type, "about:blank");
      assert.equal(p.title, "Unprocessable Content");
      assert.equal(p.status, 422);
      assert.match(p.detail, /^The request has 3 invalid values: json\.name: /);
      assert.deepEqual(
        p.errors.map((e) => [e.location, e.in, e.path]),
        [
          ["json.name", "json", ["name"]],
          ["json.price", "json", ["price"]],
          ["json.items[2].name", "json", ["items", 2, "name"]],
        ],
      );
      for (const e of p.errors) {
        assert.equal(typeof e.message, "string");
        assert.ok(e.message.length > 0);
      }
      // Each library's own code: zod's `code`, valibot's `type`.
      if (path === "/valibot")
        assert.deepEqual(
          p.errors.map((e) => e.code),
          ["min_length", "number", "min_length"],
        );
      else
        assert.deepEqual(
          p.errors.map((e) => e.code),
          ["too_small", "invalid_type", "too_small"],
        );
    });
  }

  test("a body that is not JSON is a 415, malformed JSON a 400, never a 500", async () => {
    const a = await client.post("/zod/1", {
      data: "name=x",
      contentType: "application/x-www-form-urlencoded",
    });
    assert.equal(a.status, 415);
    const b = await client.post("/zod/1", { data: "{oops", contentType: "application/json" });
    assert.equal(b.status, 400);
    const c = await client.post("/zod/1", { json: [1, 2] });
    assert.equal(c.status, 422);
    assert.equal(problem(c).errors[0]!.location, "json");
    const d = await client.post("/zod/1", { json: null });
    assert.equal(d.status, 422);
  });
});

describe("query, form, headers, cookies and params: text coerced as documented", () => {
  const { app } = makeApp();
  const Q = z.object({
    page: z.number().int().min(1).default(1),
    tag: z.array(z.string()).default([]),
    draft: z.boolean().optional(),
    q: z.string().optional(),
  });
  app.get("/search", { query: Q }, (req) => ({ ...req.valid.query }));
  const VQ = toStandardJsonSchema(
    v.object({ page: v.optional(v.number(), 1), tag: v.optional(v.array(v.string()), []) }),
  );
  app.get("/vsearch", { query: VQ }, (req) => ({ page: req.valid.query.page, tag: req.valid.query.tag }));
  // A plain valibot schema has no JSON Schema: the generic rules (once: string; repeated: array).
  app.get("/plain", { query: v.object({ a: v.string(), b: v.array(v.string()) }) }, (req) => ({
    ...req.valid.query,
  }));
  app.post(
    "/form",
    { form: z.object({ name: z.string(), age: z.number().int(), colors: z.array(z.enum(["red", "blue"])) }) },
    (req) => ({ ...req.valid.form }),
  );
  app.get(
    "/headers",
    { headers: z.object({ "x-count": z.number().int(), "x-list": z.array(z.string()).optional() }) },
    (req) => ({ count: req.valid.headers["x-count"], list: req.valid.headers["x-list"] ?? null }),
  );
  app.get("/cookies", { cookies: z.object({ theme: z.enum(["dark", "light"]) }) }, (req) => ({
    theme: req.valid.cookies.theme,
  }));
  app.get("/user/<name>", { params: z.object({ name: z.string().regex(/^[a-z]+$/) }) }, (req) => ({
    name: req.valid.params.name,
  }));
  const client = app.testClient();

  test("numbers, booleans and repeated fields (zod)", async () => {
    const r = await client.get("/search?page=3&tag=a&tag=b&draft=true");
    assert.deepEqual(r.json, { page: 3, tag: ["a", "b"], draft: true });
    const one = await client.get("/search?tag=only&draft=0");
    assert.deepEqual(one.json, { page: 1, tag: ["only"], draft: false });
  });

  test("a number that isn't one is the schema's 422, with the location", async () => {
    const r = await client.get("/search?page=abc&page=2");
    assert.equal(r.status, 422);
    const e = problem(r).errors;
    assert.equal(e.length, 1);
    assert.equal(e[0]!.location, "query.page");
    assert.equal(e[0]!.code, "invalid_type");
    const zero = await client.get("/search?page=0");
    assert.equal(problem(zero).errors[0]!.code, "too_small");
  });

  test("numbers and arrays (valibot through toStandardJsonSchema)", async () => {
    assert.deepEqual((await client.get("/vsearch?page=4&tag=x")).json, { page: 4, tag: ["x"] });
    assert.deepEqual((await client.get("/vsearch")).json, { page: 1, tag: [] });
  });

  test("without JSON Schema: once is a string, repeated an array", async () => {
    assert.deepEqual((await client.get("/plain?a=1&b=x&b=y")).json, { a: "1", b: ["x", "y"] });
    const r = await client.get("/plain?a=1&a=2&b=x");
    assert.equal(r.status, 422);
    assert.deepEqual(
      problem(r).errors.map((e) => e.location),
      ["query.a", "query.b"],
    );
  });

  test("an urlencoded form with a repeated field", async () => {
    const r = await client.post("/form", { form: { name: "Ann", age: "41", colors: ["red", "blue"] } });
    assert.deepEqual(r.json, { name: "Ann", age: 41, colors: ["red", "blue"] });
    const bad = await client.post("/form", { form: { name: "Ann", age: "x", colors: "green" } });
    assert.equal(bad.status, 422);
    assert.deepEqual(
      problem(bad).errors.map((e) => e.location),
      ["form.age", "form.colors[0]"],
    );
  });

  test("a multipart form is checked the same way", async () => {
    const r = await client.post("/form", {
      form: { name: "Bo", age: 7, colors: "blue" },
      files: { avatar: { filename: "a.txt", data: "hi" } },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { name: "Bo", age: 7, colors: ["blue"] });
  });

  test("headers by lower-case name, coerced", async () => {
    const r = await client.get("/headers", {
      headers: [
        ["X-Count", "5"],
        ["X-List", "a"],
        ["x-list", "b"],
      ],
    });
    assert.deepEqual(r.json, { count: 5, list: ["a", "b"] });
    const bad = await client.get("/headers");
    assert.equal(bad.status, 422);
    assert.equal(problem(bad).errors[0]!.location, 'headers["x-count"]');
  });

  test("cookies", async () => {
    const r = await client.get("/cookies", { headers: { Cookie: "theme=dark" } });
    assert.deepEqual(r.json, { theme: "dark" });
    const bad = await client.get("/cookies", { headers: { Cookie: "theme=blue" } });
    assert.equal(bad.status, 422);
    assert.equal(problem(bad).errors[0]!.location, "cookies.theme");
  });

  test("path params beyond the converter", async () => {
    assert.deepEqual((await client.get("/user/ann")).json, { name: "ann" });
    const bad = await client.get("/user/Ann1");
    assert.equal(bad.status, 422);
    assert.equal(problem(bad).errors[0]!.location, "params.name");
  });
});

describe("several inputs, async schemas, and the app's error handlers", () => {
  test("every input is checked before answering: all issues in one 422", async () => {
    const { app } = makeApp();
    app.post("/x", { query: z.object({ n: z.number() }), json: z.object({ a: z.string() }) }, () => ({
      ok: 1,
    }));
    const r = await app.testClient().post("/x?n=no", { json: { a: 1 } });
    assert.deepEqual(
      problem(r).errors.map((e) => e.location),
      ["query.n", "json.a"],
    );
  });

  test("an async refinement is awaited and the handler still sees the request context", async () => {
    const { app } = makeApp();
    const taken = new Set(["ann"]);
    const User = z.object({
      name: z.string().refine(async (n) => {
        await new Promise((r) => setTimeout(r, 1));
        return !taken.has(n);
      }, "This name is taken"),
    });
    app.post("/users", { json: User }, (req) => [{ name: req.valid.json.name, path: request.path }, 201]);
    const client = app.testClient();
    const ok = await client.post("/users", { json: { name: "bo" } });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.json, { name: "bo", path: "/users" });
    const bad = await client.post("/users", { json: { name: "ann" } });
    assert.equal(bad.status, 422);
    assert.deepEqual(
      problem(bad).errors.map((e) => [e.location, e.message]),
      [["json.name", "This name is taken"]],
    );
  });

  test("errorHandler(422) and errorHandler(ValidationError) replace the answer", async () => {
    const { app } = makeApp();
    const bp = new Blueprint("api", { urlPrefix: "/api" });
    bp.post("/a", { json: z.object({ a: z.string() }) }, () => "ok");
    bp.errorHandler(ValidationError, (e) => [{ bad: e.issues.map((i) => i.location) }, 400]);
    app.registerBlueprint(bp);
    const a = await app.testClient().post("/api/a", { json: {} });
    assert.equal(a.status, 400);
    assert.deepEqual(a.json, { bad: ["json.a"] });
    // As in Flask, a status handler (here the app's) is found before class handlers: another app.
    const other = makeApp().app;
    other.post("/b", { json: z.object({ b: z.string() }) }, () => "ok");
    other.errorHandler(422, (e) => [`invalid: ${e.description}`, 422]);
    const b = await other.testClient().post("/b", { json: { b: 2 } });
    assert.equal(b.status, 422);
    assert.match(b.text, /^invalid: The request has 1 invalid value: json\.b: /);
  });

  test("a schema that is not a Standard Schema is refused at registration, naming the route", () => {
    const { app } = makeApp();
    assert.throws(
      () => app.post("/bad", { json: { type: "object" } as never }, () => "x"),
      /The route "\/bad": `json` is not a Standard Schema/,
    );
    assert.throws(
      () => app.post("/s", { json: z.object({}), streamBody: true }, () => "x"),
      /streamBody: true/,
    );
  });

  test("a route without schemas is registered with its own handler (no wrapper, no added work)", () => {
    const { app } = makeApp();
    const plain = () => "hi";
    app.get("/plain", plain);
    app.get("/checked", { query: z.object({}) }, () => "hi");
    const data = (rule: string) =>
      (app.router.rules.find((r) => r.rule === rule)!.data as { handler: unknown }).handler;
    assert.equal(data("/plain"), plain);
    assert.notEqual(data("/checked"), plain);
  });
});

describe("with blueprints, urlFor and the test client", () => {
  test("a blueprint's validated route keeps its endpoint for urlFor, and the test client's json reaches it", async () => {
    const { app } = makeApp();
    const bp = new Blueprint("shop", { urlPrefix: "/shop" });
    const Item = z.object({ name: z.string() });
    bp.post("/items/<int:id>", { json: Item }, function create_item(req) {
      return [{ name: req.valid.json.name, self: app.urlFor(".create_item", { id: req.params.id }) }, 201];
    });
    app.registerBlueprint(bp);
    assert.equal(app.urlFor("shop.create_item", { id: 5 }), "/shop/items/5");
    const body: z.input<typeof Item> = { name: "lamp" }; // the test client's body, typed by the schema
    const r = await app.testClient().post(app.urlFor("shop.create_item", { id: 5 }), { json: body });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json, { name: "lamp", self: "/shop/items/5" });
  });
});
