// Return values and Response objects as a Flask user writes them.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DefaultJsonProvider,
  Headers,
  jsonify,
  makeResponse,
  Response,
  redirect,
  request,
  safeRedirect,
} from "phial";
import { makeApp } from "./helpers.ts";

describe("return values", () => {
  const { app, logs } = makeApp();
  app.get("/str", () => "<b>hi</b>");
  app.get("/bytes", () => new Uint8Array([0, 1, 2]));
  app.get("/buf", () => Buffer.from("buf"));
  app.get("/obj", () => ({ a: 1, nested: { b: [1, 2] } }));
  app.get("/arr", () => jsonify([1, 2, 3]));
  app.get("/args", () => jsonify(1, "two"));
  app.get("/bare-array", () => [1, 2, 3] as never);
  app.get("/status", () => ["created", 201]);
  app.get("/custom", () => ["odd", "299 Custom Reason"]);
  app.get("/hdrs", () => ["with headers", { "X-A": "1" }]);
  app.get("/pairs", () => [
    "pairs",
    [
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
    ],
  ]);
  app.get("/all3", () => [{ ok: true }, 202, new Headers({ "X-B": "2" })]);
  app.get("/amend", () => [
    new Response("r", { status: 200, headers: { "X-Old": "1" } }),
    418,
    { "X-Old": "2" },
  ]);
  app.get("/ct", () => ["plain", 200, { "Content-Type": "text/plain" }]);
  app.get("/undef", (() => undefined) as never);
  app.get("/number", (() => 42) as never);
  app.get("/async", async () => {
    await new Promise((r) => setTimeout(r, 1));
    return ["later", 203];
  });
  const c = app.testClient();

  test("a string is text/html; charset=utf-8", async () => {
    const r = await c.get("/str");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(r.text, "<b>hi</b>");
  });

  test("bytes are sent as they are", async () => {
    assert.deepEqual([...(await c.get("/bytes")).data], [0, 1, 2]);
    assert.equal((await c.get("/buf")).text, "buf");
  });

  test("a plain object is JSON", async () => {
    const r = await c.get("/obj");
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.deepEqual(r.json, { a: 1, nested: { b: [1, 2] } });
  });

  test("jsonify for arrays and several values", async () => {
    assert.deepEqual((await c.get("/arr")).json, [1, 2, 3]);
    assert.deepEqual((await c.get("/args")).json, [1, "two"]);
  });

  test("a bare array is a tuple, so a JSON array is a clear error", async () => {
    const r = await c.get("/bare-array");
    assert.equal(r.status, 500);
    assert.match(String(logs.at(-1)?.error), /wrap JSON arrays in jsonify\(\)/i);
  });

  test("[body, status], custom reason, [body, headers], [body, status, headers]", async () => {
    const s = await c.get("/status");
    assert.equal(s.status, 201);
    assert.equal(s.text, "created");
    const cu = await c.get("/custom");
    assert.equal(cu.status, 299);
    assert.equal(cu.statusText, "Custom Reason");
    const h = await c.get("/hdrs");
    assert.equal(h.status, 200);
    assert.equal(h.headers.get("x-a"), "1");
    assert.deepEqual((await c.get("/pairs")).headers.getSetCookie(), ["a=1", "b=2"]);
    const a3 = await c.get("/all3");
    assert.equal(a3.status, 202);
    assert.equal(a3.headers.get("x-b"), "2");
    assert.deepEqual(a3.json, { ok: true });
  });

  test("a tuple amends a Response body; its headers replace same-named ones", async () => {
    const r = await c.get("/amend");
    assert.equal(r.status, 418);
    assert.deepEqual(r.headers.getAll("x-old"), ["2"]);
    assert.equal((await c.get("/ct")).headers.get("content-type"), "text/plain");
  });

  test("returning nothing is a 500 whose log names the route", async () => {
    const r = await c.get("/undef");
    assert.equal(r.status, 500);
    const e = logs.find((l) => String(l.error).includes("did not return a valid response"));
    assert.ok(e);
    assert.match(String(e.error), /"GET \/undef" \(\/undef\)/);
  });

  test("returning a number is a 500 naming the route and what to return", async () => {
    const r = await c.get("/number");
    assert.equal(r.status, 500);
    assert.match(String(logs.at(-1)?.error), /GET \/number.*returned a number/);
  });

  test("async handlers", async () => {
    const r = await c.get("/async");
    assert.equal(r.status, 203);
    assert.equal(r.text, "later");
  });
});

describe("Response and helpers", () => {
  test("new Response with status, headers, mimetype, contentType", () => {
    const r = new Response("x", { status: 201, headers: { A: "1" } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("a"), "1");
    assert.equal(r.contentType, "text/html; charset=utf-8");
    assert.equal(new Response("x", { mimetype: "text/csv" }).contentType, "text/csv; charset=utf-8");
    assert.equal(new Response("x", { mimetype: "image/png" }).contentType, "image/png");
    assert.equal(new Response("x", { contentType: "text/x; y=z" }).contentType, "text/x; y=z");
    assert.equal(new Response().contentType, "text/html; charset=utf-8", "always a type, as Werkzeug");
  });

  test("headers: set/append/get/getAll/delete/has keep name case; CR/LF refused", () => {
    const h = new Headers();
    h.set("X-Trace", "1").append("x-trace", "2").append("Other", 3);
    assert.deepEqual(h.getAll("X-TRACE"), ["1", "2"]);
    assert.deepEqual([...h.keys()], ["X-Trace", "x-trace", "Other"]);
    h.set("x-trace", "3");
    assert.deepEqual(
      [...h],
      [
        ["x-trace", "3"],
        ["Other", "3"],
      ],
    );
    h.delete("OTHER");
    assert.equal(h.has("other"), false);
    assert.throws(() => h.set("X", "a\r\nSet-Cookie: evil=1"), /"X".*CR or LF/);
    assert.throws(() => h.append("Bad Name", "v"), /header name/);
    assert.throws(() => h.set("X", "a\0b"), /control character/);
  });

  test("getData, setData and json let afterRequest hooks read and rewrite bodies", async () => {
    const { app } = makeApp();
    app.get("/", () => ({ n: 1 }));
    app.get("/s", function* () {
      yield "x";
    });
    app.afterRequest((res) => {
      if (res.isStreamed) return;
      const j = res.json as { n: number } | undefined;
      if (j !== undefined) res.setData(JSON.stringify({ n: j.n + 1 }));
      else res.setData(`${res.getData({ asText: true })}!`);
    });
    app.get("/t", () => "text");
    const c = app.testClient();
    assert.deepEqual((await c.get("/")).json, { n: 2 });
    assert.equal((await c.get("/t")).text, "text!");
    assert.equal((await c.get("/s")).text, "x");
    assert.throws(() => new Response((function* () {})()).getData(), /stream/);
    assert.deepEqual([...new Response(new Uint8Array([1, 2])).getData()], [1, 2]);
  });

  test("makeResponse(body, status, headers), including objects", () => {
    const r = makeResponse({ a: 1 }, 201, { "X-A": "1" });
    assert.equal(r.status, 201);
    assert.equal(r.contentType, "application/json");
    assert.equal(r.body, '{"a":1}');
    const same = new Response("x");
    assert.equal(makeResponse(same, 404), same);
    assert.equal(same.status, 404);
    assert.throws(() => makeResponse([1, 2] as never), /jsonify/);
  });

  test("redirect keeps relative locations, escapes the body, 302 by default", async () => {
    const r = redirect('/next?x=<script>&y="1"');
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), '/next?x=<script>&y="1"');
    assert.doesNotMatch(String(r.body), /<script>/);
    assert.match(String(r.body), /&lt;script&gt;/);
    assert.equal(redirect("/a", 301).status, 301);
    assert.equal(redirect("/ünï").headers.get("location"), "/%C3%BCn%C3%AF");
    assert.throws(() => redirect("/a\r\nSet-Cookie: x=1"), /CR, LF/);
  });

  test("setCookie / deleteCookie: maxAge in seconds, expires a Date, flags", () => {
    const r = new Response("x");
    r.setCookie("id", "a b;c".replace(";", ","), {
      maxAge: 3600,
      httpOnly: true,
      secure: true,
      sameSite: "Lax",
    });
    r.setCookie("when", "1", {
      expires: new Date(Date.UTC(2030, 0, 1)),
      path: "/app",
      domain: "example.com",
    });
    r.deleteCookie("old");
    const [id, when, gone] = r.headers.getSetCookie();
    // Werkzeug's order and quoting; maxAge also writes Expires (now + 3600 s)
    assert.match(
      id!,
      /^id="a b\\054c"; Expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} [\d:]{8} GMT; Max-Age=3600; Secure; HttpOnly; Path=\/; SameSite=Lax$/,
    );
    assert.equal(when, "when=1; Domain=example.com; Expires=Tue, 01 Jan 2030 00:00:00 GMT; Path=/app");
    assert.equal(gone, "old=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/");
    assert.throws(() => r.setCookie("bad name", "x"), /token/);
    assert.throws(() => r.setCookie("x", "y", { path: "/a; Domain=evil" }), /path/);
  });
});

describe("streamed bodies", () => {
  const { app } = makeApp();
  app.get("/gen", function* () {
    yield "a";
    yield Buffer.from("b");
  });
  app.get("/agen", async function* () {
    yield "x:";
    await new Promise((r) => setTimeout(r, 1));
    yield request.args.get("v") ?? "none";
  });
  app.get("/web", () => {
    const enc = new TextEncoder();
    return new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode("web "));
        c.enqueue(enc.encode("stream"));
        c.close();
      },
    });
  });
  app.get("/sized", () => {
    async function* body() {
      yield "12345";
    }
    const r = new Response(body(), { mimetype: "text/plain" });
    r.contentLength = 5;
    return r;
  });
  const c = app.testClient();

  test("sync and async generators and web streams are streamed", async () => {
    assert.equal((await c.get("/gen")).text, "ab");
    assert.equal((await c.get("/web")).text, "web stream");
  });

  test("a streamed body runs inside the request's context", async () => {
    assert.equal((await c.get("/agen?v=ctx")).text, "x:ctx");
  });

  test("a stream with a known length keeps its Content-Length", async () => {
    const r = await c.get("/sized");
    assert.equal(r.headers.get("content-length"), "5");
    assert.equal(r.text, "12345");
    assert.equal(r.response.isStreamed, true);
  });
});

describe("app.json", () => {
  test("the default: compact, insertion order, UTF-8, ISO dates, bigint as string, Map and Set", async () => {
    const { app } = makeApp();
    app.get("/", () => ({
      z: 1,
      a: "深圳",
      d: new Date(Date.UTC(2026, 11, 1, 13, 25, 31)),
      big: 2n ** 64n,
      m: new Map([["k", 1]]),
      s: new Set([1, 2]),
    }));
    const r = await app.testClient().get("/");
    assert.equal(
      r.text,
      '{"z":1,"a":"深圳","d":"2026-12-01T13:25:31.000Z","big":"18446744073709551616","m":{"k":1},"s":[1,2]}',
    );
  });

  test("Maps and Sets without a bigint, nested or top-level; an empty object and a '{}' string stay as they are", async () => {
    const { app } = makeApp();
    app.get("/nested", () => ({ list: [{ m: new Map([["a", [1]]]) }], s: new Set(["x"]) }));
    app.get("/map", () => jsonify(new Map([["k", { n: 1 }]])));
    app.get("/empty", () => ({ e: {}, t: "{}", a: [{}] }));
    app.get("/bigint-deep", () => ({ a: [{ b: 5n }] }));
    const c = app.testClient();
    assert.equal((await c.get("/nested")).text, '{"list":[{"m":{"a":[1]}}],"s":["x"]}');
    assert.equal((await c.get("/map")).text, '{"k":{"n":1}}');
    assert.equal((await c.get("/empty")).text, '{"e":{},"t":"{}","a":[{}]}');
    assert.equal((await c.get("/bigint-deep")).text, '{"a":[{"b":"5"}]}');
  });

  test("a Flask-exact provider: sorted keys, ASCII only, HTTP dates, trailing newline", async () => {
    const { app } = makeApp();
    app.json = DefaultJsonProvider.flask();
    app.get("/", () =>
      jsonify({ z: { y: 1, b: 2 }, a: "深圳", d: new Date(Date.UTC(2026, 11, 1, 13, 25, 31)) }),
    );
    const r = await app.testClient().get("/");
    assert.equal(r.text, '{"a":"\\u6df1\\u5733","d":"Tue, 01 Dec 2026 13:25:31 GMT","z":{"b":2,"y":1}}\n');
  });

  test("a custom provider is used by jsonify, object returns and req.json", async () => {
    const { app } = makeApp();
    app.json = {
      mimetype: "application/vnd.x+json",
      dumps: (v) => `X${JSON.stringify(v)}`,
      loads: (t) => ({ parsed: t }),
    };
    app.post("/", (req) => req.json as Record<string, unknown>);
    const r = await app.testClient().post("/", { data: "raw", contentType: "application/json" });
    assert.equal(r.headers.get("content-type"), "application/vnd.x+json");
    assert.equal(r.text, 'X{"parsed":"raw"}');
  });
});

describe("safeRedirect", () => {
  test("refuses open-redirect targets, allows this site and listed hosts", async () => {
    const { app } = makeApp();
    app.get("/login", (req) =>
      safeRedirect(req.args.get("next") ?? "/", { allowHosts: ["sso.example.com"] }),
    );
    const c = app.testClient();
    const go = async (next: string) =>
      (await c.get("/login", { query: { next }, headers: { Host: "shop.test" } })).headers.get("location");
    assert.equal(await go("/account?tab=1"), "/account?tab=1");
    assert.equal(await go("orders"), "orders");
    assert.equal(await go("https://shop.test/x"), "https://shop.test/x");
    assert.equal(await go("https://sso.example.com/cb"), "https://sso.example.com/cb");
    for (const evil of [
      "//evil.com",
      "///evil.com",
      "/\\evil.com",
      "\\\\evil.com",
      "https://evil.com/",
      "javascript:alert(1)",
      "data:text/html,x",
      "/a\r\nSet-Cookie: x=1",
      " //evil.com",
      "https://shop.test.evil.com/",
    ]) {
      assert.equal(await go(evil), "/", JSON.stringify(evil));
    }
  });
});

describe("several apps in one process", () => {
  test("each app's JSON provider serves its own object returns, async ones included", async () => {
    const a = makeApp().app;
    const b = makeApp().app;
    a.json = new DefaultJsonProvider({ indent: 1 });
    a.get("/", async () => {
      await null;
      return { x: 1 };
    });
    b.get("/", () => ({ x: 1 }));
    assert.equal((await a.testClient().get("/")).text, '{\n "x": 1\n}');
    assert.equal((await b.testClient().get("/")).text, '{"x":1}');
  });
});
