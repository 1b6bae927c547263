// Compile-time behaviour a TypeScript user relies on (checked by `npm run typecheck`; the runtime
// assertions keep the file honest).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Blueprint, type HandlerResult, jsonify, type Request, urlFor } from "phial";
import { makeApp } from "./helpers.ts";

test("params are typed from the rule string", async () => {
  const { app } = makeApp();
  app.get("/user/<int:id>/<name>/<any(a, b):tab>/<path:rest>", (req) => {
    const id: number = req.params.id;
    const name: string = req.params.name;
    const tab: "a" | "b" = req.params.tab;
    const rest: string = req.params.rest;
    // @ts-expect-error: no such parameter
    void req.params.other;
    // @ts-expect-error: id is a number, not a string
    const wrong: string = req.params.id;
    void wrong;
    return { id, name, tab, rest };
  });
  const bp = new Blueprint("bp");
  bp.post("/x/<float:f>", (req) => ({ f: req.params.f + 1 }));
  app.route("/page/", { defaults: { page: 1 } }, (req) => ({ page: req.params.page + 0 }));
  const r = await app.testClient().get("/user/1/n/a/x/y");
  assert.deepEqual(r.json, { id: 1, name: "n", tab: "a", rest: "x/y" });
});

test("what a handler may return", () => {
  const { app } = makeApp();
  app.get("/a", () => "s");
  app.get("/b", () => ({ a: 1 }));
  app.get("/c", () => ["s", 201]);
  app.get("/d", () => ["s", { "X-A": "1" }]);
  app.get("/e", () => [{ a: 1 }, 201, [["X-A", "1"]]]);
  app.get("/f", () => jsonify([1, 2]));
  app.get("/g", async () => new Uint8Array(1));
  app.get("/h", function* () {
    yield "x";
  });
  // @ts-expect-error: returning nothing is a type error
  app.get("/i", () => {});
  // @ts-expect-error: a number is not a body
  app.get("/j", () => 5);
  // @ts-expect-error: a bare array is a tuple, not JSON
  app.get("/k", () => [1, 2, 3]);
  const typed = (req: Request) => req.method;
  app.get("/l", typed);
  assert.ok(true);
});

interface Note {
  id: number;
  text: string;
  tags?: string[];
}

test("interface-typed objects, async tuples and declared return types compile without casts", async () => {
  const { app } = makeApp();
  const note: Note = { id: 1, text: "x" };
  app.get("/note", () => note); // an interface has no index signature, and needs none
  app.get("/note-async", async (): Promise<Note> => note);
  app.post("/note", async (req) => (req.args.has("bad") ? ["bad", 400] : [note, 201, { "X-Id": "1" }]));
  function view(): HandlerResult {
    return { id: 2, text: "y" }; // an object literal: no excess-property error
  }
  app.get("/view", view);
  // @ts-expect-error: a tuple's third item is headers
  app.get("/wrong", () => ["x", 201, 5]);
  const c = app.testClient();
  assert.deepEqual((await c.get("/note")).json, note);
  const created = await c.post("/note");
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("x-id"), "1");
  assert.equal((await c.post("/note?bad")).status, 400);
  assert.deepEqual((await c.get("/view")).json, { id: 2, text: "y" });
});

declare module "phial" {
  interface Endpoints {
    typedProfile: "/typed/<int:id>";
    typedHome: "/typed";
  }
}

test("urlFor checks the parameters of declared endpoints", () => {
  const { app } = makeApp();
  app.get("/typed/<int:id>", { endpoint: "typedProfile" }, (req) => String(req.params.id));
  app.get("/typed", { endpoint: "typedHome" }, () => "home");
  assert.equal(app.urlFor("typedProfile", { id: 3, tab: "x" }), "/typed/3?tab=x");
  assert.equal(urlFor("typedHome"), "/typed");
  // @ts-expect-error: id is required
  assert.throws(() => app.urlFor("typedProfile"));
  // @ts-expect-error: id is a number
  assert.equal(app.urlFor("typedProfile", { id: "4" }), "/typed/4");
  // undeclared endpoints take anything
  assert.throws(() => urlFor("undeclared", { anything: 1 }));
});
