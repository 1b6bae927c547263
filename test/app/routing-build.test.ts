// Building URLs (urlFor): converters format the values, segments are encoded, extra values become the
// query string, the best-fitting rule is chosen, errors say what is wrong.

import assert from "node:assert/strict";
import { test } from "node:test";
import { BuildError, decimalText, Router } from "../../src/app/routing/index.ts";

function router(): Router<null> {
  const r = new Router<null>();
  const add = (
    rule: string,
    endpoint: string,
    extra: { methods?: string[]; defaults?: Record<string, unknown> } = {},
  ) => r.add(rule, { endpoint, methods: extra.methods ?? ["GET"], defaults: extra.defaults, data: null });
  add("/", "index");
  add("/user/<int:id>", "user");
  add("/user/<int:id>", "userUpdate", { methods: ["POST"] });
  add("/year/<int(fixed_digits=4):y>", "year");
  add("/n/<int(signed=True):n>", "signed");
  add("/f/<float:v>", "float");
  add("/s/<name>", "string");
  add("/files/<path:p>", "files");
  add("/t/<any(a, b):tab>", "tab");
  add("/u/<uuid:id>", "uuid");
  add("/page/", "page", { defaults: { page: 1 } });
  add("/page/<int:page>", "page");
  add("/café/<name>.json", "cafe");
  add("/items", "items");
  add("/items/<int:id>", "items");
  add("/m", "byMethod", { methods: ["GET"] });
  add("/m/post", "byMethod", { methods: ["POST"] });
  return r;
}

const r = router();

test("params formatted by their converter", () => {
  assert.equal(r.build("user", { id: 42 }), "/user/42");
  assert.equal(r.build("user", { id: "42" }), "/user/42", "a digit string is an int");
  assert.equal(r.build("year", { y: 7 }), "/year/0007");
  assert.equal(r.build("signed", { n: -3 }), "/n/-3");
  assert.equal(r.build("float", { v: 2 }), "/f/2.0");
  assert.equal(r.build("float", { v: 0.5 }), "/f/0.5");
  assert.equal(r.build("tab", { tab: "b" }), "/t/b");
  assert.equal(
    r.build("uuid", { id: "123E4567-E89B-12D3-A456-426614174000" }),
    "/u/123e4567-e89b-12d3-a456-426614174000",
  );
  assert.equal(r.build("index"), "/");
});

test("decimalText never writes an exponent", () => {
  assert.equal(decimalText(1e-7), "0.0000001");
  assert.equal(decimalText(1.5e-10), "0.00000000015");
  assert.equal(decimalText(1e21), "1000000000000000000000.0");
  assert.equal(decimalText(1.25e22), "12500000000000000000000.0");
  assert.equal(decimalText(-2.5), "-2.5");
  assert.equal(decimalText(3), "3.0");
  for (const v of [1e-7, 1.5e-10, 1e21, 123.456, 5e-324]) assert.equal(Number(decimalText(v)), v);
});

test("segments percent-encoded once; path keeps its slashes; built URLs match back", () => {
  assert.equal(r.build("string", { name: "a b?#%" }), "/s/a%20b%3F%23%25");
  assert.equal(r.build("string", { name: "日本" }), "/s/%E6%97%A5%E6%9C%AC");
  assert.equal(r.build("files", { p: "dir/sub dir/x.txt" }), "/files/dir/sub%20dir/x.txt");
  assert.equal(r.build("cafe", { name: "x" }), "/caf%C3%A9/x.json", "static text is encoded too");
  assert.equal(r.build("string", { name: "a:b@c;d=e" }), "/s/a:b@c;d=e", "pchar stays as is");
  for (const [ep, values] of [
    ["string", { name: "a b?#%日本" }],
    ["files", { p: "x/y z/ü" }],
    ["cafe", { name: "q" }],
  ] as const) {
    const url = r.build(ep, values);
    const res = r.match(decodeURIComponent(url), "GET", "");
    assert.equal(res.kind, "match", url);
    assert.deepEqual(res.kind === "match" && res.params, values);
  }
});

test("a string value with / builds with the slash as is (Werkzeug's to_url); dot-segments never", () => {
  assert.equal(r.build("string", { name: "a/b c" }), "/s/a/b%20c");
  for (const name of ["../admin", "a/./b", "a/.."]) {
    assert.throws(
      () => r.build("string", { name }),
      (e: unknown) => e instanceof BuildError && /`\.` or `\.\.` segment/.test(e.message),
      name,
    );
  }
});

test("unknown params become the query string: arrays repeat, everything encoded; null/undefined dropped", () => {
  assert.equal(
    r.build("user", { id: 1, q: "a b&c=d", tag: ["x", "y+z"], n: 3, on: true, none: undefined, nil: null }),
    "/user/1?q=a+b%26c%3Dd&tag=x&tag=y%2Bz&n=3&on=true",
  );
  assert.equal(r.build("index", { "k=&": "v#" }), "/?k%3D%26=v%23");
});

test("query strings are written as Werkzeug's MapAdapter.build writes them (Python's urlencode)", () => {
  // What Flask's url_for("index", q=..., **{"k y": 1}) gives, byte for byte: a space is "+", the WHATWG
  // query set !$'()*,/:;?@ and unreserved characters stay, everything else is percent-encoded as UTF-8.
  assert.equal(
    r.build("index", { q: "a b&c=d+e/f?g#h%i~!$'()*,;:@é[]\"<>\\^`{|}", "k y": 1 }),
    "/?q=a+b%26c%3Dd%2Be/f?g%23h%25i~!$'()*,;:@%C3%A9%5B%5D%22%3C%3E%5C%5E%60%7B%7C%7D&k+y=1",
  );
  assert.equal(r.build("index", { q: "  " }), "/?q=++");
  assert.equal(r.build("index", { q: "😀 x" }), "/?q=%F0%9F%98%80+x");
  // Path parts are not query parts: a space there stays %20 (a "+" in a path is a plus).
  assert.equal(r.build("string", { name: "a b", q: "a b" }), "/s/a%20b?q=a+b");
  assert.throws(
    () => r.build("index", { o: { a: 1 } }),
    /the query value "o" is object; pass a string, number/,
  );
});

test("anchor, external scheme://host and scriptRoot", () => {
  assert.equal(r.build("user", { id: 1 }, { anchor: "sec 2" }), "/user/1#sec%202");
  // As Flask's url_for quotes _anchor: "%" and "#" are kept (an anchor given already encoded stays so).
  assert.equal(r.build("user", { id: 1 }, { anchor: "a%20b#c d" }), "/user/1#a%20b#c%20d");
  assert.equal(
    r.build(
      "user",
      { id: 1, q: 1 },
      { external: { scheme: "https", host: "example.com:8443" }, anchor: "a" },
    ),
    "https://example.com:8443/user/1?q=1#a",
  );
  assert.equal(r.build("user", { id: 1 }, { scriptRoot: "/app" }), "/app/user/1");
  assert.equal(r.build("user", { id: 1 }, { scriptRoot: "/app/" }), "/app/user/1");
  assert.equal(
    r.build("index", {}, { scriptRoot: "/app", external: { scheme: "http", host: "h" } }),
    "http://h/app/",
  );
});

test("the rule using the most values wins; defaults choose the short form", () => {
  assert.equal(r.build("items"), "/items");
  assert.equal(r.build("items", { id: 5 }), "/items/5");
  assert.equal(
    r.build("items", { id: "x" }),
    "/items?id=x",
    "a value the converter refuses falls back to a rule without it",
  );
  assert.equal(r.build("page"), "/page/");
  assert.equal(r.build("page", { page: 1 }), "/page/");
  assert.equal(r.build("page", { page: "1" }), "/page/", "compared like Werkzeug: as text");
  assert.equal(r.build("page", { page: 3 }), "/page/3");
});

test("method chooses among the endpoint's rules; GET is preferred without one", () => {
  assert.equal(r.build("byMethod"), "/m");
  assert.equal(r.build("byMethod", {}, { method: "POST" }), "/m/post");
  assert.equal(r.build("byMethod", {}, { method: "head" }), "/m", "HEAD is served by the GET rule");
  assert.equal(r.build("user", { id: 1 }, { method: "OPTIONS" }), "/user/1");
  assert.throws(
    () => r.build("user", { id: 1 }, { method: "DELETE" }),
    /endpoint "user" with method DELETE from \{id: 1\}: rule "\/user\/<int:id>" takes GET, HEAD, not DELETE/,
  );
});

test("BuildError names a missing param, a refused value, or close endpoint names", () => {
  assert.throws(
    () => r.build("user", { name: "x" }),
    (e: unknown) =>
      e instanceof BuildError &&
      e.endpoint === "user" &&
      e.message ===
        'Could not build a URL for endpoint "user" from {name: "x"}: rule "/user/<int:id>" needs "id".',
  );
  assert.throws(() => r.build("user", { id: -1 }), /can't take id=-1 \(not accepted by the int converter\)/);
  assert.throws(() => r.build("user", { id: 1.5 }), /can't take id=1.5/);
  assert.throws(() => r.build("user", { id: 2 ** 60 }), /can't take id=/);
  assert.throws(() => r.build("year", { y: 12345 }), /can't take y=12345/);
  assert.throws(
    () => r.build("tab", { tab: "c" }),
    /can't take tab="c" \(not accepted by the any converter\)/,
  );
  assert.throws(() => r.build("float", { v: -1 }), /can't take v=-1/);
  assert.throws(() => r.build("files", { p: "/abs" }), /can't take p="\/abs"/);
  assert.throws(
    () => r.build("usr", { id: 1 }),
    (e: unknown) =>
      e instanceof BuildError &&
      /no such endpoint\. Did you mean "user"\? Endpoints: index, user, userUpdate/.test(e.message),
  );
  assert.throws(() => new Router().build("x"), /no such endpoint\. No endpoints are registered\./);
  assert.throws(() => r.build("pages", {}), /Did you mean "page"/);
});

test("parameter names that are Object.prototype keys are not taken from the prototype", () => {
  const r = new Router<null>();
  r.add("/c/<constructor>", { endpoint: "c", methods: ["GET"], data: null });
  r.add("/t/", { endpoint: "t", methods: ["GET"], defaults: { toString: "x" }, data: null });
  assert.throws(() => r.build("c", {}), /rule "\/c\/<constructor>" needs "constructor"/);
  assert.equal(r.build("c", { constructor: "k" }), "/c/k");
  const res = r.match("/t/", "GET", "");
  assert.equal(res.kind === "match" && res.params.toString, "x", "the default is applied");
  assert.equal(r.build("t", { toString: "x" }), "/t/");
});
