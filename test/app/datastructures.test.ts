// MultiDict and Headers on their own.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BadRequest, Headers, MultiDict } from "phial";

describe("MultiDict", () => {
  test("from pairs, records and other MultiDicts", () => {
    const a = new MultiDict([
      ["x", "1"],
      ["y", "2"],
      ["x", "3"],
    ]);
    assert.deepEqual(a.getAll("x"), ["1", "3"]);
    const b = new MultiDict({ x: ["1", "2"], z: "9" });
    assert.deepEqual(
      [...b.entries()],
      [
        ["x", "1"],
        ["x", "2"],
        ["z", "9"],
      ],
    );
    const c = new MultiDict(a);
    c.append("x", "4");
    assert.equal(a.getAll("x").length, 2, "a copy is independent");
  });

  test("get, get with type/default, getAll with type, require, has, size", () => {
    const m = new MultiDict([
      ["n", "12"],
      ["n", "x"],
      ["n", "7"],
      ["e", ""],
    ]);
    assert.equal(m.get("n"), "12");
    assert.equal(m.get("n", { type: Number }), 12);
    assert.equal(m.get("e", { type: Number, default: -1 }), -1);
    assert.equal(m.get("missing", { default: "d" }), "d");
    assert.deepEqual(m.getAll("n", { type: Number }), [12, 7]);
    assert.equal(m.get("n", { type: (v) => JSON.parse(`[${v}]`) as number[] })?.[0], 12);
    assert.throws(
      () => m.require("missing"),
      (e: unknown) => e instanceof BadRequest && /"missing"/.test(e.description),
    );
    assert.equal(m.has("e"), true);
    assert.equal(m.size, 2);
  });

  test("keys are unique in first-seen order; entries keep every pair; values the first", () => {
    const m = new MultiDict([
      ["b", "1"],
      ["a", "2"],
      ["b", "3"],
    ]);
    assert.deepEqual([...m.keys()], ["b", "a"]);
    assert.deepEqual([...m.values()], ["1", "2"]);
    assert.deepEqual(
      [...m],
      [
        ["b", "1"],
        ["a", "2"],
        ["b", "3"],
      ],
    );
    assert.deepEqual({ ...m.toDict() }, { b: "1", a: "2" });
    assert.deepEqual({ ...m.toDict({ flat: false }) }, { b: ["1", "3"], a: ["2"] });
    assert.equal(JSON.stringify(m), '{"b":"1","a":"2"}');
  });

  test("set replaces in place, delete removes all, clear empties", () => {
    const m = new MultiDict([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);
    m.set("a", "x");
    assert.deepEqual(
      [...m],
      [
        ["a", "x"],
        ["b", "2"],
      ],
    );
    assert.equal(m.delete("a"), true);
    assert.equal(m.delete("a"), false);
    m.clear();
    assert.equal(m.size, 0);
  });

  test("any key is safe, including __proto__ and constructor", () => {
    const m = new MultiDict([
      ["__proto__", "p"],
      ["constructor", "c"],
      ["hasOwnProperty", "h"],
    ]);
    assert.equal(m.get("__proto__"), "p");
    assert.equal(m.get("toString"), undefined);
    const d = m.toDict();
    assert.equal(Object.getPrototypeOf(d), null);
    assert.equal(d.constructor, "c");
    assert.equal(Object.keys(d).length, 3);
  });

  test("frozen dicts refuse changes", () => {
    const m = new MultiDict([["a", "1"]]).freeze();
    assert.throws(() => m.append("a", "2"), /read-only/);
    assert.throws(() => m.set("a", "2"), /read-only/);
    assert.throws(() => m.delete("a"), /read-only/);
  });
});

describe("Headers", () => {
  test("names match ASCII case-insensitively, and only letters fold", () => {
    const h = new Headers({ "Content-Type": "a", "X-a^b": "caret", "X-1": "one" });
    assert.equal(h.get("content-type"), "a");
    assert.equal(h.get("CONTENT-TYPE"), "a");
    assert.equal(h.get("content-typ"), undefined);
    // "^" and "~" differ by 0x20 as "a" and "A" do, but they are different names.
    assert.equal(h.get("x-a~b"), undefined);
    assert.equal(h.get("X-A^B"), "caret");
    assert.equal(h.get("x-\x11"), undefined);
    h.set("content-TYPE", "b");
    assert.deepEqual(
      [...h],
      [
        ["content-TYPE", "b"],
        ["X-a^b", "caret"],
        ["X-1", "one"],
      ],
    );
    h.delete("x-A^b");
    assert.equal(h.size, 2);
  });

  test("from a record, pairs (repeats kept), another Headers or a web Headers", () => {
    const h = new Headers([
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
    ]);
    assert.deepEqual(h.getSetCookie(), ["a=1", "b=2"]);
    assert.equal(new Headers({ A: "1", B: 2, C: ["x", "y"] }).getAll("c").length, 2);
    assert.equal(new Headers(h).size, 2);
    const web = new globalThis.Headers({ "X-Web": "w" });
    assert.equal(new Headers(web).get("x-web"), "w");
  });

  test("setDefault, toJSON, toString", () => {
    const h = new Headers({ A: "1" });
    assert.equal(h.setDefault("a", "2"), "1");
    assert.equal(h.setDefault("B", "2"), "2");
    h.append("a", "3");
    assert.deepEqual({ ...h.toJSON() }, { a: "1, 3", b: "2" });
    assert.equal(h.toString(), "A: 1\r\nB: 2\r\na: 3\r\n");
  });

  test("bad values name the header", () => {
    const h = new Headers();
    assert.throws(() => h.set("City", "深圳"), { name: "TypeError", message: /"City".*Latin-1/ });
    assert.throws(() => new Headers({ "X-Bad": "a\nb" }), /"X-Bad"/);
    assert.throws(() => h.append("X", undefined as never), /string or a number/);
  });
});
