// Matching: Werkzeug's rule syntax, converters, priorities, trailing slashes, 404/405, redirects.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AddOptions,
  decodePath,
  type MatchResult,
  parseConverterArgs,
  patternConverter,
  Router,
  RuleSyntaxError,
} from "../../src/app/routing/index.ts";

type Extra = Partial<Omit<AddOptions<string>, "endpoint" | "data">>;

function router(
  rules: [string, string, Extra?][],
  opts?: ConstructorParameters<typeof Router>[0],
): Router<string> {
  const r = new Router<string>(opts);
  for (const [rule, endpoint, extra] of rules)
    r.add(rule, { endpoint, methods: ["GET"], data: endpoint, ...extra });
  return r;
}

/** The endpoint and params of a match, or the kind with its detail. */
function m(r: Router<string>, path: string, method = "GET", qs = ""): unknown {
  const res: MatchResult<string> = r.match(path, method, qs);
  switch (res.kind) {
    case "match":
      return [res.rule.endpoint, res.params];
    case "redirect":
      return `redirect ${res.location}`;
    case "methodNotAllowed":
      return `405 ${res.allowed.join(",")}`;
    case "notFound":
      return 404;
  }
}

describe("converters", () => {
  test("string is the default and matches one segment; length arguments", () => {
    const r = router([
      ["/s/<name>", "s"],
      ["/l/<string(length=3):code>", "l"],
      ["/mm/<string(minlength=2, maxlength=4):x>", "mm"],
    ]);
    assert.deepEqual(m(r, "/s/bob"), ["s", { name: "bob" }]);
    assert.equal(m(r, "/s/a/b"), 404);
    assert.equal(m(r, "/s/"), 404, "an empty segment is not a value");
    assert.deepEqual(m(r, "/l/abc"), ["l", { code: "abc" }]);
    assert.deepEqual(m(r, "/l/日本語"), ["l", { code: "日本語" }], "length counts characters");
    assert.deepEqual(m(r, "/l/a😀b"), ["l", { code: "a😀b" }], "an astral character counts once");
    assert.equal(m(r, "/l/ab"), 404);
    assert.equal(m(r, "/l/abcd"), 404);
    assert.equal(m(r, "/mm/a"), 404);
    assert.deepEqual(m(r, "/mm/abcd"), ["mm", { x: "abcd" }]);
    assert.equal(m(r, "/mm/abcde"), 404);
  });

  test("int: digits only, signed, fixed_digits, min, max, and nothing beyond MAX_SAFE_INTEGER", () => {
    const r = router([
      ["/i/<int:id>", "i"],
      ["/s/<int(signed=True):n>", "s"],
      ["/f/<int(fixed_digits=4):y>", "f"],
      ["/r/<int(min=1, max=10):p>", "r"],
    ]);
    assert.deepEqual(m(r, "/i/42"), ["i", { id: 42 }]);
    assert.deepEqual(m(r, "/i/007"), ["i", { id: 7 }]);
    assert.equal(m(r, "/i/-1"), 404);
    assert.equal(m(r, "/i/1.5"), 404);
    assert.equal(m(r, "/i/1e3"), 404);
    assert.equal(m(r, "/i/٣"), 404, "non-ASCII digits are not digits");
    assert.equal(m(r, "/i/ 1"), 404);
    assert.deepEqual(m(r, "/i/9007199254740991"), ["i", { id: Number.MAX_SAFE_INTEGER }]);
    assert.equal(m(r, "/i/9007199254740992"), 404);
    assert.equal(m(r, `/i/${"9".repeat(400)}`), 404);
    assert.deepEqual(m(r, "/s/-5"), ["s", { n: -5 }]);
    assert.deepEqual(m(r, "/s/5"), ["s", { n: 5 }]);
    assert.equal(m(r, "/s/-"), 404);
    assert.equal(m(r, "/s/+5"), 404);
    assert.deepEqual(m(r, "/f/0042"), ["f", { y: 42 }]);
    assert.equal(m(r, "/f/042"), 404);
    assert.equal(m(r, "/r/0"), 404);
    assert.deepEqual(m(r, "/r/10"), ["r", { p: 10 }]);
    assert.equal(m(r, "/r/11"), 404);
  });

  test("float: digits.digits, signed, min, max", () => {
    const r = router([
      ["/f/<float:v>", "f"],
      ["/s/<float(signed=True, max=0):v>", "s"],
    ]);
    assert.deepEqual(m(r, "/f/1.5"), ["f", { v: 1.5 }]);
    assert.deepEqual(m(r, "/f/0.25"), ["f", { v: 0.25 }]);
    for (const bad of ["/f/1", "/f/.5", "/f/1.", "/f/-1.5", "/f/1e3", "/f/NaN", "/f/Infinity", "/f/1.5.5"]) {
      assert.equal(m(r, bad), 404, bad);
    }
    assert.deepEqual(m(r, "/s/-2.5"), ["s", { v: -2.5 }]);
    assert.equal(m(r, "/s/2.5"), 404, "above max");
    assert.equal(m(r, `/f/${"9".repeat(400)}.0`), 404, "an infinite value never matches");
  });

  test("path spans slashes, keeps inner structure, and can be followed by static segments", () => {
    const r = router([
      ["/files/<path:p>", "files"],
      ["/repo/<path:p>/edit", "edit"],
      ["/docs/<path:p>/", "docs"],
      ["/x/<path:p>.json", "json"],
    ]);
    assert.deepEqual(m(r, "/files/a"), ["files", { p: "a" }]);
    assert.deepEqual(m(r, "/files/a/b/c.txt"), ["files", { p: "a/b/c.txt" }]);
    assert.equal(m(r, "/files/"), 404);
    assert.equal(m(r, "/files"), 404);
    // Werkzeug's `[^/].*?`: a final path part keeps the trailing slash (Map.match gives p="a/b/")
    assert.deepEqual(m(r, "/files/a/b/"), ["files", { p: "a/b/" }]);
    assert.deepEqual(m(r, "/files/http://x//y"), ["files", { p: "http://x//y" }], "inner // kept");
    assert.deepEqual(m(r, "/repo/a/b/edit"), ["edit", { p: "a/b" }]);
    assert.equal(m(r, "/repo/edit"), 404, "path needs at least one segment");
    assert.deepEqual(m(r, "/docs/a/b/"), ["docs", { p: "a/b" }]);
    assert.equal(m(r, "/docs/a/b"), "redirect /docs/a/b/");
    assert.deepEqual(m(r, "/x/a/b.json"), ["json", { p: "a/b" }]);
    assert.equal(m(r, "/x/a/b.xml"), 404);
  });

  test("uuid (any case, lowercased) and any(a, b)", () => {
    const r = router([
      ["/u/<uuid:id>", "u"],
      ["/t/<any(about, help, 'contact us'):page>", "t"],
    ]);
    assert.deepEqual(m(r, "/u/123E4567-E89B-12D3-A456-426614174000"), [
      "u",
      { id: "123e4567-e89b-12d3-a456-426614174000" },
    ]);
    assert.equal(m(r, "/u/123e4567e89b12d3a456426614174000"), 404);
    assert.equal(m(r, "/u/123e4567-e89b-12d3-a456-42661417400g"), 404);
    assert.deepEqual(m(r, "/t/about"), ["t", { page: "about" }]);
    assert.deepEqual(m(r, "/t/contact us"), ["t", { page: "contact us" }]);
    assert.equal(m(r, "/t/About"), 404);
    assert.equal(m(r, "/t/abouts"), 404);
  });

  test("static text around converters in one segment, several converters split at separators", () => {
    const r = router([
      ["/v<int:n>/x", "ver"],
      ["/<name>.<ext>", "file"],
      ["/d/<int:y>-<int:m>-<int:d>", "date"],
    ]);
    assert.deepEqual(m(r, "/v2/x"), ["ver", { n: 2 }]);
    assert.equal(m(r, "/v/x"), 404);
    assert.deepEqual(m(r, "/archive.tar.gz"), ["file", { name: "archive", ext: "tar.gz" }]);
    assert.equal(m(r, "/archive"), 404);
    assert.equal(m(r, "/.gz"), 404);
    assert.deepEqual(m(r, "/d/2024-1-31"), ["date", { y: 2024, m: 1, d: 31 }]);
    assert.equal(m(r, "/d/2024-1"), 404);
    assert.equal(m(r, "/d/2024-1-31-2"), 404);
  });

  test("custom converters: parse/format, a pattern, argument passing, weight", () => {
    const r = new Router<string>();
    r.addConverter("hex", () =>
      patternConverter({
        pattern: /[0-9a-f]+/,
        parse: (s) => Number.parseInt(s, 16),
        format: (v) => (v as number).toString(16),
        weight: 40,
      }),
    );
    r.addConverter("list", (args) => {
      const sep = String(args.named.sep ?? "+");
      return {
        parse: (s) => s.split(sep),
        format: (v) => (Array.isArray(v) ? v.join(sep) : undefined),
        weight: 100,
      };
    });
    r.addConverter("boom", () => ({
      parse: () => {
        throw new Error("bug in converter");
      },
      format: () => "x",
      weight: 1,
    }));
    r.add("/h/<hex:n>", { endpoint: "hex", methods: ["GET"], data: "hex" });
    r.add("/h/<word>", { endpoint: "word", methods: ["GET"], data: "word" });
    r.add("/l/<list(sep=','):items>", { endpoint: "list", methods: ["GET"], data: "list" });
    r.add("/b/<boom:x>", { endpoint: "boom", methods: ["GET"], data: "boom" });
    r.add("/b/<y>", { endpoint: "by", methods: ["GET"], data: "by" });
    assert.deepEqual(m(r, "/h/ff"), ["hex", { n: 255 }]);
    assert.deepEqual(m(r, "/h/zz"), ["word", { word: "zz" }], "falls back to the next rule");
    assert.deepEqual(m(r, "/l/a,b,c"), ["list", { items: ["a", "b", "c"] }]);
    assert.equal(r.build("list", { items: ["x", "y"] }), "/l/x,y");
    assert.equal(r.build("hex", { n: 4095 }), "/h/fff");
    assert.deepEqual(m(r, "/b/q"), ["by", { y: "q" }], "a throwing converter is no match, not a crash");
  });
});

describe("priorities", () => {
  test("static segments beat converters, whatever the registration order", () => {
    const r = router([
      ["/user/<name>", "byName"],
      ["/user/new", "new"],
      ["/user/<int:id>", "byId"],
    ]);
    assert.deepEqual(m(r, "/user/new"), ["new", {}]);
    assert.deepEqual(m(r, "/user/12"), ["byId", { id: 12 }], "int (weight 50) before string (100)");
    assert.deepEqual(m(r, "/user/bob"), ["byName", { name: "bob" }]);
  });

  test("more static text in a segment first; path last; backtracking into other branches", () => {
    const r = router([
      ["/<path:p>", "catchall"],
      ["/<a>/<b>", "two"],
      ["/p<a>/x", "prefixed"],
      ["/static/<b>/deep", "deep"],
    ]);
    assert.deepEqual(m(r, "/pq/x"), ["prefixed", { a: "q" }]);
    assert.deepEqual(m(r, "/q/x"), ["two", { a: "q", b: "x" }]);
    assert.deepEqual(m(r, "/static/x/deep"), ["deep", { b: "x" }]);
    assert.deepEqual(
      m(r, "/static/x"),
      ["two", { a: "static", b: "x" }],
      "static branch fails, dynamic takes over",
    );
    assert.deepEqual(m(r, "/static/x/y"), ["catchall", { p: "static/x/y" }]);
    assert.deepEqual(m(r, "/a/b/c/d"), ["catchall", { p: "a/b/c/d" }]);
  });

  test("a method mismatch on the static rule lets a dynamic rule with that method match", () => {
    const r = router([
      ["/user/new", "newForm", { methods: ["POST"] }],
      ["/user/<name>", "show"],
    ]);
    assert.deepEqual(m(r, "/user/new", "GET"), ["show", { name: "new" }]);
    assert.deepEqual(m(r, "/user/new", "POST"), ["newForm", {}]);
  });
});

describe("trailing slashes and merged slashes", () => {
  test("branch rule /x/ redirects /x with 308 semantics, keeping the query", () => {
    const r = router([
      ["/x/", "x"],
      ["/a/<int:id>/", "a"],
    ]);
    assert.deepEqual(m(r, "/x/"), ["x", {}]);
    assert.equal(m(r, "/x", "GET", "q=1&r=%20"), "redirect /x/?q=1&r=%20");
    assert.equal(m(r, "/a/3"), "redirect /a/3/");
    assert.equal(m(r, "/x", "POST"), 404, "no rule at /x/ takes POST: nothing to redirect to");
  });

  test("leaf rule /x is exact when strict; strictSlashes=false takes both", () => {
    const r = router([
      ["/leaf", "leaf"],
      ["/loose", "loose", { strictSlashes: false }],
      ["/branch/", "branch", { strictSlashes: false }],
    ]);
    assert.equal(m(r, "/leaf/"), 404);
    assert.deepEqual(m(r, "/loose"), ["loose", {}]);
    assert.deepEqual(m(r, "/loose/"), ["loose", {}]);
    assert.deepEqual(m(r, "/branch"), ["branch", {}], "non-strict branch rule matches without redirect");
    assert.deepEqual(m(r, "/branch/"), ["branch", {}]);
    const all = router([["/leaf", "leaf"]], { strictSlashes: false });
    assert.deepEqual(m(all, "/leaf/"), ["leaf", {}], "the router-wide default");
  });

  test("mergeSlashes: //a///b redirects to /a/b (then to /a/b/ for a branch rule); off keeps 404", () => {
    const r = router([
      ["/a/b", "ab"],
      ["/c/", "c"],
      ["/", "root"],
    ]);
    assert.equal(m(r, "//a///b", "GET", "x=1"), "redirect /a/b?x=1");
    assert.equal(m(r, "/a//b//"), 404, "the merged /a/b/ doesn't match the leaf /a/b either");
    assert.equal(m(r, "//c"), "redirect /c/");
    assert.deepEqual(m(r, "///"), ["root", {}], "as Werkzeug's Map.match: `//` and `///` are `/`");
    assert.deepEqual(m(r, "//"), ["root", {}]);
    assert.equal(m(r, "//nothing//"), 404);
    const off = router([["/a/b", "ab"]], { mergeSlashes: false });
    assert.equal(m(off, "//a///b"), 404);
  });

  test("mergeSlashes merges only the // the client wrote; escapes and dot-segments never go live", () => {
    const r = router([
      ["/static/<path:filename>", "static"],
      ["/a/b", "ab"],
      ["/c/", "c"],
    ]);
    // What a server gives the router: req.path (decoded once) and req.rawPath (as sent).
    const raw = (target: string): unknown => {
      const res = r.match(decodeURIComponent(target), "GET", "", target);
      return res.kind === "redirect" ? `redirect ${res.location}` : res.kind === "match" ? res.params : 404;
    };
    assert.deepEqual(
      raw("/static/%2f..%2f..%2fx"),
      404,
      "no literal //: matched as is (a path value can't start with /), never a 308 to /static/../../x",
    );
    assert.deepEqual(raw("/static/a%2F%2Fb"), { filename: "a//b" }, "a %2F is a character, not a separator");
    assert.equal(raw("/a//b"), "redirect /a/b", "a literal // still redirects");
    assert.equal(raw("//c"), "redirect /c/", "merged, then the branch rule's slash");
    assert.equal(
      raw("/static//a%2F%2Fb%20c"),
      "redirect /static/a%2F%2Fb%20c",
      "the Location keeps escapes as sent",
    );
    // A literal // whose merged path has a dot-segment: a client would resolve it, so no redirect.
    assert.equal(raw("/static//..//..//x"), 404);
    assert.deepEqual(raw("/static/a//../b"), { filename: "a//../b" }, "matched as is, not sent to /static/b");
    assert.deepEqual(raw("/static/a//%2e%2e/x"), { filename: "a//../x" }, "%2E%2E is a dot-segment too");
    // Without the raw path (a decoded path only): still never a Location with a dot-segment.
    assert.deepEqual(m(r, "/static/a//../b"), ["static", { filename: "a//../b" }]);
    assert.equal(m(r, "/a//b"), "redirect /a/b");
    assert.deepEqual(r.allowedMethods("/static/a//b", "/static/a%2F%2Fb"), ["GET", "HEAD", "OPTIONS"]);
  });

  test("the trailing-slash redirect keeps the raw path's escapes", () => {
    const r = router([["/<path:p>/", "p"]], { mergeSlashes: false });
    const loc = (target: string) => r.match(decodeURIComponent(target), "GET", "", target);
    assert.deepEqual(loc("/a%2F..%2F..%2Fx"), { kind: "redirect", location: "/a%2F..%2F..%2Fx/" });
    assert.deepEqual(loc("/caf%C3%A9/a\\b"), { kind: "redirect", location: "/caf%C3%A9/a%5Cb/" });
    assert.equal(m(r, "/a/../x"), 404, "decoded only: a dot-segment is never put in a Location");
  });

  test("redirect locations are encoded once and never start with //", () => {
    const r = router(
      [
        ["/café/<name>/", "c"],
        ["/<path:p>/", "p"],
      ],
      { mergeSlashes: false },
    );
    assert.equal(m(r, "/café/a b"), "redirect /caf%C3%A9/a%20b/");
    assert.equal(m(r, "/café/100%"), "redirect /caf%C3%A9/100%25/", "a decoded % is re-encoded");
    assert.equal(m(r, "/x\\evil.com"), "redirect /x%5Cevil.com/", "backslashes are encoded");
    assert.equal(m(r, "/a", "GET", "q=a b#c\r\n"), "redirect /a/?q=a%20b%23c%0D%0A");
  });
});

describe("methods: 404, 405, HEAD, OPTIONS", () => {
  const r = router([
    ["/thing", "thing"],
    ["/thing", "thingPost", { methods: ["POST", "PUT"] }],
    ["/only-post", "onlyPost", { methods: ["post"] }],
    ["/custom-options", "co", { methods: ["GET", "OPTIONS"] }],
    ["/no-auto", "noAuto", { methods: ["DELETE"], automaticOptions: false }],
  ]);

  test("405 lists the allowed methods: GET implies HEAD, OPTIONS is automatic", () => {
    assert.equal(m(r, "/thing", "DELETE"), "405 GET,HEAD,OPTIONS,POST,PUT");
    assert.equal(m(r, "/only-post", "GET"), "405 OPTIONS,POST");
    assert.equal(m(r, "/no-auto", "GET"), "405 DELETE");
    assert.equal(m(r, "/nothing", "DELETE"), 404);
  });

  test("HEAD goes to the GET rule; methods are upper-cased; OPTIONS matches the path's rule", () => {
    assert.deepEqual(m(r, "/thing", "HEAD"), ["thing", {}]);
    assert.deepEqual(m(r, "/thing", "PUT"), ["thingPost", {}]);
    assert.deepEqual(m(r, "/only-post", "POST"), ["onlyPost", {}]);
    const o = r.match("/thing", "OPTIONS", "");
    assert.equal(o.kind, "match");
    assert.equal(
      o.kind === "match" && o.rule.methods.has("OPTIONS"),
      false,
      "so the app answers it automatically",
    );
    const c = r.match("/custom-options", "OPTIONS", "");
    assert.equal(
      c.kind === "match" && c.rule.methods.has("OPTIONS"),
      true,
      "an explicit OPTIONS rule is used",
    );
    assert.equal(m(r, "/no-auto", "OPTIONS"), "405 DELETE");
    assert.deepEqual([...(r.rules[0]?.methods ?? [])], ["GET", "HEAD"]);
  });

  test("an explicit HEAD rule beats the implicit HEAD of a GET rule", () => {
    const h = router([
      ["/h", "get"],
      ["/h", "head", { methods: ["HEAD"] }],
    ]);
    assert.deepEqual(m(h, "/h", "HEAD"), ["head", {}]);
    assert.deepEqual(m(h, "/h", "GET"), ["get", {}]);
  });

  test("allowedMethods lists every rule matching the path", () => {
    assert.deepEqual(r.allowedMethods("/thing"), ["GET", "HEAD", "OPTIONS", "POST", "PUT"]);
    assert.deepEqual(r.allowedMethods("/nothing"), []);
    const p = router([
      ["/files/<path:p>", "f"],
      ["/files/<path:p>/edit", "e", { methods: ["POST"] }],
    ]);
    assert.deepEqual(p.allowedMethods("/files/a/edit"), ["GET", "HEAD", "OPTIONS", "POST"]);
    assert.deepEqual(p.allowedMethods("//files//a"), ["GET", "HEAD", "OPTIONS"]);
  });
});

describe("one endpoint under several rules, defaults", () => {
  test("defaults fill params; the defaulted URL redirects to the rule that has the defaults", () => {
    const r = router([
      ["/page/", "page", { defaults: { page: 1 } }],
      ["/page/<int:page>", "page"],
    ]);
    assert.deepEqual(m(r, "/page/"), ["page", { page: 1 }]);
    assert.deepEqual(m(r, "/page/2"), ["page", { page: 2 }]);
    assert.equal(m(r, "/page/1", "GET", "a=b"), "redirect /page/?a=b");
    const off = router(
      [
        ["/page/", "page", { defaults: { page: 1 } }],
        ["/page/<int:page>", "page"],
      ],
      { redirectDefaults: false },
    );
    assert.deepEqual(m(off, "/page/1"), ["page", { page: 1 }]);
  });

  test("defaults never override a value from the URL", () => {
    const r = router([["/x/<int:n>", "x", { defaults: { n: 5, extra: "e" } }]]);
    assert.deepEqual(m(r, "/x/3"), ["x", { n: 3, extra: "e" }]);
  });
});

describe("rule syntax errors name the rule and the fix", () => {
  const cases: [string, RegExp][] = [
    ["user/<id>", /must start with "\/"; write "\/user\/<id>"/],
    ["/a//b", /empty segment.*write "\/a\/b"/],
    ["/x/<id", /not closed by ">" after "id"; write "<id>"/],
    ["/x/id>", /">" at position 5 has no "<"/],
    ["/x/<1a>", /expected a parameter or converter name/],
    ["/x/<>", /expected a parameter or converter name/],
    [
      "/x/<foo:id>",
      /unknown converter "foo"; known: string, path, any, int, float, uuid.*addConverter\("foo"/,
    ],
    ["/x/<int(sign=True):id>", /int\(\) has no argument "sign"; it takes fixed_digits, min, max, signed/],
    ["/x/<int(signed=yes):id>", /signed=\.\.\.\) must be True or False/],
    ["/x/<string(length=0):id>", /length=\.\.\.\) must be an integer >= 1/],
    ["/x/<any():id>", /any\(\) needs at least one choice/],
    ["/x/<int(:id>", /never closed with "\)"/],
    ["/x/<int id>", /not closed by ">" after "int"/],
    ["/<a>/<a>", /"a" is used twice; rename one/],
    ["/<a><b>", /touches it.*"<a>-<other>"/],
    ["/<path:a>-<b>", /must be the only parameter in its segment/],
    ["/<__proto__>", /can't be a parameter name/],
  ];
  for (const [rule, re] of cases) {
    test(rule, () => {
      const r = new Router<string>();
      assert.throws(
        () => r.add(rule, { endpoint: "e", methods: ["GET"], data: "" }),
        (err: unknown) =>
          err instanceof RuleSyntaxError &&
          err.message.startsWith(`Rule ${JSON.stringify(rule)}:`) &&
          re.test(err.message),
      );
    });
  }

  test("bad methods, no methods, duplicate rules", () => {
    const r = new Router<string>();
    assert.throws(() => r.add("/a", { endpoint: "a", methods: [], data: "" }), /has no methods/);
    assert.throws(() => r.add("/a", { endpoint: "a", methods: ["GE T"], data: "" }), /not an HTTP method/);
    r.add("/a/<int:x>", { endpoint: "a", methods: ["GET", "POST"], data: "" });
    assert.throws(
      () => r.add("/a/<int:y>", { endpoint: "b", methods: new Set(["POST"]), data: "" }),
      /duplicates rule "\/a\/<int:x>" \(POST\) of endpoint "a", so it could never match/,
    );
    r.add("/a/<int:y>", { endpoint: "c", methods: ["PUT"], data: "" });
    assert.deepEqual(r.match("/a/1", "PUT", "").kind === "match" && r.match("/a/1", "PUT", ""), {
      kind: "match",
      rule: r.rules[1],
      params: { y: 1 },
    });
  });
});

test("paths that aren't absolute, or are odd, are 404s", () => {
  const r = router([
    ["/", "root"],
    ["/<x>", "x"],
  ]);
  assert.equal(m(r, ""), 404);
  assert.equal(m(r, "*", "OPTIONS"), 404);
  assert.equal(m(r, "x"), 404);
  assert.deepEqual(m(r, "/"), ["root", {}]);
  assert.deepEqual(m(r, "/%2F"), ["x", { x: "%2F" }], "the router never decodes: its input is req.path");
});

test("converter arguments parse like Python literals", () => {
  const none = parseConverterArgs("");
  assert.deepEqual([none.positional, none.rawPositional, { ...none.named }], [[], [], {}]);
  const a = parseConverterArgs(` a, 'b, c', "d", 1.0, -2, True, None, x=False, y = 'z' `);
  assert.deepEqual(a.positional, ["a", "b, c", "d", 1, -2, true, null]);
  assert.deepEqual(a.rawPositional, ["a", "b, c", "d", "1.0", "-2", "True", "None"]);
  assert.deepEqual({ ...a.named }, { x: false, y: "z" });
  assert.throws(() => parseConverterArgs("x=1, 2"), /positional argument after a named one/);
  assert.throws(() => parseConverterArgs("x=1, x=2"), /"x" given twice/);
  assert.throws(() => parseConverterArgs("'abc"), /unterminated quote/);
  assert.throws(() => parseConverterArgs("a,,b"), /empty value/);
  const r = router([["/v/<any(1.0, 2):v>", "v"]]);
  assert.deepEqual(m(r, "/v/1.0"), ["v", { v: "1.0" }], "any() keeps its choices as written");
  assert.equal(m(r, "/v/1"), 404);
});

test("rules lists every rule in registration order, with its methods and defaults", () => {
  const r = router([
    ["/b", "b", { methods: ["POST"] }],
    ["/a/<int:id>", "a", { defaults: { x: 1 } }],
  ]);
  assert.deepEqual(
    r.rules.map((x) => [
      x.rule,
      x.endpoint,
      [...x.methods],
      x.arguments,
      x.defaults,
      x.strictSlashes,
      x.data,
    ]),
    [
      ["/b", "b", ["POST"], [], undefined, true, "b"],
      ["/a/<int:id>", "a", ["GET", "HEAD"], ["id"], { x: 1 }, true, "a"],
    ],
  );
});

test("the defaults redirect only goes to a rule taking the request's method", () => {
  const r = router([
    ["/list/", "list", { defaults: { page: 1 }, methods: ["POST"] }],
    ["/list/<int:page>", "list", { methods: ["GET", "POST"] }],
  ]);
  assert.deepEqual(m(r, "/list/1", "GET"), ["list", { page: 1 }]);
  assert.equal(m(r, "/list/1", "POST"), "redirect /list/");
});

describe("Werkzeug's own routing cases", () => {
  test("test_path: path converters with static text, edits, two path parts", () => {
    const r = router([
      ["/", "page", { defaults: { name: "FrontPage" } }],
      ["/Special", "special"],
      ["/<int:year>", "year"],
      ["/<path:name>", "page"],
      ["/<path:name>/edit", "editpage"],
      ["/<path:name>/silly/<path:name2>", "sillypage"],
      ["/<path:name>/silly/<path:name2>/edit", "editsillypage"],
      ["/Talk:<path:name>", "talk"],
      ["/User:<username>", "user"],
      ["/User:<username>/<path:name>", "userpage"],
      ["/Files/<path:file>", "files"],
    ]);
    assert.deepEqual(m(r, "/"), ["page", { name: "FrontPage" }]);
    assert.equal(m(r, "/FrontPage"), "redirect /");
    assert.deepEqual(m(r, "/Special"), ["special", {}]);
    assert.deepEqual(m(r, "/2007"), ["year", { year: 2007 }]);
    assert.deepEqual(m(r, "/Some/Page"), ["page", { name: "Some/Page" }]);
    assert.deepEqual(m(r, "/Some/Page/edit"), ["editpage", { name: "Some/Page" }]);
    assert.deepEqual(m(r, "/Foo/silly/bar"), ["sillypage", { name: "Foo", name2: "bar" }]);
    assert.deepEqual(m(r, "/Foo/silly/bar/edit"), ["editsillypage", { name: "Foo", name2: "bar" }]);
    assert.deepEqual(m(r, "/Talk:Foo/Bar"), ["talk", { name: "Foo/Bar" }]);
    assert.deepEqual(m(r, "/User:thomas"), ["user", { username: "thomas" }]);
    assert.deepEqual(m(r, "/User:thomas/projects/werkzeug"), [
      "userpage",
      { username: "thomas", name: "projects/werkzeug" },
    ]);
    assert.deepEqual(m(r, "/Files/downloads/werkzeug/0.2.zip"), [
      "files",
      { file: "downloads/werkzeug/0.2.zip" },
    ]);
    assert.deepEqual(
      m(r, "/a/silly/b/silly/c"),
      ["sillypage", { name: "a", name2: "b/silly/c" }],
      "shortest first span",
    );
    // the path as sent matches first, as in Werkzeug (Map.match gives name="a/")
    assert.deepEqual(m(r, "/a//silly/b"), ["sillypage", { name: "a/", name2: "b" }]);
  });

  test("test_greedy: two path parts split at the first slash that works", () => {
    const r = router([
      ["/foo", "foo"],
      ["/<path:bar>", "bar"],
      ["/<path:bar>/<path:blub>", "bar"],
    ]);
    assert.deepEqual(m(r, "/foo"), ["foo", {}]);
    assert.deepEqual(m(r, "/blub"), ["bar", { bar: "blub" }]);
    assert.deepEqual(m(r, "/he/he"), ["bar", { bar: "he", blub: "he" }]);
    assert.equal(r.build("bar", { bar: "blub" }), "/blub");
    assert.equal(r.build("bar", { bar: "blub", blub: "bar" }), "/blub/bar");
  });

  test("test_complex_routing_rules", () => {
    const r = router([
      ["/", "index"],
      ["/<int:blub>", "an_int"],
      ["/<blub>", "a_string"],
      ["/foo/", "nested"],
      ["/foobar/", "nestedbar"],
      ["/foo/<path:testing>/", "nested_show"],
      ["/foo/<path:testing>/edit", "nested_edit"],
      ["/users/", "users", { defaults: { page: 1 } }],
      ["/users/page/<int:page>", "users"],
      ["/foox", "foox"],
      ["/<path:bar>/<path:blub>", "barx_path_path"],
    ]);
    assert.deepEqual(m(r, "/"), ["index", {}]);
    assert.deepEqual(m(r, "/42"), ["an_int", { blub: 42 }]);
    assert.deepEqual(m(r, "/blub"), ["a_string", { blub: "blub" }]);
    assert.deepEqual(m(r, "/foo/"), ["nested", {}]);
    assert.deepEqual(m(r, "/foobar/"), ["nestedbar", {}]);
    assert.deepEqual(m(r, "/foo/1/2/3/"), ["nested_show", { testing: "1/2/3" }]);
    assert.deepEqual(m(r, "/foo/1/2/3/edit"), ["nested_edit", { testing: "1/2/3" }]);
    assert.deepEqual(m(r, "/users/"), ["users", { page: 1 }]);
    assert.deepEqual(m(r, "/users/page/2"), ["users", { page: 2 }]);
    assert.deepEqual(m(r, "/foox"), ["foox", {}]);
    assert.deepEqual(m(r, "/1/2/3"), ["barx_path_path", { bar: "1", blub: "2/3" }]);
    assert.equal(r.build("users", { page: 1 }), "/users/");
    assert.equal(r.build("users", { page: 2 }), "/users/page/2");
    assert.equal(r.build("foox"), "/foox");
  });

  for (const prefix of ["", "/aaa"]) {
    test(`test_double_defaults (prefix "${prefix}")`, () => {
      const r = router([
        [`${prefix}/`, "x", { defaults: { foo: 1, bar: false } }],
        [`${prefix}/<int:foo>`, "x", { defaults: { bar: false } }],
        [`${prefix}/bar/`, "x", { defaults: { foo: 1, bar: true } }],
        [`${prefix}/bar/<int:foo>`, "x", { defaults: { bar: true } }],
      ]);
      assert.deepEqual(m(r, `${prefix}/`), ["x", { foo: 1, bar: false }]);
      assert.deepEqual(m(r, `${prefix}/2`), ["x", { foo: 2, bar: false }]);
      assert.deepEqual(m(r, `${prefix}/bar/`), ["x", { foo: 1, bar: true }]);
      assert.deepEqual(m(r, `${prefix}/bar/2`), ["x", { foo: 2, bar: true }]);
      assert.equal(m(r, `${prefix}/bar/1`), `redirect ${prefix}/bar/`);
      assert.equal(r.build("x", { foo: 1, bar: false }), `${prefix}/`);
      assert.equal(r.build("x", { foo: 2, bar: false }), `${prefix}/2`);
      assert.equal(r.build("x", { bar: false }), `${prefix}/`);
      assert.equal(r.build("x", { foo: 1, bar: true }), `${prefix}/bar/`);
      assert.equal(r.build("x", { foo: 2, bar: true }), `${prefix}/bar/2`);
      assert.equal(r.build("x", { bar: true }), `${prefix}/bar/`);
    });
  }

  test("test_redirect_path_quoting and test_unicode_rules", () => {
    const r = router([
      ["/<category>", "category", { defaults: { page: 1 } }],
      ["/<category>/page/<int:page>", "category"],
      ["/войти/", "enter"],
      ["/foo+bar/", "foobar"],
    ]);
    assert.equal(m(r, "/foo bar/page/1"), "redirect /foo%20bar");
    assert.equal(m(r, "/войти"), "redirect /%D0%B2%D0%BE%D0%B9%D1%82%D0%B8/");
    assert.deepEqual(m(r, "/войти/"), ["enter", {}]);
    assert.equal(m(r, "/foo+bar"), "redirect /foo+bar/");
    assert.equal(r.build("enter"), "/%D0%B2%D0%BE%D0%B9%D1%82%D0%B8/");
    assert.equal(r.build("foobar"), "/foo+bar/");
  });

  test("test_method_fallback, test_implicit_head, test_allowed_methods_querying", () => {
    const r = router([
      ["/", "index"],
      ["/<name>", "hello_name"],
      ["/select", "hello_select", { methods: ["POST"] }],
      ["/search_get", "search"],
      ["/search_post", "search", { methods: ["POST"] }],
      ["/post", "b", { methods: ["POST"] }],
    ]);
    assert.equal(r.build("index", {}, { method: "GET" }), "/");
    assert.equal(r.build("hello_name", { name: "foo" }), "/foo");
    assert.equal(r.build("hello_select"), "/select");
    assert.equal(r.build("search"), "/search_get");
    assert.equal(r.build("search", {}, { method: "POST" }), "/search_post");
    assert.deepEqual(
      m(r, "/post", "HEAD"),
      ["hello_name", { name: "post" }],
      "POST-only /post: HEAD falls to /<name>",
    );
    assert.equal(m(r, "/select", "PUT"), "405 GET,HEAD,OPTIONS,POST");
    const q = router([
      ["/<foo>", "x", { methods: ["GET", "HEAD"] }],
      ["/foo", "y", { methods: ["POST"] }],
    ]);
    assert.deepEqual(q.allowedMethods("/foo"), ["GET", "HEAD", "OPTIONS", "POST"]);
    assert.deepEqual(m(q, "/foo", "HEAD"), ["x", { foo: "foo" }]);
  });
});

test("redirectTo (a rule-syntax template or a function) and buildOnly rules", () => {
  const r = router([
    ["/old/<int:id>", "old", { redirectTo: "/new/<id>" }],
    ["/legacy/<path:p>", "legacy", { redirectTo: "/files/<path:p>" }],
    ["/rel/<name>", "rel", { redirectTo: "../<name>/x" }],
    ["/fn/<int:id>", "fn", { redirectTo: (p) => `/users/${(p.id as number) * 2}` }],
    ["/external/<int:id>", "ext", { buildOnly: true }],
    ["/new/<int:id>", "new"],
  ]);
  assert.equal(m(r, "/old/5", "GET", "q=1"), "redirect /new/5");
  assert.equal(m(r, "/legacy/a b/c"), "redirect /files/a%20b/c");
  assert.equal(m(r, "/rel/zé"), "redirect ../z%C3%A9/x");
  assert.equal(m(r, "/fn/21"), "redirect /users/42");
  assert.equal(m(r, "/external/1"), 404, "a build-only rule never matches");
  assert.equal(r.build("ext", { id: 1 }), "/external/1");
  assert.equal(r.build("old", { id: 2 }), "/old/2");
  assert.throws(
    () =>
      new Router<null>().add("/x", { endpoint: "x", methods: ["GET"], data: null, redirectTo: 3 as never }),
    /redirectTo must be a string or a function/,
  );
});

test("decodePath decodes once, UTF-8, and reports malformed input as undefined", () => {
  assert.equal(decodePath("/a/b"), "/a/b");
  assert.equal(
    decodePath("/caf%C3%A9/%2F/%2525"),
    "/café///%25",
    "%2F is a slash; %2525 decodes once to %25",
  );
  for (const bad of ["/%", "/%2", "/%zz", "/%C3", "/%C3%28", "/%ED%A0%80", "/%C0%AF"]) {
    assert.equal(decodePath(bad), undefined, bad);
  }
});

test("params are plain objects of the rule's names, also where code generation is disallowed", async () => {
  const { spawnSync } = await import("node:child_process");
  const script = `
    import { Router } from "./src/app/routing/index.ts";
    const r = new Router();
    r.add("/u/<int:id>/<name>", { endpoint: "u", methods: ["GET"], data: 0 });
    r.add("/p/<constructor>/<toString>", { endpoint: "p", methods: ["GET"], data: 0 });
    r.add("/s", { endpoint: "s", methods: ["GET"], data: 0, defaults: { page: 1 } });
    const out = ["/u/7/ann", "/p/a/b", "/s"].map((p) => {
      const m = r.match(p, "GET");
      return m.kind === "match" ? { proto: Object.getPrototypeOf(m.params) === Object.prototype, keys: Object.keys(m.params), params: m.params } : m.kind;
    });
    console.log(JSON.stringify(out));
  `;
  const expected: unknown[] = [
    { proto: true, keys: ["id", "name"], params: { id: 7, name: "ann" } },
    { proto: true, keys: ["constructor", "toString"], params: { constructor: "a", toString: "b" } },
    { proto: true, keys: ["page"], params: { page: 1 } },
  ];
  for (const flags of [[], ["--disallow-code-generation-from-strings"]]) {
    const r = spawnSync(
      process.execPath,
      [...flags, "--import", "tsx", "--conditions=phial-source", "--input-type=module", "-e", script],
      { encoding: "utf8", timeout: 20_000 },
    );
    assert.equal(r.status, 0, `flags ${flags.join(" ")}: stderr ${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout), expected, `flags: ${flags.join(" ") || "none"}`);
  }
});
