// The parser in response mode (what the client uses), fed whole, a byte at a time and split.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HttpParser } from "../../src/http/parser.ts";
import { lines, ok, parse, rejects } from "./_util.ts";

describe("response mode", () => {
  test("status line, reason phrase, fields and a Content-Length body", () => {
    const [m] = ok(
      "response",
      `${lines("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5")}hello`,
    );
    assert.equal(m!.head.status, 200);
    assert.equal(m!.head.statusText, "OK");
    assert.equal(m!.head.versionMinor, 1);
    assert.equal(m!.head.method, "");
    assert.deepEqual(m!.head.rawHeaders, ["Content-Type", "text/plain", "Content-Length", "5"]);
    assert.equal(m!.body, "hello");
    assert.equal(m!.head.keepAlive, true);
  });

  test("reason phrases: with spaces and obs-text, empty, or absent", () => {
    assert.equal(
      ok("response", lines("HTTP/1.1 404 Not  Found \xe9", "Content-Length: 0"))[0]!.head.statusText,
      "Not  Found \xe9",
    );
    assert.equal(ok("response", lines("HTTP/1.1 200 ", "Content-Length: 0"))[0]!.head.statusText, "");
    const [m] = ok("response", lines("HTTP/1.1 299", "Content-Length: 0"));
    assert.equal(m!.head.status, 299);
    assert.equal(m!.head.statusText, "");
  });

  test("malformed status lines are errors", () => {
    for (const line of [
      "HTTP/1.1 20 OK",
      "HTTP/1.1 2000 OK",
      "HTTP/1.1 200OK",
      "HTTP/1.1  200 OK",
      "HTTP/1.1 099 Low",
      "HTTP/1.1 600 High",
      "HTTP/1.1 abc OK",
      "HTTP/1.1 200 O\x00K",
      "HTTP/1.1 200 O\x7fK",
      "http/1.1 200 OK",
      "ICY 200 OK",
      "HTTP/1.1",
    ]) {
      const o = parse("response", lines(line, "Content-Length: 0"));
      assert.equal(o.error?.status, 400, `${JSON.stringify(line)} gave ${JSON.stringify(o)}`);
    }
    rejects("response", lines("HTTP/2.0 200 OK"), 400, "HPE_INVALID_VERSION");
    rejects("response", lines("HTTP/3.0 200 OK"), 505, "HPE_VERSION_NOT_SUPPORTED");
    // A higher minor version of HTTP/1 is read as HTTP/1.1 (RFC 9112 §2.3).
    const [m] = ok("response", "HTTP/1.4 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    assert.equal(m!.head.versionMinor, 1);
    assert.equal(m!.head.keepAlive, true);
    assert.equal(m!.body, "hi");
    // No empty lines before a status line.
    rejects("response", `\r\n${lines("HTTP/1.1 200 OK", "Content-Length: 0")}`, 400);
  });

  test("1xx interim responses are reported, then the final one", () => {
    const ms = ok(
      "response",
      lines("HTTP/1.1 100 Continue") +
        lines("HTTP/1.1 103 Early Hints", "Link: </a.css>; rel=preload") +
        `${lines("HTTP/1.1 200 OK", "Content-Length: 2")}ok`,
    );
    assert.deepEqual(
      ms.map((m) => [m.head.status, m.complete, m.body]),
      [
        [100, false, ""],
        [103, false, ""],
        [200, true, "ok"],
      ],
    );
    assert.deepEqual(ms[1]!.head.rawHeaders, ["Link", "</a.css>; rel=preload"]);
  });

  test("101 Switching Protocols: the parser stops; the bytes after are kept for the new protocol", () => {
    const o = parse(
      "response",
      `${lines("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade")}\x81\x05hello`,
    );
    assert.equal(o.error, undefined);
    assert.equal(o.messages.length, 1);
    assert.equal(o.messages[0]!.head.status, 101);
    assert.equal(o.messages[0]!.head.upgrade, true);
    assert.equal(o.pending, "\x81\x05hello");
    const p = new HttpParser("response", {
      onHead: () => {},
      onBody: () => assert.fail("no body after 101"),
      onComplete: () => assert.fail("no completion after 101"),
      onError: (e) => assert.fail(e),
    });
    p.execute(Buffer.from(lines("HTTP/1.1 101 Switching Protocols", "Upgrade: h2c")));
    assert.equal(p.dead, true);
    p.execute(Buffer.from("more"));
    assert.equal(p.pending.toString(), "more");
  });

  test("204 and 304 have no body whatever their fields say; the next response is read", () => {
    const ms = ok(
      "response",
      lines("HTTP/1.1 204 No Content", "Content-Length: 10") +
        lines("HTTP/1.1 304 Not Modified", "Content-Length: 100", 'ETag: "x"') +
        `${lines("HTTP/1.1 200 OK", "Content-Length: 1")}z`,
    );
    assert.deepEqual(
      ms.map((m) => [m.head.status, m.body, m.complete]),
      [
        [204, "", true],
        [304, "", true],
        [200, "z", true],
      ],
    );
  });

  test("expectNoBody (a HEAD request): no body is read, even with Content-Length or chunked", () => {
    const input =
      lines("HTTP/1.1 200 OK", "Content-Length: 1000") +
      lines("HTTP/1.1 200 OK", "Transfer-Encoding: chunked") +
      `${lines("HTTP/1.1 200 OK", "Content-Length: 3")}abc`;
    const ms = ok("response", input, { noBody: [0, 1] });
    assert.deepEqual(
      ms.map((m) => [m.body, m.complete, m.head.chunked]),
      [
        ["", true, false],
        ["", true, false],
        ["abc", true, false],
      ],
    );
    // expectNoBody applies to one response only.
    assert.equal(ms[0]!.head.contentLength, 1000);
  });

  test("expectNoBody holds across 1xx responses, for the final one", () => {
    const ms = ok(
      "response",
      `${lines("HTTP/1.1 100 Continue")}${lines("HTTP/1.1 200 OK", "Content-Length: 50")}${lines("HTTP/1.1 204 No Content")}`,
      { noBody: [0] },
    );
    assert.deepEqual(
      ms.map((m) => [m.head.status, m.complete]),
      [
        [100, false],
        [200, true],
        [204, true],
      ],
    );
    // Closing after an interim response: the final response never came.
    const cut = parse("response", lines("HTTP/1.1 103 Early Hints"), { finish: true });
    assert.equal(cut.error?.code, "HPE_INCOMPLETE");
    assert.match(cut.error!.message, /interim/);
    assert.equal(parse("response", lines("HTTP/1.1 100 Continue")).idle, false);
    const mid = parse("response", `${lines("HTTP/1.1 100 Continue")}HTTP/1.1 2`, { finish: true });
    assert.equal(mid.error?.code, "HPE_INCOMPLETE");
  });

  test("no Content-Length and no chunked: the body runs until the connection closes", () => {
    const input = `${lines("HTTP/1.1 200 OK", "Content-Type: text/plain")}all of this\r\n\r\nHTTP/1.1 200 OK\r\n`;
    const open = parse("response", input);
    assert.equal(open.messages[0]!.complete, false);
    assert.equal(open.messages[0]!.head.keepAlive, false);
    const closed = parse("response", input, { finish: true });
    assert.equal(closed.error, undefined);
    assert.equal(closed.messages.length, 1);
    assert.equal(closed.messages[0]!.body, "all of this\r\n\r\nHTTP/1.1 200 OK\r\n");
    assert.equal(closed.messages[0]!.complete, true);
  });

  test("read-until-close bodies are bounded by maxBodyBytes", () => {
    rejects("response", `${lines("HTTP/1.1 200 OK")}${"x".repeat(20)}`, 413, "HPE_BODY_TOO_LARGE", {
      limits: { maxBodyBytes: 10 },
    });
  });

  test("a final coding other than chunked: read until close; chunked not last is an error", () => {
    const [m] = ok("response", `${lines("HTTP/1.1 200 OK", "Transfer-Encoding: gzip")}\x1f\x8b...`, {
      finish: true,
    });
    assert.equal(m!.body, "\x1f\x8b...");
    assert.equal(m!.head.chunked, false);
    assert.equal(m!.head.keepAlive, false);
    rejects("response", lines("HTTP/1.1 200 OK", "Transfer-Encoding: chunked, gzip"), 400);
    rejects(
      "response",
      lines("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
      400,
    );
    // Other codings then chunked: the chunked framing is removed; the rest is left to the client.
    const [g] = ok(
      "response",
      `${lines("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked")}2\r\n\x1f\x8b\r\n0\r\n\r\n`,
    );
    assert.equal(g!.head.chunked, true);
    assert.equal(g!.body, "\x1f\x8b");
  });

  test("Content-Length with Transfer-Encoding is refused in responses too", () => {
    rejects(
      "response",
      `${lines("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked")}5\r\nhello\r\n0\r\n\r\n`,
      400,
      "HPE_UNEXPECTED_CONTENT_LENGTH",
    );
  });

  test("identical repeated Content-Length is tolerated in responses; differing is refused", () => {
    const [m] = ok("response", `${lines("HTTP/1.1 200 OK", "Content-Length: 2", "Content-Length: 2")}hi`);
    assert.equal(m!.body, "hi");
    assert.equal(ok("response", `${lines("HTTP/1.1 200 OK", "Content-Length: 2, 2")}hi`)[0]!.body, "hi");
    rejects(
      "response",
      lines("HTTP/1.1 200 OK", "Content-Length: 2", "Content-Length: 3"),
      400,
      "HPE_INVALID_CONTENT_LENGTH",
    );
    rejects("response", lines("HTTP/1.1 200 OK", "Content-Length: 2, 3"), 400, "HPE_INVALID_CONTENT_LENGTH");
  });

  test("a truncated body is an error on finish(), never a complete message", () => {
    const o = parse("response", `${lines("HTTP/1.1 200 OK", "Content-Length: 10")}short`, { finish: true });
    assert.equal(o.messages[0]!.complete, false);
    assert.equal(o.error?.code, "HPE_INCOMPLETE");
    assert.match(o.error!.message, /closed before the whole body/);
    const c = parse("response", `${lines("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")}5\r\nhel`, {
      finish: true,
    });
    assert.equal(c.error?.code, "HPE_INCOMPLETE");
    const t = parse("response", `${lines("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")}0\r\nX: 1\r\n`, {
      finish: true,
    });
    assert.equal(t.error?.code, "HPE_INCOMPLETE");
    const h = parse("response", "HTTP/1.1 200 OK\r\nContent-Le", { finish: true });
    assert.equal(h.error?.code, "HPE_INCOMPLETE");
  });

  test("chunked with trailers, then keep-alive for the next response", () => {
    const input =
      `${lines("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Trailer: Server-Timing")}` +
      "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nServer-Timing: total;dur=12\r\n\r\n" +
      `${lines("HTTP/1.1 404 Not Found", "Content-Length: 0")}`;
    const ms = ok("response", input);
    assert.equal(ms[0]!.body, "Wikipedia");
    assert.deepEqual(ms[0]!.trailers, ["Server-Timing", "total;dur=12"]);
    assert.equal(ms[0]!.head.keepAlive, true);
    assert.equal(ms[1]!.head.status, 404);
  });

  test("HTTP/1.0 responses close unless keep-alive is asked for; Connection: close is honoured", () => {
    assert.equal(ok("response", lines("HTTP/1.0 200 OK", "Content-Length: 0"))[0]!.head.keepAlive, false);
    assert.equal(
      ok("response", lines("HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 0"))[0]!.head
        .keepAlive,
      true,
    );
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding is faulty framing; close after it.
    const [te] = ok(
      "response",
      `${lines("HTTP/1.0 200 OK", "Connection: keep-alive", "Transfer-Encoding: chunked")}1\r\na\r\n0\r\n\r\n`,
    );
    assert.equal(te!.body, "a");
    assert.equal(te!.head.keepAlive, false);
    const o = parse("response", `${lines("HTTP/1.1 200 OK", "Connection: close", "Content-Length: 0")}junk`);
    assert.equal(o.messages[0]!.head.keepAlive, false);
    assert.equal(o.error, undefined, "bytes after a closing response are ignored");
  });

  test("the same strictness and limits as requests apply to response fields", () => {
    rejects("response", lines("HTTP/1.1 200 OK", "Bad : x"), 400, "HPE_INVALID_HEADER_TOKEN");
    rejects("response", lines("HTTP/1.1 200 OK", "X: a", " folded"), 400, "HPE_INVALID_HEADER_TOKEN");
    rejects("response", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 400, "HPE_LF_EXPECTED");
    rejects("response", lines("HTTP/1.1 200 OK", "X: \x00"), 400);
    rejects("response", lines("HTTP/1.1 200 OK", `X: ${"a".repeat(200)}`), 431, "HPE_HEADER_OVERFLOW", {
      limits: { maxHeaderBytes: 100 },
    });
    rejects("response", `${lines("HTTP/1.1 200 OK", "Content-Length: 100")}`, 413, "HPE_BODY_TOO_LARGE", {
      limits: { maxBodyBytes: 10 },
    });
    // A response needs no Host.
    ok("response", lines("HTTP/1.1 200 OK", "Content-Length: 0"));
  });
});
