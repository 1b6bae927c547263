// The OpenAPI 3.1 document from rules and schemas, checked against the OpenAPI 3.1 schema, and
// served with its docs page (Swagger UI's files from the app, no CDN).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { toStandardJsonSchema } from "@valibot/to-json-schema";
import { Blueprint, openapiDocument, serveOpenAPI } from "phial";
import * as v from "valibot";
import { z } from "zod";
import { makeApp } from "../app/helpers.ts";

type Json = Record<string, unknown>;
const at = (o: unknown, ...keys: (string | number)[]): unknown =>
  keys.reduce<unknown>((x, k) => (x as Record<string | number, unknown> | undefined)?.[k], o);

function buildApp() {
  const { app } = makeApp({ name: "shop" });
  const Item = z.object({ name: z.string().min(1).describe("What it is"), price: z.number().positive() });
  const Stored = Item.extend({ id: z.number().int() });
  const Tree: z.ZodType<{ name: string; children: unknown[] }> = z.lazy(() =>
    z.object({ name: z.string(), children: z.array(Tree) }),
  );
  app.get("/", () => "home");
  app.get(
    "/items/",
    {
      query: z.object({ page: z.number().int().min(1).optional(), tag: z.array(z.string()).optional() }),
      response: z.array(Stored),
      summary: "List items",
    },
    () => [],
  );
  app.post("/items/", { json: Item, response: Stored, status: 201, tags: ["items"] }, (req) => [
    { id: 1, ...req.valid.json },
    201,
  ]);
  app.route(
    "/items/<int:id>",
    { methods: ["GET", "DELETE"], description: "One item", deprecated: true },
    () => "x",
  );
  app.get("/files/<path:name>", () => "f");
  app.get("/u/<uuid:key>", { params: z.object({ key: z.string().uuid() }) }, () => "u");
  app.post("/tree", { json: Tree }, () => "t");
  app.get("/secret", { hidden: true }, () => "s");
  app.get("/old", { redirectTo: "/" }, () => "r");
  const bp = new Blueprint("admin", { urlPrefix: "/admin" });
  bp.post(
    "/users",
    {
      form: toStandardJsonSchema(v.object({ name: v.string(), age: v.number() })),
      headers: z.object({ "x-token": z.string() }),
      cookies: z.object({ sid: z.string().optional() }),
    },
    () => "ok",
  );
  app.registerBlueprint(bp);
  return app;
}

describe("openapiDocument", () => {
  const app = buildApp();
  const doc = openapiDocument(app, { title: "Shop", version: "2.0.0", description: "Things to buy" });

  test("validates against the OpenAPI 3.1 schema", async () => {
    const res = await new Validator().validate(doc as unknown as Json);
    assert.equal(res.valid, true, JSON.stringify(res.errors, null, 1));
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(doc.info, { title: "Shop", version: "2.0.0", description: "Things to buy" });
  });

  test("paths from the rules, converters as typed path parameters; hidden, redirects and static left out", () => {
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/",
      "/admin/users",
      "/files/{name}",
      "/items/",
      "/items/{id}",
      "/tree",
      "/u/{key}",
    ]);
    assert.deepEqual(Object.keys(doc.paths["/items/{id}"]!).sort(), ["delete", "get"]);
    assert.deepEqual(at(doc.paths, "/items/{id}", "get", "parameters"), [
      { name: "id", in: "path", required: true, schema: { type: "integer" } },
    ]);
    assert.equal(at(doc.paths, "/items/{id}", "get", "deprecated"), true);
    assert.equal(at(doc.paths, "/items/{id}", "get", "description"), "One item");
    assert.equal(at(doc.paths, "/items/{id}", "get", "operationId"), "GET,DELETE /items/<int:id>_get");
    assert.deepEqual(at(doc.paths, "/u/{key}", "get", "parameters", 0, "schema", "format"), "uuid");
  });

  test("query parameters, request bodies and responses from the schemas", () => {
    const list = doc.paths["/items/"]!.get!;
    assert.equal(list.summary, "List items");
    assert.deepEqual(
      (list.parameters as Json[]).map((p) => [p.name, p.in, p.required ?? false, at(p, "schema", "type")]),
      [
        ["page", "query", false, "integer"],
        ["tag", "query", false, "array"],
      ],
    );
    assert.equal(at(list, "responses", "200", "content", "application/json", "schema", "type"), "array");
    const create = doc.paths["/items/"]!.post!;
    assert.deepEqual(create.tags, ["items"]);
    assert.deepEqual(at(create, "requestBody", "content", "application/json", "schema", "required"), [
      "name",
      "price",
    ]);
    assert.equal(
      at(create, "requestBody", "content", "application/json", "schema", "properties", "name", "description"),
      "What it is",
    );
    assert.ok(at(create, "responses", "201", "content", "application/json", "schema", "properties", "id"));
    assert.equal(
      at(create, "responses", "422", "content", "application/problem+json", "schema", "$ref"),
      "#/components/schemas/ValidationProblem",
    );
    assert.ok(doc.components.schemas.ValidationProblem);
  });

  test("blueprints are tags; form, header and cookie schemas documented", () => {
    const op = doc.paths["/admin/users"]!.post!;
    assert.deepEqual(op.tags, ["admin"]);
    assert.deepEqual(doc.tags, [{ name: "admin" }, { name: "items" }]);
    assert.deepEqual(
      (op.parameters as Json[]).map((p) => [p.name, p.in, p.required ?? false]),
      [
        ["x-token", "header", true],
        ["sid", "cookie", false],
      ],
    );
    assert.ok(at(op, "requestBody", "content", "multipart/form-data", "schema", "properties", "age"));
  });

  test("a recursive schema's $defs become components", () => {
    const ref = at(doc.paths, "/tree", "post", "requestBody", "content", "application/json", "schema");
    assert.doesNotMatch(JSON.stringify(ref), /#\/\$defs\//);
    assert.doesNotMatch(JSON.stringify(doc.components), /#\/\$defs\//);
  });
});

describe("serveOpenAPI", () => {
  const app = buildApp();
  serveOpenAPI(app, { title: "Shop <API>" });
  const client = app.testClient();

  test("the document at /openapi.json, not listing itself", async () => {
    const r = await client.get("/openapi.json");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/json");
    const d = r.json as { info: { title: string }; paths: Json };
    assert.equal(d.info.title, "Shop <API>");
    assert.equal(d.paths["/openapi.json"], undefined);
    assert.equal(d.paths["/docs"], undefined);
  });

  test("routes added after the first request are in the next document", async () => {
    const before = (await client.get("/openapi.json")).json as { paths: Json };
    assert.equal(before.paths["/late/{n}"], undefined);
    app.get("/late/<int:n>", { summary: "Added late" }, (req) => ({ n: req.params.n }));
    const after = (await client.get("/openapi.json")).json as { paths: Record<string, Json> };
    assert.equal((after.paths["/late/{n}"]?.get as Json | undefined)?.summary, "Added late");
    // Unchanged table: the same text again (cached, not rebuilt into something else).
    assert.equal((await client.get("/openapi.json")).text, JSON.stringify(after));
  });

  test("the docs page and Swagger UI's files, from the app itself", async () => {
    const page = await client.get("/docs");
    assert.equal(page.status, 200);
    assert.match(page.text, /<title>Shop &lt;API&gt; — API docs<\/title>/);
    assert.match(page.text, /data-url="\/openapi.json"/);
    assert.doesNotMatch(page.text, /https?:\/\//);
    const js = await client.get("/docs/swagger-ui-bundle.js");
    assert.equal(js.status, 200);
    assert.ok(js.data.length > 100_000);
    assert.equal((await client.get("/docs/init.js")).status, 200);
    assert.equal((await client.get("/docs/package.json")).status, 404);
    assert.equal((await client.get("/docs/..%2Fpackage.json")).status, 404);
  });
});
