// phial/testing: the in-process test client.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeResponse, redirect } from "phial";
import { TestClient } from "phial/testing";
import { makeApp } from "./helpers.ts";

function app() {
  const { app } = makeApp();
  app.route("/echo", { methods: ["GET", "POST", "PUT", "PATCH", "DELETE"] }, (req) => ({
    method: req.method,
    args: req.args.toDict({ flat: false }),
    form: req.form.toDict({ flat: false }),
    json: req.getJson({ silent: true }) ?? null,
    ct: req.contentType ?? null,
    token: req.headers.get("x-token") ?? null,
    cookies: req.cookies.toDict(),
    host: req.host,
  }));
  app.get("/login", (req) => {
    const res = makeResponse("in");
    res.setCookie("sid", req.args.get("v") ?? "abc 123", { httpOnly: true });
    res.setCookie("scoped", "1", { path: "/admin" });
    return res;
  });
  app.get("/logout", () => makeResponse("out").deleteCookie("sid"));
  app.get("/admin/x", (req) => req.cookies.toDict());
  app.get("/short", () => makeResponse("s").setCookie("tmp", "1", { maxAge: 0 }));
  app.post("/go", () => redirect("/echo?from=go", 303));
  app.post("/keep", () => redirect("/echo", 307));
  return app;
}

describe("TestClient", () => {
  test("app.testClient() is a phial/testing TestClient", () => {
    assert.ok(app().testClient() instanceof TestClient);
  });

  test("get with query and headers; status, headers, text, json", async () => {
    const c = app().testClient();
    const r = await c.get("/echo?a=0", { query: { a: [1, 2], b: "x y" }, headers: { "X-Token": "t" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.equal(typeof r.text, "string");
    const j = r.json as Record<string, unknown>;
    assert.deepEqual(j.args, { a: ["0", "1", "2"], b: ["x y"] });
    assert.equal(j.token, "t");
    assert.equal(j.host, "localhost");
  });

  test("post with form and json; other methods", async () => {
    const c = app().testClient();
    const f = (await c.post("/echo", { form: { name: "张三", tags: ["a", "b"] } })).json as Record<
      string,
      unknown
    >;
    assert.deepEqual(f.form, { name: ["张三"], tags: ["a", "b"] });
    assert.equal(f.ct, "application/x-www-form-urlencoded");
    const j = (await c.put("/echo", { json: { a: [1] } })).json as Record<string, unknown>;
    assert.deepEqual(j.json, { a: [1] });
    assert.equal(j.ct, "application/json");
    assert.equal(((await c.patch("/echo")).json as { method: string }).method, "PATCH");
    assert.equal(((await c.delete("/echo")).json as { method: string }).method, "DELETE");
  });

  test("keeps cookies between requests, honours path and deletion", async () => {
    const c = app().testClient();
    await c.get("/login");
    assert.equal(c.getCookie("sid"), "abc 123");
    assert.deepEqual(((await c.get("/echo")).json as { cookies: unknown }).cookies, { sid: "abc 123" });
    assert.deepEqual((await c.get("/admin/x")).json, { sid: "abc 123", scoped: "1" });
    await c.get("/logout");
    assert.equal(c.getCookie("sid"), undefined);
    assert.deepEqual(((await c.get("/echo")).json as { cookies: unknown }).cookies, {});
    await c.get("/short");
    assert.equal(c.getCookie("tmp"), undefined);
  });

  test("each client has its own jar; setCookie/deleteCookie by hand", async () => {
    const a = app();
    const c1 = a.testClient();
    const c2 = a.testClient();
    await c1.get("/login");
    assert.deepEqual(((await c2.get("/echo")).json as { cookies: unknown }).cookies, {});
    c2.setCookie("manual", "m");
    assert.deepEqual(((await c2.get("/echo")).json as { cookies: unknown }).cookies, { manual: "m" });
    c2.deleteCookie("manual");
    assert.deepEqual(((await c2.get("/echo")).json as { cookies: unknown }).cookies, {});
  });

  test("followRedirects: 303 becomes GET without a body; 307 keeps method and body", async () => {
    const c = app().testClient();
    const r = await c.post("/go", { form: { a: "1" }, followRedirects: true });
    const j = r.json as { method: string; args: unknown; form: unknown };
    assert.equal(j.method, "GET");
    assert.deepEqual(j.args, { from: ["go"] });
    assert.deepEqual(j.form, {});
    assert.deepEqual(r.history, ["/go"]);
    const k = (await c.post("/keep", { form: { a: "1" }, followRedirects: true })).json as {
      method: string;
      form: unknown;
    };
    assert.equal(k.method, "POST");
    assert.deepEqual(k.form, { a: ["1"] });
  });

  test("no socket is opened: it works without listening", async () => {
    const a = app();
    assert.equal((await a.testClient().get("/echo")).status, 200);
  });
});

describe("TestResponse", () => {
  test("has the Content-Length the wire would send; a reused Response is not changed", async () => {
    const { app } = makeApp();
    const cached = makeResponse("héllo");
    app.get("/", () => cached);
    const c = app.testClient();
    const r = await c.get("/");
    assert.equal(r.headers.get("content-length"), "6");
    assert.equal(cached.headers.has("content-length"), false);
    assert.equal((await c.head("/")).headers.get("content-length"), "6");
  });

  test("HEAD closes a streamed body without reading it", async () => {
    const { app } = makeApp();
    let started = false;
    let closed = false;
    app.get("/s", () => {
      const r = makeResponse("");
      r.body = {
        [Symbol.asyncIterator]() {
          return {
            next: async () => {
              started = true;
              return { done: true as const, value: undefined };
            },
            return: async () => {
              closed = true;
              return { done: true as const, value: undefined };
            },
          };
        },
      };
      return r;
    });
    const h = await app.testClient().head("/s");
    assert.equal(h.status, 200);
    assert.equal(started, false);
    assert.equal(closed, true);
  });
});
