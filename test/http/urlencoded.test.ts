// Query strings and urlencoded forms: flat pairs, tolerant decoding, a cap on fields.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeQuery, parseQuery, percentDecode, TooManyFieldsError } from "../../src/http/urlencoded.ts";

describe("parseQuery", () => {
  test("pairs in order with repeats; + is a space; empty pieces skipped", () => {
    assert.deepEqual(parseQuery("a=1&b=x+y&a=2&&c&d=&=e"), [
      ["a", "1"],
      ["b", "x y"],
      ["a", "2"],
      ["c", ""],
      ["d", ""],
      ["", "e"],
    ]);
  });

  test("no nesting: brackets and dots are part of the key", () => {
    assert.deepEqual(parseQuery("a[b][c]=1&x.y=2&__proto__[p]=3"), [
      ["a[b][c]", "1"],
      ["x.y", "2"],
      ["__proto__[p]", "3"],
    ]);
  });

  test("percent-decoding as UTF-8; malformed escapes stay; bad UTF-8 becomes U+FFFD", () => {
    assert.deepEqual(parseQuery("k=%E6%B7%B1%E5%9C%B3&m=%zz%&n=100%&o=%FF&p=%2B"), [
      ["k", "深圳"],
      ["m", "%zz%"],
      ["n", "100%"],
      ["o", "\uFFFD"],
      ["p", "+"],
    ]);
  });

  test("raw UTF-8 bytes (a body read as Latin-1) decode too", () => {
    const raw = Buffer.from("city=深圳", "utf8").toString("latin1");
    assert.deepEqual(parseQuery(raw), [["city", "深圳"]]);
  });

  test("maxFields caps the number of pairs", () => {
    assert.equal(parseQuery("a&b&c", { maxFields: 3 }).length, 3);
    assert.throws(() => parseQuery("a&b&c&d", { maxFields: 3 }), TooManyFieldsError);
  });

  test("a huge input is linear and bounded by maxFields", () => {
    const s = "a=1&".repeat(100_000);
    assert.throws(() => parseQuery(s, { maxFields: 1000 }), TooManyFieldsError);
    assert.equal(parseQuery(s, { maxFields: 200_000 }).length, 100_000);
  });

  test("percentDecode without plus keeps +", () => {
    assert.equal(percentDecode("/a+b%20c"), "/a+b c");
  });
});

describe("encodeQuery", () => {
  test("pairs or records; arrays repeat; null/undefined dropped; UTF-8 and + for space", () => {
    assert.equal(
      encodeQuery([
        ["a", "1"],
        ["a", 2],
      ]),
      "a=1&a=2",
    );
    assert.equal(
      encodeQuery({ q: "a b&c=d", t: ["x", "y"], n: null, u: undefined, b: true }),
      "q=a+b%26c%3Dd&t=x&t=y&b=true",
    );
    assert.equal(encodeQuery({ city: "深圳" }), "city=%E6%B7%B1%E5%9C%B3");
  });

  test("round-trips through parseQuery", () => {
    const pairs: [string, string][] = [
      ["k y", "v+w"],
      ["ü", "%25"],
      ["a&b", "c=d"],
      ["", "😀"],
    ];
    assert.deepEqual(parseQuery(encodeQuery(pairs)), pairs);
  });
});
