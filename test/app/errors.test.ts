// abort(), HTTP error classes, error handlers and what reaches the client.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  abort,
  BadRequest,
  Forbidden,
  HTTPException,
  type InternalServerError,
  MethodNotAllowed,
  NotFound,
  Response,
  TooManyRequests,
  Unauthorized,
} from "phial";
import { makeApp } from "./helpers.ts";

class PaymentError extends Error {}
class CardDeclined extends PaymentError {}

describe("abort and HTTP errors", () => {
  const { app, logs } = makeApp();
  app.get("/403", () => abort(403));
  app.get("/404-desc", () => abort(404, "No such <user>"));
  app.get("/throw", () => {
    throw new Unauthorized("Log in first", 'Basic realm="x"');
  });
  app.get("/return", () => new Forbidden());
  app.get("/resp", () => abort(new Response("custom body", { status: 402 })));
  app.get("/429", () => {
    throw new TooManyRequests(undefined, 30);
  });
  app.get("/405", () => {
    throw new MethodNotAllowed(["GET", "POST"]);
  });
  app.get("/599", () => abort(599));
  const c = app.testClient();

  test("abort(403) sends Werkzeug's page", async () => {
    const r = await c.get("/403");
    assert.equal(r.status, 403);
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(
      r.text,
      "<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n" +
        "<p>You don&#39;t have the permission to access the requested resource. It is either read-protected or not " +
        "readable by the server.</p>\n",
    );
  });

  test("a description is escaped", async () => {
    const r = await c.get("/404-desc");
    assert.equal(r.status, 404);
    assert.match(r.text, /<p>No such &lt;user&gt;<\/p>/);
  });

  test("thrown and returned HTTPExceptions, with their headers", async () => {
    const r = await c.get("/throw");
    assert.equal(r.status, 401);
    assert.equal(r.headers.get("www-authenticate"), 'Basic realm="x"');
    assert.match(r.text, /Log in first/);
    assert.equal((await c.get("/return")).status, 403);
    assert.equal((await c.get("/429")).headers.get("retry-after"), "30");
    assert.equal((await c.get("/405")).headers.get("allow"), "GET, POST");
  });

  test("abort(response) sends that response", async () => {
    const r = await c.get("/resp");
    assert.equal(r.status, 402);
    assert.equal(r.text, "custom body");
  });

  test("abort with a status without a class still works", async () => {
    const r = await c.get("/599");
    assert.equal(r.status, 599);
  });

  test("HTTP errors are not logged as crashes", () => {
    assert.equal(logs.filter((l) => l.level === "error").length, 0);
  });

  test("the classes carry status, code, title, description", () => {
    const e = new NotFound();
    assert.ok(e instanceof HTTPException && e instanceof Error);
    assert.equal(e.status, 404);
    assert.equal(e.code, 404);
    assert.equal(e.title, "Not Found");
    assert.match(e.description, /not found on the server/);
    assert.throws(() => abort(200), RangeError);
  });
});

describe("uncaught errors", () => {
  test("become a 500 logged with the stack, never shown to the client", async () => {
    const { app, logs } = makeApp();
    app.get("/boom", function boom() {
      throw new Error("secret database password in message");
    });
    const r = await app.testClient().get("/boom");
    assert.equal(r.status, 500);
    assert.match(r.text, /500 Internal Server Error/);
    assert.doesNotMatch(r.text, /secret/);
    const line = logs.find((l) => l.level === "error");
    assert.ok(line);
    assert.match(line.message, /GET \/boom \[boom\]/);
    assert.match((line.error as Error).stack ?? "", /errors\.test\.ts/);
  });

  test("async rejections too", async () => {
    const { app, logs } = makeApp();
    app.get("/", async () => {
      await null;
      throw new TypeError("late");
    });
    assert.equal((await app.testClient().get("/")).status, 500);
    assert.equal(logs.length, 1);
  });

  test("in debug mode the stack is shown: HTML for browsers, text for other clients", async () => {
    const { app } = makeApp({ config: { debug: true } });
    app.get("/", () => {
      throw new Error("visible in debug");
    });
    const r = await app.testClient().get("/", { headers: { accept: "text/html,*/*;q=0.8" } });
    assert.equal(r.status, 500);
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(r.text, /<h1>Error: visible in debug<\/h1>/);
    assert.match(r.text, /errors\.test\.ts/);
    // the source line of the throw, escaped, is on the page
    assert.match(
      r.text,
      /<span class="hit"><i>\d+<\/i>.*throw new Error\(&quot;visible in debug&quot;\);<\/span>/,
    );
    const t = await app.testClient().get("/");
    assert.equal(t.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.match(t.text, /^Error: visible in debug/);
    assert.match(t.text, / {2}>\s+\d+ \| .*throw new Error\("visible in debug"\);/);
  });

  test("the debug page is only for clients on this machine", async () => {
    const { app } = makeApp({ config: { debug: true } });
    app.get("/", () => {
      throw new Error("source stays private");
    });
    const remote = await app.testClient().get("/", { remoteAddr: "203.0.113.9" });
    assert.equal(remote.status, 500);
    assert.doesNotMatch(remote.text, /source stays private/);
    assert.match((await app.testClient().get("/", { remoteAddr: "::1" })).text, /source stays private/);
    app.config.debugPageForRemote = true;
    assert.match(
      (await app.testClient().get("/", { remoteAddr: "203.0.113.9" })).text,
      /source stays private/,
    );
  });

  test("in testing mode the error propagates to the test client", async () => {
    const { app } = makeApp({ config: { testing: true } });
    app.get("/", () => {
      throw new Error("see me");
    });
    await assert.rejects(app.testClient().get("/"), /see me/);
    app.config.propagateExceptions = false;
    assert.equal((await app.testClient().get("/")).status, 500);
  });
});

describe("errorHandler", () => {
  test("by status, for abort and for routing errors", async () => {
    const { app } = makeApp();
    app.errorHandler(404, (e: HTTPException) => [`custom 404: ${e.description.slice(0, 13)}`, 404]);
    app.get("/gone", () => abort(404));
    const c = app.testClient();
    assert.equal((await c.get("/gone")).text, "custom 404: The requested");
    const r = await c.get("/nowhere");
    assert.equal(r.status, 404);
    assert.match(r.text, /^custom 404/);
  });

  test("by class, for routing errors too (404, 405, and the default pages without any handler)", async () => {
    const plain = makeApp().app;
    plain.get("/only-get", () => "x");
    const pc = plain.testClient();
    const nf = await pc.get("/nowhere");
    assert.equal(nf.status, 404);
    assert.equal(nf.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(nf.text, /<title>404 Not Found<\/title>/);
    assert.equal((await pc.get("/nowhere-else")).text, nf.text);
    const na = await pc.post("/only-get");
    assert.equal(na.status, 405);
    assert.equal(na.headers.get("allow"), "GET, HEAD, OPTIONS");

    const { app } = makeApp();
    app.get("/only-get", () => "x");
    app.errorHandler(HTTPException, (e) => [`caught ${e.status}`, e.status]);
    const c = app.testClient();
    assert.equal((await c.get("/nowhere")).text, "caught 404");
    assert.equal((await c.post("/only-get")).text, "caught 405");
    const byClass = makeApp().app;
    byClass.errorHandler(NotFound, () => ["no such page", 404]);
    assert.equal((await byClass.testClient().get("/x")).text, "no such page");
  });

  test("a handler may change the status or return JSON", async () => {
    const { app } = makeApp();
    app.errorHandler(BadRequest, (e) => [{ error: e.description }, 422]);
    app.get("/", (req) => req.args.require("q"));
    const r = await app.testClient().get("/");
    assert.equal(r.status, 422);
    assert.match((r.json as { error: string }).error, /"q"/);
  });

  test("by class: the nearest class wins; an unhandled error is not logged as a crash", async () => {
    const { app, logs } = makeApp();
    app.errorHandler(PaymentError, () => ["payment problem", 402]);
    app.errorHandler(CardDeclined, async () => {
      await null;
      return ["card declined", 402];
    });
    app.get("/p", () => {
      throw new PaymentError();
    });
    app.get("/c", () => {
      throw new CardDeclined();
    });
    const c = app.testClient();
    assert.equal((await c.get("/p")).text, "payment problem");
    assert.equal((await c.get("/c")).text, "card declined");
    assert.equal(logs.length, 0);
  });

  test("405 handler keeps Allow when it returns the exception's response", async () => {
    const { app } = makeApp();
    app.errorHandler(405, (e: HTTPException) => {
      const res = e.getResponse();
      res.headers.set("X-Handled", "1");
      return res;
    });
    app.get("/x", () => "x");
    const r = await app.testClient().post("/x");
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "GET, HEAD, OPTIONS");
    assert.equal(r.headers.get("x-handled"), "1");
  });

  test("a 500 handler sees the original error", async () => {
    const { app } = makeApp();
    app.errorHandler(500, (e: InternalServerError) => [`oops: ${(e.originalError as Error).message}`, 500]);
    app.get("/", () => {
      throw new Error("root cause");
    });
    const r = await app.testClient().get("/");
    assert.equal(r.status, 500);
    assert.equal(r.text, "oops: root cause");
  });

  test("a throwing error handler gives a plain 500", async () => {
    const { app, logs } = makeApp();
    app.errorHandler(404, () => {
      throw new Error("handler broke");
    });
    const r = await app.testClient().get("/missing");
    assert.equal(r.status, 500);
    assert.match(r.text, /Internal Server Error/);
    assert.ok(logs.some((l) => String(l.error).includes("handler broke")));
  });

  test("errorHandler rejects a status that is not an error", () => {
    const { app } = makeApp();
    assert.throws(() => app.errorHandler(200, () => ""), RangeError);
  });
});
