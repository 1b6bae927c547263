import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "../app.ts";

test("the index says what it serves", async () => {
  const res = await app.testClient().get("/");
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { name: "__NAME__", items: 1 });
});

test("items are created and read back", async () => {
  const client = app.testClient();
  const created = await client.post("/items", { json: { name: "second" } });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("location"), "/items/2");
  assert.deepEqual((await client.get("/items/2")).json, { id: 2, name: "second" });
  assert.equal((await client.get("/items/99")).status, 404);
  assert.equal((await client.post("/items", { json: {} })).status, 400);
});
