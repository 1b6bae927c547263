// The field grammar shared by the parser, the serializer and the framework (src/http/fields.ts).

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertValidField, FIELD_VALUE, fieldValueProblem, isToken, TOKEN } from "../../src/http/fields.ts";

test("TOKEN holds exactly the RFC 9110 tchar set", () => {
  const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (let c = 0; c < 256; c++) {
    assert.equal(TOKEN[c], tchar.includes(String.fromCharCode(c)) ? 1 : 0, `byte 0x${c.toString(16)}`);
  }
});

test("FIELD_VALUE allows HTAB, SP, VCHAR and obs-text, and no other control", () => {
  for (let c = 0; c < 256; c++) {
    const allowed = c === 0x09 || (c >= 0x20 && c !== 0x7f);
    assert.equal(FIELD_VALUE[c], allowed ? 1 : 0, `byte 0x${c.toString(16)}`);
  }
});

test("isToken", () => {
  for (const t of ["Content-Type", "x", "X_Custom", "a.b!c~"]) assert.equal(isToken(t), true, t);
  for (const t of ["", "a b", "a:b", "caf\xe9", "a\u0100", "(x)", "a\r\nb", "a/b", "a,b", '"q"']) {
    assert.equal(isToken(t), false, JSON.stringify(t));
  }
});

test("fieldValueProblem says what is wrong", () => {
  assert.equal(fieldValueProblem("text/html; charset=utf-8"), undefined);
  assert.equal(fieldValueProblem("caf\xe9\ta"), undefined);
  assert.equal(fieldValueProblem(""), undefined);
  assert.match(fieldValueProblem("a\r\nSet-Cookie: x=1")!, /CR or LF/);
  assert.match(fieldValueProblem("a\nb")!, /CR or LF/);
  assert.match(fieldValueProblem("a\x00b")!, /0x00/);
  assert.match(fieldValueProblem("a\x7f")!, /0x7f/);
  assert.match(fieldValueProblem("深圳")!, /outside Latin-1/);
});

test("assertValidField throws a TypeError naming the header", () => {
  assert.doesNotThrow(() => assertValidField("X-Ok", "fine"));
  assert.throws(
    () => assertValidField("Bad Name", "x"),
    (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /"Bad Name"/);
      assert.match(e.message, /token/);
      return true;
    },
  );
  assert.throws(() => assertValidField("City", "深圳"), /Invalid value for header "City".*Latin-1/);
  assert.throws(() => assertValidField("Location", "/a\r\nX: y"), /"Location".*header injection/);
});
