// serve(handler): fetch-style handlers on the wire, over real sockets. The web Request built from the
// wire's request (URL, fields, streamed body, signal), the Response written back (status, fields,
// bodies of every kind, streaming with backpressure, HEAD), failures as 500s, and a real Hono app.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { stream as honoStream } from "hono/streaming";
import { Phial } from "phial";
import { Client } from "phial/client";
import { createFetchServer, type FetchHandler, type ServeInfo, type ServerOptions, serve } from "phial/http";
import { useLazyRequests } from "../../src/http/serve.ts";
import { deferred, GET, Raw, until } from "./_sock.ts";
import { Rng, testSeed } from "./_util.ts";

async function startFetch(handler: FetchHandler, options: ServerOptions = {}) {
  const errors: unknown[] = [];
  const server = createFetchServer(handler, { onError: (e) => errors.push(e), ...options });
  const { port } = await server.listen(0);
  return { server, port, errors, close: () => server.close({ deadline: 200 }) };
}

const enc = new TextEncoder();

/** Tests run twice: with the lazy Request, and with a real one per request (where the lazy one can't be used). */
const twice: [string, () => Promise<void>][] = [];
function both(name: string, fn: () => Promise<void>): void {
  twice.push([name, fn]);
  test(name, fn);
}

both(
  "the Request: method, absolute URL, fields in order (Cookie joined with '; '), no body for GET, the client's address",
  async () => {
    let seen: Request | undefined;
    let info: ServeInfo | undefined;
    let fields: [string, string][] = [];
    const s = await startFetch((request, i) => {
      seen = request;
      info = i;
      fields = [...request.headers];
      return new Response("ok");
    });
    const c = await Raw.connect(s.port);
    try {
      c.write(
        "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.test:8080\r\nX-Many: 1\r\nX-Many: 2\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
      );
      const r = await c.response();
      assert.equal(r.status, 200);
      assert.ok(seen instanceof Request);
      assert.equal(seen.method, "GET");
      assert.equal(seen.url, "http://example.test:8080/a/b?x=1&y=%20");
      assert.equal(seen.headers.get("host"), "example.test:8080");
      assert.equal(seen.headers.get("x-many"), "1, 2");
      assert.equal(seen.headers.get("cookie"), "a=1; b=2");
      assert.deepEqual(fields, [
        ["cookie", "a=1; b=2"],
        ["host", "example.test:8080"],
        ["x-many", "1, 2"],
      ]);
      assert.equal(seen.body, null);
      assert.equal(seen.bodyUsed, false);
      assert.equal(await seen.text(), "");
      assert.equal(seen.duplex, "half");
      // Nothing of the wrapper shows, as with a real Request.
      assert.deepEqual(Object.keys(seen), []);
      assert.equal(JSON.stringify(seen), "{}");
      assert.equal(seen.signal.aborted, false);
      assert.equal(info!.remoteAddress, "127.0.0.1");
      assert.equal(info!.remotePort, c.socket.localPort);
      assert.equal(info!.encrypted, false);
      assert.equal(info!.incoming.url, "/a/b?x=1&y=%20");
      assert.equal(info!.server, s.server);
    } finally {
      c.socket.destroy();
      await s.close();
    }
  },
);

both(
  "the URL of absolute-form targets, OPTIONS *, HTTP/1.0 without Host and a Host no URL can hold",
  async () => {
    const urls: string[] = [];
    const hosts: (string | null)[] = [];
    const s = await startFetch((request) => {
      urls.push(request.url);
      hosts.push(request.headers.get("host"));
      return new Response(request.method);
    });
    try {
      const cases: [string, string, string | null][] = [
        [
          "GET http://Other.Test:81/p?q=1 HTTP/1.1\r\nHost: ignored\r\n\r\n",
          "http://other.test:81/p?q=1",
          "ignored",
        ],
        ["GET https://other.test HTTP/1.1\r\nHost: ignored\r\n\r\n", "https://other.test/", "ignored"],
        ["OPTIONS * HTTP/1.1\r\nHost: h.test\r\n\r\n", "http://h.test/*", "h.test"],
        ["GET /old HTTP/1.0\r\n\r\n", `http://localhost:${s.port}/old`, null],
        ["GET /big HTTP/1.1\r\nHost: h.test:99999\r\n\r\n", `http://localhost:${s.port}/big`, "h.test:99999"],
        ["GET /idn HTTP/1.1\r\nHost: xn--zz\r\n\r\n", `http://localhost:${s.port}/idn`, "xn--zz"],
        ["GET /ip HTTP/1.1\r\nHost: 10.0.0.1:5\r\n\r\n", "http://10.0.0.1:5/ip", "10.0.0.1:5"],
        ["GET /v6 HTTP/1.1\r\nHost: [::1]:8\r\n\r\n", "http://[::1]:8/v6", "[::1]:8"],
        ["get /lower HTTP/1.1\r\nHost: h\r\n\r\n", "http://h/lower", "h"],
        [
          "GET /a/./b/../c?x=<y> HTTP/1.1\r\nHost: H.Test:80\r\n\r\n",
          "http://h.test/a/c?x=%3Cy%3E",
          "H.Test:80",
        ],
        ["GET /%2e%2E/x HTTP/1.1\r\nHost: 127.000.0.1\r\n\r\n", "http://127.0.0.1/x", "127.000.0.1"],
      ];
      for (const [bytes, url, host] of cases) {
        const c = await Raw.connect(s.port);
        c.write(bytes);
        const r = await c.response();
        c.socket.destroy();
        assert.equal(r.status, 200, bytes);
        assert.equal(urls.at(-1), url, bytes);
        assert.equal(hosts.at(-1), host, bytes);
      }
      assert.equal(s.errors.length, 0);
    } finally {
      await s.close();
    }
  },
);

both(
  "a POST body streams into request.body as it arrives, chunked byte by byte, and echoes back",
  async () => {
    const firstSeen = deferred();
    const s = await startFetch(async (request) => {
      const reader = request.body!.getReader();
      const parts: string[] = [];
      const first = await reader.read();
      parts.push(Buffer.from(first.value!).toString());
      firstSeen.resolve();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(Buffer.from(value).toString());
      }
      return new Response(`${request.method} ${parts.join("")}`, {
        headers: { "Content-Type": "text/plain" },
      });
    });
    const c = await Raw.connect(s.port);
    try {
      c.write("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
      await firstSeen.promise; // the handler read the first chunk before the rest was sent
      const rest = "6\r\n world\r\n3\r\n!!!\r\n0\r\n\r\n";
      for (const ch of rest) {
        c.write(ch);
        await new Promise((r) => setImmediate(r));
      }
      const r = await c.response();
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), "POST hello world!!!");
      assert.equal(r.header("content-length"), "19");
    } finally {
      c.socket.destroy();
      await s.close();
    }
  },
);

both(
  "text(), json() and arrayBuffer() read the body whole; a second read rejects; clone() reads it twice",
  async () => {
    const s = await startFetch(async (request) => {
      const url = new URL(request.url);
      if (url.pathname === "/json") {
        const v = (await request.json()) as { n: number };
        return Response.json({ n: v.n + 1, used: request.bodyUsed });
      }
      if (url.pathname === "/twice") {
        await request.text();
        const again = await request.text().then(
          () => "read again",
          (e: Error) => e.name,
        );
        return new Response(again);
      }
      if (url.pathname === "/ab") {
        const ab = await request.arrayBuffer();
        return new Response(ab);
      }
      const copy = request.clone();
      const [a, b] = await Promise.all([request.text(), copy.text()]);
      return new Response(`${a}|${b}`);
    });
    const client = new Client();
    const base = `http://127.0.0.1:${s.port}`;
    try {
      const j = await client.post(`${base}/json`, { json: { n: 41 } });
      assert.deepEqual(await j.json(), { n: 42, used: true });
      assert.equal(await (await client.post(`${base}/twice`, { body: "x" })).text(), "TypeError");
      const bytes = Buffer.from([0, 1, 2, 250, 255]);
      const ab = await client.post(`${base}/ab`, { body: bytes });
      assert.deepEqual(Buffer.from(await ab.arrayBuffer()), bytes);
      assert.equal(await (await client.post(`${base}/clone`, { body: "abc" })).text(), "abc|abc");
      assert.equal(s.errors.length, 0);
    } finally {
      client.close();
      await s.close();
    }
  },
);

both(
  "a 1 MiB upload piped straight back (new Response(request.body)) arrives intact, with backpressure both ways",
  async () => {
    const s = await startFetch((request) => new Response(request.body));
    const client = new Client();
    try {
      const body = Buffer.alloc(1024 * 1024);
      let x = 12345;
      for (let i = 0; i < body.length; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        body[i] = x >>> 24;
      }
      const res = await client.post(`http://127.0.0.1:${s.port}/pipe`, { body });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("transfer-encoding"), "chunked");
      const back = Buffer.from(await res.arrayBuffer());
      assert.equal(back.length, body.length);
      assert.equal(
        createHash("sha256").update(back).digest("hex"),
        createHash("sha256").update(body).digest("hex"),
      );
    } finally {
      client.close();
      await s.close();
    }
  },
);

both("an upload nobody reads yet stays in the socket: request.body is fed only as it is read", async () => {
  const total = 32 * 1024 * 1024;
  const go = deferred();
  let incoming: ServeInfo["incoming"] | undefined;
  const s = await startFetch(async (request, info) => {
    incoming = info.incoming;
    await go.promise;
    let n = 0;
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) n += chunk.byteLength;
    return new Response(String(n));
  });
  const c = await Raw.connect(s.port);
  try {
    c.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
    const piece = Buffer.alloc(256 * 1024, 98);
    let sent = 0;
    const pump = (async () => {
      while (sent < total) {
        sent += piece.length;
        if (!c.socket.write(piece)) await new Promise((r) => c.socket.once("drain", r));
      }
    })();
    await until(() => incoming !== undefined, 2000, "the handler");
    // Wait until the upload stalls: the server stopped reading the socket.
    let last = -1;
    while (incoming!.bodyComplete === false && sent !== last) {
      last = sent;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(sent < total / 2, `the client could send ${sent} bytes that nobody read`);
    go.resolve();
    await pump;
    const r = await c.response();
    assert.equal(r.body.toString(), String(total));
  } finally {
    c.socket.destroy();
    await s.close();
  }
});

test("a streamed Response goes out chunked, each chunk as it is produced", async () => {
  const next = deferred();
  const s = await startFetch(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(enc.encode("first\n"));
            await next.promise;
            controller.enqueue(enc.encode("second\n"));
            controller.close();
          },
        }),
        { headers: { "Content-Type": "text/plain" } },
      ),
  );
  const c = await Raw.connect(s.port);
  try {
    c.write(GET("/stream"));
    // The head and the first chunk arrive while the stream still waits for the second.
    while (!c.buf.toString("latin1").includes("first\n")) await c.more();
    assert.match(c.buf.toString("latin1"), /Transfer-Encoding: chunked/);
    next.resolve();
    const r = await c.response();
    assert.equal(r.chunked, true);
    assert.equal(r.body.toString(), "first\nsecond\n");
  } finally {
    c.socket.destroy();
    await s.close();
  }
});

test("a streamed body is pulled only as fast as the client reads", async () => {
  const total = 64 * 1024 * 1024;
  const piece = new Uint8Array(64 * 1024).fill(97);
  let produced = 0;
  const s = await startFetch(
    () =>
      new Response(
        new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (produced >= total) {
                controller.close();
                return;
              }
              produced += piece.length;
              controller.enqueue(piece);
            },
          },
          { highWaterMark: 0 },
        ),
      ),
  );
  const c = await Raw.connect(s.port);
  try {
    c.socket.pause();
    c.write(GET("/big"));
    // Wait until production stops: the socket is full and the writer waits for it to drain.
    let last = -1;
    while (produced !== last) {
      last = produced;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(produced < total / 2, `produced ${produced} bytes for a client that reads nothing`);
    c.socket.resume();
    const r = await c.response();
    assert.equal(r.body.length, total);
    assert.equal(produced, total);
  } finally {
    c.socket.destroy();
    await s.close();
  }
});

test("status, statusText, two Set-Cookie fields, and bodies from a string, bytes, an ArrayBuffer, a Blob, null", async () => {
  const s = await startFetch((request) => {
    const p = new URL(request.url).pathname;
    if (p === "/cookies") {
      const h = new Headers({ "Content-Type": "text/plain" });
      h.append("Set-Cookie", "a=1; Path=/");
      h.append("Set-Cookie", "b=2; HttpOnly");
      return new Response("two cookies", { status: 201, statusText: "Made It", headers: h });
    }
    if (p === "/bytes") return new Response(new Uint8Array([104, 105]));
    if (p === "/ab") return new Response(new Uint8Array([1, 2, 3]).buffer);
    if (p === "/blob") return new Response(new Blob(["blob!"]));
    if (p === "/null") return new Response(null, { status: 204 });
    if (p === "/declared") {
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(enc.encode("12"));
            c.enqueue(enc.encode("345"));
            c.close();
          },
        }),
        { headers: { "Content-Length": "5" } },
      );
    }
    return new Response("héllo");
  });
  const c = await Raw.connect(s.port);
  try {
    c.write(GET("/cookies"));
    let r = await c.response();
    assert.equal(r.status, 201);
    assert.equal(r.reason, "Made It");
    assert.deepEqual(
      r.fields.filter(([k]) => k.toLowerCase() === "set-cookie").map(([, v]) => v),
      ["a=1; Path=/", "b=2; HttpOnly"],
    );
    assert.equal(r.body.toString(), "two cookies");
    assert.equal(r.header("content-length"), "11");

    c.write(GET("/"));
    r = await c.response();
    assert.equal(r.body.toString(), "héllo");
    assert.equal(r.header("content-length"), String(Buffer.byteLength("héllo")));
    assert.equal(r.header("content-type"), "text/plain;charset=UTF-8");

    c.write(GET("/bytes"));
    r = await c.response();
    assert.equal(r.body.toString(), "hi");
    assert.equal(r.header("content-length"), "2");

    c.write(GET("/ab"));
    r = await c.response();
    assert.deepEqual([...r.body], [1, 2, 3]);

    c.write(GET("/blob"));
    r = await c.response();
    assert.equal(r.body.toString(), "blob!");

    c.write(GET("/declared"));
    r = await c.response();
    assert.equal(r.chunked, false);
    assert.equal(r.header("content-length"), "5");
    assert.equal(r.body.toString(), "12345");

    c.write(GET("/null"));
    r = await c.response();
    assert.equal(r.status, 204);
    assert.equal(r.header("content-length"), undefined);
    assert.equal(s.errors.length, 0);
  } finally {
    c.socket.destroy();
    await s.close();
  }
});

test("HEAD: no body, the length of the GET's when known, a stream body cancelled unread", async () => {
  let cancelled = 0;
  const s = await startFetch((request) => {
    if (new URL(request.url).pathname === "/stream") {
      return new Response(
        new ReadableStream({
          pull(c) {
            c.enqueue(enc.encode("never sent"));
          },
          cancel() {
            cancelled++;
          },
        }),
      );
    }
    return new Response("hello");
  });
  const c = await Raw.connect(s.port);
  try {
    c.write("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = await c.response(true);
    assert.equal(r.status, 200);
    assert.equal(r.header("content-length"), "5");
    c.write("HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    r = await c.response(true);
    assert.equal(r.status, 200);
    // The next response follows at once: nothing of a body came in between.
    c.write(GET("/"));
    r = await c.response();
    assert.equal(r.body.toString(), "hello");
    assert.equal(cancelled, 1);
  } finally {
    c.socket.destroy();
    await s.close();
  }
});

test("a throw, a rejection or a value that isn't a Response is a 500, reported to onError; the server keeps serving", async () => {
  const s = await startFetch(async (request) => {
    const p = new URL(request.url).pathname;
    if (p === "/reject") throw new Error("boom (async)");
    if (p === "/nothing") return undefined as unknown as Response;
    if (p === "/string") return "text" as unknown as Response;
    if (p === "/error") return Response.error();
    return new Response("fine");
  });
  const sync = await startFetch(() => {
    throw new Error("boom (sync)");
  });
  const c = await Raw.connect(s.port);
  const d = await Raw.connect(sync.port);
  try {
    for (const p of ["/reject", "/nothing", "/string", "/error"]) {
      c.write(GET(p));
      const r = await c.response();
      assert.equal(r.status, 500, p);
      assert.match(r.body.toString(), /500 Internal Server Error/);
    }
    c.write(GET("/ok"));
    assert.equal((await c.response()).body.toString(), "fine");
    assert.equal(s.errors.length, 4);
    assert.match(String(s.errors[0]), /boom \(async\)/);
    assert.match(
      String(s.errors[1]),
      /returned undefined for GET \/nothing; it must return \(or resolve to\) a Response/,
    );
    assert.match(String(s.errors[2]), /returned a string for GET \/string/);
    assert.match(String(s.errors[3]), /returned Response.error\(\) for GET \/error/);
    d.write(GET("/"));
    assert.equal((await d.response()).status, 500);
    assert.match(String(sync.errors[0]), /boom \(sync\)/);
  } finally {
    c.socket.destroy();
    d.socket.destroy();
    await s.close();
    await sync.close();
  }
});

test("a response stream that gives something other than bytes is a 500 (before the head) or a cut connection", async () => {
  const s = await startFetch(
    (request) =>
      new Response(
        new ReadableStream({
          start(c) {
            if (new URL(request.url).pathname === "/late") c.enqueue(enc.encode("some bytes"));
            c.enqueue(42 as unknown as Uint8Array); // not bytes
            c.close();
          },
        }),
      ),
  );
  const c = await Raw.connect(s.port);
  const d = await Raw.connect(s.port);
  try {
    c.write(GET("/"));
    const r = await c.response();
    assert.equal(r.status, 500);
    assert.match(String(s.errors[0]), /a body stream must give Uint8Array chunks/);
    // After bytes went out, the only honest end is a cut connection: no last chunk that says "complete".
    d.write(GET("/late"));
    const rest = (await d.rest()).toString("latin1");
    assert.match(rest, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(rest.includes("some bytes"));
    assert.ok(!rest.endsWith("0\r\n\r\n"), rest);
    assert.equal(s.errors.length, 2);
  } finally {
    c.socket.destroy();
    d.socket.destroy();
    await s.close();
  }
});

both("formData(), blob() and the rest of Request's members work on the request handed over", async () => {
  const s = await startFetch(async (request) => {
    const p = new URL(request.url).pathname;
    if (p === "/form") {
      const f = await request.formData();
      return Response.json({ name: f.get("name"), tags: f.getAll("tag") });
    }
    if (p === "/multipart") {
      const f = await request.formData();
      const file = f.get("file") as File;
      return Response.json({ note: f.get("note"), file: file.name, text: await file.text() });
    }
    const b = await request.blob();
    return Response.json({
      size: b.size,
      used: request.bodyUsed,
      redirect: request.redirect,
      credentials: request.credentials,
      keepalive: request.keepalive,
      inspect: inspect(request).startsWith("Request {"),
    });
  });
  const client = new Client();
  const base = `http://127.0.0.1:${s.port}`;
  try {
    let r = await client.post(`${base}/form`, {
      form: [
        ["name", "Zoë"],
        ["tag", "a"],
        ["tag", "b"],
      ],
    });
    assert.deepEqual(await r.json(), { name: "Zoë", tags: ["a", "b"] });
    r = await client.post(`${base}/multipart`, {
      multipart: { note: "hi", file: { filename: "a.txt", contentType: "text/plain", data: "file body" } },
    });
    assert.deepEqual(await r.json(), { note: "hi", file: "a.txt", text: "file body" });
    r = await client.post(`${base}/blob`, { body: "12345" });
    assert.deepEqual(await r.json(), {
      size: 5,
      used: true,
      redirect: "follow",
      credentials: "same-origin",
      keepalive: false,
      inspect: true,
    });
    assert.deepEqual(s.errors, []);
  } finally {
    client.close();
    await s.close();
  }
});

both("the client going away aborts request.signal and cancels the response stream", async () => {
  const aborted = deferred<unknown>();
  const cancelled = deferred<unknown>();
  const s = await startFetch((request) => {
    request.signal.addEventListener("abort", () => aborted.resolve(request.signal.reason));
    return new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(enc.encode("tick\n"));
        },
        cancel(reason) {
          cancelled.resolve(reason);
        },
      }),
    );
  });
  const c = await Raw.connect(s.port);
  try {
    c.write(GET("/events"));
    while (!c.buf.toString("latin1").includes("tick\n")) await c.more();
    c.socket.destroy();
    const why = await aborted.promise;
    assert.match(String(why), /closed (its side of )?the connection/);
    await cancelled.promise;
    await until(() => s.server.connections === 0, 2000, "the connection to go");
    assert.equal(s.errors.length, 0);
  } finally {
    await s.close();
  }
});

both("the client going away mid-upload errors request.body", async () => {
  const failed = deferred<unknown>();
  const s = await startFetch(async (request) => {
    try {
      await request.text();
    } catch (err) {
      failed.resolve(err);
    }
    return new Response("late");
  });
  const c = await Raw.connect(s.port);
  try {
    c.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    await until(() => s.server.connections === 1, 2000, "the connection");
    c.socket.destroy();
    const err = (await failed.promise) as Error;
    assert.equal(err.name, "RequestAbortedError");
  } finally {
    await s.close();
  }
});

test("keep-alive: several exchanges on one connection, pipelined ones answered in order", async () => {
  let n = 0;
  const s = await startFetch(async (request) => {
    const i = ++n;
    // The first answers last: order on the wire must still be request order.
    if (i === 1) await new Promise((r) => setTimeout(r, 20));
    return new Response(`${i} ${new URL(request.url).pathname}`);
  });
  const c = await Raw.connect(s.port);
  try {
    c.write(GET("/a") + GET("/b") + GET("/c"));
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await c.response();
      assert.equal(r.header("connection"), "keep-alive");
      bodies.push(r.body.toString());
    }
    assert.deepEqual(bodies, ["1 /a", "2 /b", "3 /c"]);
    c.write(GET("/d"));
    assert.equal((await c.response()).body.toString(), "4 /d");
    assert.equal(s.server.connections, 1);
  } finally {
    c.socket.destroy();
    await s.close();
  }
});

both("Expect: 100-continue is answered only when the handler reads the body", async () => {
  const s = await startFetch(async (request) => {
    if (new URL(request.url).pathname === "/refuse") return new Response("no", { status: 401 });
    return new Response(`got ${await request.text()}`);
  });
  const c = await Raw.connect(s.port);
  const d = await Raw.connect(s.port);
  try {
    c.write("POST /read HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    const interim = await c.response();
    assert.equal(interim.status, 100);
    c.write("data");
    assert.equal((await c.response()).body.toString(), "got data");
    d.write("POST /refuse HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    assert.equal((await d.response()).status, 401);
  } finally {
    c.socket.destroy();
    d.socket.destroy();
    await s.close();
  }
});

both("new Request(request) and a copy with new init read the wire request's state", async () => {
  const s = await startFetch(async (request) => {
    const copy = new Request(request, { headers: { "X-Copy": "yes" } });
    return Response.json({
      url: copy.url,
      method: copy.method,
      copy: copy.headers.get("x-copy"),
      body: await copy.text(),
      mode: request.mode,
      tag: Object.prototype.toString.call(request),
    });
  });
  const client = new Client();
  try {
    const r = await client.put(`http://127.0.0.1:${s.port}/copy?z=1`, { body: "payload" });
    assert.deepEqual(await r.json(), {
      url: `http://127.0.0.1:${s.port}/copy?z=1`,
      method: "PUT",
      copy: "yes",
      body: "payload",
      mode: "cors",
      tag: "[object Request]",
    });
    assert.equal(s.errors.length, 0);
  } finally {
    client.close();
    await s.close();
  }
});

test("CONNECT and TRACE, which no fetch Request can carry, get a 501", async () => {
  const s = await startFetch(() => new Response("unreachable"));
  const c = await Raw.connect(s.port);
  try {
    c.write("TRACE / HTTP/1.1\r\nHost: x\r\n\r\n");
    const r = await c.response();
    assert.equal(r.status, 501);
    assert.match(r.body.toString(), /TRACE can't be passed to a fetch handler/);
  } finally {
    c.socket.destroy();
    await s.close();
  }
});

test("serve(): a handler, an app (its fetch called on it), or { fetch, port }; a missing handler is a clear TypeError", async () => {
  const a = await serve(() => new Response("a"), { port: 0, onError: () => {} });
  const b = await serve(
    { fetch: () => new Response("b"), hostname: "127.0.0.1" },
    { keepAliveTimeout: 3000 },
  );
  // A Phial app's fetch is a method: serve(app) calls it on the app, with info as its options.
  const phial = new Phial(import.meta.url);
  phial.get("/", (req) => `phial sees ${req.remoteAddr}`);
  const c = await serve(phial);
  const hono = new Hono();
  hono.get("/", (ctx) => ctx.text("hono app"));
  const d = await serve(hono, { port: 0 });
  const client = new Client();
  const url = (s: { address(): { port: number } | null }) => `http://127.0.0.1:${s.address()!.port}/`;
  try {
    assert.equal(await (await client.get(url(a))).text(), "a");
    const rb = await client.get(url(b));
    assert.equal(await rb.text(), "b");
    assert.equal(rb.headers.get("keep-alive"), "timeout=3");
    assert.equal(await (await client.get(url(c))).text(), "phial sees 127.0.0.1");
    assert.equal(await (await client.get(url(d))).text(), "hono app");
    await assert.rejects(serve({ port: 0 } as never), /serve\(\) needs a handler/);
    await assert.rejects(serve({} as never), /serve\(\) needs a handler/);
    assert.throws(() => createFetchServer(42 as never), /needs a handler/);
  } finally {
    client.close();
    for (const s of [a, b, c, d]) await s.close({ deadline: 200 });
  }
});

both(
  "a Hono app served through it: routing, params, JSON bodies, cookies, c.env, streaming, 404",
  async () => {
    const app = new Hono<{ Bindings: ServeInfo }>();
    app.get("/", (c) => c.text("Hello Hono"));
    app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") }));
    app.post("/echo", async (c) => c.json({ got: await c.req.json(), type: c.req.header("content-type") }));
    app.get("/login", (c) => {
      setCookie(c, "session", "s1", { httpOnly: true, path: "/" });
      setCookie(c, "theme", "dark");
      return c.text(`welcome back ${getCookie(c, "user") ?? "stranger"}`);
    });
    app.get("/logout", (c) => {
      deleteCookie(c, "session");
      return c.body(null, 204);
    });
    app.get("/whoami", (c) => c.text(`${c.env.remoteAddress} ${c.env.encrypted ? "https" : "http"}`));
    app.get("/stream", (c) =>
      honoStream(c, async (s) => {
        for (let i = 0; i < 3; i++) await s.write(`chunk ${i}\n`);
      }),
    );
    app.get("/fail", () => {
      throw new Error("hono route failed");
    });
    app.onError((err, c) => c.text(`hono: ${err.message}`, 500));

    const s = await startFetch(app.fetch);
    const client = new Client();
    const base = `http://127.0.0.1:${s.port}`;
    try {
      let r = await client.get(`${base}/`);
      assert.equal(await r.text(), "Hello Hono");
      assert.equal(r.headers.get("content-length"), "10");
      r = await client.get(`${base}/users/7?q=yes`);
      assert.deepEqual(await r.json(), { id: "7", q: "yes" });
      r = await client.post(`${base}/echo`, { json: { a: [1, 2] } });
      assert.deepEqual(await r.json(), { got: { a: [1, 2] }, type: "application/json" });
      r = await client.get(`${base}/login`, { headers: { Cookie: "user=ann" } });
      assert.equal(await r.text(), "welcome back ann");
      assert.deepEqual(r.headers.getSetCookie(), ["session=s1; Path=/; HttpOnly", "theme=dark; Path=/"]);
      r = await client.get(`${base}/logout`);
      assert.equal(r.status, 204);
      assert.match(r.headers.getSetCookie()[0]!, /^session=; Max-Age=0/);
      r = await client.get(`${base}/whoami`);
      assert.equal(await r.text(), "127.0.0.1 http");
      r = await client.get(`${base}/stream`);
      assert.equal(r.headers.get("transfer-encoding"), "chunked");
      assert.equal(await r.text(), "chunk 0\nchunk 1\nchunk 2\n");
      r = await client.head(`${base}/`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), "");
      r = await client.get(`${base}/missing`);
      assert.equal(r.status, 404);
      // Hono answers its own errors (500 from its onError); nothing reaches the wire's.
      r = await client.get(`${base}/fail`);
      assert.equal(r.status, 500);
      assert.equal(await r.text(), "hono: hono route failed");
      assert.equal(s.errors.length, 0);
    } finally {
      client.close();
      await s.close();
    }
  },
);

test("over TLS the URL is https and info.encrypted is true", async () => {
  const dir = fileURLToPath(new URL("../fixtures/tls/", import.meta.url));
  const tls = { key: readFileSync(`${dir}server.key`), cert: readFileSync(`${dir}server.pem`) };
  const s = await startFetch((request, info) => new Response(`${request.url} ${info.encrypted}`), { tls });
  const c = await Raw.connectTls(s.port, { ca: readFileSync(`${dir}ca.pem`), servername: "localhost" });
  try {
    c.write("GET /secure?x HTTP/1.1\r\nHost: localhost:443\r\n\r\n");
    assert.equal((await c.response()).body.toString(), "https://localhost/secure?x true");
    c.write("GET /p HTTP/1.1\r\nHost: localhost:8443\r\n\r\n");
    assert.equal((await c.response()).body.toString(), "https://localhost:8443/p true");
  } finally {
    c.socket.destroy();
    await s.close();
  }
});

test("on this runtime the handler gets the lazy Request (the probe passed), and a real one when told", async () => {
  const protos: unknown[] = [];
  const s = await startFetch((request) => {
    protos.push(Object.getPrototypeOf(request));
    return new Response(null);
  });
  const c = await Raw.connect(s.port);
  try {
    c.write(GET());
    await c.response();
    useLazyRequests(false);
    c.write(GET());
    await c.response();
    assert.notEqual(protos[0], Request.prototype);
    assert.ok(Object.prototype.isPrototypeOf.call(Request.prototype, protos[0] as object));
    assert.equal(protos[1], Request.prototype);
  } finally {
    useLazyRequests(undefined);
    c.socket.destroy();
    await s.close();
  }
});

test("request.url is always what the URL standard makes of it (seeded random targets and hosts)", async () => {
  const bad: string[] = [];
  const s = await startFetch((request) => {
    const href = new URL(request.url).href;
    if (href !== request.url) bad.push(`${request.url} != ${href}`);
    return new Response(null);
  });
  const rng = new Rng(testSeed(20261201));
  const chars = [..."abcXYZ019-._~!$&'()*+,;=:@/?%2eE\"<>`{}^|[]\\"];
  const hosts = ["h", "H", "h.test:80", "h.test:8080", "127.0.0.1", "127.0.0.1:443", "010.1.1.1"];
  hosts.push("[::1]", "a--b", "h:0", "h:00080", "1.2.3.4:65535");
  let c = await Raw.connect(s.port);
  let answered = 0;
  try {
    for (let i = 0; i < 400; i++) {
      let target = "/";
      const n = rng.range(0, 12);
      for (let j = 0; j < n; j++) target += rng.pick(chars);
      c.write(`GET ${target} HTTP/1.1\r\nHost: ${rng.pick(hosts)}\r\n\r\n`);
      const r = await c.response();
      if (r.status === 200) answered++;
      else {
        // Refused by the parser (it closes the connection): that target never reaches the handler.
        c.socket.destroy();
        c = await Raw.connect(s.port);
      }
    }
    assert.deepEqual(bad, []);
    assert.ok(answered > 200, `only ${answered} of 400 random requests were accepted`);
  } finally {
    c.socket.destroy();
    await s.close();
  }
});

describe("with a real Request per request (runtimes whose Request doesn't take the lazy one)", () => {
  before(() => useLazyRequests(false));
  after(() => useLazyRequests(undefined));
  for (const [name, fn] of twice) test(name, fn);
});
