import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client, ClientResponse, get, post } from "phial/client";
import type { IncomingRequest, ServerResponse } from "phial/http";
import { nodeServer, phialServer, type Running, rawServer, readBody } from "./helpers.ts";

async function echo(req: IncomingRequest, res: ServerResponse): Promise<void> {
  const body = await req.body();
  res.setHeader("content-type", "application/json");
  res.end(
    JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.rawHeaders,
      body: body.toString("latin1"),
    }),
  );
}

interface Echo {
  method: string;
  url: string;
  headers: string[];
  body: string;
}

function header(e: Echo, name: string): string | undefined {
  for (let i = 0; i < e.headers.length; i += 2)
    if (e.headers[i]!.toLowerCase() === name) return e.headers[i + 1];
  return undefined;
}

describe("against phial's own server", () => {
  let srv: Running;
  let client: Client;
  before(async () => {
    srv = await phialServer(async (req, res) => {
      if (req.url === "/stream") {
        res.writeHead(200, { "content-type": "text/plain" });
        for (let i = 0; i < 5; i++) await res.write(`part${i};`);
        res.end();
        return;
      }
      if (req.url === "/empty") {
        res.writeHead(204);
        res.end();
        return;
      }
      if (req.url === "/notmod") {
        res.writeHead(304, { etag: '"x"' });
        res.end();
        return;
      }
      if (req.url === "/big") {
        res.end(Buffer.alloc(3 * 1024 * 1024, 0x61));
        return;
      }
      await echo(req, res);
    });
    client = new Client({ baseUrl: srv.url });
  });
  after(async () => {
    client.close();
    await srv.close();
  });

  test("GET returns status, case-insensitive headers, url and a JSON body", async () => {
    const res = await client.get("/hello?a=1", { query: { b: [2, 3] } });
    assert.ok(res instanceof ClientResponse);
    assert.equal(res.status, 200);
    assert.equal(res.statusText, "OK");
    assert.equal(res.ok, true);
    assert.equal(res.headers.get("Content-Type"), "application/json");
    assert.equal(res.headers.get("CONTENT-TYPE"), "application/json");
    assert.equal(res.url, `${srv.url}/hello?a=1&b=2&b=3`);
    const e = await res.json<Echo>();
    assert.equal(e.method, "GET");
    assert.equal(e.url, "/hello?a=1&b=2&b=3");
    assert.equal(header(e, "host"), `127.0.0.1:${srv.port}`);
    assert.equal(header(e, "accept-encoding"), "gzip, deflate, br");
    assert.match(header(e, "user-agent") ?? "", /^phial\//);
    assert.equal(header(e, "content-length"), undefined);
  });

  test("the body can be read only once", async () => {
    const res = await client.get("/once");
    await res.text();
    await assert.rejects(res.text(), /already read/);
  });

  test("json, form, text, bytes and multipart bodies are framed and typed", async () => {
    const j = await (await client.post("/j", { json: { a: [1, "é"] } })).json<Echo>();
    assert.equal(header(j, "content-type"), "application/json");
    assert.equal(Buffer.from(j.body, "latin1").toString("utf8"), '{"a":[1,"é"]}');
    assert.equal(header(j, "content-length"), String(Buffer.byteLength('{"a":[1,"é"]}')));

    const f = await (await client.put("/f", { form: { q: "a b&c", n: [1, 2] } })).json<Echo>();
    assert.equal(header(f, "content-type"), "application/x-www-form-urlencoded");
    assert.equal(f.body, "q=a+b%26c&n=1&n=2");
    assert.equal(f.method, "PUT");

    const t = await (
      await client.post("/t", { body: "plain", headers: { "Content-Type": "text/x-mine" } })
    ).json<Echo>();
    assert.equal(header(t, "content-type"), "text/x-mine");
    assert.equal(t.body, "plain");

    const b = await (await client.patch("/b", { body: new Uint8Array([0, 1, 255]) })).json<Echo>();
    assert.deepEqual([...Buffer.from(b.body, "latin1")], [0, 1, 255]);
    assert.equal(b.method, "PATCH");

    const m = await (
      await client.post("/m", {
        multipart: {
          title: "hi",
          file: { data: "file-content", filename: 'a"b.txt', contentType: "text/plain" },
          blob: new Blob(["blobby"], { type: "image/png" }),
        },
      })
    ).json<Echo>();
    const ct = header(m, "content-type")!;
    const boundary = ct.split("boundary=")[1]!;
    assert.match(boundary, /^----phial-[0-9a-f]{32}$/);
    assert.equal(
      m.body,
      `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a%22b.txt"\r\nContent-Type: text/plain\r\n\r\nfile-content\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="blob"; filename="blob"\r\nContent-Type: image/png\r\n\r\nblobby\r\n` +
        `--${boundary}--\r\n`,
    );
    assert.equal(header(m, "content-length"), String(Buffer.byteLength(m.body, "latin1")));
  });

  test("two multipart bodies get different random boundaries", async () => {
    const a = await (await client.post("/m", { multipart: { x: "1" } })).json<Echo>();
    const b = await (await client.post("/m", { multipart: { x: "1" } })).json<Echo>();
    assert.notEqual(header(a, "content-type"), header(b, "content-type"));
  });

  test("an async iterable body is sent chunked", async () => {
    async function* gen() {
      yield "one,";
      yield Buffer.from("two,");
      yield new Uint8Array([0x33]);
    }
    const e = await (await client.post("/chunked", { body: gen() })).json<Echo>();
    assert.equal(header(e, "transfer-encoding"), "chunked");
    assert.equal(e.body, "one,two,3");
  });

  test("POST without a body sends Content-Length: 0", async () => {
    const e = await (await client.post("/nobody")).json<Echo>();
    assert.equal(header(e, "content-length"), "0");
  });

  test("HEAD, 204 and 304 have no body and the socket is reused", async () => {
    const h = await client.head("/x");
    assert.equal(h.status, 200);
    assert.ok(Number(h.headers.get("content-length")) > 0);
    assert.equal((await h.bytes()).length, 0);
    const n = await client.get("/empty");
    assert.equal(n.status, 204);
    assert.equal(await n.text(), "");
    const nm = await client.get("/notmod");
    assert.equal(nm.status, 304);
    assert.equal(await nm.text(), "");
    assert.equal((await (await client.get("/after")).json<Echo>()).url, "/after");
    assert.equal(client.stats(srv.url).open, 1);
  });

  test("keep-alive: sequential requests share one socket; concurrent ones open more up to the limit", async () => {
    const c = new Client({ connections: 3 });
    try {
      for (let i = 0; i < 5; i++) await (await c.get(`${srv.url}/s${i}`)).text();
      assert.deepEqual(c.stats(srv.url), { open: 1, idle: 1 });
      const all = await Promise.all(
        Array.from({ length: 10 }, (_, i) => c.get(`${srv.url}/c${i}`).then((r) => r.json<Echo>())),
      );
      assert.deepEqual(
        all.map((e) => e.url),
        Array.from({ length: 10 }, (_, i) => `/c${i}`),
      );
      assert.ok(c.stats(srv.url).open <= 3);
    } finally {
      c.close();
    }
  });

  test("a chunked response streams as an async iterable", async () => {
    const res = await client.get("/stream");
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    const parts: string[] = [];
    for await (const c of res) parts.push(c.toString());
    assert.equal(parts.join(""), "part0;part1;part2;part3;part4;");
  });

  test("a large body arrives whole through text() and streaming", async () => {
    const a = await (await client.get("/big")).bytes();
    assert.equal(a.length, 3 * 1024 * 1024);
    let n = 0;
    for await (const c of (await client.get("/big")).body) n += c.length;
    assert.equal(n, 3 * 1024 * 1024);
  });

  test("breaking out of a stream early closes that socket and the client keeps working", async () => {
    const res = await client.get("/big");
    for await (const _ of res) break;
    assert.equal((await (await client.get("/ok")).json<Echo>()).url, "/ok");
  });

  test("header names and values are validated, Host included", async () => {
    await assert.rejects(client.get("/x", { headers: { "X-A": "a\r\nInjected: 1" } }), /CR or LF/);
    await assert.rejects(client.get("/x", { headers: { Host: "evil\r\nX: 1" } }), /CR or LF/);
    await assert.rejects(client.get("/x", { headers: { Host: "a b/c" } }), /Invalid Host header/);
    const e = await (await client.get("/x", { headers: { host: "example.test:81" } })).json<Echo>();
    assert.equal(header(e, "host"), "example.test:81");
    await assert.rejects(client.get("/x", { headers: { "Bad Name": "v" } }), /Invalid header name/);
    await assert.rejects(client.get("/x", { headers: { "X-U": "深圳" } }), /Latin-1/);
    await assert.rejects(client.get("/x", { headers: { "content-length": "5" } }), /frames the body/);
    await assert.rejects(client.request("/x", { method: "GE T" }), /Invalid method/);
    assert.throws(() => new Client({ headers: { "X-A": "a\nb" } }), /CR or LF/);
  });

  test("default headers are sent and a request's own header replaces one", async () => {
    const c = new Client({ baseUrl: srv.url, headers: { "X-Team": "a", Accept: "text/html" } });
    try {
      const e = await (await c.get("/d", { headers: { "x-team": "b" } })).json<Echo>();
      assert.equal(header(e, "x-team"), "b");
      assert.equal(e.headers.filter((h) => h.toLowerCase() === "x-team").length, 1);
      assert.equal(header(e, "accept"), "text/html");
    } finally {
      c.close();
    }
  });

  test("module-level get and post use a shared client", async () => {
    assert.equal((await (await get(`${srv.url}/g`)).json<Echo>()).method, "GET");
    assert.equal((await (await post(`${srv.url}/p`, { json: 1 })).json<Echo>()).body, "1");
  });

  test("bad URLs are clear errors", async () => {
    await assert.rejects(new Client().get("ftp://x/"), /Unsupported URL scheme/);
    await assert.rejects(new Client().get("/relative"), /Invalid URL/);
    await assert.rejects(new Client().get("http://u:p@127.0.0.1/"), /Credentials in the URL/);
  });
});

describe("against node:http", () => {
  let srv: Running;
  before(async () => {
    srv = await nodeServer(async (req, res) => {
      const body = await readBody(req);
      if (req.url === "/trailers") {
        res.writeHead(200, { "Content-Type": "text/plain", Trailer: "X-Sum" });
        res.write("abc");
        res.addTrailers({ "X-Sum": "3" });
        res.end();
        return;
      }
      if (req.url === "/close") {
        res.writeHead(200, { Connection: "close" });
        res.end("bye");
        return;
      }
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.end(
        JSON.stringify({
          method: req.method,
          len: body.length,
          te: req.headers["transfer-encoding"] ?? null,
        }),
      );
    });
  });
  after(() => srv.close());

  test("GET and a chunked upload", async () => {
    const c = new Client();
    try {
      const r = await c.get(`${srv.url}/`);
      assert.deepEqual(r.headers.getSetCookie(), ["a=1", "b=2"]);
      assert.deepEqual(await r.json(), { method: "GET", len: 0, te: null });
      async function* gen() {
        for (let i = 0; i < 100; i++) yield Buffer.alloc(1000, i);
      }
      const u = await c.put(`${srv.url}/up`, { body: gen() });
      assert.deepEqual(await u.json(), { method: "PUT", len: 100_000, te: "chunked" });
    } finally {
      c.close();
    }
  });

  test("trailers of a chunked response are exposed", async () => {
    const c = new Client();
    try {
      const r = await c.get(`${srv.url}/trailers`);
      assert.equal(await r.text(), "abc");
      assert.equal(r.trailers?.get("x-sum"), "3");
    } finally {
      c.close();
    }
  });

  test("Connection: close responses are not pooled", async () => {
    const c = new Client();
    try {
      const r = await c.get(`${srv.url}/close`);
      assert.equal(await r.text(), "bye");
      assert.equal(await (await c.get(`${srv.url}/close`)).text(), "bye");
      await new Promise((r) => setImmediate(r));
      assert.equal(c.stats(srv.url).idle, 0);
    } finally {
      c.close();
    }
  });
});

describe("framing and pooling with a raw server", () => {
  test("1xx responses are skipped; a body delimited by close is read to the end", async () => {
    const srv = await rawServer((_h, s) => {
      s.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n");
      s.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ");
      setImmediate(() => s.end("close"));
    });
    const c = new Client();
    try {
      const r = await c.get(srv.url);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), "until close");
    } finally {
      c.close();
      await srv.close();
    }
  });

  test("a response delivered byte by byte parses the same", async () => {
    const raw =
      "HTTP/1.1 201 Created\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: t\r\n\r\n";
    const srv = await rawServer(async (_h, s) => {
      s.setNoDelay(true);
      for (const ch of raw) {
        s.write(ch);
        await new Promise((r) => setImmediate(r));
      }
    });
    const c = new Client();
    try {
      const r = await c.get(srv.url);
      assert.equal(r.status, 201);
      assert.equal(r.statusText, "Created");
      assert.equal(await r.text(), "hello world");
      assert.equal(r.trailers?.get("X-T"), "t");
    } finally {
      c.close();
      await srv.close();
    }
  });

  test("an idempotent request is retried once when a reused socket was closed by the server", async () => {
    let connections = 0;
    const srv = await rawServer(
      (_h, s) => {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        // Close right after answering, without saying so: the client's pooled socket goes stale.
        if (connections === 1) setImmediate(() => s.destroy());
      },
      () => {
        connections++;
      },
    );
    const c = new Client();
    try {
      assert.equal(await (await c.get(srv.url)).text(), "ok");
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(await (await c.get(srv.url)).text(), "ok");
      assert.equal(connections, 2);
    } finally {
      c.close();
      await srv.close();
    }
  });

  test("the stale-socket retry happens once only", async () => {
    const srv = await rawServer((_h, s, i) => {
      if (i === 0) s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      else s.destroy();
    });
    const c = new Client();
    try {
      assert.equal(await (await c.get(srv.url)).text(), "ok");
      await assert.rejects(c.get(srv.url), { name: "ConnectionClosedError" });
      // The first request, the GET on the reused socket, and one retry on a fresh socket.
      assert.equal(srv.requests.length, 3);
    } finally {
      c.close();
      await srv.close();
    }
  });

  test("a POST on a socket that dies is not retried (not idempotent)", async () => {
    const srv = await rawServer((_h, s, i) => {
      if (i === 0) s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      else s.destroy();
    });
    const c = new Client();
    try {
      assert.equal(await (await c.get(srv.url)).text(), "ok");
      await assert.rejects(c.post(srv.url, { body: "x" }), { name: "ConnectionClosedError" });
      assert.equal(srv.requests.length, 2);
    } finally {
      c.close();
      await srv.close();
    }
  });

  test("pooled sockets expire before the server's Keep-Alive timeout", async () => {
    const srv = await rawServer((_h, s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=0\r\n\r\nok");
    });
    const c = new Client();
    try {
      assert.equal(await (await c.get(srv.url)).text(), "ok");
      await new Promise((r) => setImmediate(r));
      // timeout=0 means "don't reuse": the client closed the socket instead of pooling it.
      assert.deepEqual(c.stats(srv.url), { open: 0, idle: 0 });
    } finally {
      c.close();
      await srv.close();
    }
  });

  test("a short Keep-Alive timeout closes the idle socket on time", async () => {
    let answeredAt = 0;
    const srv = await rawServer((_h, s) => {
      answeredAt = Date.now();
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=1, max=100\r\n\r\nok");
    });
    const c = new Client();
    try {
      assert.equal(await (await c.get(srv.url)).text(), "ok");
      assert.equal(c.stats(srv.url).idle, 1);
      // timeout=1 s → the client keeps the socket for 500 ms, then closes it (the server sees the close).
      // Bounds that hold on a loaded machine, where timers run late: the close comes at least 500 ms
      // after the server answered (the client's timer starts later still); and a timer of the server's
      // 1 s set now, due after the client's, finds the socket already closed (due timers run in order).
      const [sock] = [...srv.sockets];
      const closed = new Promise<number>((r) => sock!.once("close", () => r(Date.now())));
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(c.stats(srv.url), { open: 0, idle: 0 }, "closed before the server's 1 s");
      const kept = (await closed) - answeredAt;
      assert.ok(kept >= 490, `kept idle ${kept} ms, half the server's timeout`);
    } finally {
      c.close();
      await srv.close();
    }
  });
});

test("a client-wide maxResponseBytes can be raised per request; a slow reader does not trip readTimeout", async () => {
  const srv = await phialServer((_req, res) => res.end(Buffer.alloc(2 * 1024 * 1024, 1)));
  // readTimeout well above the pauses a loaded machine gives a process (a stall longer than it is a real
  // timeout), and the reader's pause well above readTimeout.
  const c = new Client({ maxResponseBytes: 1024, readTimeout: 500 });
  try {
    await assert.rejects(c.get(srv.url), /larger than maxResponseBytes \(1024 bytes\)/);
    const r = await c.get(srv.url, { maxResponseBytes: 4 * 1024 * 1024 });
    // Don't read for longer than readTimeout: the socket is paused, which is our doing, not the server's.
    await new Promise((resolve) => setTimeout(resolve, 900));
    assert.equal((await r.bytes()).length, 2 * 1024 * 1024);
  } finally {
    c.close();
    await srv.close();
  }
});
