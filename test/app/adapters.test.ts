// The same app through app.fetch (web Request/Response) and node:http (app.nodeHandler()).

import assert from "node:assert/strict";
import { createServer, request as httpRequest } from "node:http";
import { describe, test } from "node:test";
import { request } from "phial";
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
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
