// The app over a real socket (createServer(app.wireHandler) and app.run): HEAD, streaming, keep-alive,
// limits and a client that leaves mid-stream.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Response, request } from "phial";
import { createServer, type Server } from "phial/http";
import { makeApp } from "./helpers.ts";

/** Collects a socket's bytes until `done(text)` says the exchange is complete, or the socket ends. */
function exchange(port: number, data: string | Buffer, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    s.setEncoding("latin1");
    const finish = () => {
      s.destroy();
      resolve(out);
    };
    s.on("data", (d: string) => {
      out += d;
      if (done(out)) finish();
    });
    s.on("end", finish);
    s.on("error", reject);
    s.write(data);
  });
}

/** Waits for the server to close the connection. */
const closed = (_t: string) => false;

/** Splits a response stream into responses by counting `HTTP/1.1 ` status lines. */
function countResponses(text: string): number {
  return text.split(/HTTP\/1\.1 \d{3} /).length - 1;
}

describe("the app on the wire", () => {
  const { app, logs } = makeApp({ config: { maxContentLength: 100 } });
  let server: Server;
  let port: number;
  let finallyRan: () => void;
  const streamStopped = new Promise<void>((r) => {
    finallyRan = r;
  });

  app.get("/", () => "<h1>Home</h1>");
  app.get("/json", () => ({ ok: true }));
  app.post("/echo", (req) => ({ len: req.data?.length ?? 0, form: req.form.toDict() }));
  app.get("/stream", async function* () {
    yield "first,";
    await new Promise((r) => setTimeout(r, 2));
    yield `second:${request.args.get("v") ?? ""}`;
  });
  app.get("/sized", () => {
    async function* body() {
      yield "abc";
      yield "de";
    }
    const r = new Response(body(), { mimetype: "text/plain" });
    r.contentLength = 5;
    return r;
  });
  app.get("/endless", async function* () {
    try {
      for (;;) {
        yield `${"x".repeat(16 * 1024)}\n`;
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      finallyRan();
    }
  });

  app.post("/upload", { streamBody: true }, async (req) => {
    const sizes: number[] = [];
    for await (const chunk of req.stream()) sizes.push(chunk.length);
    return { total: sizes.reduce((a, b) => a + b, 0), chunks: sizes.length > 0 };
  });

  before(async () => {
    server = createServer(app.wireHandler);
    port = (await server.listen(0, "127.0.0.1")).port;
  });
  after(() => server.close());

  test("GET: length-delimited HTML", async () => {
    const out = await exchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", closed);
    assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(out, /\r\nContent-Type: text\/html; charset=utf-8\r\n/);
    assert.match(out, /\r\nContent-Length: 13\r\n/);
    assert.ok(out.endsWith("\r\n\r\n<h1>Home</h1>"));
  });

  test("HEAD: the GET's headers and length, no body", async () => {
    const out = await exchange(port, "HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", closed);
    assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(out, /\r\nContent-Length: 13\r\n/);
    assert.ok(out.endsWith("\r\n\r\n"), "nothing after the head");
  });

  test("HEAD of a streamed body: no body, no chunked framing", async () => {
    const out = await exchange(port, "HEAD /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", closed);
    assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(out, /Transfer-Encoding/i);
    assert.ok(out.endsWith("\r\n\r\n"));
    const sized = await exchange(
      port,
      "HEAD /sized HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      closed,
    );
    assert.match(sized, /\r\nContent-Length: 5\r\n/);
    assert.ok(sized.endsWith("\r\n\r\n"));
  });

  test("a streamed body is chunked and runs in the request's context", async () => {
    const out = await exchange(
      port,
      "GET /stream?v=42 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      closed,
    );
    assert.match(out, /\r\nTransfer-Encoding: chunked\r\n/);
    assert.ok(out.endsWith("\r\n\r\n6\r\nfirst,\r\n9\r\nsecond:42\r\n0\r\n\r\n"), JSON.stringify(out));
  });

  test("a streamed body with Content-Length is sent with that length", async () => {
    const out = await exchange(port, "GET /sized HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", closed);
    assert.match(out, /\r\nContent-Length: 5\r\n/);
    assert.doesNotMatch(out, /chunked/);
    assert.ok(out.endsWith("\r\n\r\nabcde"));
  });

  test("keep-alive: several requests on one connection, pipelined, answered in order", async () => {
    const reqs =
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n" +
      "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n" +
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2" +
      "GET /json HTTP/1.1\r\nHost: a\r\n\r\n";
    const out = await exchange(port, reqs, (t) => countResponses(t) === 4 && t.endsWith('{"ok":true}'));
    assert.equal(countResponses(out), 4);
    const iHome = out.indexOf("<h1>Home</h1>");
    const iStream = out.indexOf("first,");
    const iEcho = out.indexOf('{"len":7,"form":{"a":"1","b":"2"}}');
    const iJson = out.indexOf('{"ok":true}');
    assert.ok(iHome > 0 && iHome < iStream && iStream < iEcho && iEcho < iJson, out);
    assert.doesNotMatch(out, /Connection: close/);
  });

  test("a body over maxContentLength is a 413, declared or chunked, and the server keeps serving", async () => {
    const big = "x".repeat(101);
    const declared = await exchange(
      port,
      `POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`,
      closed,
    );
    assert.match(declared, /^HTTP\/1\.1 413 /);
    const chunked = await exchange(
      port,
      `POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n50\r\n${"y".repeat(80)}\r\n50\r\n${"y".repeat(80)}\r\n0\r\n\r\n`,
      closed,
    );
    assert.match(chunked, /^HTTP\/1\.1 413 /);
    const ok = await exchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", closed);
    assert.match(ok, /^HTTP\/1\.1 200 /);
  });

  test("a streamBody route reads a chunked upload as it arrives, within maxContentLength", async () => {
    const body = "a".repeat(40);
    const ok = await exchange(
      port,
      `POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n14\r\n${body.slice(0, 20)}\r\n14\r\n${body.slice(20)}\r\n0\r\n\r\n`,
      closed,
    );
    assert.match(ok, /^HTTP\/1\.1 200 /);
    assert.ok(ok.endsWith('{"total":40,"chunks":true}'), ok);
    const big = await exchange(
      port,
      `POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n64\r\n${"b".repeat(100)}\r\n1\r\nb\r\n0\r\n\r\n`,
      closed,
    );
    assert.match(big, /^HTTP\/1\.1 413 /);
  });

  test("a client leaving mid-stream stops the generator (its finally runs)", async () => {
    await new Promise<void>((resolve, reject) => {
      const s: Socket = connect(port, "127.0.0.1");
      let got = 0;
      s.on("data", (d: Buffer) => {
        got += d.length;
        if (got > 64 * 1024) {
          s.destroy();
          resolve();
        }
      });
      s.on("error", reject);
      s.write("GET /endless HTTP/1.1\r\nHost: a\r\n\r\n");
    });
    await streamStopped;
  });

  test("nothing was logged as an error", () => {
    assert.deepEqual(
      logs.filter((l) => l.level === "error"),
      [],
    );
  });
});

describe("req.signal", () => {
  test("aborts when the client goes away (connection reset) while the view is working", async () => {
    const { app } = makeApp();
    let aborted!: () => void;
    const wasAborted = new Promise<void>((r) => {
      aborted = r;
    });
    let started!: () => void;
    const isStarted = new Promise<void>((r) => {
      started = r;
    });
    app.get("/slow", async (req) => {
      req.signal.addEventListener("abort", () => aborted());
      started();
      await wasAborted;
      return "too late";
    });
    const server = createServer(app.wireHandler);
    const port = (await server.listen(0, "127.0.0.1")).port;
    try {
      const s = connect(port, "127.0.0.1");
      s.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
      await isStarted;
      s.resetAndDestroy(); // a reset: the client is gone (a plain FIN is only a half-close)
      await wasAborted;
    } finally {
      await server.close();
    }
  });
});

describe("streams that are never read", () => {
  test("HEAD closes a Node stream body (no leaked file descriptor)", async () => {
    const { Readable } = await import("node:stream");
    const { app } = makeApp();
    let destroyed = false;
    app.get("/file", () => {
      const r = new Readable({ read() {} });
      r.push("data");
      r.on("close", () => {
        destroyed = true;
      });
      const res = new Response(r, { mimetype: "text/plain" });
      res.contentLength = 4;
      return res;
    });
    const server = createServer(app.wireHandler);
    const port = (await server.listen(0, "127.0.0.1")).port;
    try {
      const out = await exchange(port, "HEAD /file HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", closed);
      assert.match(out, /\r\nContent-Length: 4\r\n/);
      for (let i = 0; i < 20 && !destroyed; i++) await new Promise((r) => setImmediate(r));
      assert.equal(destroyed, true);
    } finally {
      await server.close();
    }
  });
});

describe("body limits are the app's, not the wire's", () => {
  test("app.listen() leaves the body cap to maxContentLength: routes may go past the wire's 100 MiB default, and the 413 is the app's", async () => {
    const { app } = makeApp({ config: { maxContentLength: 16 } });
    app.errorHandler(413, () => ["the app's own 413", 413]);
    app.post("/big", { maxContentLength: 300 * 1024 * 1024, streamBody: true }, async (req) => {
      let n = 0;
      for await (const c of req.stream()) n += c.length;
      return { n };
    });
    app.post("/small", (req) => ({ len: req.data?.length ?? 0 }));
    const server = app.listen();
    const port = (await server.listen(0, "127.0.0.1")).port;
    try {
      // 200 MiB declared on an ordinary route: the app's limit answers, through its error handler.
      const small = await exchange(
        port,
        "POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 209715200\r\n\r\n",
        (t) => t.includes("413"),
      );
      assert.match(small, /^HTTP\/1\.1 413 /);
      assert.match(small, /the app's own 413/);
      // The route that allows 300 MiB gets its 200 MiB head accepted (the wire's default cap would
      // have refused it with a plain 413 before the app saw it): it waits for the body.
      const s = connect(port, "127.0.0.1");
      s.write("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 209715200\r\n\r\n");
      s.write(Buffer.alloc(64 * 1024));
      let got = "";
      s.setEncoding("latin1");
      s.on("data", (d: string) => {
        got += d;
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(got, "", "no early 413 for a body within the route's limit");
      s.destroy();
    } finally {
      await server.close({ deadline: 500 });
    }
  });
});
