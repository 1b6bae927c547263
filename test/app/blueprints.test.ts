// Blueprints: prefixes, endpoints, their own hooks and error handlers, nesting, relative urlFor.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { abort, Blueprint, urlFor } from "phial";
import { makeApp } from "./helpers.ts";

function build() {
  const { app, logs } = makeApp();
  const order: string[] = [];
  const admin = new Blueprint("admin", { urlPrefix: "/admin" });
  admin.beforeRequest(() => {
    order.push("admin.before");
  });
  admin.afterRequest((res) => {
    order.push("admin.after");
    res.headers.set("X-Admin", "1");
  });
  admin.errorHandler(404, () => ["admin 404", 404]);
  admin.get("/", function index() {
    return `admin home -> ${urlFor(".user_list")} and ${urlFor("index")}`;
  });
  admin.get("/users/<int:id>", function users(req) {
    if (req.params.id === 0) abort(404);
    return `user ${req.params.id} bp=${req.blueprint}`;
  });
  admin.get("/users", function user_list() {
    return "all users";
  });
  const api = new Blueprint("api");
  api.get("/ping", function ping() {
    return { pong: true, here: urlFor(".ping") };
  });
  admin.registerBlueprint(api, { urlPrefix: "/api" });
  app.beforeRequest(() => {
    order.push("app.before");
  });
  app.afterRequest(() => {
    order.push("app.after");
  });
  app.get("/", function index() {
    return "site home";
  });
  app.registerBlueprint(admin);
  return { app, logs, order };
}

describe("blueprints", () => {
  test("routes under the prefix, endpoints named bp.view", async () => {
    const { app } = build();
    const c = app.testClient();
    assert.equal((await c.get("/admin/users/3")).text, "user 3 bp=admin");
    assert.equal(app.urlFor("admin.users", { id: 3 }), "/admin/users/3");
    assert.equal(app.urlFor("admin.user_list"), "/admin/users");
    assert.equal((await c.get("/admin/users")).text, "all users");
    assert.equal(app.urlFor("admin.index"), "/admin/");
    assert.equal(app.urlFor("index"), "/");
  });

  test("urlFor('.view') is relative to the current blueprint", async () => {
    const { app } = build();
    const r = await app.testClient().get("/admin/");
    assert.equal(r.text, "admin home -> /admin/users and /");
  });

  test("nested blueprints: prefixes join, endpoints are parent.child.view", async () => {
    const { app } = build();
    const r = await app.testClient().get("/admin/api/ping");
    assert.deepEqual(r.json, { pong: true, here: "/admin/api/ping" });
    assert.equal(app.urlFor("admin.api.ping"), "/admin/api/ping");
  });

  test("the blueprint's hooks run only for its views; app before first, blueprint after first", async () => {
    const { app, order } = build();
    const c = app.testClient();
    await c.get("/admin/users");
    assert.deepEqual(order.splice(0), ["app.before", "admin.before", "admin.after", "app.after"]);
    const r = await c.get("/");
    assert.deepEqual(order.splice(0), ["app.before", "app.after"]);
    assert.equal(r.headers.get("x-admin"), undefined);
    // nested blueprint views get the parent's hooks too
    await c.get("/admin/api/ping");
    assert.deepEqual(order.splice(0), ["app.before", "admin.before", "admin.after", "app.after"]);
  });

  test("a blueprint's error handler sees only its own views' errors", async () => {
    const { app } = build();
    const c = app.testClient();
    const inside = await c.get("/admin/users/0");
    assert.equal(inside.status, 404);
    assert.equal(inside.text, "admin 404");
    // an unmatched URL under the prefix belongs to no view: the app's default page
    const outside = await c.get("/admin/nothing-here");
    assert.equal(outside.status, 404);
    assert.match(outside.text, /Not Found/);
  });

  test("registering twice under the same name fails; another name works", async () => {
    const { app } = makeApp();
    const bp = new Blueprint("shop");
    bp.get("/", function index() {
      return "shop";
    });
    app.registerBlueprint(bp, { urlPrefix: "/shop" });
    assert.throws(() => app.registerBlueprint(bp), /already registered as "shop"/);
    app.registerBlueprint(bp, { urlPrefix: "/store", name: "store" });
    assert.equal(app.urlFor("store.index"), "/store/");
    assert.equal((await app.testClient().get("/store/")).text, "shop");
  });

  test("adding a route after registration is an error (it would be lost)", () => {
    const { app } = makeApp();
    const bp = new Blueprint("late");
    app.registerBlueprint(bp);
    assert.throws(() => bp.get("/x", () => "x"), /already registered/);
  });

  test("names with dots are refused", () => {
    assert.throws(() => new Blueprint("a.b"), /no dot/);
  });
});
