// The same app through app.fetch (web Request/Response) and node:http (app.nodeHandler()).

import assert from "node:assert/strict";
import { createServer, request as httpRequest } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { describe, test } from "node:test";
import { request } from "phial";
import { Client } from "phial/client";
import { serve } from "phial/http";
import { makeApp } from "./helpers.ts";

function build() {
  const { app } = makeApp();
  app.get("/", () => "<h1>Home</h1>");
  app.post("/json", (req) => ({ got: req.json as unknown, host: req.host, secure: req.isSecure }));
  app.get("/stream", async function* () {
    yield "a,";
    await null;
    yield `b:${request.args.get("v")}`;
  });
  app.get("/cookie", () => [
    "c",
    201,
    [
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
    ],
  ]);
  return app;
}

describe("app.fetch", () => {
  const app = build();

  test("GET gives a web Response with status, headers and body", async () => {
    const r = await app.fetch(new Request("http://example.test/"));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await r.text(), "<h1>Home</h1>");
  });

  test("POST JSON over https; repeated Set-Cookie kept", async () => {
    const r = await app.fetch(
      new Request("https://api.test/json", {
        method: "POST",
        body: '{"a":1}',
        headers: { "content-type": "application/json" },
      }),
    );
    assert.deepEqual(await r.json(), { got: { a: 1 }, host: "api.test", secure: true });
    const c = await app.fetch(new Request("http://x/cookie"));
    assert.equal(c.status, 201);
    assert.deepEqual(c.headers.getSetCookie(), ["a=1", "b=2"]);
  });

  test("streamed bodies become a ReadableStream in the request's context", async () => {
    const r = await app.fetch(new Request("http://x/stream?v=9"));
    assert.equal(await r.text(), "a,b:9");
  });

  test("404 and HEAD", async () => {
    assert.equal((await app.fetch(new Request("http://x/nope"))).status, 404);
    const h = await app.fetch(new Request("http://x/", { method: "HEAD" }));
    assert.equal(h.status, 200);
    assert.equal(await h.text(), "");
  });

  test("works detached from the app: const { fetch } = app, { fetch: app.fetch }, serve({ fetch: app.fetch })", async () => {
    const { fetch } = app;
    assert.equal(await (await fetch(new Request("http://x/stream?v=2"))).text(), "a,b:2");
    const worker = { fetch: app.fetch }; // export default { fetch: app.fetch }
    assert.equal(await (await worker.fetch(new Request("http://x/"))).text(), "<h1>Home</h1>");
    const { app: other } = makeApp();
    other.get("/ip", (req) => req.remoteAddr);
    for (const server of [
      await serve({ fetch: other.fetch, port: 0, hostname: "127.0.0.1" }),
      await serve(other.fetch),
      await serve({ fetch: other.fetch }), // export default { fetch: app.fetch }, handed to serve()
    ]) {
      const client = new Client();
      try {
        const { port } = server.address() as AddressInfo;
        // serve()'s info is app.fetch's options: the client's address reaches the app.
        assert.equal(await (await client.get(`http://127.0.0.1:${port}/ip`)).text(), "127.0.0.1");
      } finally {
        await client.close();
        await server.close();
      }
    }
  });

  test("a streamed body that yields something else errors the stream, and the source is closed", async () => {
    const { app: bad } = makeApp();
    let closed = false;
    bad.get("/bad", async function* () {
      try {
        yield "ok";
        yield 42 as unknown as string;
        yield "never";
      } finally {
        closed = true;
      }
    });
    const r = await bad.fetch(new Request("http://x/bad"));
    await assert.rejects(r.text(), /A streamed response body yielded a number; yield strings or bytes/);
    assert.equal(closed, true);
  });

  test("HEAD and 204 don't run a streamed body, and still run its callOnClose functions", async () => {
    const { app: a } = makeApp();
    let ran = 0;
    let started = false;
    let cleaned = 0;
    a.get("/s", (req) => {
      req.callOnClose(() => {
        cleaned++;
      });
      ran++;
      async function* body() {
        started = true;
        yield "x";
      }
      return [body(), req.args.get("s") === "204" ? 204 : 200];
    });
    for (const r of [
      await a.fetch(new Request("http://x/s", { method: "HEAD" })),
      await a.fetch(new Request("http://x/s?s=204")),
    ]) {
      assert.equal(r.body, null);
    }
    await new Promise((r) => setImmediate(r));
    assert.deepEqual({ ran, started, cleaned }, { ran: 2, started: false, cleaned: 2 });
  });
});

describe("app.nodeHandler", () => {
  test("serves the app through node:http, streaming included", async () => {
    const app = build();
    const server = createServer(app.nodeHandler());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const get = (path: string, method = "GET", body?: string) =>
      new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port,
            path,
            method,
            headers: body ? { "content-type": "application/json" } : {},
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => {
              text += d;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    try {
      const home = await get("/");
      assert.equal(home.status, 200);
      assert.equal(home.text, "<h1>Home</h1>");
      assert.equal(home.headers["content-type"], "text/html; charset=utf-8");
      const j = await get("/json", "POST", '{"x":[1]}');
      assert.deepEqual(JSON.parse(j.text), { got: { x: [1] }, host: `127.0.0.1:${port}`, secure: false });
      assert.equal((await get("/stream?v=1")).text, "a,b:1");
      assert.deepEqual((await get("/cookie")).headers["set-cookie"], ["a=1", "b=2"]);
      assert.equal((await get("/", "DELETE")).status, 405);
      const head = await get("/stream", "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.text, "");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test("req.signal aborts when the client leaves before the response; the body is then not run", async () => {
    const { app, logs } = makeApp();
    let reason: unknown;
    let started = false;
    let cleaned: () => void;
    const cleanedUp = new Promise<void>((r) => {
      cleaned = r;
    });
    let arrived: () => void;
    const arrival = new Promise<void>((r) => {
      arrived = r;
    });
    app.get("/slow", async (req) => {
      req.callOnClose(() => cleaned());
      arrived();
      await new Promise((r) => req.signal.addEventListener("abort", r));
      reason = req.signal.reason;
      async function* body() {
        started = true;
        yield "late";
      }
      return body();
    });
    app.get("/", () => "still serving");
    const server = createServer(app.nodeHandler());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      const s = connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
      await arrival;
      s.destroy();
      await cleanedUp;
      assert.ok(reason instanceof Error);
      assert.equal((reason as Error).name, "RequestAbortedError");
      assert.equal(started, false);
      const r = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(await r.text(), "still serving");
      assert.deepEqual(
        logs.filter((l) => l.level === "error"),
        [],
      );
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test("req.signal on many requests of one keep-alive connection: no listener piles up", async () => {
    const { app } = makeApp();
    app.get("/", (req) => String(req.signal.aborted));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    const server = createServer(app.nodeHandler());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    const s = connect(port, "127.0.0.1");
    try {
      const n = 15;
      const text = await new Promise<string>((resolve, reject) => {
        let got = "";
        s.setEncoding("latin1");
        s.on("data", (d: string) => {
          got += d;
          if (got.split("HTTP/1.1 200 OK").length - 1 === n && got.endsWith("false")) resolve(got);
        });
        s.on("error", reject);
        s.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(n));
      });
      assert.equal(text.split("\r\n\r\nfalse").length - 1, n);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.filter((w) => w.name === "MaxListenersExceededWarning"),
        [],
      );
    } finally {
      process.off("warning", onWarning);
      s.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test("a streamed body that yields something else: logged, the connection cut, the source closed", async () => {
    const { app, logs } = makeApp();
    let closed = false;
    app.get("/bad", async function* () {
      try {
        yield "ok";
        yield 42 as unknown as string;
      } finally {
        closed = true;
      }
    });
    const server = createServer(app.nodeHandler());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      await assert.rejects(async () => {
        const r = await fetch(`http://127.0.0.1:${port}/bad`);
        await r.text();
      });
      assert.equal(closed, true);
      const errors = logs.filter((l) => l.level === "error");
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]!.error), /yielded a number; yield strings or bytes/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("a before-request hook reading the form, through the adapters", () => {
  function hookApp() {
    const { app } = makeApp();
    let hookRuns = 0;
    app.beforeRequest((req) => {
      if (req.method !== "POST") return undefined;
      hookRuns++;
      if (req.form.get("token") !== "ok") return ["bad token", 403];
      return undefined;
    });
    app.post("/save", (req) => `saved ${String(req.form.get("text")).length}`);
    return { app, runs: () => hookRuns };
  }
  const form = (text: string, token = "ok") => new URLSearchParams({ token, text }).toString();
  const headers = { "content-type": "application/x-www-form-urlencoded" };

  test("app.fetch: a small body is read before the hooks (each hook runs once); a large one still works", async () => {
    const { app, runs } = hookApp();
    const small = await app.fetch(
      new Request("http://x/save", { method: "POST", headers, body: form("hello") }),
    );
    assert.equal(await small.text(), "saved 5");
    assert.equal(runs(), 1);
    const refused = await app.fetch(
      new Request("http://x/save", { method: "POST", headers, body: form("x", "no") }),
    );
    assert.equal(refused.status, 403);
    assert.equal(runs(), 2);
    const big = "y".repeat(200_000);
    const large = await app.fetch(new Request("http://x/save", { method: "POST", headers, body: form(big) }));
    assert.equal(await large.text(), `saved ${big.length}`);
  });

  test("nodeHandler: a small body is read before the hooks (each hook runs once)", async () => {
    const { app, runs } = hookApp();
    const server = createServer(app.nodeHandler());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await fetch(`http://127.0.0.1:${port}/save`, {
        method: "POST",
        headers,
        body: form("hello"),
      });
      assert.equal(await r.text(), "saved 5");
      assert.equal(runs(), 1);
      const r2 = await fetch(`http://127.0.0.1:${port}/save`, {
        method: "POST",
        headers,
        body: form("b", "no"),
      });
      assert.equal(r2.status, 403);
      assert.equal(runs(), 2);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
