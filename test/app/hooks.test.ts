// beforeRequest, afterRequest, teardownRequest: order, short-circuits, errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { abort, g, Response } from "phial";
import { makeApp } from "./helpers.ts";

describe("beforeRequest", () => {
  test("runs before the view in registration order; g carries data to the view", async () => {
    const { app } = makeApp();
    const order: string[] = [];
    app.beforeRequest(() => {
      order.push("b1");
      g.user = "ann";
    });
    app.beforeRequest(async () => {
      await null;
      order.push("b2");
    });
    app.get("/", () => {
      order.push("view");
      return `hi ${String(g.user)}`;
    });
    assert.equal((await app.testClient().get("/")).text, "hi ann");
    assert.deepEqual(order, ["b1", "b2", "view"]);
  });

  test("a returned value short-circuits the view and later hooks", async () => {
    const { app } = makeApp();
    let viewed = false;
    let later = false;
    app.beforeRequest((req) => (req.args.get("token") === "ok" ? undefined : ["login required", 401]));
    app.beforeRequest(() => {
      later = true;
    });
    app.get("/", () => {
      viewed = true;
      return "secret";
    });
    const c = app.testClient();
    const r = await c.get("/");
    assert.equal(r.status, 401);
    assert.equal(r.text, "login required");
    assert.equal(viewed, false);
    assert.equal(later, false);
    assert.equal((await c.get("/?token=ok")).text, "secret");
  });

  test("runs before routing errors are raised (Flask order) and may abort", async () => {
    const { app } = makeApp();
    const seen: string[] = [];
    app.beforeRequest((req) => {
      seen.push(req.path);
      if (req.path === "/admin") abort(403);
    });
    app.get("/admin", () => "admin");
    const c = app.testClient();
    assert.equal((await c.get("/missing")).status, 404);
    assert.equal((await c.get("/admin")).status, 403);
    assert.deepEqual(seen, ["/missing", "/admin"]);
  });
});

describe("afterRequest", () => {
  test("runs in reverse order of registration and may change or replace the response", async () => {
    const { app } = makeApp();
    const order: string[] = [];
    app.afterRequest((res) => {
      order.push("a1");
      res.headers.set("X-A1", "1");
      return res;
    });
    app.afterRequest(async (res) => {
      await null;
      order.push("a2");
      res.headers.set("X-A2", "1");
    });
    app.get("/", () => "body");
    app.get("/replace", () => "old");
    app.afterRequest((res, req) => (req.path === "/replace" ? new Response("new", { status: 202 }) : res));
    const c = app.testClient();
    const r = await c.get("/");
    assert.deepEqual(order, ["a2", "a1"]);
    assert.equal(r.headers.get("x-a1"), "1");
    assert.equal(r.headers.get("x-a2"), "1");
    const rr = await c.get("/replace");
    assert.equal(rr.status, 202);
    assert.equal(rr.text, "new");
  });

  test("runs for error pages and short-circuited responses too", async () => {
    const { app } = makeApp();
    app.afterRequest((res) => {
      res.headers.set("X-Seen", String(res.status));
    });
    app.get("/boom", () => {
      throw new Error("x");
    });
    const c = app.testClient();
    assert.equal((await c.get("/nope")).headers.get("x-seen"), "404");
    assert.equal((await c.get("/boom")).headers.get("x-seen"), "500");
  });

  test("a failing afterRequest hook gives a plain 500", async () => {
    const { app, logs } = makeApp();
    app.afterRequest(() => {
      throw new Error("after broke");
    });
    app.get("/", () => "ok");
    const r = await app.testClient().get("/");
    assert.equal(r.status, 500);
    assert.ok(logs.some((l) => String(l.error).includes("after broke")));
  });
});

describe("teardownRequest", () => {
  test("always runs, in reverse order, with the unhandled error if any", async () => {
    const { app } = makeApp();
    const seen: string[] = [];
    app.teardownRequest((err) => {
      seen.push(`t1:${err === undefined ? "-" : (err as Error).message}`);
    });
    app.teardownRequest(async () => {
      await null;
      seen.push("t2");
    });
    app.get("/ok", () => "ok");
    app.get("/boom", () => {
      throw new Error("bad");
    });
    app.get("/404", () => abort(404));
    const c = app.testClient();
    await c.get("/ok");
    await c.get("/boom");
    await c.get("/404");
    assert.deepEqual(seen, ["t2", "t1:-", "t2", "t1:bad", "t2", "t1:-"]);
  });

  test("a failing teardown is logged and does not change the response", async () => {
    const { app, logs } = makeApp();
    app.teardownRequest(() => {
      throw new Error("teardown broke");
    });
    app.get("/", () => "fine");
    const r = await app.testClient().get("/");
    assert.equal(r.status, 200);
    assert.equal(r.text, "fine");
    assert.ok(logs.some((l) => String(l.error).includes("teardown broke")));
  });

  test("runs even when the error propagates in testing mode; callOnClose runs after it", async () => {
    const { app } = makeApp({ config: { testing: true } });
    const seen: string[] = [];
    app.teardownRequest(() => {
      seen.push("teardown");
    });
    app.get("/", (req) => {
      req.callOnClose(() => {
        seen.push("close");
      });
      throw new Error("propagated");
    });
    await assert.rejects(app.testClient().get("/"), /propagated/);
    assert.deepEqual(seen, ["teardown", "close"]);
  });
});

describe("hooks added after the first request", () => {
  test("take effect (the fast path notices)", async () => {
    const { app } = makeApp();
    app.get("/", () => "x");
    const c = app.testClient();
    assert.equal((await c.get("/")).headers.get("x-late"), undefined);
    app.afterRequest((res) => {
      res.headers.set("X-Late", "1");
    });
    assert.equal((await c.get("/")).headers.get("x-late"), "1");
  });
});
