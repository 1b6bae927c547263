// Time limits: headers timeout (slowloris), request timeout, keep-alive idle timeout.

import assert from "node:assert/strict";
import { test } from "node:test";
import { GET, Raw, start, until } from "./_sock.ts";

test("slowloris: a head dripping in past headersTimeout gets 408 and the connection closes", async () => {
  let ran = false;
  const s = await start(
    (_req, res) => {
      ran = true;
      res.end();
    },
    { headersTimeout: 200 },
  );
  const c = await Raw.connect(s.port);
  const t0 = Date.now();
  c.write("GET / HTTP/1.1\r\nHost: x\r\n");
  // One header byte every 20 ms: each byte is "progress", yet the head never completes.
  const drip = setInterval(() => {
    if (!c.socket.destroyed && !c.ended) c.write("X");
  }, 20);
  try {
    const r = await c.response();
    const took = Date.now() - t0;
    assert.equal(r.status, 408);
    assert.equal(r.header("connection"), "close");
    assert.ok(took >= 190 && took < 1500, `408 after ${took} ms`);
    await c.waitClosed();
  } finally {
    clearInterval(drip);
  }
  assert.equal(ran, false);
  await until(() => s.server.connections === 0, 3000, "connection to go");
  await s.close();
});

test("headersTimeout applies to the next request on a kept-alive connection too", async () => {
  const s = await start((_req, res) => res.end("ok"), { headersTimeout: 150, keepAliveTimeout: 5000 });
  const c = await Raw.connect(s.port);
  c.write(GET());
  assert.equal((await c.response()).status, 200);
  c.write("GET / HTTP/1.1\r\nHo");
  const r = await c.response();
  assert.equal(r.status, 408);
  await c.waitClosed();
  await s.close();
});

test("a connection that sends nothing is closed after the idle timeout", async () => {
  const s = await start((_req, res) => res.end(), { keepAliveTimeout: 150 });
  const c = await Raw.connect(s.port);
  const t0 = Date.now();
  await c.waitClosed();
  const took = Date.now() - t0;
  assert.ok(took >= 140 && took < 1500, `closed after ${took} ms`);
  assert.equal(c.buf.length, 0, "closed silently");
  await s.close();
});

test("requestTimeout: a body that trickles in too slowly gets 408 and the handler's read rejects", async () => {
  let readError: unknown;
  let aborted = false;
  const s = await start(
    async (req, res) => {
      req.signal.addEventListener("abort", () => {
        aborted = true;
      });
      try {
        await req.body();
        res.end("complete?");
      } catch (e) {
        readError = e;
        throw e;
      }
    },
    { requestTimeout: 250, headersTimeout: 100 },
  );
  const c = await Raw.connect(s.port);
  c.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
  const drip = setInterval(() => {
    if (!c.socket.destroyed && !c.ended) c.write("z");
  }, 20);
  try {
    const t0 = Date.now();
    const r = await c.response();
    assert.equal(r.status, 408);
    assert.ok(Date.now() - t0 >= 200);
    await c.waitClosed();
  } finally {
    clearInterval(drip);
  }
  await until(() => readError !== undefined, 1000, "body read to reject");
  assert.equal((readError as Error).name, "RequestAbortedError");
  assert.equal(aborted, true, "req.signal aborted");
  await until(() => s.server.connections === 0, 3000);
  await s.close();
});

test("requestTimeout does not cut a slow handler that already has its whole request", async () => {
  const s = await start(
    async (_req, res) => {
      await new Promise((r) => setTimeout(r, 300));
      res.end("slow but fine");
    },
    { requestTimeout: 100, headersTimeout: 100 },
  );
  const c = await Raw.connect(s.port);
  c.write(GET());
  const r = await c.response();
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), "slow but fine");
  c.destroy();
  await s.close();
});

test("keep-alive idle timeout: idle sockets close between requests, never during one", async () => {
  const s = await start(
    async (req, res) => {
      if (req.url === "/slow") await new Promise((r) => setTimeout(r, 400));
      res.end(req.url);
    },
    { keepAliveTimeout: 150 },
  );
  const c = await Raw.connect(s.port);
  // A response slower than the idle timeout is not cut off.
  c.write(GET("/slow"));
  const r = await c.response();
  assert.equal(r.body.toString(), "/slow");
  assert.equal(
    r.header("keep-alive"),
    undefined,
    "no Keep-Alive hint that would overstate a sub-second timeout",
  );
  const t0 = Date.now();
  await c.waitClosed();
  const idle = Date.now() - t0;
  assert.ok(idle >= 140 && idle < 1500, `idle close after ${idle} ms`);
  await until(() => s.server.connections === 0);
  await s.close();
});

test("Keep-Alive advertises the idle timeout in whole seconds, rounded down", async () => {
  const s = await start((_req, res) => res.end(), { keepAliveTimeout: 2500 });
  const c = await Raw.connect(s.port);
  c.write(GET());
  assert.equal((await c.response()).header("keep-alive"), "timeout=2");
  c.destroy();
  await s.close();
});

test("a head kept back while the pipeline was full is timed by headersTimeout, not the idle timer", async () => {
  const s = await start(
    async (_req, res) => {
      await new Promise((r) => setTimeout(r, 10));
      res.end("first");
    },
    { maxPipelinedRequests: 1, headersTimeout: 300, keepAliveTimeout: 100 },
  );
  const c = await Raw.connect(s.port);
  c.write(`${GET("/a")}GET /b HTTP/1.1\r\nHo`);
  assert.equal((await c.response()).body.toString(), "first");
  const r = await c.response();
  assert.equal(r.status, 408, "the half-sent head gets 408, not a silent idle close");
  await c.waitClosed();
  await s.close();
});

test("a client that half-closes while its handler works: the signal aborts at once, the socket goes soon", async () => {
  // Reported: 1,000 such sockets were held for the whole requestTimeout (300 s).
  let aborted = 0;
  const s = await start(
    (req) => {
      req.signal.addEventListener("abort", () => aborted++);
      // never answers
    },
    { halfCloseTimeout: 300 },
  );
  const clients = await Promise.all(Array.from({ length: 50 }, () => Raw.connect(s.port)));
  for (const c of clients) {
    c.write(GET());
    c.socket.end();
  }
  await until(() => aborted === 50, 2000, "every handler's signal to abort");
  const t0 = Date.now();
  await until(() => s.server.connections === 0, 3000, "the half-closed connections to be freed");
  assert.ok(Date.now() - t0 < 2500);
  for (const c of clients) await c.waitClosed();
  await s.close();
});

test("a half-closing client still gets the answer its handler gives within halfCloseTimeout", async () => {
  const s = await start(async (_req, res) => {
    await new Promise((r) => setTimeout(r, 100));
    res.end("late but fine");
  });
  const c = await Raw.connect(s.port);
  c.write(GET());
  c.socket.end();
  const r = await c.response();
  assert.equal(r.body.toString(), "late but fine");
  await c.waitClosed();
  await s.close();
});

test("handlerTimeout: a handler that doesn't answer in time gets a 503 in its place and its signal aborts", async () => {
  let why: unknown;
  const s = await start(
    async (req, res) => {
      if (req.url === "/stream") {
        await res.write("started;");
        await new Promise((r) => setTimeout(r, 700));
        res.end("done");
        return;
      }
      if (req.url === "/own") req.setHandlerTimeout(100);
      req.signal.addEventListener("abort", () => {
        why = req.signal.reason;
      });
      await new Promise((r) => setTimeout(r, 5000));
      res.end("too late");
    },
    { handlerTimeout: 300 },
  );
  const c = await Raw.connect(s.port);
  const t0 = Date.now();
  c.write(GET("/slow"));
  const r = await c.response();
  assert.equal(r.status, 503);
  assert.match(r.body.toString(), /took too long/);
  const took = Date.now() - t0;
  assert.ok(took >= 290 && took < 2000, `503 after ${took} ms`);
  assert.equal((why as { status?: number }).status, 503);
  assert.match(String(s.errors[0]), /did not answer within its time limit/);
  // The connection stays usable, and a response that has started is not cut.
  c.write(GET("/stream"));
  const streamed = await c.response();
  assert.equal(streamed.status, 200);
  assert.equal(streamed.body.toString(), "started;done");
  c.destroy();
  await s.close();
});

test("maxConnections has a default (10,000)", async () => {
  const s = await start((_req, res) => res.end());
  assert.equal((s.server as unknown as { net: { maxConnections: number } }).net.maxConnections, 10_000);
  await s.close();
  const t = await start((_req, res) => res.end(), { maxConnections: Number.POSITIVE_INFINITY });
  assert.equal((t.server as unknown as { net: { maxConnections?: number } }).net.maxConnections, undefined);
  await t.close();
});
