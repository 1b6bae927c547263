// Routes as a Flask user writes them, exercised through the test client: methods, converters, typed
// params, trailing slashes, 404/405, automatic HEAD/OPTIONS, percent-decoding, urlFor.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BuildError, Phial, patternConverter, type Request, urlFor } from "phial";
import { makeApp } from "./helpers.ts";

describe("registering routes", () => {
  test("route() without methods means GET (and HEAD); shorthands register one method each", async () => {
    const { app } = makeApp();
    app.route("/r", (req) => `route ${req.method}`);
    app.get("/m", () => "get");
    app.post("/m", () => "post");
    app.put("/m", () => "put");
    app.patch("/m", () => "patch");
    app.delete("/m", () => "delete");
    const c = app.testClient();
    assert.equal((await c.get("/r")).text, "route GET");
    assert.equal((await c.post("/r")).status, 405);
    for (const m of ["get", "post", "put", "patch", "delete"] as const) {
      assert.equal((await c[m]("/m")).text, m);
    }
  });

  test("route() with several methods serves them all from one handler", async () => {
    const { app } = makeApp();
    app.route("/both", { methods: ["GET", "post"], endpoint: "both" }, (req) => req.method);
    const c = app.testClient();
    assert.equal((await c.get("/both")).text, "GET");
    assert.equal((await c.post("/both")).text, "POST");
    assert.equal(app.urlFor("both"), "/both");
  });

  test("endpoints: option, else function name, else METHOD /rule", () => {
    const { app } = makeApp();
    app.get("/a", { endpoint: "alpha" }, () => "a");
    app.get("/b", function beta() {
      return "b";
    });
    const gamma = () => "c";
    app.get("/c", gamma);
    app.get("/d", () => "d");
    assert.equal(app.urlFor("alpha"), "/a");
    assert.equal(app.urlFor("beta"), "/b");
    assert.equal(app.urlFor("gamma"), "/c");
    assert.equal(app.urlFor("GET /d"), "/d");
  });

  test("another handler under a taken endpoint throws at registration", () => {
    const { app } = makeApp();
    app.get("/a", function index() {
      return "a";
    });
    assert.throws(
      () =>
        app.get("/b", function index() {
          return "b";
        }),
      /endpoint "index" is already used/,
    );
  });

  test("one handler may serve several rules, with defaults", async () => {
    const { app } = makeApp();
    function page(req: Request<{ page: number }>) {
      return `page ${req.params.page}`;
    }
    app.get("/page/", { defaults: { page: 1 } }, page);
    app.get("/page/<int:page>", page);
    const c = app.testClient();
    assert.equal((await c.get("/page/")).text, "page 1");
    assert.equal((await c.get("/page/7")).text, "page 7");
    // Werkzeug: the URL equal to the defaults redirects to the rule that has them
    const r = await c.get("/page/1");
    assert.equal(r.status, 308);
    assert.equal(r.headers.get("location"), "/page/");
    assert.equal(app.urlFor("page"), "/page/");
    assert.equal(app.urlFor("page", { page: 3 }), "/page/3");
  });

  test("a shorthand refuses a methods option", () => {
    const { app } = makeApp();
    assert.throws(() => app.get("/x", { methods: ["POST"] } as never, () => "x"), /takes no `methods`/);
  });
});

describe("converters and typed params", () => {
  const { app } = makeApp();
  app.get("/user/<int:id>", (req) => {
    const id: number = req.params.id;
    return { id, type: typeof id };
  });
  app.get("/price/<float:p>", (req) => ({ p: req.params.p }));
  app.get("/files/<path:name>", (req) => req.params.name);
  app.get("/u/<uuid:key>", (req) => req.params.key);
  app.get("/tab/<any(about, help):tab>", (req) => {
    const t: "about" | "help" = req.params.tab;
    return t;
  });
  app.get("/name/<name>", (req) => req.params.name);
  app.get("/code/<string(length=3):code>", (req) => req.params.code);
  app.get("/delta/<int(signed=True):d>", (req) => ({ d: req.params.d }));
  const c = app.testClient();

  test("int gives a number; a non-number does not match", async () => {
    assert.deepEqual((await c.get("/user/42")).json, { id: 42, type: "number" });
    assert.equal((await c.get("/user/abc")).status, 404);
    assert.equal((await c.get("/user/-1")).status, 404);
  });

  test("int beyond MAX_SAFE_INTEGER does not match", async () => {
    assert.equal((await c.get("/user/9007199254740993")).status, 404);
  });

  test("float, path, uuid, any, string(length), int(signed)", async () => {
    assert.deepEqual((await c.get("/price/1.5")).json, { p: 1.5 });
    assert.equal((await c.get("/files/a/b/c.txt")).text, "a/b/c.txt");
    assert.equal(
      (await c.get("/u/123e4567-e89b-12d3-a456-426614174000")).text,
      "123e4567-e89b-12d3-a456-426614174000",
    );
    assert.equal((await c.get("/u/not-a-uuid")).status, 404);
    assert.equal((await c.get("/tab/help")).text, "help");
    assert.equal((await c.get("/tab/other")).status, 404);
    assert.equal((await c.get("/code/abc")).text, "abc");
    assert.equal((await c.get("/code/abcd")).status, 404);
    assert.deepEqual((await c.get("/delta/-5")).json, { d: -5 });
  });

  test("the default converter takes one segment, no slash", async () => {
    assert.equal((await c.get("/name/x")).text, "x");
    assert.equal((await c.get("/name/x/y")).status, 404);
  });

  test("paths are percent-decoded once, as UTF-8", async () => {
    assert.equal((await c.get("/name/caf%C3%A9")).text, "café");
    assert.equal((await c.get("/name/a%20b")).text, "a b");
    assert.equal((await c.get("/files/%E6%B7%B1%E5%9C%B3/x")).text, "深圳/x");
    // %25 decodes to a literal percent, not a second round of decoding
    assert.equal((await c.get("/name/100%2541")).text, "100%41");
  });

  test("malformed escapes and bad UTF-8 are tolerated as in Werkzeug", async () => {
    assert.equal((await c.get("/name/%zz")).text, "%zz");
    assert.equal((await c.get("/name/%FF")).text, "\uFFFD");
  });
});

describe("trailing slashes, 404, 405, HEAD, OPTIONS", () => {
  const { app } = makeApp();
  app.get("/projects/", () => "projects");
  app.get("/about", () => "about");
  app.route("/thing", { methods: ["GET", "POST"] }, (req) => `thing ${req.method}`);
  app.route("/opts", { methods: ["GET", "OPTIONS"] }, (req) => `own ${req.method}`);
  app.get("/lax", { strictSlashes: false }, () => "lax");
  const c = app.testClient();

  test("a branch rule /x/ redirects /x with 308, keeping the query", async () => {
    const r = await c.get("/projects?page=2");
    assert.equal(r.status, 308);
    assert.equal(r.headers.get("location"), "/projects/?page=2");
    assert.equal((await c.get("/projects/")).text, "projects");
  });

  test("a leaf rule /x is exact: /x/ is a 404", async () => {
    assert.equal((await c.get("/about")).text, "about");
    assert.equal((await c.get("/about/")).status, 404);
  });

  test("strictSlashes: false matches with and without the slash", async () => {
    assert.equal((await c.get("/lax")).text, "lax");
    assert.equal((await c.get("/lax/")).text, "lax");
  });

  test("repeated slashes redirect to the merged path", async () => {
    const r = await c.get("//about");
    assert.equal(r.status, 308);
    assert.equal(r.headers.get("location"), "/about");
  });

  test("an unknown URL is a 404 with Werkzeug's page", async () => {
    const r = await c.get("/nope");
    assert.equal(r.status, 404);
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(r.text, /<title>404 Not Found<\/title>/);
    assert.match(r.text, /The requested URL was not found on the server/);
  });

  test("a known URL with another method is a 405 with Allow", async () => {
    const r = await c.delete("/thing");
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
    assert.match(r.text, /405 Method Not Allowed/);
  });

  test("HEAD is served by the GET handler, without a body", async () => {
    const r = await c.head("/about");
    assert.equal(r.status, 200);
    assert.equal(r.text, "");
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
  });

  test("OPTIONS is answered automatically with Allow", async () => {
    const r = await c.options("/thing");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
    assert.equal(r.text, "");
  });

  test("a route that lists OPTIONS handles it itself", async () => {
    assert.equal((await c.options("/opts")).text, "own OPTIONS");
  });

  test("provideAutomaticOptions: false makes OPTIONS a 405", async () => {
    const { app } = makeApp();
    app.get("/x", { provideAutomaticOptions: false }, () => "x");
    const r = await app.testClient().options("/x");
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "GET, HEAD");
  });
});

describe("urlFor", () => {
  const { app } = makeApp({ config: { serverName: "example.com" } });
  app.get("/user/<int:id>", function profile(req) {
    return req.params.id.toString();
  });
  app.get("/", function index() {
    return [
      urlFor("profile", { id: 3 }),
      urlFor("profile", { id: 3, _external: true }),
      app.urlFor("index", { q: "a b", tag: ["x", "y"] }),
    ].join("\n");
  });
  app.get("/files/<path:p>", function files(req) {
    return req.params.p;
  });

  test("params fill the rule; extra keys become the query string (arrays repeat)", () => {
    assert.equal(app.urlFor("profile", { id: 3 }), "/user/3");
    assert.equal(app.urlFor("profile", { id: 3, tab: "posts" }), "/user/3?tab=posts");
    assert.equal(app.urlFor("index", { tag: ["a", "b"] }), "/?tag=a&tag=b");
    assert.equal(app.urlFor("files", { p: "a b/ü.txt" }), "/files/a%20b/%C3%BC.txt");
  });

  test("_anchor and _external outside a request use serverName and preferredUrlScheme", () => {
    assert.equal(app.urlFor("profile", { id: 1, _anchor: "top" }), "/user/1#top");
    assert.equal(app.urlFor("profile", { id: 1, _external: true }), "http://example.com/user/1");
    assert.equal(
      app.urlFor("profile", { id: 1, _scheme: "https", _external: true }),
      "https://example.com/user/1",
    );
  });

  test("inside a request, _external uses the request's host and scheme", async () => {
    const r = await app.testClient().get("/", { headers: { Host: "shop.test:8080" }, secure: true });
    assert.deepEqual(r.text.split("\n"), ["/user/3", "https://shop.test:8080/user/3", "/?q=a+b&tag=x&tag=y"]);
  });

  test("a built query string reads back as the values given (a space is +, a plus is %2B)", async () => {
    const { app } = makeApp();
    app.get("/search", function search(req) {
      return { q: req.args.get("q"), all: req.args.getAll("t"), "k y": req.args.get("k y") };
    });
    const values = { q: "a b+c&d=e#f%g é", t: ["x y", "1+1"], "k y": "?/:@" };
    const url = app.urlFor("search", values);
    assert.equal(url, "/search?q=a+b%2Bc%26d%3De%23f%25g+%C3%A9&t=x+y&t=1%2B1&k+y=?/:@");
    assert.deepEqual((await app.testClient().get(url)).json, {
      q: values.q,
      all: values.t,
      "k y": values["k y"],
    });
  });

  test("_method picks the rule; applicationRoot prefixes every URL", () => {
    const { app } = makeApp();
    function item() {
      return "";
    }
    app.get("/item/<int:id>", item);
    app.post("/items", item);
    assert.equal(app.urlFor("item", { id: 1 }), "/item/1");
    assert.equal(app.urlFor("item", { _method: "POST" }), "/items");
    app.config.applicationRoot = "/shop/";
    assert.equal(app.urlFor("item", { id: 2 }), "/shop/item/2");
  });

  test("an unknown endpoint or a missing param throws BuildError", () => {
    assert.throws(() => app.urlFor("nope"), BuildError);
    assert.throws(
      () => app.urlFor("profile"),
      (e: unknown) => e instanceof BuildError && /id/.test(e.message),
    );
  });

  test("_external outside a request without serverName says what to set", () => {
    const { app } = makeApp();
    app.get("/", function home() {
      return "";
    });
    assert.throws(() => app.urlFor("home", { _external: true }), /serverName/);
  });

  test("the global urlFor works outside a request with the last app created", () => {
    const a = new Phial(import.meta.url, { fromEnv: false });
    a.get("/only-here", function onlyHere() {
      return "";
    });
    assert.equal(urlFor("onlyHere"), "/only-here");
  });
});

describe("redirectTo and buildOnly", () => {
  test("redirectTo answers 308 to the new URL; buildOnly rules only build", async () => {
    const { app } = makeApp();
    app.get("/old/<int:id>", { redirectTo: "/new/<id>" }, () => "never");
    app.get("/legacy/<name>", { redirectTo: (p) => `/new/${String(p.name).length}` }, () => "never");
    app.get("/new/<int:id>", (req) => `new ${req.params.id}`);
    app.get("/cdn/<path:f>", { endpoint: "cdn", buildOnly: true }, () => "never");
    const c = app.testClient();
    const r = await c.get("/old/5");
    assert.equal(r.status, 308);
    assert.equal(r.headers.get("location"), "/new/5");
    assert.equal((await c.get("/legacy/abc", { followRedirects: true })).text, "new 3");
    assert.equal(app.urlFor("cdn", { f: "a.js" }), "/cdn/a.js");
    assert.equal((await c.get("/cdn/a.js")).status, 404);
  });

  test("a throwing redirectTo function is a logged 500", async () => {
    const { app, logs } = makeApp();
    app.get(
      "/x",
      {
        redirectTo: () => {
          throw new Error("bad target");
        },
      },
      () => "never",
    );
    assert.equal((await app.testClient().get("/x")).status, 500);
    assert.match(String(logs[0]?.error), /bad target/);
  });
});

describe("app-level routing options", () => {
  test("custom converters, urlRules, strictSlashes/mergeSlashes defaults", async () => {
    const app = new Phial(import.meta.url, {
      fromEnv: false,
      strictSlashes: false,
      mergeSlashes: false,
      staticFolder: null, // no `static` rule in urlRules
    });
    app.addConverter("hexnum", () =>
      patternConverter({ pattern: /[0-9a-f]+/, parse: (s) => Number.parseInt(s, 16) }),
    );
    app.get("/color/<hexnum:c>", function color(req) {
      return { c: req.params.c as number };
    });
    app.get("/dir/", function dir() {
      return "dir";
    });
    const c = app.testClient();
    assert.deepEqual((await c.get("/color/ff")).json, { c: 255 });
    assert.equal((await c.get("/color/zz")).status, 404);
    assert.equal((await c.get("/dir")).text, "dir", "strictSlashes: false matches without the slash");
    assert.equal((await c.get("//dir/")).status, 404, "mergeSlashes: false does not redirect");
    assert.deepEqual(app.urlRules, [
      { rule: "/color/<hexnum:c>", endpoint: "color", methods: ["GET", "HEAD"] },
      { rule: "/dir/", endpoint: "dir", methods: ["GET", "HEAD"] },
    ]);
  });
});
