// A parser reuses the previous head's strings for lines whose bytes are the same at the same
// position (clients repeat their head on every request of a connection). These tests pin down that a
// reused string is only ever taken for identical bytes, and that nothing reused skips a check.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { lines, ok, rejects } from "./_util.ts";

const req = (target: string, ...fields: string[]) => lines(`GET ${target} HTTP/1.1`, ...fields);

describe("repeated heads on one connection", () => {
  test("identical heads give identical requests", () => {
    const one = req("/a?x=1", "Host: example.com", "User-Agent: test/1.0", "Accept: */*");
    const ms = ok("request", one + one + one);
    assert.equal(ms.length, 3);
    for (const m of ms) {
      assert.equal(m.head.target, "/a?x=1");
      assert.deepEqual(m.head.rawHeaders, ["Host", "example.com", "User-Agent", "test/1.0", "Accept", "*/*"]);
    }
  });

  test("a value that changes at the same position, with the same length, is read anew", () => {
    const ms = ok(
      "request",
      req("/a", "Host: example.com", "Cookie: id=aaaa") +
        req("/b", "Host: example.com", "Cookie: id=bbbb") +
        req("/a", "Host: example.org", "Cookie: id=aaaa"),
    );
    assert.deepEqual(
      ms.map((m) => [m.head.target, m.head.host, m.head.rawHeaders[3]]),
      [
        ["/a", "example.com", "id=aaaa"],
        ["/b", "example.com", "id=bbbb"],
        ["/a", "example.org", "id=aaaa"],
      ],
    );
  });

  test("names that only start like the previous one, and fields that move, are read anew", () => {
    const ms = ok(
      "request",
      req("/", "Host: h", "Accept: a", "X: 1") +
        req("/", "Host: h", "Accept-Language: a", "X: 1") +
        req("/", "Host: h", "X: 1", "Accept: a") +
        req("/", "Host: h", "accept: a"),
    );
    assert.deepEqual(ms[1]!.head.rawHeaders, ["Host", "h", "Accept-Language", "a", "X", "1"]);
    assert.deepEqual(ms[2]!.head.rawHeaders, ["Host", "h", "X", "1", "Accept", "a"]);
    assert.deepEqual(ms[3]!.head.rawHeaders, ["Host", "h", "accept", "a"]);
  });

  test("trailing whitespace is trimmed the same either way", () => {
    const ms = ok(
      "request",
      req("/", "Host: h", "A: v  ") + req("/", "Host: h", "A:v") + req("/", "Host: h", "A: v\t"),
    );
    for (const m of ms) assert.equal(m.head.rawHeaders[3], "v");
  });

  test("a bad byte where the previous head had a good value is still refused", () => {
    const good = req("/", "Host: h", "A: abc");
    const e = rejects(
      "request",
      `${good}${req("/", "Host: h", "A: a\x01c")}`,
      400,
      "HPE_INVALID_HEADER_TOKEN",
    );
    assert.match(e.error.message, /control byte 0x01/);
    assert.equal(e.messages.length, 1);
    rejects("request", `${good}${req("/", "Host: h", "A: a\rc")}`, 400, "HPE_INVALID_HEADER_TOKEN");
  });

  test("a bad name or Host after good ones is still refused", () => {
    const good = req("/", "Host: example.com", "Accept: a");
    rejects(
      "request",
      `${good}${req("/", "Host: example.com", "Acc ept: a")}`,
      400,
      "HPE_INVALID_HEADER_TOKEN",
    );
    rejects("request", `${good}${req("/", "Host: exa mple.com")}`, 400, "HPE_INVALID_HOST");
    rejects(
      "request",
      `${good}${req("/", "Host: example.com", "Host: example.com")}`,
      400,
      "HPE_DUPLICATE_HOST",
    );
  });

  test("a target that changes with the same length is read anew, and still checked", () => {
    const ms = ok("request", req("/aaa", "Host: h") + req("/bbb", "Host: h") + req("/aaa", "Host: h"));
    assert.deepEqual(
      ms.map((m) => m.head.target),
      ["/aaa", "/bbb", "/aaa"],
    );
    rejects("request", req("/aaa", "Host: h") + req("/a\x7fa", "Host: h"), 400, "HPE_INVALID_URL");
  });

  test("special fields keep their meaning when their strings are reused", () => {
    const post = (n: number) =>
      lines("POST /u HTTP/1.1", "Host: h", "Content-Length: 3", "Connection: keep-alive") + "x".repeat(n);
    const ms = ok("request", post(3) + post(3));
    assert.deepEqual(
      ms.map((m) => [m.head.contentLength, m.body, m.head.keepAlive]),
      [
        [3, "xxx", true],
        [3, "xxx", true],
      ],
    );
    const chunked = `${lines("POST /u HTTP/1.1", "Host: h", "Transfer-Encoding: chunked")}1\r\nx\r\n0\r\n\r\n`;
    const cs = ok("request", chunked + chunked);
    assert.deepEqual(
      cs.map((m) => [m.head.chunked, m.body]),
      [
        [true, "x"],
        [true, "x"],
      ],
    );
    // The same field position now says close: the connection ends after this request.
    const last = ok(
      "request",
      `${post(3) + lines("POST /u HTTP/1.1", "Host: h", "Content-Length: 3", "Connection: close")}xxx`,
    );
    assert.equal(last[1]!.head.keepAlive, false);
  });
});
