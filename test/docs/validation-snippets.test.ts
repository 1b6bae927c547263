// docs/validation.md's samples answer as the page says they do.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

process.env.PHIAL_RUN_FROM_CLI = "1";

describe("docs/validation.md", async () => {
  const { app } = await import("../../docs/snippets/validation.ts");
  const c = app.testClient();

  test("basic: the typed PUT, its 422 and its stripped answer", async () => {
    const ok = await c.put("/items/3?dryRun=1", { json: { name: "pen", price: 2, secret: "x" } });
    assert.deepEqual(ok.json, { name: "pen", price: 2, tags: [], id: 3 });
    const bad = await c.put("/items/3", { json: { name: "", price: 2, tags: ["a", "b", 3] } });
    assert.equal(bad.status, 422);
    assert.deepEqual(
      (bad.json as { errors: { location: string }[] }).errors.map((e) => e.location),
      ["json.name", "json.tags[2]"],
    );
  });

  test("typed client: client.for(AddItem) posts and reads the typed answer", async () => {
    const { addPen } = await import("../../docs/snippets/validation.ts");
    assert.equal(await addPen(c), "pen");
  });

  test("method-view: PATCH checked by its own schema, GET's answer by ItemOut", async () => {
    await c.put("/items/9", { json: { name: "ink", price: 3 } });
    const ok = await c.patch("/v2/items/9", { json: { price: 4 } });
    assert.deepEqual(ok.json, { name: "ink", price: 4, tags: [], id: 9 });
    const bad = await c.patch("/v2/items/9", { json: { price: "4" } });
    assert.equal(bad.status, 422);
    assert.equal((await c.get("/v2/items/9")).status, 200);
    assert.equal((await c.get("/v2/items/10")).status, 404);
  });

  test("query: numbers, lists and booleans as the comments say", async () => {
    assert.deepEqual((await c.get("/search?page=2&tag=a&tag=b&exact=on")).json, {
      q: null,
      page: 2,
      tag: ["a", "b"],
      exact: true,
    });
    assert.deepEqual((await c.get("/search?tag=a")).json, { q: null, page: 1, tag: ["a"], exact: false });
    assert.equal((await c.get("/search?page=abc")).status, 422);
  });

  test("valibot form", async () => {
    const r = await c.post("/signup", { form: { email: "ada@example.test", age: "36" } });
    assert.equal(r.status, 201);
    const bad = await c.post("/signup", { form: { email: "nope", age: "12" } });
    assert.deepEqual(
      (bad.json as { errors: { location: string }[] }).errors.map((e) => e.location),
      ["form.email", "form.age"],
    );
  });

  test("response: the hash never leaves", async () => {
    assert.equal((await c.get("/me")).text, '{"id":1,"name":"Ada"}');
  });

  test("errors: the blueprint's handler answers 400 with the fields", async () => {
    const r = await c.post("/api/ping", { json: { n: "1" } });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { message: "Check your input", fields: ["json.n"] });
  });

  test("openapi: the document at /openapi.json with the summary, tags and status", async () => {
    const doc = (await c.get("/openapi.json")).json as {
      info: { title: string };
      paths: Record<string, Record<string, { summary?: string; tags?: string[]; responses: object }>>;
    };
    assert.equal(doc.info.title, "Shop");
    const del = doc.paths["/items/{id}"]!.delete!;
    assert.equal(del.summary, "Delete an item");
    assert.deepEqual(del.tags, ["items"]);
    assert.deepEqual(Object.keys(del.responses), ["204"]);
    assert.equal((await c.get("/docs")).status, 200);
  });
});
