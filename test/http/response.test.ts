// Responses: one write for small ones, Content-Length vs chunked, Date, field validation.

import assert from "node:assert/strict";
import { Socket } from "node:net";
import { test } from "node:test";
import { httpDateNow } from "phial/http";
import { deferred, GET, Raw, start, until } from "./_sock.ts";

/** Counts socket.write calls on the server's side of connections to `port`. */
function countServerWrites(port: () => number): { calls: Buffer[]; restore(): void } {
  const calls: Buffer[] = [];
  const orig = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    if (this.localPort === port()) {
      calls.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), "latin1"));
    }
    return (orig as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof orig;
  return {
    calls,
    restore: () => {
      Socket.prototype.write = orig;
    },
  };
}

test("a small response goes out in one socket write: status line, fields and body", async () => {
  let port = 0;
  const spy = countServerWrites(() => port);
  try {
    const s = await start((req, res) => {
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.setHeader("X-Thing", "1");
      res.end(req.url === "/utf8" ? "héllo ✓" : "x".repeat(10_000));
    });
    port = s.port;
    const c = await Raw.connect(s.port);
    c.write(GET("/utf8"));
    const r = await c.response();
    assert.equal(r.body.toString("utf8"), "héllo ✓");
    assert.equal(r.header("content-length"), String(Buffer.byteLength("héllo ✓")));
    assert.equal(spy.calls.length, 1, "one write for head and body");
    assert.ok(spy.calls[0]!.toString("latin1").startsWith("HTTP/1.1 200 OK\r\n"));
    spy.calls.length = 0;
    c.write(GET("/big"));
    const r2 = await c.response();
    assert.equal(r2.body.length, 10_000);
    assert.equal(spy.calls.length, 1);
    c.destroy();
    await s.close();
  } finally {
    spy.restore();
  }
});

test("Latin-1 field values and UTF-8 bodies keep their bytes, with ASCII bodies or not", async () => {
  const s = await start((req, res) => {
    res.setHeader("X-Name", "caf\u00e9"); // obs-text: one byte, 0xE9, on the wire
    res.end(req.url === "/ascii" ? "plain" : "caf\u00e9 \u2713");
  });
  const c = await Raw.connect(s.port);
  c.write(GET("/ascii"));
  const a = await c.response();
  assert.equal(a.header("x-name"), "caf\u00e9");
  assert.equal(a.body.toString("latin1"), "plain");
  c.write(GET("/utf8"));
  const u = await c.response();
  assert.equal(u.header("x-name"), "caf\u00e9");
  assert.deepEqual(u.body, Buffer.from("caf\u00e9 \u2713", "utf8"));
  assert.equal(u.header("content-length"), String(u.body.length));
  c.destroy();
  await s.close();
});

test("the head and a small body arrive together at a raw client", async () => {
  const s = await start((_req, res) => res.end("small body"));
  const c = await Raw.connect(s.port);
  c.record = true;
  c.write(GET());
  await c.response();
  assert.equal(c.events.length, 1);
  assert.match(c.events[0]!.toString("latin1"), /\r\n\r\nsmall body$/);
  c.destroy();
  await s.close();
});

test("Content-Length for a known body; chunked when streamed on HTTP/1.1; close-delimited on 1.0", async () => {
  const big = Buffer.alloc(200_000, 7);
  const s = await start(async (req, res) => {
    if (req.url === "/big") return res.end(big);
    if (req.url === "/u8") return res.end(new Uint8Array([1, 2, 3]));
    if (req.url === "/declared") {
      res.setHeader("Content-Length", "6");
      await res.write("abc");
      return res.end("def");
    }
    await res.write("part1,");
    await res.write(Buffer.from("part2,"));
    await res.write("");
    res.end("end");
  });
  const c = await Raw.connect(s.port);
  c.write(GET("/big"));
  const a = await c.response();
  assert.equal(a.header("content-length"), "200000");
  assert.ok(a.body.equals(big));
  c.write(GET("/u8"));
  assert.deepEqual([...(await c.response()).body], [1, 2, 3]);
  c.write(GET("/stream"));
  const b = await c.response();
  assert.equal(b.header("transfer-encoding"), "chunked");
  assert.equal(b.header("content-length"), undefined);
  assert.equal(b.body.toString(), "part1,part2,end");
  c.write(GET("/declared"));
  const d = await c.response();
  assert.equal(d.header("content-length"), "6");
  assert.equal(d.header("transfer-encoding"), undefined);
  assert.equal(d.body.toString(), "abcdef");
  c.destroy();

  const old = await Raw.connect(s.port);
  old.write("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const e = await old.response();
  assert.equal(e.header("transfer-encoding"), undefined);
  assert.equal(e.header("connection"), "close");
  assert.equal(e.body.toString(), "part1,part2,end");
  await s.close();
});

test("an app's Transfer-Encoding / Connection / Keep-Alive fields don't break our framing", async () => {
  const s = await start((_req, res) => {
    res.writeHead(200, { "Transfer-Encoding": "gzip", "Keep-Alive": "timeout=999", "X-A": ["1", "2"] });
    res.end("plain");
  });
  const c = await Raw.connect(s.port);
  c.write(GET());
  const r = await c.response();
  assert.equal(r.header("transfer-encoding"), undefined);
  assert.equal(r.header("content-length"), "5");
  assert.equal(r.fields.filter(([k]) => k === "X-A").length, 2);
  assert.notEqual(r.header("keep-alive"), "timeout=999");
  c.destroy();
  await s.close();
});

test("a streamed body longer than its declared Content-Length throws; a shorter one closes", async () => {
  let thrown: unknown;
  const s = await start(async (req, res) => {
    res.setHeader("Content-Length", "3");
    if (req.url === "/long") {
      try {
        await res.write("abcdef");
      } catch (e) {
        thrown = e;
        res.end();
      }
      return;
    }
    await res.write("a");
    res.end();
  });
  const c = await Raw.connect(s.port);
  c.write(GET("/long"));
  await c.waitClosed();
  assert.match(String(thrown), /longer than its Content-Length/);
  const d = await Raw.connect(s.port);
  d.write(GET("/short"));
  const all = await d.rest();
  assert.match(all.toString(), /Content-Length: 3\r\n/);
  assert.ok(all.toString().endsWith("\r\n\r\na"), "short body then close");
  await s.close();
});

test("Date is an IMF-fixdate, cached per second", async () => {
  // Start just after a second boundary so two calls fall in the same second. On a loaded machine the
  // timer can fire late, near the end of a second: then try the next one.
  let d1 = "";
  for (let tries = 0; ; tries++) {
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    if (Date.now() % 1000 < 500 || tries === 10) break;
  }
  d1 = httpDateNow();
  assert.match(
    d1,
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/,
  );
  assert.ok(Math.abs(Date.parse(d1) - Date.now()) < 2000);
  assert.equal(httpDateNow(), d1);
  assert.equal(d1, new Date().toUTCString());
  // Across a second boundary the value moves on.
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
  assert.notEqual(httpDateNow(), d1);

  const s = await start((req, res) => {
    if (req.url === "/own") res.setHeader("Date", "Sun, 06 Nov 1994 08:49:37 GMT");
    res.end();
  });
  const c = await Raw.connect(s.port);
  c.write(GET("/"));
  const r = await c.response();
  assert.ok(Math.abs(Date.parse(r.header("date")!) - Date.now()) < 2000);
  c.write(GET("/own"));
  const o = await c.response();
  assert.equal(o.fields.filter(([k]) => k.toLowerCase() === "date").length, 1);
  assert.equal(o.header("date"), "Sun, 06 Nov 1994 08:49:37 GMT");
  c.destroy();
  await s.close();
});

test("CR/LF, NUL, non-Latin-1 and bad names in an app's fields throw a clear TypeError", async () => {
  const problems: Record<string, string> = {};
  const s = await start((_req, res) => {
    const attempts: [string, string][] = [
      ["X-Evil", "a\r\nSet-Cookie: pwned=1"],
      ["X-Lf", "a\nb"],
      ["X-Nul", "a\0b"],
      ["City", "深圳"],
      ["Bad Name", "v"],
      ["X-Inj\r\nEvil", "v"],
      ["", "v"],
    ];
    for (const [k, v] of attempts) {
      try {
        res.setHeader(k, v);
        problems[k] = "accepted";
      } catch (e) {
        assert.ok(e instanceof TypeError);
        problems[k] = (e as Error).message;
      }
    }
    try {
      res.writeHead(200, { "X-Ok": "fine", "X-Bad": "x\r\ny" });
    } catch (e) {
      problems.writeHead = (e as Error).message;
    }
    try {
      res.appendHeader("X-Arr", ["ok", "bad\r\n"]);
    } catch (e) {
      problems.array = (e as Error).message;
    }
    res.end("done");
  });
  const c = await Raw.connect(s.port);
  c.write(GET());
  const r = await c.response();
  assert.equal(r.body.toString(), "done");
  assert.ok(!r.head.includes("pwned"), "the injected field never reaches the wire");
  assert.ok(!r.head.includes("Evil"));
  assert.match(problems["X-Evil"]!, /"X-Evil".*CR or LF/);
  assert.match(problems["X-Lf"]!, /CR or LF/);
  assert.match(problems["X-Nul"]!, /control character 0x00/);
  assert.match(problems.City!, /"City".*Latin-1/);
  assert.match(problems["Bad Name"]!, /Invalid header name/);
  assert.match(problems["X-Inj\r\nEvil"]!, /Invalid header name/);
  assert.match(problems[""]!, /Invalid header name/);
  assert.match(problems.writeHead!, /"X-Bad"/);
  assert.match(problems.array!, /"X-Arr"/);
  c.destroy();
  await s.close();
});

test("a handler that lets a bad field throw gets a 500, not a broken response", async () => {
  const s = await start((_req, res) => {
    res.setHeader("Location", "/x\r\nSet-Cookie: a=b");
    res.end();
  });
  const c = await Raw.connect(s.port);
  c.write(GET());
  const r = await c.response();
  assert.equal(r.status, 500);
  assert.ok(!r.head.includes("Set-Cookie"));
  c.write(GET());
  assert.equal((await c.response()).status, 500, "connection still usable");
  c.destroy();
  assert.equal(s.errors.length, 2);
  await s.close();
});

test("status codes and reason phrases", async () => {
  const s = await start((req, res) => {
    if (req.url === "/custom") {
      res.statusCode = 299;
      res.statusMessage = "Custom Reason";
    } else if (req.url === "/bad-reason") {
      res.statusMessage = "x\r\nInjected: 1";
    } else if (req.url === "/bad-status") {
      res.statusCode = 42;
    } else if (req.url === "/unknown") {
      res.statusCode = 599;
    } else if (req.url === "/headers-after") {
      res.end("a");
      res.setHeader("X", "y");
      return;
    }
    res.end();
  });
  const c = await Raw.connect(s.port);
  c.write(GET("/custom"));
  const a = await c.response();
  assert.equal(a.status, 299);
  assert.equal(a.reason, "Custom Reason");
  c.write(GET("/bad-reason"));
  const b = await c.response();
  assert.equal(b.status, 500);
  assert.ok(!b.head.includes("Injected"));
  c.write(GET("/bad-status"));
  assert.equal((await c.response()).status, 500);
  c.write(GET("/unknown"));
  assert.equal((await c.response()).status, 599);
  c.write(GET("/headers-after"));
  assert.equal((await c.response()).body.toString(), "a");
  c.destroy();
  assert.equal(s.errors.length, 3);
  assert.match(String(s.errors[1]), /Invalid status code 42/);
  assert.match(String(s.errors[2]), /headers were already sent/);
  await s.close();
});

test("a chunked stream of many pieces arrives intact", async () => {
  const piece = Buffer.alloc(1000);
  for (let i = 0; i < piece.length; i++) piece[i] = i & 0xff;
  const s = await start(async (_req, res) => {
    for (let i = 0; i < 2000; i++) await res.write(piece);
    res.end();
  });
  const c = await Raw.connect(s.port);
  c.write(GET());
  const r = await c.response();
  assert.equal(r.body.length, 2_000_000);
  for (let i = 0; i < 2000; i += 97) assert.ok(r.body.subarray(i * 1000, i * 1000 + 1000).equals(piece));
  c.destroy();
  await s.close();
});

test("an invalid Content-Length from the app is a clear error, not bad framing", async () => {
  const s = await start(async (_req, res) => {
    res.setHeader("Content-Length", "1.5");
    await res.write("x");
    res.end();
  });
  const c = await Raw.connect(s.port);
  c.write(GET());
  const r = await c.response();
  assert.equal(r.status, 500);
  assert.match(String(s.errors[0]), /Invalid Content-Length "1.5"/);
  c.destroy();
  await s.close();
});

test("a streamed response: the head leaves with the first piece, each small piece in one write", async () => {
  let port = 0;
  const spy = countServerWrites(() => port);
  try {
    const s = await start(async (_req, res) => {
      res.setHeader("Content-Type", "text/event-stream");
      await res.write("data: 1\n\n");
      await res.write("data: 2\n\n");
      res.end();
    });
    port = s.port;
    const c = await Raw.connect(s.port);
    c.write(GET());
    const r = await c.response();
    assert.equal(r.body.toString(), "data: 1\n\ndata: 2\n\n");
    assert.equal(spy.calls.length, 3, "head+piece, piece, last chunk");
    assert.match(
      spy.calls[0]!.toString("latin1"),
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n9\r\ndata: 1\n\n\r\n$/,
    );
    assert.equal(spy.calls[1]!.toString("latin1"), "9\r\ndata: 2\n\n\r\n");
    assert.equal(spy.calls[2]!.toString("latin1"), "0\r\n\r\n");
    c.destroy();
    await s.close();
  } finally {
    spy.restore();
  }
});

test("an empty write() sends the head at once (an event stream opened before its first event)", async () => {
  const gate = deferred();
  const s = await start(async (_req, res) => {
    res.setHeader("Content-Type", "text/event-stream");
    await res.write("");
    await gate.promise;
    res.end("data: late\n\n");
  });
  const c = await Raw.connect(s.port);
  c.write(GET());
  await until(() => c.buf.includes("\r\n\r\n"), 2000, "the head");
  assert.match(c.buf.toString("latin1"), /^HTTP\/1\.1 200 OK\r\n[\s\S]*Transfer-Encoding: chunked\r\n/);
  gate.resolve();
  assert.equal((await c.response()).body.toString(), "data: late\n\n");
  c.destroy();
  await s.close();
});

test("writeHead takes a record, a list of pairs or a flat list, keeping repeats and order", async () => {
  const s = await start((req, res) => {
    if (req.url === "/pairs")
      res.writeHead(201, [
        ["Set-Cookie", "a=1"],
        ["Set-Cookie", "b=2"],
      ]);
    else if (req.url === "/flat") res.writeHead(202, ["X-One", "1", "X-Two", "2"]);
    else if (req.url === "/odd") res.writeHead(200, ["X-One"]);
    else res.writeHead(203, { "X-Num": 42, "X-List": ["a", "b"] });
    res.end();
  });
  const c = await Raw.connect(s.port);
  c.write(GET("/pairs") + GET("/flat") + GET("/rec") + GET("/odd"));
  const a = await c.response();
  assert.equal(a.status, 201);
  assert.deepEqual(
    a.fields.filter(([k]) => k === "Set-Cookie").map(([, v]) => v),
    ["a=1", "b=2"],
  );
  const b = await c.response();
  assert.equal(b.status, 202);
  assert.deepEqual(b.fields.slice(0, 2), [
    ["X-One", "1"],
    ["X-Two", "2"],
  ]);
  const d = await c.response();
  assert.equal(d.header("x-num"), "42");
  assert.equal(d.fields.filter(([k]) => k === "X-List").length, 2);
  assert.equal((await c.response()).status, 500);
  assert.match(String(s.errors[0]), /flat header list/);
  c.destroy();
  await s.close();
});

test("a head like the last one is reused only when everything in it is the same", async () => {
  // The wire remembers recent heads (same status, fields, length, second and connection fields):
  // each of these differs from the one before in one part, and each must say so.
  const s = await start((req, res) => {
    const u = req.url;
    res.setHeader("Content-Type", "text/plain");
    if (u === "/created") res.statusCode = 201;
    if (u === "/reason") res.statusMessage = "Fine Indeed";
    if (u === "/extra") res.setHeader("X-Extra", "1");
    if (u === "/date") res.setHeader("Date", "Sun, 06 Nov 1994 08:49:37 GMT");
    if (u === "/declared") res.setHeader("Content-Length", "2");
    res.end(u === "/longer" ? "abc" : "ab");
  });
  try {
    const c = await Raw.connect(s.port);
    const get = async (path: string, extra = "") => {
      c.write(GET(path, extra));
      return c.response();
    };
    const first = await get("/");
    const again = await get("/");
    assert.equal(again.head, first.head, "the same response twice has the same head");
    assert.equal((await get("/created")).status, 201);
    assert.equal((await get("/")).status, 200);
    const reason = await get("/reason");
    assert.equal(reason.reason, "Fine Indeed");
    assert.equal((await get("/")).reason, "OK");
    assert.equal((await get("/extra")).header("x-extra"), "1");
    assert.equal((await get("/")).header("x-extra"), undefined);
    const longer = await get("/longer");
    assert.equal(longer.header("content-length"), "3");
    assert.equal(longer.body.toString(), "abc");
    assert.equal((await get("/")).header("content-length"), "2");
    const dated = await get("/date");
    assert.equal(dated.header("date"), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert.equal(dated.fields.filter(([n]) => n.toLowerCase() === "date").length, 1);
    assert.notEqual((await get("/")).header("date"), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert.equal((await get("/declared")).header("content-length"), "2");
    assert.equal((await get("/", "Connection: close\r\n")).header("connection"), "close");
    await until(() => c.closed, 2000, "the connection to close");
    // A new second: a new Date, however alike the rest is.
    const c2 = await Raw.connect(s.port);
    c2.write(GET("/"));
    const before = await c2.response();
    await new Promise((r) => setTimeout(r, 1100));
    c2.write(GET("/"));
    const after = await c2.response();
    assert.notEqual(after.header("date"), before.header("date"));
    assert.equal(after.head.replace(/Date: [^\r]*/, ""), before.head.replace(/Date: [^\r]*/, ""));
    c2.socket.destroy();
  } finally {
    await s.close();
  }
});
