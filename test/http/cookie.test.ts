// RFC 6265 cookies: the Cookie field parser and the strict Set-Cookie serializer.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  decodeCookieValue,
  encodeCookieValue,
  parseCookieHeader,
  serializeSetCookie,
} from "../../src/http/cookie.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("parseCookieHeader", () => {
  test("pairs in order, repeats kept, SP/HTAB trimmed", () => {
    assert.deepEqual(parseCookieHeader("a=1; b=2;c=3 ;\ta=4"), [
      ["a", "1"],
      ["b", "2"],
      ["c", "3"],
      ["a", "4"],
    ]);
  });

  test("nameless and malformed pairs are ignored (CVE-2023-23934)", () => {
    assert.deepEqual(parseCookieHeader("=__Host-x=evil; ok=1; noeq; ;; =; a b=2"), [["ok", "1"]]);
  });

  test("Unicode whitespace is never trimmed from names", () => {
    // U+00A0 as the wire gives it (Latin-1): part of the name, so it can't fake a __Host- prefix.
    const pairs = parseCookieHeader("\u00a0__Host-id=1");
    assert.equal(pairs.length, 1);
    assert.equal(pairs[0]![0], "\u00a0__Host-id");
  });

  test("quoted values lose their quotes and backslash escapes; raw UTF-8 bytes are decoded; %XX is not", () => {
    const rawUtf8 = Buffer.from("深", "utf8").toString("latin1");
    // what Werkzeug 3.1's parse_cookie gives for the same field
    assert.deepEqual(
      parseCookieHeader(
        `q="hello"; e=%E6%B7%B1; r=${rawUtf8}; bad=%zz%4; x="q\\"q"; o="\\346\\267\\261"; s="a\\073b"`,
      ),
      [
        ["q", "hello"],
        ["e", "%E6%B7%B1"],
        ["r", "深"],
        ["bad", "%zz%4"],
        ["x", 'q"q'],
        ["o", "深"],
        ["s", "a;b"],
      ],
    );
  });

  test("empty values are kept", () => {
    assert.deepEqual(parseCookieHeader("a=; b="), [
      ["a", ""],
      ["b", ""],
    ]);
  });
});

describe("serializeSetCookie", () => {
  test("attributes in a fixed order; maxAge in seconds", () => {
    assert.equal(
      serializeSetCookie("id", "v", {
        maxAge: 90.9,
        expires: new Date(Date.UTC(2030, 5, 1, 12)),
        domain: "example.com",
        path: "/",
        secure: true,
        httpOnly: true,
        partitioned: true,
        sameSite: "none",
        priority: "High",
      }),
      // Werkzeug 3.1's dump_cookie gives the same (less Priority, which it doesn't know)
      "id=v; Domain=example.com; Expires=Sat, 01 Jun 2030 12:00:00 GMT; Max-Age=90; Secure; HttpOnly; Path=/; " +
        "SameSite=None; Partitioned; Priority=High",
    );
    assert.equal(
      serializeSetCookie("a", "b", { maxAge: -5 }),
      "a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0",
    );
    assert.equal(
      serializeSetCookie("a", "b", { expires: 1_900_000_000 }),
      "a=b; Expires=Sun, 17 Mar 2030 17:46:40 GMT",
      "expires in seconds since the epoch",
    );
  });

  test("maxAge also writes Expires (Werkzeug's sync_expires)", () => {
    const before = Math.floor(Date.now() / 1000);
    const v = serializeSetCookie("a", "b", { maxAge: 3600 });
    const m = /^a=b; Expires=([^;]+); Max-Age=3600$/.exec(v);
    assert.ok(m, v);
    const t = Date.parse(m[1]!) / 1000;
    assert.ok(t >= before + 3599 && t <= Math.floor(Date.now() / 1000) + 3600, v);
  });

  test("names must be tokens", () => {
    for (const bad of ["", "a b", "a;b", "a=b", "a\r\n", "é", "a,b", 'a"b']) {
      assert.throws(() => serializeSetCookie(bad, "v"), /name/, JSON.stringify(bad));
    }
  });

  test("any value is quoted and escaped as Werkzeug does: ; CR LF and controls can't break the field", () => {
    // each expected string is what Werkzeug 3.1's dump_cookie writes
    assert.equal(serializeSetCookie("n", 'a b,"c"\\%é'), 'n="a b\\054\\"c\\"\\\\%\\303\\251"');
    assert.equal(serializeSetCookie("n", "a;b"), 'n="a\\073b"');
    assert.equal(serializeSetCookie("n", "深"), 'n="\\346\\267\\261"');
    assert.equal(serializeSetCookie("n", "a\r\nSet-Cookie: x=1"), 'n="a\\015\\012Set-Cookie: x=1"');
    assert.equal(
      serializeSetCookie("n", "a\x1bb\x7f"),
      'n="a\\033b\\177"',
      "Werkzeug leaves 0x1b raw; not here",
    );
    assert.equal(serializeSetCookie("n", "%41-[x]"), "n=%41-[x]", "plain characters as they are");
  });

  test("path and domain can't inject attributes", () => {
    assert.throws(() => serializeSetCookie("n", "v", { path: "/; Domain=evil.com" }), /path/);
    assert.throws(() => serializeSetCookie("n", "v", { path: "/\r\nX: y" }), /path/);
    assert.throws(() => serializeSetCookie("n", "v", { domain: "evil.com; Secure" }), /domain/);
    assert.throws(() => serializeSetCookie("n", "v", { domain: "a b.com" }), /domain/);
    assert.throws(() => serializeSetCookie("n", "v", { sameSite: "sometimes" as never }), /sameSite/);
    assert.throws(() => serializeSetCookie("n", "v", { expires: new Date(Number.NaN) }), /expires/);
  });

  test("__Secure- and __Host- prefixes are enforced", () => {
    assert.throws(() => serializeSetCookie("__Secure-a", "v"), /secure/);
    assert.ok(serializeSetCookie("__Secure-a", "v", { secure: true }));
    assert.throws(() => serializeSetCookie("__Host-a", "v", { secure: true }), /path "\/"/);
    assert.throws(
      () => serializeSetCookie("__Host-a", "v", { secure: true, path: "/", domain: "x.com" }),
      /no domain/,
    );
    assert.equal(
      serializeSetCookie("__Host-a", "v", { secure: true, path: "/" }),
      "__Host-a=v; Secure; Path=/",
    );
  });

  test("any string round-trips through the parser (seeded)", () => {
    const rand = rng(42);
    const alphabet = " !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~éü深圳😀\r\n\t\x00\x1b";
    const chars = [...alphabet];
    for (let i = 0; i < 500; i++) {
      let v = "";
      const len = Math.floor(rand() * 12);
      for (let j = 0; j < len; j++) v += chars[Math.floor(rand() * chars.length)];
      const header = serializeSetCookie("k", v).split(";")[0]!;
      // what a browser sends back is `k=<value as set>`; the wire hands it over as Latin-1
      assert.deepEqual(parseCookieHeader(header), [["k", v]], JSON.stringify(v));
      assert.equal(decodeCookieValue(encodeCookieValue(v)), v);
    }
  });
});
