// Faults: handler errors, clients that vanish, and hostile input never escape the server.

import assert from "node:assert/strict";
import { test } from "node:test";
import { deferred, GET, Raw, start, until } from "./_sock.ts";

test("a handler that throws gets a 500 and the connection stays usable", async () => {
  const s = await start((req, res) => {
    if (req.url === "/boom") throw new Error("kaput");
    res.end("fine");
  });
  const c = await Raw.connect(s.port);
  c.write(GET("/boom"));
  const r = await c.response();
  assert.equal(r.status, 500);
  assert.equal(r.header("connection"), "keep-alive");
  assert.ok(!r.body.toString().includes("kaput"), "the error's message is not shown to the client");
  c.write(GET("/ok"));
  assert.equal((await c.response()).body.toString(), "fine");
  assert.equal(s.errors.length, 1);
  assert.match(String(s.errors[0]), /kaput/);
  c.destroy();
  await s.close();
});

test("a handler that rejects gets a 500; so does one that set fields first", async () => {
  const s = await start(async (req, res) => {
    res.setHeader("X-Partial", "yes");
    await new Promise((r) => setTimeout(r, 5));
    if (req.url === "/reject") throw new TypeError("async kaput");
    res.end("fine");
  });
  const c = await Raw.connect(s.port);
  c.write(GET("/reject") + GET("/ok"));
  const r = await c.response();
  assert.equal(r.status, 500);
  assert.equal(r.header("x-partial"), undefined, "the failed response's fields are dropped");
  assert.equal((await c.response()).body.toString(), "fine");
  c.destroy();
  await s.close();
});

test("a rejection with a non-Error value, and a throwing onError, don't take the server down", async () => {
  const s = await start(
    async () => {
      throw "a string";
    },
    {
      onError: () => {
        throw new Error("logger broke");
      },
    },
  );
  const c = await Raw.connect(s.port);
  c.write(GET() + GET());
  assert.equal((await c.response()).status, 500);
  assert.equal((await c.response()).status, 500);
  c.destroy();
  await s.close();
});

test("a handler that fails with an unread body still answers 500 and keeps framing", async () => {
  const s = await start((req, res) => {
    if (req.url === "/fail") throw new Error("before reading");
    res.end("next");
  });
  const c = await Raw.connect(s.port);
  c.write("POST /fail HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  c.write(GET("/n"));
  assert.equal((await c.response()).status, 500);
  assert.equal((await c.response()).body.toString(), "next");
  c.destroy();
  await s.close();
});

test("a handler that fails mid-stream cuts the connection (no fake end of body)", async () => {
  const s = await start(async (_req, res) => {
    await res.write("partial");
    throw new Error("mid-stream");
  });
  const c = await Raw.connect(s.port);
  c.write(GET());
  const all = (await c.rest()).toString("latin1");
  assert.match(all, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(all, /7\r\npartial\r\n$/);
  assert.ok(!all.includes("0\r\n\r\n"), "no terminating chunk: the client sees a truncated body");
  await until(() => s.server.connections === 0);
  await s.close();
});

test("errors after end() are reported but change nothing on the wire", async () => {
  const s = await start(async (_req, res) => {
    res.end("done");
    res.end("again"); // a no-op
    throw new Error("after end");
  });
  const c = await Raw.connect(s.port);
  c.write(GET() + GET());
  const a = await c.response();
  assert.equal(a.body.toString(), "done");
  const b = await c.response();
  assert.equal(b.status, 200);
  await until(() => s.errors.length === 2);
  c.destroy();
  await s.close();
});

test("a handler that never answers: the client leaving aborts its signal, nothing leaks", async () => {
  const aborted = deferred<unknown>();
  const s = await start(
    (req) => {
      req.signal.addEventListener("abort", () => aborted.resolve(req.signal.reason));
    },
    { requestTimeout: 200 },
  );
  const c = await Raw.connect(s.port);
  c.write(GET());
  await until(() => s.server.connections === 1);
  await new Promise((r) => setTimeout(r, 10));
  c.destroy();
  const reason = await aborted.promise;
  assert.equal((reason as Error).name, "RequestAbortedError");
  // The handler never answers: the half-dead connection goes after requestTimeout.
  await until(() => s.server.connections === 0, 3000);
  await s.close();
});

test("a client vanishing mid-request-body: the body read rejects, the signal aborts", async () => {
  const readFailed = deferred<unknown>();
  let signalAborted = false;
  const s = await start(async (req, res) => {
    try {
      for await (const _ of req) {
        // keep reading
      }
      res.end("complete?");
    } catch (e) {
      signalAborted = req.signal.aborted;
      readFailed.resolve(e);
      res.end("nobody hears this");
    }
  });
  const c = await Raw.connect(s.port);
  c.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nsome of it");
  await new Promise((r) => setTimeout(r, 20));
  c.destroy();
  const err = await readFailed.promise;
  assert.equal((err as Error).name, "RequestAbortedError");
  assert.equal(signalAborted, true);
  await until(() => s.server.connections === 0);
  assert.deepEqual(s.errors, []);
  await s.close();
});

test("a client vanishing mid-response: writes resolve, res.closed turns true, nothing leaks", async () => {
  let stopped = false;
  let writes = 0;
  const s = await start(async (_req, res) => {
    const piece = Buffer.alloc(64 * 1024, 1);
    while (!res.closed) {
      await res.write(piece);
      writes++;
    }
    res.end();
    stopped = true;
  });
  const c = await Raw.connect(s.port);
  c.write(GET());
  await until(() => c.received > 200_000, 2000, "some body to arrive");
  c.destroy();
  await until(() => stopped, 2000, "the handler to notice");
  assert.ok(writes > 0);
  await until(() => s.server.connections === 0);
  await s.close();
});

test("a client that half-closes while its handler is still working still gets its answer", async () => {
  const s = await start(async (_req, res) => {
    await new Promise((r) => setTimeout(r, 30));
    res.end("late answer");
  });
  const c = await Raw.connect(s.port);
  c.socket.end(GET());
  const r = await c.response();
  assert.equal(r.body.toString(), "late answer");
  await c.waitClosed();
  await until(() => s.server.connections === 0);
  await s.close();
});

test("a request cut short by a half-close is a 400, and the handler's read rejects", async () => {
  const readFailed = deferred<unknown>();
  const s = await start(async (req, res) => {
    try {
      await req.body();
    } catch (e) {
      readFailed.resolve(e);
      throw e;
    }
    res.end();
  });
  const c = await Raw.connect(s.port);
  c.socket.end("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  const r = await c.response();
  assert.equal(r.status, 400);
  assert.equal(((await readFailed.promise) as Error).name, "RequestAbortedError");
  await c.waitClosed();
  assert.deepEqual(s.errors, [], "a handler rethrowing its request's abort is not a server error");
  await s.close();
});

/** mulberry32: a small seeded PRNG so the fuzz run is reproducible. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("random and mutated input never throws out of the server (seeded fuzz)", async () => {
  const s = await start(
    async (req, res) => {
      if (req.url.includes("body")) await req.body();
      res.end("ok");
    },
    { headersTimeout: 500, requestTimeout: 500, keepAliveTimeout: 300, lingerTimeout: 100 },
  );
  const rand = prng(12345);
  const seeds = [
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    "PUT /body HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  ];
  const alphabet =
    "\r\n :;,\t\0\x7f\xff0123456789abcdefABCDEF-/?#%HTTP/1.1chunkedContent-LengthTransfer-Encoding";
  for (let round = 0; round < 150; round++) {
    const base = seeds[Math.floor(rand() * seeds.length)]!.repeat(1 + Math.floor(rand() * 3));
    const bytes = Buffer.from(base, "latin1");
    const edits = Math.floor(rand() * 6);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * bytes.length);
      bytes[at] =
        rand() < 0.5 ? Math.floor(rand() * 256) : alphabet.charCodeAt(Math.floor(rand() * alphabet.length));
    }
    const c = await Raw.connect(s.port);
    // Send in random slices to hit every parser boundary.
    let pos = 0;
    while (pos < bytes.length) {
      const n = 1 + Math.floor(rand() * 16);
      c.write(bytes.subarray(pos, pos + n));
      pos += n;
    }
    if (rand() < 0.5) c.socket.end();
    else setTimeout(() => c.destroy(), Math.floor(rand() * 20));
  }
  await until(() => s.server.connections === 0, 5000, "all fuzz connections to close");
  const ok = await Raw.connect(s.port);
  ok.write(GET());
  assert.equal((await ok.response()).status, 200);
  ok.destroy();
  // Handlers rethrowing their request's own abort aren't reported; nothing else may be.
  assert.deepEqual(s.errors, []);
  await s.close();
});

test("requests kept back past a half-close: a handler that never answers doesn't pin the socket", async () => {
  const aborted = deferred();
  const s = await start(
    (req, res) => {
      if (req.url === "/0") {
        setTimeout(() => res.end("zero"), 10);
        return;
      }
      req.signal.addEventListener("abort", () => aborted.resolve());
      // /1 never answers
    },
    { maxPipelinedRequests: 1, requestTimeout: 200 },
  );
  const c = await Raw.connect(s.port);
  c.socket.end(GET("/0") + GET("/1"));
  assert.equal((await c.response()).body.toString(), "zero");
  await aborted.promise;
  await c.waitClosed();
  await until(() => s.server.connections === 0, 3000);
  await s.close();
});

test("a handler failing before a big or chunked body arrives: 500, then the connection closes", async () => {
  const s = await start(
    () => {
      throw new Error("early");
    },
    { maxDrainBytes: 1000 },
  );
  const big = await Raw.connect(s.port);
  big.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\nabc");
  const a = await big.response();
  assert.equal(a.status, 500);
  assert.equal(a.header("connection"), "close");
  await big.waitClosed();
  const chunked = await Raw.connect(s.port);
  chunked.write("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
  const b = await chunked.response();
  assert.equal(b.status, 500);
  assert.equal(b.header("connection"), "close");
  await chunked.waitClosed();
  await until(() => s.server.connections === 0, 3000);
  await s.close();
});
