// The request parser, fed whole, a byte at a time and at random split points (see _util.ts):
// request line, fields, body framing (RFC 9112 §6), limits, pipelining and clear errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HttpParser, type MessageHead } from "../../src/http/parser.ts";
import { lines, ok, parse, rejects } from "./_util.ts";

const GET = (target = "/", ...fields: string[]) =>
  lines(`GET ${target} HTTP/1.1`, "Host: example.com", ...fields);

describe("request line", () => {
  test("origin-form with a query", () => {
    const [m] = ok("request", GET("/a/b?x=1&y=%20"));
    assert.equal(m!.head.method, "GET");
    assert.equal(m!.head.target, "/a/b?x=1&y=%20");
    assert.equal(m!.head.versionMinor, 1);
    assert.equal(m!.head.host, "example.com");
    assert.equal(m!.head.keepAlive, true);
    assert.equal(m!.head.contentLength, -1);
    assert.equal(m!.head.chunked, false);
    assert.equal(m!.complete, true);
    assert.equal(m!.body, "");
  });

  test("absolute-form: the target's authority is the host", () => {
    const [m] = ok("request", lines("GET http://api.example.com:8080/x?q HTTP/1.1", "Host: other"));
    assert.equal(m!.head.target, "http://api.example.com:8080/x?q");
    assert.equal(m!.head.host, "api.example.com:8080");
    const [s] = ok("request", lines("GET HTTPS://Example.com HTTP/1.1", "Host: x"));
    assert.equal(s!.head.host, "Example.com");
  });

  test("absolute-form with userinfo, another scheme or no authority is refused", () => {
    for (const t of [
      "http://user:pw@example.com/",
      "ftp://example.com/",
      "http:///x",
      "http:/x",
      "example.com/x",
    ]) {
      rejects("request", lines(`GET ${t} HTTP/1.1`, "Host: x"), 400, "HPE_INVALID_URL");
    }
  });

  test("asterisk-form only for OPTIONS", () => {
    const [m] = ok("request", lines("OPTIONS * HTTP/1.1", "Host: x"));
    assert.equal(m!.head.target, "*");
    const e = rejects("request", lines("GET * HTTP/1.1", "Host: x"), 400, "HPE_INVALID_URL");
    assert.match(e.error.message, /asterisk/);
  });

  test("authority-form for CONNECT", () => {
    const [m] = ok("request", lines("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"));
    assert.equal(m!.head.target, "example.com:443");
    rejects("request", lines("CONNECT /x HTTP/1.1", "Host: x"), 400, "HPE_INVALID_URL");
  });

  test("methods are case-sensitive tokens, passed on as sent", () => {
    for (const method of ["get", "PROPFIND", "M-SEARCH", "X_Y.Z!~"]) {
      const [m] = ok("request", lines(`${method} / HTTP/1.1`, "Host: x"));
      assert.equal(m!.head.method, method);
    }
  });

  test("a bad method, a missing target or extra spaces are refused", () => {
    for (const line of [
      "GE(T / HTTP/1.1",
      " / HTTP/1.1",
      "GET  / HTTP/1.1",
      "GET / HTTP/1.1 ",
      "GET /  HTTP/1.1",
      "GET\t/ HTTP/1.1",
      "GET /\tHTTP/1.1",
      "GET HTTP/1.1",
      "GET",
    ]) {
      const o = parse("request", lines(line, "Host: x"));
      assert.equal(o.error?.status, 400, `${JSON.stringify(line)} gave ${JSON.stringify(o)}`);
      assert.equal(o.messages.length, 0);
    }
  });

  test("targets with controls, DEL or non-ASCII bytes are refused", () => {
    for (const t of ["/a\x00b", "/a\x01", "/\x7f", "/caf\xe9", "/\xff"]) {
      rejects("request", lines(`GET ${t} HTTP/1.1`, "Host: x"), 400, "HPE_INVALID_URL");
    }
  });

  test("HTTP/1.0 needs no Host and closes by default; keep-alive opts in", () => {
    const [a] = ok("request", lines("GET / HTTP/1.0"));
    assert.equal(a!.head.versionMinor, 0);
    assert.equal(a!.head.keepAlive, false);
    const [b] = ok("request", lines("GET / HTTP/1.0", "Connection: Keep-Alive"));
    assert.equal(b!.head.keepAlive, true);
  });

  test("HTTP/1.2 to HTTP/1.9 are read as HTTP/1.1 (RFC 9112 §2.3: a higher minor version of HTTP/1)", () => {
    for (const v of ["HTTP/1.2", "HTTP/1.5", "HTTP/1.9"]) {
      const [m] = ok("request", lines(`GET /x ${v}`, "Host: x"));
      assert.equal(m!.head.versionMinor, 1, v);
      assert.equal(m!.head.target, "/x");
      assert.equal(m!.head.keepAlive, true, `${v} keeps the connection open by default, as 1.1`);
      // HTTP/1.1's rules, all of them: Host is required, Connection: close is honoured, chunked is read.
      rejects("request", lines(`GET / ${v}`), 400, "HPE_MISSING_HOST");
      const [c] = ok("request", lines(`GET / ${v}`, "Host: x", "Connection: close"));
      assert.equal(c!.head.keepAlive, false);
      const [b] = ok(
        "request",
        `POST / ${v}\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
      );
      assert.equal(b!.body, "abc");
      assert.equal(b!.head.expectContinue, true);
    }
  });

  test("other versions: 505 for HTTP/3+, 400 for 0.x, 2.x and non-HTTP protocols", () => {
    for (const v of ["HTTP/3.0", "HTTP/3.1", "HTTP/9.9"]) {
      const e = rejects("request", lines(`GET / ${v}`, "Host: x"), 505, "HPE_VERSION_NOT_SUPPORTED");
      assert.match(e.error.message, /not supported/);
    }
    for (const v of [
      "HTTP/0.9",
      "HTTP/0.1",
      "HTTP/2.0",
      "HTTP/2.1",
      "RTSP/1.0",
      "ICE/1.0",
      "http/1.1",
      "HTTP/1",
      "HTTP/11",
      "HTTP/1.1.1",
      "HTTP/a.b",
      "HTTP 1.1",
    ]) {
      rejects("request", lines(`GET / ${v}`, "Host: x"), 400, "HPE_INVALID_VERSION");
    }
    // The PRI preface of HTTP/2 sent to an HTTP/1 server.
    rejects("request", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "HPE_INVALID_VERSION");
    // HTTP/0.9 simple-request: no version at all.
    rejects("request", "GET /\r\n\r\n", 400);
  });

  test("a few empty lines before the request line are skipped (RFC 9112 §2.2), many are not", () => {
    const [m] = ok("request", `\r\n\r\n${GET("/x")}`);
    assert.equal(m!.head.target, "/x");
    rejects("request", `${"\r\n".repeat(20)}${GET()}`, 400);
    rejects("request", `\n${GET()}`, 400, "HPE_LF_EXPECTED");
  });

  test("the request line must end with CRLF", () => {
    rejects("request", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400);
    rejects("request", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400);
    rejects("request", "GET / HTTP/1.1\r\rHost: x\r\n\r\n", 400);
  });
});

describe("fields", () => {
  test("raw headers keep order, case and repeats; OWS is trimmed, inner spaces kept", () => {
    const [m] = ok(
      "request",
      lines(
        "GET / HTTP/1.1",
        "Host: x",
        "X-A:  one  two \t",
        "x-a:\tthree",
        "Empty:",
        "Spaces:    ",
        "Obs: caf\xe9",
      ),
    );
    assert.deepEqual(m!.head.rawHeaders, [
      "Host",
      "x",
      "X-A",
      "one  two",
      "x-a",
      "three",
      "Empty",
      "",
      "Spaces",
      "",
      "Obs",
      "caf\xe9",
    ]);
    const head = new HttpParser("request", {
      onHead: (h: MessageHead) => {
        assert.equal(h.get("x-A"), "one  two");
        assert.equal(h.get("missing"), undefined);
      },
      onBody: () => {},
      onComplete: () => false,
      onError: (e) => assert.fail(e),
    });
    head.execute(Buffer.from(lines("GET / HTTP/1.1", "Host: x", "X-A: one  two"), "latin1"));
  });

  test("whitespace before the colon is refused", () => {
    const e = rejects("request", GET("/", "Content-Length : 4"), 400, "HPE_INVALID_HEADER_TOKEN");
    assert.match(e.error.message, /[Ww]hitespace between a field name and the colon/);
    rejects("request", GET("/", "Foo\t: 4"), 400, "HPE_INVALID_HEADER_TOKEN");
  });

  test("obs-fold is refused", () => {
    const e = rejects("request", GET("/", "Foo: a", " b"), 400, "HPE_INVALID_HEADER_TOKEN");
    assert.match(e.error.message, /folding/);
    rejects("request", GET("/", "Foo: a", "\tb"), 400);
    // A fold right after the request line.
    rejects("request", lines("GET / HTTP/1.1", " Host: x"), 400);
  });

  test("bare LF and bare CR line ends are refused", () => {
    const e = rejects("request", "GET / HTTP/1.1\r\nHost: x\nFoo: y\r\n\r\n", 400, "HPE_LF_EXPECTED");
    assert.match(e.error.message, /bare LF/);
    rejects("request", "GET / HTTP/1.1\r\nHost: x\r\n\n", 400, "HPE_LF_EXPECTED");
    rejects("request", "GET / HTTP/1.1\r\nHost: x\rFoo: y\r\n\r\n", 400);
    rejects("request", "GET / HTTP/1.1\r\nHost: x\r\n\rZ\r\n\r\n", 400);
    rejects("request", "GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", 400);
  });

  test("NUL, CR, LF, DEL and other controls in values are refused; HTAB is allowed", () => {
    for (const v of ["a\x00b", "a\rb", "\x01", "a\x7f", "a\x1b[31m", "\x0c"]) {
      const e = rejects("request", GET("/", `X-Bad: ${v}`), 400, "HPE_INVALID_HEADER_TOKEN");
      assert.match(e.error.message, /"X-Bad" field/);
    }
    const [m] = ok("request", GET("/", "X-Tab: a\tb"));
    assert.deepEqual(m!.head.rawHeaders.slice(2), ["X-Tab", "a\tb"]);
  });

  test("field names must be tokens", () => {
    for (const line of [": x", "Fo@o: x", 'Fo"o: x', "Fo\x00o: x", "F\xe9: x", "NoColon", "(x): y"]) {
      rejects("request", GET("/", line), 400, "HPE_INVALID_HEADER_TOKEN");
    }
  });

  test("Host: missing, repeated or malformed on HTTP/1.1 is 400", () => {
    const missing = rejects("request", lines("GET / HTTP/1.1"), 400, "HPE_MISSING_HOST");
    assert.match(missing.error.message, /Host/);
    rejects("request", lines("GET / HTTP/1.1", "Host: a", "Host: a"), 400, "HPE_DUPLICATE_HOST");
    rejects("request", lines("GET / HTTP/1.1", "Host: a", "host: b"), 400, "HPE_DUPLICATE_HOST");
    for (const h of ["a b", "a/b", "user@a", "a:b", "a:123456", "[::1", "[zz]", "a]", "a:80:80", "caf\xe9"]) {
      rejects("request", lines("GET / HTTP/1.1", `Host: ${h}`), 400, "HPE_INVALID_HOST");
    }
    for (const h of ["a", "a.example:8080", "127.0.0.1", "[::1]", "[::1]:443", "xn--bcher-kva.example", ""]) {
      const [m] = ok("request", lines("GET / HTTP/1.1", `Host: ${h}`));
      assert.equal(m!.head.host, h);
    }
    // On HTTP/1.0 a Host is optional but still checked.
    rejects("request", lines("GET / HTTP/1.0", "Host: a b"), 400, "HPE_INVALID_HOST");
  });

  test("Connection tokens: close, keep-alive, upgrade, in lists and any case", () => {
    const keep = (...f: string[]) => ok("request", GET("/", ...f))[0]!.head.keepAlive;
    assert.equal(keep("Connection: close"), false);
    assert.equal(keep("Connection: Keep-Alive, CLOSE"), false);
    assert.equal(keep("Connection: foo,  close "), false);
    assert.equal(keep("Connection: closed"), true);
    const [u] = ok("request", GET("/", "Connection: keep-alive, Upgrade", "Upgrade: websocket"));
    assert.equal(u!.head.upgrade, true);
    const [n] = ok("request", GET("/", "Upgrade: websocket"));
    assert.equal(n!.head.upgrade, false);
  });

  test("Expect: 100-continue, and other expectations flagged for 417", () => {
    const [a] = ok("request", GET("/", "Expect: 100-Continue", "Content-Length: 0"));
    assert.equal(a!.head.expectContinue, true);
    assert.equal(a!.head.unsupportedExpectation, false);
    const [b] = ok("request", GET("/", "Expect: teapot"));
    assert.equal(b!.head.unsupportedExpectation, true);
    // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
    const [c] = ok("request", `${lines("POST / HTTP/1.0", "Expect: 100-continue", "Content-Length: 1")}x`);
    assert.equal(c!.head.expectContinue, false);
  });
});

describe("body framing", () => {
  test("Content-Length body, then the next request", () => {
    const ms = ok("request", `${GET("/a", "Content-Length: 5")}hello${GET("/b")}`);
    assert.equal(ms.length, 2);
    assert.equal(ms[0]!.head.contentLength, 5);
    assert.equal(ms[0]!.body, "hello");
    assert.equal(ms[1]!.head.target, "/b");
    assert.equal(ms[1]!.complete, true);
  });

  test("Content-Length: 0, leading zeros, and OWS around the value", () => {
    assert.equal(ok("request", GET("/", "Content-Length: 0"))[0]!.complete, true);
    const [m] = ok("request", `${GET("/", "Content-Length:\t003 ")}abc`);
    assert.equal(m!.body, "abc");
  });

  test("no Content-Length and no Transfer-Encoding: no body, even for POST", () => {
    const ms = ok("request", `${lines("POST / HTTP/1.1", "Host: x")}${GET("/next")}`);
    assert.equal(ms.length, 2);
    assert.equal(ms[0]!.body, "");
    assert.equal(ms[0]!.complete, true);
  });

  test("a body that has not all arrived leaves the message open; finish() is then an error", () => {
    const o = parse("request", `${GET("/", "Content-Length: 10")}12345`);
    assert.equal(o.messages[0]!.body, "12345");
    assert.equal(o.messages[0]!.complete, false);
    assert.equal(o.idle, false);
    const f = parse("request", `${GET("/", "Content-Length: 10")}12345`, { finish: true });
    assert.equal(f.error?.code, "HPE_INCOMPLETE");
    // Closing between messages is fine.
    assert.equal(parse("request", GET("/"), { finish: true }).error, undefined);
    // Closing inside a head is not.
    assert.equal(parse("request", "GET / HT", { finish: true }).error?.code, "HPE_INCOMPLETE");
  });

  test("malformed Content-Length is 400", () => {
    for (const v of [
      "",
      "abc",
      "-1",
      "+5",
      "1 2",
      "13 37",
      "0x10",
      "1e3",
      "5,",
      ",5",
      "5,,5",
      "1.0",
      "١",
      "1000000000000000000000",
    ]) {
      const e = rejects("request", GET("/", `Content-Length: ${v}`), 400, "HPE_INVALID_CONTENT_LENGTH");
      assert.match(e.error.message, /Content-Length/);
    }
  });

  test("differing or repeated Content-Length is 400", () => {
    rejects("request", GET("/", "Content-Length: 5", "Content-Length: 6"), 400, "HPE_INVALID_CONTENT_LENGTH");
    rejects("request", GET("/", "Content-Length: 5, 6"), 400, "HPE_INVALID_CONTENT_LENGTH");
    // Even identical repeats: RFC 9110 §8.6 lets a recipient reject them, and a request has no excuse.
    rejects("request", GET("/", "Content-Length: 5", "Content-Length: 5"), 400, "HPE_INVALID_CONTENT_LENGTH");
    rejects("request", GET("/", "Content-Length: 5, 5"), 400, "HPE_INVALID_CONTENT_LENGTH");
  });

  test("Content-Length with Transfer-Encoding is 400, in either order", () => {
    const e = rejects(
      "request",
      GET("/", "Content-Length: 5", "Transfer-Encoding: chunked"),
      400,
      "HPE_UNEXPECTED_CONTENT_LENGTH",
    );
    assert.match(e.error.message, /Content-Length and Transfer-Encoding/);
    rejects(
      "request",
      GET("/", "Transfer-Encoding: chunked", "Content-Length: 0"),
      400,
      "HPE_UNEXPECTED_CONTENT_LENGTH",
    );
    rejects("request", GET("/", "Content-Length: 10", "Transfer-Encoding:"), 400);
    rejects("request", GET("/", "Transfer-Encoding: identity", "Content-Length: 1"), 400);
  });

  test("chunked body: sizes in either case, extensions ignored, trailers parsed", () => {
    const body =
      '5;name=value\r\nhello\r\nA ; x = "q;\\"u" ;y\r\n 012345678\r\n0000\r\nX-Sum: 42 \r\nx-more:\tyes\r\n\r\n';
    const ms = ok("request", `${GET("/up", "Transfer-Encoding: chunked")}${body}${GET("/next")}`);
    assert.equal(ms.length, 2);
    assert.equal(ms[0]!.head.chunked, true);
    assert.equal(ms[0]!.head.contentLength, -1);
    assert.equal(ms[0]!.body, "hello 012345678");
    assert.deepEqual(ms[0]!.trailers, ["X-Sum", "42", "x-more", "yes"]);
    assert.equal(ms[1]!.head.target, "/next");
  });

  test("chunked without trailers reports none; the coding name is case-insensitive", () => {
    const [m] = ok("request", `${GET("/", "Transfer-Encoding: Chunked")}3\r\nabc\r\n0\r\n\r\n`);
    assert.equal(m!.body, "abc");
    assert.equal(m!.trailers, undefined);
  });

  test("transfer codings without a final chunked, repeated or malformed are 400", () => {
    for (const te of [
      ["gzip"],
      ["identity"],
      ["pigeons"],
      ["chunked, gzip"],
      ["chunked", "chunked"],
      ["chunked, chunked"],
      ["chunkedchunked"],
      [""],
      ["chunked,"],
      [", chunked"],
      ["chunked;q=1"],
      ["chunked\xa0"],
      ["\xa0chunked"],
      ["chunked\x0b"],
    ]) {
      const o = parse("request", `${GET("/", ...te.map((v) => `Transfer-Encoding: ${v}`))}0\r\n\r\n`);
      assert.equal(o.error?.status, 400, `${JSON.stringify(te)} gave ${JSON.stringify(o)}`);
      assert.equal(o.messages.length, 0);
    }
    const e = rejects("request", GET("/", "Transfer-Encoding: gzip"), 400);
    assert.match(e.error.message, /Transfer-Encoding "gzip" doesn't end with "chunked"/);
  });

  test("a well-formed but unsupported coding before chunked is 501 (RFC 9112 §6.1)", () => {
    for (const te of [
      ["gzip, chunked"],
      ["deflate", "chunked"],
      ["GZIP , Chunked"],
      ["x-custom;a=1, chunked"],
    ]) {
      const o = parse("request", `${GET("/", ...te.map((v) => `Transfer-Encoding: ${v}`))}0\r\n\r\n`);
      assert.equal(o.error?.status, 501, `${JSON.stringify(te)} gave ${JSON.stringify(o)}`);
      assert.equal(o.error?.code, "HPE_INVALID_TRANSFER_ENCODING");
      assert.match(o.error?.message ?? "", /is not supported; only "chunked" alone is/);
      assert.equal(o.messages.length, 0);
    }
    // Framing faults are checked first: still 400.
    rejects("request", GET("/", "Transfer-Encoding: gzip, chunked", "Content-Length: 1"), 400);
    rejects("request", `${lines("POST / HTTP/1.0", "Transfer-Encoding: gzip, chunked")}0\r\n\r\n`, 400);
    rejects("request", GET("/", "Transfer-Encoding: gzip, chunked, chunked"), 400);
  });

  test("Transfer-Encoding in an HTTP/1.0 request is 400", () => {
    rejects(
      "request",
      `${lines("POST / HTTP/1.0", "Transfer-Encoding: chunked")}0\r\n\r\n`,
      400,
      "HPE_INVALID_TRANSFER_ENCODING",
    );
  });

  test("bad chunk sizes are 400", () => {
    for (const size of [
      "",
      "g",
      "-1",
      "0x5",
      "+5",
      " 5",
      "5 ",
      "5\t",
      "5 x",
      "fffffffffffffffff",
      "1000000000000000",
    ]) {
      const o = parse("request", `${GET("/", "Transfer-Encoding: chunked")}${size}\r\nhello\r\n0\r\n\r\n`);
      assert.equal(o.error?.status, 400, `size ${JSON.stringify(size)} gave ${JSON.stringify(o.error)}`);
      assert.equal(o.error?.code.startsWith("HPE_"), true);
      assert.equal(o.messages[0]!.body, "");
    }
    const e = rejects("request", `${GET("/", "Transfer-Encoding: chunked")}ffffffffffffffffffff\r\n`, 400);
    assert.match(e.error.message, /chunk size/);
  });

  test("leading zeros in a chunk size do not count towards overflow", () => {
    const [m] = ok(
      "request",
      `${GET("/", "Transfer-Encoding: chunked")}000000000000000000003\r\nabc\r\n0\r\n\r\n`,
    );
    assert.equal(m!.body, "abc");
  });

  test("chunk framing errors: bare LF, missing CRLF after data, missing last chunk", () => {
    const c = (s: string) => `${GET("/", "Transfer-Encoding: chunked")}${s}`;
    rejects("request", c("3\nabc\r\n0\r\n\r\n"), 400);
    rejects("request", c("3\r\nabcX\r\n0\r\n\r\n"), 400);
    rejects("request", c("3\r\nabc\n0\r\n\r\n"), 400);
    rejects("request", c("3\r\nabc\r\r\n0\r\n\r\n"), 400);
    rejects("request", c("5\r\nABCDE0\r\n"), 400);
    rejects("request", c("5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n"), 400);
    rejects("request", c("3 \n  \r\nfoo\r\n\r\n"), 400);
    rejects("request", c("3\r\nfoo\r\n\r\n"), 400);
    rejects("request", c("0\r\nTrailer: x\n\r\n"), 400);
  });

  test("malformed chunk extensions are 400", () => {
    for (const ext of [
      ";",
      "; ",
      ";=v",
      ";a=",
      ';a="unterminated',
      ";a=b c",
      ";a\x00",
      ";a=\x7f",
      ";a;",
      ";@",
    ]) {
      const o = parse("request", `${GET("/", "Transfer-Encoding: chunked")}2${ext}\r\naa\r\n0\r\n\r\n`);
      assert.equal(o.error?.status, 400, `extension ${JSON.stringify(ext)} gave ${JSON.stringify(o)}`);
    }
    for (const ext of [";a", ";a=b", " ; a = b", ';a="b c;d\\"e"', ";a;b=c;d", ';a=""']) {
      const [m] = ok("request", `${GET("/", "Transfer-Encoding: chunked")}2${ext}\r\naa\r\n0${ext}\r\n\r\n`);
      assert.equal(m!.body, "aa", `extension ${JSON.stringify(ext)}`);
    }
  });

  test("malformed trailers are 400", () => {
    const c = (s: string) => `${GET("/", "Transfer-Encoding: chunked")}0\r\n${s}\r\n`;
    rejects("request", c("Bad Name: x\r\n"), 400);
    rejects("request", c("X: a\x00b\r\n"), 400);
    rejects("request", c("X: a\r\n folded\r\n"), 400);
    rejects("request", c("X : a\r\n"), 400);
  });
});

describe("limits", () => {
  test("request line: at the limit is fine, one byte over is 414 (even before the line ends)", () => {
    const limits = { maxRequestLineBytes: 30 };
    const at = `GET /${"a".repeat(30 - 14)} HTTP/1.1`;
    assert.equal(at.length, 30);
    ok("request", lines(at, "Host: x"), { limits });
    const over = `GET /${"a".repeat(30 - 13)} HTTP/1.1`;
    const e = rejects("request", lines(over, "Host: x"), 414, "HPE_URI_TOO_LONG", { limits });
    assert.match(e.error.message, /request line/);
    rejects("request", `GET /${"a".repeat(40)}`, 414, "HPE_URI_TOO_LONG", { limits });
  });

  test("a request line longer than the whole header limit is still 414, not 431", () => {
    // The default request-line limit is 8 KiB, the header limit 16 KiB.
    rejects("request", lines(`GET /${"a".repeat(9000)} HTTP/1.1`, "Host: x"), 414, "HPE_URI_TOO_LONG");
    rejects("request", lines(`GET /${"a".repeat(20000)} HTTP/1.1`, "Host: x"), 414, "HPE_URI_TOO_LONG");
    // The request line may never take more than the whole head may: 414 too.
    const limits = { maxRequestLineBytes: 8192, maxHeaderBytes: 1024 };
    rejects("request", lines(`GET /${"a".repeat(4000)} HTTP/1.1`, "Host: x"), 414, "HPE_URI_TOO_LONG", {
      limits,
    });
    // A short request line and big fields: 431.
    rejects(
      "request",
      lines("GET / HTTP/1.1", "Host: x", `X: ${"a".repeat(2000)}`),
      431,
      "HPE_HEADER_OVERFLOW",
      {
        limits,
      },
    );
  });

  test("header section: at the limit is fine, one byte over is 431 (counted as the bytes come)", () => {
    const base = lines("GET / HTTP/1.1", "Host: x", "X: ");
    const limits = { maxHeaderBytes: 100 };
    const fill = "a".repeat(100 - base.length);
    ok("request", lines("GET / HTTP/1.1", "Host: x", `X: ${fill}`), { limits });
    const e = rejects(
      "request",
      lines("GET / HTTP/1.1", "Host: x", `X: ${fill}a`),
      431,
      "HPE_HEADER_OVERFLOW",
      {
        limits,
      },
    );
    assert.match(e.error.message, /header section/);
    // Unterminated: refused once past the limit, without waiting for the end of the head.
    rejects("request", `GET / HTTP/1.1\r\nHost: x\r\nX: ${"a".repeat(200)}`, 431, "HPE_HEADER_OVERFLOW", {
      limits,
    });
  });

  test("the default header limit is 16 KiB", () => {
    const big = "a".repeat(16 * 1024);
    rejects("request", GET("/", `X: ${big}`), 431, "HPE_HEADER_OVERFLOW");
    ok("request", GET("/", `X: ${"a".repeat(15 * 1024)}`));
  });

  test("header count: 100 fields are fine, 101 are 431; the limit is an option", () => {
    const fields = (n: number) => Array.from({ length: n - 1 }, (_, i) => `X-${i}: ${i}`);
    ok("request", GET("/", ...fields(100)));
    const e = rejects("request", GET("/", ...fields(101)), 431, "HPE_HEADER_OVERFLOW");
    assert.match(e.error.message, /more header fields/);
    rejects("request", GET("/", ...fields(4)), 431, "HPE_HEADER_OVERFLOW", { limits: { maxHeaderCount: 3 } });
    ok("request", GET("/", ...fields(3)), { limits: { maxHeaderCount: 3 } });
  });

  test("Content-Length over maxBodyBytes is 413 before any body byte is read", () => {
    const limits = { maxBodyBytes: 10 };
    ok("request", `${GET("/", "Content-Length: 10")}0123456789`, { limits });
    const o = rejects("request", `${GET("/", "Content-Length: 11")}0123456789x`, 413, "HPE_BODY_TOO_LARGE", {
      limits,
    });
    assert.equal(o.messages.length, 0);
    rejects("request", GET("/", "Content-Length: 10000000000"), 413, "HPE_BODY_TOO_LARGE", { limits });
  });

  test("chunked bodies count against maxBodyBytes, refused at the chunk size that overflows", () => {
    const limits = { maxBodyBytes: 10 };
    const c = (s: string) => `${GET("/", "Transfer-Encoding: chunked")}${s}`;
    ok("request", c("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), { limits });
    const o = rejects("request", c("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n"), 413, "HPE_BODY_TOO_LARGE", {
      limits,
    });
    assert.equal(o.messages[0]!.body, "hello");
    rejects("request", c("ffffffffff\r\n"), 413, "HPE_BODY_TOO_LARGE", { limits });
  });

  test("chunk-size lines (extensions included) are bounded", () => {
    const limits = { maxChunkLineBytes: 20 };
    const c = (s: string) => `${GET("/", "Transfer-Encoding: chunked")}${s}`;
    ok("request", c(`1;${"e".repeat(15)}\r\na\r\n0\r\n\r\n`), { limits });
    const e = rejects(
      "request",
      c(`1;${"e".repeat(40)}\r\na\r\n0\r\n\r\n`),
      400,
      "HPE_CHUNK_EXTENSIONS_OVERFLOW",
      {
        limits,
      },
    );
    assert.match(e.error.message, /chunk-size line/);
    // Never terminated: still refused.
    rejects("request", c(`1;${"e".repeat(100)}`), 400, "HPE_CHUNK_EXTENSIONS_OVERFLOW", { limits });
  });

  test("trailers are bounded in bytes and count", () => {
    const c = (s: string) => `${GET("/", "Transfer-Encoding: chunked")}0\r\n${s}\r\n`;
    const e = rejects("request", c(`X: ${"a".repeat(100)}\r\n`), 431, "HPE_HEADER_OVERFLOW", {
      limits: { maxTrailerBytes: 50 },
    });
    assert.match(e.error.message, /trailer/);
    rejects(
      "request",
      `${GET("/", "Transfer-Encoding: chunked")}0\r\nX: ${"a".repeat(100)}`,
      431,
      undefined,
      {
        limits: { maxTrailerBytes: 50 },
      },
    );
    const many = Array.from({ length: 5 }, (_, i) => `T${i}: v\r\n`).join("");
    rejects("request", c(many), 431, "HPE_HEADER_OVERFLOW", { limits: { maxHeaderCount: 3 } });
  });
});

describe("message sequences", () => {
  test("pipelined requests in one buffer, mixed framing", () => {
    const input =
      GET("/1") +
      `${GET("/2", "Content-Length: 3")}abc` +
      `${GET("/3", "Transfer-Encoding: chunked")}1\r\nz\r\n0\r\n\r\n` +
      GET("/4", "Connection: close");
    const ms = ok("request", input);
    assert.deepEqual(
      ms.map((m) => [m.head.target, m.body, m.complete]),
      [
        ["/1", "", true],
        ["/2", "abc", true],
        ["/3", "z", true],
        ["/4", "", true],
      ],
    );
  });

  test("a valid request followed by garbage: the request is read, then one error", () => {
    const o = parse("request", `${GET("/ok")}\x00\x01garbage\r\n\r\n`);
    assert.equal(o.messages.length, 1);
    assert.equal(o.messages[0]!.complete, true);
    assert.equal(o.error?.status, 400);
    const o2 = parse(
      "request",
      `${GET("/ok", "Content-Length: 2")}hiGET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    assert.equal(o2.messages.length, 1);
    assert.equal(o2.messages[0]!.body, "hi");
    assert.equal(o2.error?.code, "HPE_UNEXPECTED_CONTENT_LENGTH");
  });

  test("nothing after a request that closes the connection is read", () => {
    for (const first of [GET("/a", "Connection: close"), lines("GET /a HTTP/1.0")]) {
      const o = parse("request", `${first}${GET("/b")}\x00garbage`);
      assert.equal(o.messages.length, 1);
      assert.equal(o.messages[0]!.head.keepAlive, false);
      assert.equal(o.error, undefined);
    }
  });

  test("onComplete returning true pauses; resume() continues with the kept bytes", () => {
    const seen: string[] = [];
    let pause = true;
    const p = new HttpParser("request", {
      onHead: (h) => seen.push(h.target),
      onBody: () => {},
      onComplete: () => pause,
      onError: (e) => assert.fail(e),
    });
    p.execute(Buffer.from(GET("/1") + GET("/2") + GET("/3").slice(0, 10), "latin1"));
    assert.deepEqual(seen, ["/1"]);
    assert.equal(p.isPaused, true);
    p.execute(Buffer.from(GET("/3").slice(10), "latin1"));
    assert.deepEqual(seen, ["/1"]);
    pause = false;
    p.resume();
    assert.deepEqual(seen, ["/1", "/2", "/3"]);
    assert.equal(p.isPaused, false);
    assert.equal(p.inMessage, false);
  });

  test("after an Upgrade or CONNECT request the parser pauses: what follows may not be HTTP", () => {
    const frames = "\x81\x85garbage that is not HTTP";
    const up = parse("request", `${GET("/chat", "Connection: Upgrade", "Upgrade: websocket")}${frames}`);
    assert.equal(up.error, undefined);
    assert.equal(up.messages.length, 1);
    assert.equal(up.messages[0]!.head.upgrade, true);
    assert.equal(up.pending, frames);
    const tunnel = "\x16\x03\x01 TLS hello";
    const co = parse("request", `${lines("CONNECT a.example:443 HTTP/1.1", "Host: a.example:443")}${tunnel}`);
    assert.equal(co.error, undefined);
    assert.equal(co.pending, tunnel);
    // Without a switch the server resumes, and the next request is read as HTTP.
    const seen: string[] = [];
    const p = new HttpParser("request", {
      onHead: (h) => seen.push(h.target),
      onBody: () => {},
      onComplete: () => false,
      onError: (e) => assert.fail(e),
    });
    p.execute(Buffer.from(GET("/a", "Connection: upgrade", "Upgrade: h2c") + GET("/b"), "latin1"));
    assert.deepEqual(seen, ["/a"]);
    assert.equal(p.isPaused, true);
    p.resume();
    assert.deepEqual(seen, ["/a", "/b"]);
    // Upgrade without the Connection option is no upgrade: no pause.
    const plain = parse("request", GET("/x", "Upgrade: websocket") + GET("/y"));
    assert.equal(plain.messages.length, 2);
  });

  test("after an error the parser is dead and reports nothing more", () => {
    let errors = 0;
    let heads = 0;
    const p = new HttpParser("request", {
      onHead: () => heads++,
      onBody: () => {},
      onComplete: () => false,
      onError: () => errors++,
    });
    p.execute(Buffer.from("BAD REQUEST\r\n\r\n"));
    p.execute(Buffer.from(GET("/")));
    p.finish();
    assert.equal(errors, 1);
    assert.equal(heads, 0);
    assert.equal(p.dead, true);
  });

  test("body views passed to onBody are zero-copy slices of the input", () => {
    const input = Buffer.from(`${GET("/", "Content-Length: 4")}abcd`, "latin1");
    let view: Buffer | undefined;
    const p = new HttpParser("request", {
      onHead: () => {},
      onBody: (b) => {
        view = b;
      },
      onComplete: () => false,
      onError: (e) => assert.fail(e),
    });
    p.execute(input);
    assert.equal(view?.buffer, input.buffer);
    assert.equal(view?.toString(), "abcd");
  });
});
