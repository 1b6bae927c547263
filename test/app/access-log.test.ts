// The access log over real sockets: one line per response with the status and body bytes as sent
// (HEAD, errors the server answered, streams cut short), the forwarded client behind a trusted proxy,
// a replaceable logger, and colour only when asked.

import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { type AccessLogEntry, formatAccessLine, Response } from "phial";
import { colourWanted } from "../../src/app/serving/access-log.ts";
import { makeApp } from "./helpers.ts";
import { rawRequest } from "./raw-http.ts";

async function serve(config: Record<string, unknown> = {}, accessLog?: boolean) {
  const { app, logs } = makeApp({ config });
  app.route("/hello", () => "hello");
  app.route("/boom", () => {
    throw new Error("kaput");
  });
  app.route("/stream", () => {
    async function* body() {
      yield "a".repeat(1000);
      yield "b".repeat(24);
    }
    return new Response(body());
  });
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  app.route("/hang", () => {
    async function* body() {
      yield "x".repeat(100);
      await held;
      yield "y";
    }
    return new Response(body());
  });
  // A short requestTimeout: a client that half-closed while a response is owed is given up on quickly
  // (how soon the server notices a vanished client otherwise depends on the next write).
  const server = app.listen({ requestTimeout: 500 }, accessLog);
  const { port } = await server.listen(0, "127.0.0.1");
  const access = () => logs.filter((l) => l.level === "info").map((l) => l.message);
  return { app, logs, server, port, access, release };
}

describe("access log", () => {
  test("one line per request with status and body bytes as sent", async () => {
    const s = await serve({}, true);
    try {
      await rawRequest(s.port, "GET /hello?x=1 HTTP/1.1\r\nHost: a");
      await rawRequest(s.port, "HEAD /hello HTTP/1.1\r\nHost: a");
      const nf = await rawRequest(s.port, "GET /nope HTTP/1.1\r\nHost: a");
      const st = await rawRequest(s.port, "GET /stream HTTP/1.1\r\nHost: a");
      assert.equal(st.body.length, 1024);
      const lines = s.access();
      assert.equal(lines.length, 4, lines.join("\n"));
      assert.match(lines[0]!, /^127\.0\.0\.1 - "GET \/hello\?x=1 HTTP\/1\.1" 200 5 \d+\.\dms$/);
      assert.match(lines[1]!, /^127\.0\.0\.1 - "HEAD \/hello HTTP\/1\.1" 200 0 \d+\.\dms$/);
      assert.match(lines[2]!, new RegExp(`"GET /nope HTTP/1.1" 404 ${nf.body.length} `));
      assert.match(lines[3]!, /"GET \/stream HTTP\/1\.1" 200 1024 /);
    } finally {
      await s.server.close();
    }
  });

  test("an error is logged with its stack, and the 500 sent is what the access line says", async () => {
    const s = await serve({}, true);
    try {
      const r = await rawRequest(s.port, "GET /boom HTTP/1.1\r\nHost: a");
      assert.equal(r.status, 500);
      const err = s.logs.find((l) => l.level === "error")?.error as Error | undefined;
      assert.match(String(err?.stack), /kaput\n\s+at /);
      assert.match(s.access()[0]!, new RegExp(`"GET /boom HTTP/1.1" 500 ${r.body.length} `));
    } finally {
      await s.server.close();
    }
  });

  test("a malformed request the server answers itself is logged too", async () => {
    const s = await serve({}, true);
    try {
      const r = await rawRequest(
        s.port,
        "GET /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2",
      );
      assert.equal(r.status, 400);
      assert.match(s.access()[0]!, / 400 \d+ /);
    } finally {
      await s.server.close();
    }
  });

  test("a stream the client abandons is logged as incomplete with the bytes that went out", async () => {
    const s = await serve({}, true);
    try {
      const sock = connect(s.port, "127.0.0.1");
      sock.write("GET /hang HTTP/1.1\r\nHost: a\r\n\r\n");
      await once(sock, "data");
      sock.destroy();
      while (s.access().length === 0) await new Promise((r) => setTimeout(r, 5));
      assert.match(s.access()[0]!, /"GET \/hang HTTP\/1\.1" 200 100 \d+\.\dms \(incomplete\)$/);
    } finally {
      s.release();
      await s.server.close();
    }
  });

  test("behind a trusted proxy the forwarded client is logged; a spoofing peer is not believed", async () => {
    const s = await serve({ trustProxy: "loopback" }, true);
    try {
      await rawRequest(s.port, "GET /hello HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6, 198.51.100.7");
      assert.match(s.access()[0]!, /^198\.51\.100\.7 - /);
      s.app.config.trustProxy = "10.0.0.0/8";
      await rawRequest(s.port, "GET /hello HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 198.51.100.7");
      assert.match(s.access()[1]!, /^127\.0\.0\.1 - /);
    } finally {
      await s.server.close();
    }
  });

  test("logger.access gets the entry instead of a line; off unless asked (or debug)", async () => {
    const s = await serve({}, true);
    const entries: AccessLogEntry[] = [];
    s.app.logger = { ...s.app.logger, access: (e) => entries.push(e) };
    try {
      await rawRequest(s.port, "GET /hello HTTP/1.1\r\nHost: a");
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.status, 200);
      assert.equal(entries[0]!.bytes, 5);
      assert.equal(entries[0]!.completed, true);
      assert.equal(s.access().length, 0);
    } finally {
      await s.server.close();
    }
    const quiet = await serve();
    const debug = await serve({ debug: true });
    try {
      await rawRequest(quiet.port, "GET /hello HTTP/1.1\r\nHost: a");
      await rawRequest(debug.port, "GET /hello HTTP/1.1\r\nHost: a");
      assert.equal(quiet.access().length, 0, "app.listen() doesn't log outside debug mode");
      assert.equal(debug.access().length, 1);
    } finally {
      await quiet.server.close();
      await debug.server.close();
    }
  });

  test("colour by status class only on a terminal and never with NO_COLOR", () => {
    const e: AccessLogEntry = {
      remoteAddr: "127.0.0.1",
      method: "GET",
      url: "/x",
      httpVersion: "1.1",
      status: 404,
      bytes: 9,
      durationMs: 1.25,
      completed: true,
    };
    assert.equal(formatAccessLine(e, false), '127.0.0.1 - "GET /x HTTP/1.1" 404 9 1.3ms');
    assert.equal(formatAccessLine(e, true), '127.0.0.1 - \x1b[33m"GET /x HTTP/1.1" 404 9\x1b[0m 1.3ms');
    assert.equal(colourWanted({ isTTY: true }, {}), true);
    assert.equal(colourWanted({ isTTY: false }, {}), false);
    assert.equal(colourWanted({ isTTY: true }, { NO_COLOR: "1" }), false);
  });
});
