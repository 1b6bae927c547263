// The request as a Flask user reads it, through the test client.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { g, MultiDict, Request, request } from "phial";
import { makeApp } from "./helpers.ts";

function echoApp(view: (req: Request) => unknown) {
  const { app, logs } = makeApp();
  app.route("/<path:rest>", { methods: ["GET", "POST", "PUT", "DELETE"] }, (req) => view(req) as never);
  app.route("/", { methods: ["GET", "POST", "PUT"] }, (req) => view(req) as never);
  return { client: app.testClient(), app, logs };
}

describe("URL parts", () => {
  test("method, path, url, baseUrl, host, fullPath, queryString, scheme", async () => {
    const { client } = echoApp((req) => ({
      method: req.method,
      path: req.path,
      url: req.url,
      baseUrl: req.baseUrl,
      host: req.host,
      hostUrl: req.hostUrl,
      fullPath: req.fullPath,
      queryString: req.queryString,
      scheme: req.scheme,
      isSecure: req.isSecure,
    }));
    const r = await client.get("/caf%C3%A9/x?a=1&b=%20", { headers: { Host: "example.test:8000" } });
    assert.deepEqual(r.json, {
      method: "GET",
      path: "/café/x",
      url: "http://example.test:8000/caf%C3%A9/x?a=1&b=%20",
      baseUrl: "http://example.test:8000/caf%C3%A9/x",
      host: "example.test:8000",
      hostUrl: "http://example.test:8000/",
      fullPath: "/café/x?a=1&b=%20",
      queryString: "a=1&b=%20",
      scheme: "http",
      isSecure: false,
    });
    const s = await client.get("/", { secure: true });
    assert.equal((s.json as { url: string }).url, "https://localhost/");
  });

  test("remoteAddr is the peer; params, endpoint, urlRule, blueprint", async () => {
    const { app } = makeApp();
    app.get("/item/<int:id>", function item(req) {
      return {
        remoteAddr: req.remoteAddr,
        params: req.params,
        endpoint: req.endpoint,
        urlRule: req.urlRule,
        bp: req.blueprint ?? null,
      };
    });
    const r = await app
      .testClient()
      .get("/item/9", { remoteAddr: "10.1.2.3", headers: { "X-Forwarded-For": "6.6.6.6" } });
    assert.deepEqual(r.json, {
      remoteAddr: "10.1.2.3",
      params: { id: 9 },
      endpoint: "item",
      urlRule: "/item/<int:id>",
      bp: null,
    });
  });
});

describe("headers", () => {
  test("case-insensitive, repeats kept, names never conflated", async () => {
    const { client } = echoApp((req) => ({
      one: req.headers.get("x-token") ?? null,
      upper: req.headers.get("X-TOKEN") ?? null,
      all: req.headers.getAll("x-multi"),
      underscore: req.headers.get("x_custom") ?? null,
      dash: req.headers.get("x-custom") ?? null,
      has: req.headers.has("X-Token"),
      ua: req.userAgent,
    }));
    const r = await client.get("/", {
      headers: [
        ["X-Token", "abc"],
        ["X-Multi", "1"],
        ["X-Multi", "2"],
        ["X_Custom", "under"],
        ["User-Agent", "tester/1"],
      ],
    });
    assert.deepEqual(r.json, {
      one: "abc",
      upper: "abc",
      all: ["1", "2"],
      underscore: "under",
      dash: null,
      has: true,
      ua: "tester/1",
    });
  });

  test("request headers are read-only", async () => {
    const { client, logs } = echoApp((req) => {
      req.headers.set("x", "y");
      return "unreachable";
    });
    const r = await client.get("/");
    assert.equal(r.status, 500);
    assert.match(String(logs.find((l) => l.level === "error")?.error), /read-only/);
  });
});

describe("args (query string)", () => {
  test("a flat MultiDict: get, getAll, get with type and default, has, keys, toDict", async () => {
    const { client } = echoApp((req) => ({
      q: req.args.get("q") ?? null,
      all: req.args.getAll("tag"),
      page: req.args.get("page", { type: Number, default: 1 }),
      bad: req.args.get("n", { type: Number, default: 0 }),
      missing: req.args.get("nope") ?? null,
      has: req.args.has("empty"),
      empty: req.args.get("empty"),
      keys: [...req.args.keys()],
      dict: req.args.toDict(),
      nested: req.args.get("a[b]") ?? null,
    }));
    const r = await client.get("/?q=hello+world&tag=a&tag=b&page=3&n=abc&empty&a[b]=c&caf%C3%A9=%E2%82%AC");
    const j = r.json as Record<string, unknown>;
    assert.equal(j.q, "hello world");
    assert.deepEqual(j.all, ["a", "b"]);
    assert.equal(j.page, 3);
    assert.equal(j.bad, 0, "a failed conversion gives the default");
    assert.equal(j.missing, null);
    assert.equal(j.has, true);
    assert.equal(j.empty, "");
    assert.deepEqual(j.keys, ["q", "tag", "page", "n", "empty", "a[b]", "café"]);
    assert.equal((j.dict as Record<string, string>).tag, "a");
    assert.equal(j.nested, "c", "no bracket expansion: a[b] is just a key");
  });

  test("require() of a missing key is a 400 naming it", async () => {
    const { client } = echoApp((req) => req.args.require("token"));
    const r = await client.get("/");
    assert.equal(r.status, 400);
    assert.match(r.text, /token/);
    assert.equal((await client.get("/?token=t")).text, "t");
  });

  test("__proto__ is just a key", async () => {
    const { client } = echoApp((req) => ({
      v: req.args.get("__proto__") ?? null,
      dictProto: Object.getPrototypeOf(req.args.toDict()),
      polluted: ({} as Record<string, unknown>).polluted ?? null,
    }));
    const r = await client.get("/?__proto__=x&__proto__[polluted]=1&constructor=y");
    assert.deepEqual(r.json, { v: "x", dictProto: null, polluted: null });
  });

  test("more query arguments than maxFormParts is a 400", async () => {
    const { app } = makeApp({ config: { maxFormParts: 5 } });
    app.get("/", (req) => String(req.args.size));
    const c = app.testClient();
    assert.equal((await c.get("/?a=1&b=2&c=3&d=4&e=5")).text, "5");
    const r = await c.get("/?a=1&b=2&c=3&d=4&e=5&f=6");
    assert.equal(r.status, 400);
    assert.match(r.text, /more than 5/);
  });

  test("args is read-only", async () => {
    const { client } = echoApp((req) => {
      assert.throws(() => req.args.append("x", "y"), /read-only/);
      const copy = new MultiDict(req.args);
      copy.append("x", "y");
      return copy.get("x") ?? "";
    });
    assert.equal((await client.get("/?x=1")).text, "1");
  });
});

describe("form", () => {
  test("urlencoded fields with repeats, + and UTF-8", async () => {
    const { client } = echoApp((req) => ({
      user: req.form.get("user") ?? null,
      tags: req.form.getAll("tag"),
      note: req.form.get("note") ?? null,
    }));
    const r = await client.post("/", { form: { user: "张三", tag: ["x", "y"], note: "a b&c=d" } });
    assert.deepEqual(r.json, { user: "张三", tags: ["x", "y"], note: "a b&c=d" });
  });

  test("raw UTF-8 bytes in a form body decode too", async () => {
    const { client } = echoApp((req) => req.form.get("city") ?? "");
    const r = await client.post("/", {
      data: "city=深圳+市",
      contentType: "application/x-www-form-urlencoded",
    });
    assert.equal(r.text, "深圳 市");
  });

  test("a body of another type gives an empty form", async () => {
    const { client } = echoApp((req) => String(req.form.size));
    assert.equal((await client.post("/", { json: { a: 1 } })).text, "0");
  });

  test("values joins args then form (form ignored for GET)", async () => {
    const { client } = echoApp((req) => ({ k: req.values.getAll("k") }));
    const r = await client.post("/?k=arg", { form: { k: "form" } });
    assert.deepEqual(r.json, { k: ["arg", "form"] });
  });

  test("more fields than maxFormParts is a 413", async () => {
    const { app } = makeApp({ config: { maxFormParts: 3 } });
    app.post("/", (req) => String(req.form.size));
    const r = await app
      .testClient()
      .post("/", { data: "a=1&b=2&c=3&d=4", contentType: "application/x-www-form-urlencoded" });
    assert.equal(r.status, 413);
  });

  test("a form over maxFormMemorySize is a 413", async () => {
    const { app } = makeApp({ config: { maxFormMemorySize: 10 } });
    app.post("/", (req) => String(req.form.size));
    const r = await app.testClient().post("/", { form: { a: "x".repeat(20) } });
    assert.equal(r.status, 413);
  });
});

describe("json", () => {
  test("parsed for application/json and +json types", async () => {
    const { client } = echoApp((req) => ({ got: req.json as unknown, isJson: req.isJson }));
    assert.deepEqual((await client.post("/", { json: { a: [1, "x"] } })).json, {
      got: { a: [1, "x"] },
      isJson: true,
    });
    const r = await client.post("/", {
      data: '{"b":2}',
      contentType: "application/merge-patch+json; charset=utf-8",
    });
    assert.deepEqual(r.json, { got: { b: 2 }, isJson: true });
  });

  test("a malformed body is a 400", async () => {
    const { client } = echoApp((req) => ({ got: req.json as unknown }));
    const r = await client.post("/", { data: "{nope", contentType: "application/json" });
    assert.equal(r.status, 400);
    assert.match(r.text, /JSON/);
  });

  test("a non-JSON content type is a 415, also for a malformed Content-Type", async () => {
    const { client } = echoApp((req) => ({ got: req.json as unknown }));
    assert.equal((await client.post("/", { data: '{"a":1}', contentType: "text/plain" })).status, 415);
    assert.equal((await client.post("/", { data: '{"a":1}' })).status, 415);
    // Whitespace before ";" is allowed (OWS); anything else that is not a media type is not JSON
    // (the Fastify CVE-2025-32442 class of discrepancies).
    assert.equal(
      (await client.post("/", { data: '{"a":1}', contentType: "Application/JSON ; charset=utf-8" })).status,
      200,
    );
    assert.equal(
      (await client.post("/", { data: '{"a":1}', contentType: "application/json ;;x" })).status,
      415,
    );
    assert.equal(
      (await client.post("/", { data: '{"a":1}', contentType: "application/json\t;x=1" })).status,
      200,
    );
    assert.equal(
      (await client.post("/", { data: '{"a":1}', contentType: "application/json x" })).status,
      415,
    );
    assert.equal((await client.post("/", { data: '{"a":1}', contentType: "application /json" })).status, 415);
  });

  test("getJson({silent}) and getJson({force})", async () => {
    const { client } = echoApp((req) => ({
      silent: req.getJson({ silent: true }) ?? null,
      forced: req.getJson({ force: true, silent: true }) ?? null,
    }));
    const r = await client.post("/", { data: '{"a":1}', contentType: "text/plain" });
    assert.deepEqual(r.json, { silent: null, forced: { a: 1 } });
  });

  test("__proto__ keys are dropped", async () => {
    const { client } = echoApp((req) => {
      const v = req.json as Record<string, unknown>;
      return { keys: Object.keys(v), proto: Object.getPrototypeOf(v) === Object.prototype, inner: v.inner };
    });
    const r = await client.post("/", {
      data: '{"a":1,"__proto__":{"admin":true},"inner":{"__proto__":{"x":1},"ok":2}}',
      contentType: "application/json",
    });
    assert.deepEqual(r.json, { keys: ["a", "inner"], proto: true, inner: { ok: 2 } });
  });
});

describe("cookies", () => {
  test("parsed into a MultiDict; nameless pairs ignored; quoted values unescaped as Werkzeug; %XX kept", async () => {
    const { client } = echoApp((req) => ({ dict: req.cookies.toDict({ flat: false }), n: req.cookies.size }));
    const r = await client.get("/", {
      headers: { Cookie: 'a=1; b="quoted"; =evil; c=%E6%B7%B1; a=2; noeq; d="\\346\\267\\261"; e="q\\"q"' },
    });
    assert.deepEqual(r.json, {
      dict: { a: ["1", "2"], b: ["quoted"], c: ["%E6%B7%B1"], d: ["深"], e: ['q"q'] },
      n: 5,
    });
  });
});

describe("body", () => {
  test("data holds the raw bytes; getData({asText})", async () => {
    const { client } = echoApp((req) => ({
      len: req.data?.length ?? -1,
      text: req.getData({ asText: true }),
      cl: req.contentLength ?? null,
    }));
    const r = await client.put("/", { data: "héllo", contentType: "text/plain" });
    assert.deepEqual(r.json, { len: 6, text: "héllo", cl: 6 });
    assert.deepEqual((await client.get("/")).json, { len: -1, text: "", cl: null });
  });

  test("a body over maxContentLength is a 413 (declared or streamed)", async () => {
    const { app } = makeApp({ config: { maxContentLength: 8 } });
    let called = 0;
    app.post("/", () => {
      called++;
      return "ok";
    });
    const c = app.testClient();
    assert.equal((await c.post("/", { data: "12345678" })).status, 200);
    const r = await c.post("/", { data: "123456789" });
    assert.equal(r.status, 413);
    assert.match(r.text, /Request Entity Too Large|Content Too Large/);
    async function* chunks() {
      yield Buffer.from("12345");
      yield Buffer.from("67890");
    }
    assert.equal((await c.post("/", { data: chunks() })).status, 413);
    assert.equal(called, 1);
  });

  test("a route's own maxContentLength replaces the app's", async () => {
    const { app } = makeApp({ config: { maxContentLength: 4 } });
    app.post("/small", (req) => String(req.data?.length));
    app.post("/big", { maxContentLength: 10 }, (req) => String(req.data?.length));
    const c = app.testClient();
    assert.equal((await c.post("/small", { data: "12345" })).status, 413);
    assert.equal((await c.post("/big", { data: "1234567890" })).text, "10");
    assert.equal((await c.post("/big", { data: "12345678901" })).status, 413);
  });

  test("streamBody routes read req.stream() themselves, within the limit", async () => {
    const { app } = makeApp({ config: { maxContentLength: 10 } });
    app.post("/up", { streamBody: true }, async (req) => {
      assert.equal(req.data, undefined);
      let n = 0;
      const seen: number[] = [];
      for await (const chunk of req.stream()) {
        n += chunk.length;
        seen.push(chunk.length);
      }
      return { n, seen };
    });
    const c = app.testClient();
    async function* chunks(sizes: number[]) {
      for (const s of sizes) yield Buffer.alloc(s, 120);
    }
    assert.deepEqual((await c.post("/up", { data: chunks([3, 4]) })).json, { n: 7, seen: [3, 4] });
    assert.equal((await c.post("/up", { data: chunks([6, 6]) })).status, 413);
  });
});

describe("authorization", () => {
  test("Basic credentials (UTF-8), Bearer tokens, malformed values", async () => {
    const { client } = echoApp((req) => ({ auth: req.authorization ?? null }));
    const basic = Buffer.from("ünïcode:pa:ss", "utf8").toString("base64");
    assert.deepEqual((await client.get("/", { headers: { Authorization: `Basic ${basic}` } })).json, {
      auth: { type: "basic", username: "ünïcode", password: "pa:ss" },
    });
    assert.deepEqual((await client.get("/", { headers: { Authorization: "Bearer abc.def" } })).json, {
      auth: { type: "bearer", token: "abc.def" },
    });
    assert.deepEqual((await client.get("/", { headers: { Authorization: "Basic !!!" } })).json, {
      auth: null,
    });
    assert.deepEqual((await client.get("/")).json, { auth: null });
  });
});

describe("content negotiation", () => {
  test("mimetype, mimetypeParams, acceptMimetypes.bestMatch, acceptLanguages", async () => {
    const { client } = echoApp((req) => ({
      mimetype: req.mimetype,
      charset: req.mimetypeParams.charset ?? null,
      best: req.acceptMimetypes.bestMatch(["application/json", "text/html"]) ?? null,
      lang: req.acceptLanguages.bestMatch(["en", "fr", "zh-CN"]) ?? null,
    }));
    const r = await client.post("/", {
      data: "x",
      headers: {
        "Content-Type": "Text/Plain; Charset=UTF-8",
        Accept: "text/html;q=0.9, application/json",
        "Accept-Language": "zh-CN, fr;q=0.8",
      },
    });
    assert.deepEqual(r.json, {
      mimetype: "text/plain",
      charset: "UTF-8",
      best: "application/json",
      lang: "zh-CN",
    });
  });
});

describe("the global request and g", () => {
  test("work in sync and async views, hooks and across awaits", async () => {
    const { app } = makeApp();
    app.beforeRequest(async () => {
      await new Promise((r) => setImmediate(r));
      g.user = request.args.get("u");
    });
    app.get("/sync", () => `${String(g.user)} ${request.path}`);
    app.get("/async", async () => {
      await new Promise((r) => setTimeout(r, 1));
      await null;
      return `${String(g.user)} ${request.path} ${request.args.get("u")}`;
    });
    const c = app.testClient();
    const [a, b] = await Promise.all([c.get("/async?u=ann"), c.get("/sync?u=bob")]);
    assert.equal(a.text, "ann /async ann");
    assert.equal(b.text, "bob /sync");
  });

  test("concurrent async requests each see their own request", async () => {
    const { app } = makeApp();
    app.get("/<int:n>", async (req) => {
      await new Promise((r) => setTimeout(r, 5 - (req.params.n % 5)));
      return String(request.params.n);
    });
    const c = app.testClient();
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => c.get(`/${i}`)));
    assert.deepEqual(
      rs.map((r) => r.text),
      Array.from({ length: 10 }, (_, i) => String(i)),
    );
  });

  test("a sync view returning a promise chain keeps the context in its callbacks", async () => {
    const { app } = makeApp();
    app.get("/warm", async () => "async views switch AsyncLocalStorage on");
    app.get("/chain", () =>
      new Promise<void>((r) => setTimeout(r, 1)).then(() => `chained ${request.args.get("q") ?? ""}`),
    );
    const c = app.testClient();
    await c.get("/warm");
    assert.equal((await c.get("/chain?q=1")).text, "chained 1");
  });

  test("outside a request the globals throw a clear error", () => {
    assert.throws(() => request.path, /outside of request context/);
    assert.throws(() => g.x, /outside of request context/);
  });

  test("request instanceof Request inside a request", async () => {
    const { app } = makeApp();
    app.get("/", () => String(request instanceof Request));
    assert.equal((await app.testClient().get("/")).text, "true");
  });

  test("g is per request", async () => {
    const { app } = makeApp();
    app.get("/", () => {
      const before = g.count ?? 0;
      g.count = 1;
      return String(before);
    });
    const c = app.testClient();
    assert.equal((await c.get("/")).text, "0");
    assert.equal((await c.get("/")).text, "0");
  });
});
