// One RFC 9110 media-type parser, strict; Accept lists.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isJsonMediaType, mediaTypeEssence, parseAccept, parseMediaType } from "../../src/http/media-type.ts";

describe("parseMediaType", () => {
  test("type, subtype and parameters, lowercased where case-insensitive", () => {
    const m = parseMediaType('Text/HTML; Charset="UTF-8" ;q=1;\tboundary=abc');
    assert.ok(m);
    assert.equal(m.essence, "text/html");
    assert.equal(m.type, "text");
    assert.equal(m.subtype, "html");
    assert.deepEqual({ ...m.params }, { charset: "UTF-8", q: "1", boundary: "abc" });
    assert.equal(Object.getPrototypeOf(m.params), null);
  });

  test("quoted-strings with escapes", () => {
    assert.equal(parseMediaType('multipart/form-data; boundary="a\\"b;c"')?.params.boundary, 'a"b;c');
  });

  test("anything not exactly a media type is refused", () => {
    for (const bad of [
      "",
      "json",
      "application/",
      "/json",
      "application /json",
      "application/ json",
      "application/json x",
      "application/json;charset",
      "application/json; charset=",
      'application/json; charset="utf-8',
      "application/json; a=1; a=2",
      "application/json, text/html",
      "applic@tion/json",
      "application/json;\u00a0x=1",
      "text/plain; x=a b",
    ]) {
      assert.equal(parseMediaType(bad), undefined, JSON.stringify(bad));
    }
  });

  test("empty parameters and OWS around them are allowed", () => {
    assert.equal(parseMediaType("text/plain;")?.essence, "text/plain");
    assert.equal(parseMediaType("  text/plain ; ; a=b  ")?.params.a, "b");
  });

  test("mediaTypeEssence: type/subtype lowercased, or empty when absent or malformed", () => {
    assert.equal(mediaTypeEssence("Application/JSON; charset=utf-8"), "application/json");
    assert.equal(mediaTypeEssence("text/plain"), "text/plain");
    assert.equal(mediaTypeEssence(undefined), "");
    assert.equal(mediaTypeEssence("application/json, text/html"), "", "a list is not a media type");
    assert.equal(mediaTypeEssence("application /json"), "");
    assert.equal(mediaTypeEssence('text/plain; a="unclosed'), "");
  });

  test("isJsonMediaType", () => {
    assert.ok(isJsonMediaType("application/json"));
    assert.ok(isJsonMediaType("application/problem+json"));
    assert.ok(!isJsonMediaType("text/json"));
    assert.ok(!isJsonMediaType("application/jsonx"));
  });
});

describe("parseAccept", () => {
  test("best first, stable among equals, q=0 kept with quality 0", () => {
    const items = parseAccept(
      "text/html;level=1, application/json;q=0.9, */*;q=0.1, image/png;q=0, text/plain",
    );
    assert.deepEqual(
      items.map((i) => [i.value, i.quality]),
      [
        ["text/html", 1],
        ["text/plain", 1],
        ["application/json", 0.9],
        ["*/*", 0.1],
        ["image/png", 0],
      ],
    );
    assert.equal(items[0]!.params.level, "1");
  });

  test("languages and malformed items", () => {
    assert.deepEqual(
      parseAccept("zh-CN, en;q=0.5, fr;q=2, de;q=abc, , it;q=0.25").map((i) => i.value),
      ["zh-CN", "en", "it"],
    );
  });
});
