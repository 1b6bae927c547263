// Response schemas: the handler's return value typed, only declared fields sent (compiled serializer
// from JSON Schema, or the validator's output when there is none), tuples kept, broken results a 500.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileSerializer, Response } from "phial";
import * as v from "valibot";
import { z } from "zod";
import { makeApp } from "../app/helpers.ts";

const User = z.object({
  id: z.number().int(),
  name: z.string(),
  email: z.string().nullable(),
  tags: z.array(z.string()),
  address: z.object({ city: z.string(), zip: z.string().optional() }).optional(),
});

describe("response schemas", () => {
  const { app, logs } = makeApp();
  const row = {
    id: 1,
    name: 'Ann "the admin"',
    email: null,
    tags: ["a", "é"],
    address: { city: "Oslo", geo: "secret" },
    passwordHash: "$2b$secret",
  };
  app.get("/user", { response: User }, () => row);
  app.post("/users", { response: User }, () => [row, 201, { "X-Id": "1" }]);
  app.get("/async", { response: User }, async () => row);
  app.get("/broken", { response: User }, () => ({ ...row, id: "one" }) as never);
  app.get("/missing", { response: User }, () => ({ id: 1 }) as never);
  app.get("/other", { response: User }, () => new Response("plain", { status: 202 }));
  app.get("/list", { response: z.array(User) }, () => [row, row]);
  // valibot without JSON Schema: the validator's output is sent (valibot's object drops unknown keys).
  const VUser = v.object({ id: v.number(), name: v.string() });
  app.get("/v", { response: VUser }, () => ({ id: 2, name: "Bo", secret: "x" }));
  app.get("/v-broken", { response: VUser }, () => ({ id: "2" }) as never);
  const client = app.testClient();

  test("only the declared fields are sent, as JSON equal to JSON.stringify's", async () => {
    const r = await client.get("/user");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/json");
    const { passwordHash: _p, ...rest } = row;
    const expected = { ...rest, address: { city: "Oslo" } };
    assert.equal(r.text, JSON.stringify(expected));
    assert.doesNotMatch(r.text, /secret/);
  });

  test("a tuple keeps its status and headers; async handlers too", async () => {
    const r = await client.post("/users");
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("x-id"), "1");
    assert.doesNotMatch(r.text, /secret/);
    const a = await client.get("/async");
    assert.doesNotMatch(a.text, /secret/);
    assert.equal((a.json as { name: string }).name, row.name);
  });

  test("an array schema: the array is the body", async () => {
    const r = await client.get("/list");
    assert.equal((r.json as unknown[]).length, 2);
    assert.doesNotMatch(r.text, /secret/);
  });

  test("a Response returned as is", async () => {
    const r = await client.get("/other");
    assert.equal(r.status, 202);
    assert.equal(r.text, "plain");
  });

  test("a result that breaks the schema is a 500 whose log names the field", async () => {
    for (const [path, field] of [
      ["/broken", /id is string, the schema says an integer/],
      ["/missing", /name is undefined, the schema says required/],
      ["/v-broken", /does not match its schema: id: /],
    ] as const) {
      logs.length = 0;
      const r = await client.get(path);
      assert.equal(r.status, 500);
      assert.doesNotMatch(r.text, /secret/);
      const err = logs.find((l) => l.level === "error")?.error as Error;
      assert.match(err.message, field);
    }
  });

  test("without JSON Schema the validator's output is sent (undeclared fields dropped)", async () => {
    const r = await client.get("/v");
    assert.equal(r.text, '{"id":2,"name":"Bo"}');
  });
});

describe("the compiled serializer", () => {
  test("writes what JSON.stringify writes for the declared fields, escapes included", () => {
    const ser = compileSerializer(
      z.toJSONSchema(
        z.object({
          s: z.string(),
          n: z.number(),
          b: z.boolean(),
          e: z.enum(["x", "y"]),
          arr: z.array(z.object({ k: z.string().nullable() })),
          any: z.unknown(),
        }),
        { io: "output" },
      ) as Record<string, unknown>,
    )!;
    const value = {
      s: 'a"b\\c\n\u2028</script>\ud800',
      n: 1.5e300,
      b: false,
      e: "y",
      arr: [{ k: null }, { k: "v", extra: 1 }],
      any: { deep: [1, { x: 2 }] },
    };
    const out = ser(value);
    assert.equal(out, JSON.stringify({ ...value, arr: [{ k: null }, { k: "v" }] }));
    assert.equal(
      ser({ ...value, n: Number.NaN }),
      JSON.stringify({ ...value, n: null, arr: [{ k: null }, { k: "v" }] }),
    );
  });

  test("a property name needing escapes can't break out of the generated code", () => {
    const ser = compileSerializer({
      type: "object",
      properties: { 'a"b': { type: "string" }, "c\\": { type: "string" }, "x`${1}": { type: "integer" } },
    })!;
    const v = { 'a"b': "1", "c\\": "2", "x`${1}": 3 };
    assert.equal(ser(v), JSON.stringify(v));
  });

  test("schemas it can't write are refused (the route then uses the validator)", () => {
    assert.equal(compileSerializer({ $ref: "#/$defs/x" }), undefined, "a broken reference");
    assert.equal(compileSerializer({ $ref: "https://example.test/s.json" }), undefined, "a remote one");
    assert.equal(compileSerializer({ allOf: [{ type: "string" }, { minLength: 1 }] }), undefined);
    assert.equal(
      compileSerializer({ type: "object", patternProperties: { "^x": { type: "string" } } }),
      undefined,
    );
    assert.equal(
      compileSerializer({ type: "object", propertyNames: { pattern: "^a" }, additionalProperties: {} }),
      undefined,
    );
  });
});
