// The demo's JSON API with schemas: typed inputs, 422 problem+json answers, answers stripped to their
// schema, and the OpenAPI document of /api/* served next to its docs page.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createDemo } from "../../demo/main.ts";

const dataDir = mkdtempSync(join(tmpdir(), "phial-demo-api-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));
const { app } = createDemo({ dataDir, logger: { info() {}, warn() {}, error: console.error } });
const client = app.testClient();

describe("demo JSON API with schemas", () => {
  test("POST /api/users signs up: 201, Location, the user without its password hash", async () => {
    const r = await client.post("/api/users", { json: { username: "ada", password: "correct horse" } });
    assert.equal(r.status, 201);
    const u = r.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(u).sort(), ["created", "id", "url", "username"]);
    assert.equal(r.headers.get("location"), u.url);
    const again = await client.post("/api/users", { json: { username: "ada", password: "correct horse" } });
    assert.equal(again.status, 409);
  });

  test("a bad sign-up is a 422 problem+json naming each field", async () => {
    const r = await client.post("/api/users", { json: { username: "a", password: 12 } });
    assert.equal(r.status, 422);
    assert.equal(r.headers.get("content-type"), "application/problem+json");
    const p = r.json as { errors: { location: string; code: string }[] };
    assert.deepEqual(
      p.errors.map((e) => [e.location, e.code]),
      [
        ["json.username", "too_small"],
        ["json.password", "invalid_type"],
      ],
    );
  });

  test("GET /api/users pages by ?limit and ?offset, numbers from the query; 0 is refused", async () => {
    await client.post("/api/users", { json: { username: "bob", password: "12345678" } });
    assert.equal((await client.get("/api/users")).status, 401, "members only");
    // Signed in through the form (the API's sign-up makes the account, the session comes from /signin).
    const form = await client.get("/signin");
    const token = /name="csrf_token" value="([^"]+)"/.exec(form.text)![1]!;
    const signin = await client.post("/signin", {
      form: { csrf_token: token, username: "bob", password: "12345678" },
    });
    assert.equal(signin.status, 302);
    const r = await client.get("/api/users?limit=1&offset=1");
    const body = r.json as { count: number; users: { username: string }[] };
    assert.equal(body.count, 2);
    assert.deepEqual(
      body.users.map((u) => u.username),
      ["bob"],
    );
    const bad = await client.get("/api/users?limit=0");
    assert.equal(bad.status, 422);
    assert.equal((bad.json as { errors: { location: string }[] }).errors[0]!.location, "query.limit");
  });

  test("the OpenAPI document of /api/* validates and the docs page is served", async () => {
    const r = await client.get("/api/openapi.json");
    const doc = r.json as { info: { title: string }; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.info.title, "Phial demo API");
    assert.ok(Object.keys(doc.paths).every((p) => p.startsWith("/api/")));
    assert.deepEqual(Object.keys(doc.paths["/api/users"]!).sort(), ["get", "post"]);
    assert.ok(doc.paths["/api/users/{id}"]);
    const v = await new Validator().validate(doc as unknown as Record<string, unknown>);
    assert.equal(v.valid, true, JSON.stringify(v.errors));
    const page = await client.get("/api/docs");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const index = await client.get("/api");
    assert.equal((index.json as { docs: string }).docs, "/api/docs");
  });
});
