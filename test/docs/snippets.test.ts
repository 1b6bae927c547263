// The docs can't silently rot: every TypeScript sample in docs/*.md is a region of a file in
// docs/snippets/ (type-checked with the project), the pages match those regions, and the apps of the
// samples answer as the pages say they do.

import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { get, post } from "phial/client";
import { createServer } from "phial/http";
import { DOCS, pages, syncPage } from "../../scripts/doc-snippets.ts";
import { RedisServer, redisSkip } from "../redis-support.ts";

// `app.run()` in the samples must not listen: under `phial run` it does nothing, and so here.
process.env.PHIAL_RUN_FROM_CLI = "1";

describe("the pages", () => {
  test("every ts sample has a marker and matches its region in docs/snippets", () => {
    const problems: string[] = [];
    for (const page of pages()) {
      const text = readFileSync(join(DOCS, page), "utf8");
      const r = syncPage(page, text);
      for (const p of r.problems) problems.push(`docs/${p.page}:${p.line}: ${p.message}`);
      if (r.text !== text) problems.push(`docs/${page}: out of date (run npx tsx scripts/doc-snippets.ts)`);
    }
    assert.deepEqual(problems, []);
  });

  test("the relative links between pages point at files that exist", () => {
    const missing: string[] = [];
    const all = pages().map((p) => join(DOCS, p));
    for (const file of all) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        try {
          readFileSync(join(file, "..", target));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EISDIR") continue;
          // docs/benchmarks.md and docs/deployment.md are written by other parts of the project.
          if (/(benchmarks|deployment)\.md$/.test(target)) continue;
          missing.push(`${file}: ${target}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });
});

describe("README.md", async () => {
  const { app } = await import("../../docs/snippets/readme.ts");
  const c = app.testClient();
  test("the quick start answers as its comments say", async () => {
    assert.equal((await c.get("/")).headers.get("content-type"), "text/html; charset=utf-8");
    assert.deepEqual((await c.get("/user/7")).json, { id: 7 });
    const ok = await c.post("/login", { form: { name: "admin" } });
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get("location"), "/user/1");
    assert.equal((await c.post("/login", { form: { name: "eve" } })).status, 401);
    assert.equal((await c.get("/ids")).text, "[1,2,3]");
  });
});

describe("flask.md", async () => {
  const { app } = await import("../../docs/snippets/flask.ts");
  const c = app.testClient();
  test("the ported app behaves as the Flask one", async () => {
    assert.equal((await c.get("/")).text, "<h1>1 posts</h1>");
    assert.deepEqual((await c.get("/posts/1")).json, { id: 1, title: "Hello" });
    assert.deepEqual((await c.get("/posts/9")).json, { error: "not found" });
    assert.equal((await c.get("/posts/9")).status, 404);
    const created = await c.post("/posts", { form: { title: "Second" } });
    assert.equal(created.headers.get("location"), "/posts/2");
    assert.equal((await c.get("/")).text, "<p>Created!</p><h1>2 posts</h1>");
    assert.equal((await c.get("/api/posts")).text, "[1,2]");
    assert.equal((await c.post("/posts")).status, 400);
  });
});

describe("quickstart.md", async () => {
  const { app } = await import("../../docs/snippets/quickstart.ts");
  const c = app.testClient();
  test("the first app and the next steps answer as shown", async () => {
    const home = await c.get("/");
    assert.equal(home.text, "<h1>Hello, Phial!</h1>");
    assert.equal(home.headers.get("content-type"), "text/html; charset=utf-8");
    assert.deepEqual((await c.get("/user/3")).json, { id: 3, name: "user 3" });
    assert.equal((await c.get("/user/x")).status, 404);
    assert.deepEqual((await c.post("/echo", { form: { name: "Ada" } })).json, { you: "Ada" });
    const tea = await c.get("/teapot");
    assert.equal(tea.status, 418);
    assert.equal(tea.headers.get("x-brew"), "earl grey");
  });
});

describe("routing.md", async () => {
  const { app } = await import("../../docs/snippets/routing.ts");
  const c = app.testClient();
  const text = async (p: string) => (await c.get(p)).text;
  test("methods, variables and converters", async () => {
    assert.equal((await c.post("/items", { form: { name: "pen" } })).status, 201);
    assert.equal((await c.post("/both")).text, "POST");
    assert.equal(await text("/user/bob"), "Hello, bob");
    assert.deepEqual((await c.get("/post/12")).json, { id: 12 });
    assert.deepEqual((await c.get("/price/1.25")).json, { cents: 125 });
    assert.equal(await text("/files/a/b.txt"), "a/b.txt");
    assert.equal((await c.get("/orders/not-a-uuid")).status, 404);
    assert.equal(await text("/view/grid"), "grid");
    assert.equal((await c.get("/view/tiles")).status, 404);
    assert.equal((await c.get("/code/abcd")).status, 404);
    assert.deepEqual((await c.get("/offset/-5")).json, { n: -5 });
  });
  test("trailing slashes, 405, HEAD and OPTIONS", async () => {
    const r = await c.get("/projects");
    assert.equal(r.status, 308);
    assert.equal(r.headers.get("location"), "/projects/");
    assert.equal((await c.get("/about/")).status, 404);
    const put = await c.put("/about");
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, HEAD, OPTIONS");
    assert.equal((await c.head("/about")).status, 200);
    assert.equal((await c.options("/about")).headers.get("allow"), "GET, HEAD, OPTIONS");
  });
  test("urlFor, defaults, custom converters and redirectTo", async () => {
    assert.deepEqual((await c.get("/links")).json, {
      profile: "/profile/7",
      withQuery: "/profile/7?tab=my+posts",
      prefs: "/settings#mail",
      external: "http://localhost/settings",
    });
    assert.equal(await text("/page/"), "page 1");
    assert.equal(await text("/page/4"), "page 4");
    assert.deepEqual((await c.get("/color/ff")).json, { value: 255 });
    const old = await c.get("/old/5");
    assert.equal(old.status, 308);
    assert.equal(old.headers.get("location"), "/post/5");
  });
  test("subdomains and hosts", async () => {
    const { site, hosts } = await import("../../docs/snippets/routing.ts");
    const s = site.testClient();
    const on = (host: string, p = "/") => s.get(p, { headers: { Host: host } });
    assert.equal((await on("example.com")).text, "the main site");
    assert.equal((await on("alice.example.com")).text, "alice's page");
    assert.equal((await on("api.example.com")).text, "the API");
    assert.equal((await on("example.com:8080")).status, 404);
    assert.equal((await on("alice.example.net")).status, 404);
    assert.deepEqual((await on("alice.example.com", "/links")).json, {
      home: "http://example.com/",
      mine: "/",
    });
    assert.deepEqual((await on("bob.example.com", "/links")).json, {
      home: "http://example.com/",
      mine: "http://alice.example.com/",
    });
    const h = hosts.testClient();
    assert.equal((await h.get("http://example.com/")).text, "main");
    assert.equal((await h.get("http://Tea.Shops.example.com/")).text, "shop tea");
    assert.deepEqual((await h.get("http://api.example.com:8443/v1/items")).json, { items: [] });
    assert.equal((await h.get("http://api.example.com/v1/items")).status, 404);
    assert.equal(hosts.urlFor("GET /v1/items @api.example.com:8443"), "http://api.example.com:8443/v1/items");
  });
});

describe("requests.md", async () => {
  const { app } = await import("../../docs/snippets/requests.ts");
  const c = app.testClient();
  test("forms: require is a 400, get with a type", async () => {
    const ok = await c.post("/signup?page=3", { form: { name: "Ada", age: "36" } });
    assert.deepEqual(ok.json, { name: "Ada", age: 36, page: "3" });
    assert.deepEqual((await c.post("/signup", { form: { name: "B", age: "x" } })).json, {
      name: "B",
      page: "1",
    });
    assert.equal((await c.post("/signup", { form: { age: "1" } })).status, 400);
  });
  test("query arguments", async () => {
    assert.deepEqual((await c.get("/search?q=x&tag=a&tag=b")).json, {
      q: "x",
      tags: ["a", "b"],
      has: false,
      all: { q: "x", tag: "a" },
    });
  });
  test("JSON: 415, 400 and silent", async () => {
    assert.equal((await c.post("/api/notes", { json: { title: "hi" } })).status, 201);
    assert.equal((await c.post("/api/notes", { json: { title: 3 } })).status, 400);
    assert.equal((await c.post("/api/notes", { data: "{bad", contentType: "application/json" })).status, 400);
    assert.equal((await c.post("/api/notes", { form: { title: "x" } })).status, 415);
    assert.deepEqual((await c.post("/api/lenient", { data: "[1]" })).json, { got: [1] });
    assert.deepEqual((await c.post("/api/lenient", { data: "nope" })).json, { got: null });
  });
  test("request properties and the global request", async () => {
    const who = (await c.get("/whoami?x=1", { headers: { Accept: "text/html" } })).json as Record<
      string,
      unknown
    >;
    assert.equal(who.path, "/whoami");
    assert.equal(who.fullPath, "/whoami?x=1");
    assert.equal(who.url, "http://localhost/whoami?x=1");
    assert.equal(who.prefers, "text/html");
    assert.equal(who.endpoint, "GET /whoami");
    assert.equal((await c.get("/flask-style")).text, "Hello from /flask-style");
  });
  test("a streamed body", async () => {
    assert.deepEqual((await c.put("/blob", { data: Buffer.alloc(5000) })).json, { bytes: 5000 });
  });
});

describe("responses.md", async () => {
  const { app, news, pretty, webRes } = await import("../../docs/snippets/responses.ts");
  const c = app.testClient();
  test("caching and conditional responses", async () => {
    const full = await c.get("/report");
    assert.equal(full.headers.get("cache-control"), "max-age=60, public");
    const etag = full.headers.get("etag")!;
    assert.match(etag, /^"[0-9a-f]{40}"$/);
    assert.equal((await c.get("/report", { headers: { "If-None-Match": etag } })).status, 304);
    const part = await c.get("/report", { headers: { Range: "bytes=4-9" } });
    assert.equal(part.status, 206);
    assert.equal(part.text, "report");
  });
  test("return values", async () => {
    assert.equal((await c.get("/")).headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal((await c.get("/api/user")).headers.get("content-type"), "application/json");
    assert.equal((await c.get("/api/list")).text, "[1,2,3]");
    const created = await c.get("/created");
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("location"), "/items/1");
    assert.equal((await c.get("/t1")).status, 404);
    assert.equal((await c.get("/t2")).headers.get("x-hello"), "world");
    const custom = await c.get("/t3");
    assert.equal(custom.status, 299);
    assert.equal(custom.statusText, "Fine Thanks");
    assert.deepEqual((await c.get("/t4")).headers.getAll("set-cookie"), ["a=1; Path=/", "b=2; Path=/"]);
  });
  test("Response, makeResponse, redirects, streams", async () => {
    assert.equal((await c.get("/csv")).headers.get("content-type"), "text/csv; charset=utf-8");
    const made = await c.get("/made");
    assert.equal(made.status, 202);
    assert.match(made.headers.get("set-cookie") ?? "", /^seen=1; Expires=[^;]+ GMT; Max-Age=3600; Path=\/$/);
    assert.equal((await c.get("/old")).headers.get("location"), "/new");
    assert.equal((await c.get("/moved")).status, 301);
    assert.equal((await c.get("/login-done?next=//evil.example")).headers.get("location"), "/");
    assert.equal((await c.get("/login-done?next=/ok")).headers.get("location"), "/ok");
    assert.equal((await c.get("/count")).text, "1\n2\n3\n");
    assert.equal((await c.get("/events")).headers.get("content-type"), "text/event-stream; charset=utf-8");
  });
  test("the SSE stream unsubscribes as soon as its client leaves", async () => {
    const until = async (what: string, cond: () => boolean) => {
      for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setImmediate(r));
      assert.ok(cond(), what);
    };
    const server = createServer(app.wireHandler);
    const port = (await server.listen(0, "127.0.0.1")).port;
    try {
      const s = connect(port, "127.0.0.1");
      s.setEncoding("latin1");
      let got = "";
      const first = new Promise<void>((resolve) => {
        s.on("data", (d: string) => {
          got += d;
          if (got.includes("\n\n", got.indexOf("data: "))) resolve();
        });
      });
      s.write("GET /news HTTP/1.1\r\nHost: a\r\n\r\n");
      await until("the stream subscribed", () => news.listenerCount("item") === 1);
      news.emit("item", { title: "hello" });
      await first;
      assert.match(got, /\r\nCache-Control: no-cache\r\n/);
      assert.match(got, /data: \{"title":"hello"\}\n\n/);
      s.destroy(); // no further event comes: the wait itself ends
      await until("the stream unsubscribed", () => news.listenerCount("item") === 0);
    } finally {
      await server.close();
    }
  });
  test("app.fetch: a web Request in, a web Response out", () => {
    assert.equal(webRes.status, 200);
    assert.equal(webRes.headers.get("content-type"), "application/json");
  });
  test("a JSON provider", async () => {
    assert.equal((await pretty.testClient().get("/")).text, '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}');
  });
});

describe("errors-and-hooks.md", async () => {
  const { app } = await import("../../docs/snippets/errors.ts");
  const c = app.testClient();
  test("abort, handlers by status and class, hooks", async () => {
    assert.deepEqual((await c.get("/admin")).json, { error: "Forbidden", status: 403 });
    assert.equal((await c.get("/nope")).text, "No page at /nope");
    const early = await c.get("/private/x");
    assert.equal(early.status, 401);
    assert.equal(early.headers.get("x-took-ms"), undefined);
    assert.deepEqual((await c.get("/users/1")).json, { name: "Ada" });
    assert.equal((await c.get("/users/2")).status, 404);
    assert.equal((await c.get("/gone")).status, 404);
    const quota = await c.get("/quota");
    assert.equal(quota.status, 429);
    assert.deepEqual(quota.json, { error: "too many calls" });
    const me = await c.get("/me", { headers: { "X-User": "ann" } });
    assert.deepEqual(me.json, { user: "ann" });
    assert.match(me.headers.get("x-took-ms") ?? "", /^\d+\.\d$/);
  });
});

describe("blueprints.md", async () => {
  const { app } = await import("../../docs/snippets/blueprints.ts");
  const c = app.testClient();
  test("prefixes, relative urlFor, blueprint hooks, nesting, a second registration", async () => {
    const admin = { headers: { "X-Admin": "yes" } };
    assert.equal((await c.get("/admin/", admin)).text, "admin home; users at /admin/users");
    assert.equal((await c.get("/admin/")).status, 403);
    assert.deepEqual((await c.get("/api/v1/ping")).json, { pong: true });
    assert.equal((await c.get("/staff/", admin)).text, "admin home; users at /staff/users");
    assert.deepEqual(
      app.urlRules.map((r) => r.endpoint),
      ["static", "admin.index", "admin.users", "api.v1.ping", "staff.index", "staff.users"],
    );
  });
});

describe("templates.md", async () => {
  const { app } = await import("../../docs/snippets/templates.ts");
  const c = app.testClient();
  test("inheritance, autoescape, urlFor, filters and globals", async () => {
    const page = (await c.get("/hello/<b>")).text;
    assert.match(page, /<title>Hello - My site<\/title>/);
    assert.match(page, /<h1>Hello, &lt;b&gt;!<\/h1>/);
    assert.match(page, /<a href="\/hello\/Ada">/);
    assert.equal((await c.get("/inline")).text, "<p>3 and &lt;i&gt;x&lt;/i&gt;</p>");
    assert.equal((await c.get("/filters")).text, "My site: HI!");
  });
});

describe("files.md", async () => {
  const { app } = await import("../../docs/snippets/files.ts");
  const c = app.testClient();
  const saved = join(app.root, "uploads", "x_y.txt");
  after(() => rmSync(saved, { force: true }));
  test("static files, ranges, conditional GET", async () => {
    const css = await c.get("/static/site.css");
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(css.headers.get("cache-control"), "no-cache");
    const etag = css.headers.get("etag")!;
    assert.equal((await c.get("/static/site.css", { headers: { "If-None-Match": etag } })).status, 304);
    const part = await c.get("/static/site.css", { headers: { Range: "bytes=0-3" } });
    assert.equal(part.status, 206);
    assert.equal(part.text, "body");
  });
  test("sendFromDirectory refuses to leave its folder; sendFile", async () => {
    const dl = await c.get("/download/readme.txt");
    assert.equal(dl.headers.get("content-disposition"), "attachment; filename=readme.txt");
    assert.equal((await c.get("/download/../files.ts")).status, 404);
    assert.equal((await c.get("/download/%2e%2e/files.ts")).status, 404);
    assert.equal((await c.get("/readme")).headers.get("cache-control"), "public, max-age=60");
    const csv = await c.get("/report.csv");
    assert.equal(csv.text, "a,b\n1,2\n");
    assert.equal(csv.headers.get("content-disposition"), "attachment; filename=report.csv");
  });
  test("uploads", async () => {
    const up = await c.post("/upload", {
      form: { caption: "me" },
      files: { photo: { filename: "../../x y.txt", data: "hi", contentType: "text/plain" } },
    });
    assert.equal(up.status, 201);
    assert.deepEqual(up.json, { saved: "x_y.txt", size: 2, type: "text/plain", caption: "me" });
    assert.equal(readFileSync(saved, "utf8"), "hi");
    assert.equal((await c.post("/upload", { form: { caption: "me" } })).status, 400);
  });
});

describe("cookies-and-sessions.md", async () => {
  const { app } = await import("../../docs/snippets/sessions.ts");
  test("cookies", async () => {
    const c = app.testClient();
    const first = await c.get("/remember");
    assert.equal(first.text, "Hello again, stranger");
    assert.match(
      first.headers.get("set-cookie") ?? "",
      /^name=Ada; Expires=[^;]+ GMT; Max-Age=604800; HttpOnly; Path=\/; SameSite=Lax$/,
    );
    assert.equal((await c.get("/remember")).text, "Hello again, Ada");
    await c.get("/forget");
    assert.equal(c.getCookie("name"), undefined);
  });
  test("a session with a flashed message, then logout", async () => {
    const c = app.testClient();
    const login = await c.post("/login", { form: { user: "ada" } });
    assert.equal(login.status, 302);
    assert.match(
      login.headers.get("set-cookie") ?? "",
      /^session=.*; Max-Age=2678400; .*HttpOnly; Path=\/; SameSite=Lax$/,
    );
    assert.deepEqual((await c.get("/")).json, { user: "ada", messages: ["Welcome, ada!"] });
    assert.deepEqual((await c.get("/")).json, { user: "ada", messages: [] });
    await c.post("/logout");
    assert.deepEqual((await c.get("/")).json, { user: null, messages: [] });
  });
});

describe("config.md", async () => {
  const { app } = await import("../../docs/snippets/config.ts");
  test("settings from options and objects", async () => {
    assert.deepEqual((await app.testClient().get("/limits")).json, {
      maxContentLength: 1048576,
      secure: true,
      api: "https://api.example",
    });
  });
});

describe("realtime.md and security.md", async () => {
  const rt = await import("../../docs/snippets/realtime.ts");
  const sec = await import("../../docs/snippets/security.ts");
  test("the chat: a WebSocket joins its room and gets what others publish", async () => {
    const c = rt.chatApp().testClient();
    try {
      const a = await c.websocket("/chat/lobby");
      const b = await c.websocket("/chat/lobby");
      assert.equal(await a.nextMessage(), "welcome to lobby");
      assert.equal(await b.nextMessage(), "welcome to lobby");
      a.send("hi");
      assert.equal(await b.nextMessage(), "someone: hi");
      a.close();
      b.close();
    } finally {
      await c.close();
    }
  });
  test("server-sent events resume after Last-Event-ID", async () => {
    const app = rt.sseApp();
    const res = await app.fetch(new Request("http://x/prices", { headers: { "Last-Event-ID": "41" } }));
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("id: 42")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel(); // the stream is endless: stop it
    assert.ok(text.startsWith("retry: 2000\n\nevent: price\nid: 42\n"), text);
  });
  test("CORS: the blueprint grants its origins with credentials", async () => {
    const res = await sec
      .corsApp()
      .testClient()
      .get("/api/me", { headers: { Origin: "https://shop.example.com" } });
    assert.equal(res.headers.get("access-control-allow-origin"), "https://shop.example.com");
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
  });
  test("CSRF: the form's token passes, a post without it is refused by the handler's page", async () => {
    const c = sec.csrfApp().testClient();
    const form = await c.get("/transfer");
    const token = /value="([^"]+)"/.exec(form.text)![1]!;
    assert.equal((await c.post("/transfer", { form: { amount: 5, csrf_token: token } })).text, "sent 5");
    const refused = await c.post("/transfer", { form: { amount: 5 } });
    assert.equal(refused.status, 400);
    assert.equal(refused.text, "Please reload the form (the CSRF token is missing).");
    assert.equal((await c.post("/webhooks/billing", { form: { x: 1 } })).text, "ok");
  });
  test("security headers with a CSP nonce the template shares, and compression", async () => {
    const res = await sec.headersApp().testClient().get("/");
    const nonce = /nonce="([^"]+)"/.exec(res.text)![1]!;
    assert.equal(
      res.headers.get("content-security-policy"),
      `default-src 'self'; script-src 'self' 'nonce-${nonce}'`,
    );
    assert.equal(res.headers.get("x-frame-options"), "DENY");
  });
});

// testing.md's sample is a test file: importing it runs its tests here.
await import("../../docs/snippets/testing.ts");

describe("wire.md", async () => {
  const wire = await import("../../docs/snippets/wire.ts");
  test("a tuned server answers and closes", async () => {
    const server = await wire.tunedServer();
    try {
      const res = await get(`http://127.0.0.1:${server.address()!.port}/`);
      assert.equal(await res.text(), "ok");
      assert.equal(res.headers.get("keep-alive"), "timeout=5");
    } finally {
      await wire.graceful(server);
    }
  });
  test("serve(): a fetch handler answers JSON and streams a POST body back", async () => {
    const server = await wire.fetchServer();
    try {
      const base = `http://127.0.0.1:${server.address()!.port}`;
      const res = await get(`${base}/some/path`);
      assert.deepEqual(await res.json(), { path: "/some/path", from: "127.0.0.1" });
      assert.equal(res.headers.get("keep-alive"), "timeout=10");
      const echo = await post(`${base}/`, { body: "round trip" });
      assert.equal(echo.headers.get("content-type"), "application/octet-stream");
      assert.equal(await echo.text(), "round trip");
    } finally {
      await server.close();
    }
  });
  test("serve(): a Hono app, with serve()'s info as c.env", async () => {
    const server = await wire.honoServer();
    try {
      const base = `http://127.0.0.1:${server.address()!.port}`;
      assert.equal(await (await get(`${base}/`)).text(), "Hello from Hono");
      assert.equal(await (await get(`${base}/ip`)).text(), "127.0.0.1");
    } finally {
      await server.close();
    }
  });
  test("onUpgrade: ws echoes on /chat, the app answers the rest, other upgrades are refused", async () => {
    const { server, wss } = await wire.webSockets();
    const { WebSocket } = await import("ws");
    try {
      const base = `127.0.0.1:${server.address()!.port}`;
      const ws = new WebSocket(`ws://${base}/chat`);
      await once(ws, "open");
      ws.send("hi");
      const [reply] = (await once(ws, "message")) as [Buffer];
      assert.equal(String(reply), "echo: hi");
      ws.close();
      assert.match(await (await get(`http://${base}/`)).text(), /ws:\/\/…\/chat/);
      const other = new WebSocket(`ws://${base}/other`);
      await once(other, "error");
    } finally {
      wss.close();
      await server.close({ deadline: 200 });
    }
  });
  test("the wire's own ServerWebSocket echoes (compressed too) and refuses a bad handshake", async () => {
    const server = await wire.ownWebSockets();
    const { WebSocket } = await import("ws");
    try {
      const base = `127.0.0.1:${server.address()!.port}`;
      const ws = new WebSocket(`ws://${base}/chat`);
      await once(ws, "open");
      assert.match(String(ws.extensions), /permessage-deflate/);
      ws.send("hi");
      assert.equal(String(((await once(ws, "message")) as [Buffer])[0]), "echo: hi");
      const big = "x".repeat(4000); // compressed both ways
      ws.send(big);
      assert.equal(String(((await once(ws, "message")) as [Buffer])[0]), `echo: ${big}`);
      ws.close(1000);
      assert.equal(((await once(ws, "close")) as [number])[0], 1000);
      const other = new WebSocket(`ws://${base}/other`);
      const [, res] = (await once(other, "unexpected-response")) as [unknown, { statusCode: number }];
      assert.equal(res.statusCode, 404);
      other.on("error", () => undefined); // terminate() before "open" reports one
      other.terminate();
    } finally {
      await server.close({ deadline: 200 });
    }
  });
  test("a streamed response is chunked", async () => {
    const server = await wire.streaming();
    try {
      const res = await get(`http://127.0.0.1:${server.address()!.port}/`);
      assert.equal(res.headers.get("transfer-encoding"), "chunked");
      assert.equal(await res.text(), "line 0\nline 1\nline 2\n");
    } finally {
      await server.close();
    }
  });
});

/** Sends `bytes` on a fresh connection (half-closing it unless `keepOpen`) and returns all it got back. */
function exchange(port: number, bytes: string, keepOpen = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1", () => (keepOpen ? sock.write(bytes) : sock.end(bytes)));
    let out = "";
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => {
      out += d;
    });
    sock.on("error", reject);
    sock.on("close", () => resolve(out));
  });
}

describe("wire.md: what is refused", async () => {
  const { tunedServer } = await import("../../docs/snippets/wire.ts");
  const server = await tunedServer(); // maxHeaderBytes 8 KiB, maxBodyBytes 10 MiB
  const port = server.address()!.port;
  after(() => server.close());
  const H = "Host: a\r\n";
  const cases: [string, string, number][] = [
    ["CL and TE", `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc`, 400],
    ["CL twice", `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 1\r\n\r\na`, 400],
    ["CL list", `POST / HTTP/1.1\r\n${H}Content-Length: 1, 1\r\n\r\na`, 400],
    ["CL not a number", `POST / HTTP/1.1\r\n${H}Content-Length: +1\r\n\r\na`, 400],
    ["TE not ending in chunked", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, 400],
    [
      "TE with a coding we don't decode",
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`,
      501,
    ],
    ["TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ["bare LF", "GET / HTTP/1.1\nHost: a\n\n", 400],
    ["bare CR", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400],
    ["obs-fold", `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`, 400],
    ["space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
    ["NUL in a value", `GET / HTTP/1.1\r\n${H}X: a\u0000b\r\n\r\n`, 400],
    ["space in the target", `GET /a b HTTP/1.1\r\n${H}\r\n`, 400],
    ["* without OPTIONS", `GET * HTTP/1.1\r\n${H}\r\n`, 400],
    ["userinfo", `GET http://u@a/ HTTP/1.1\r\n${H}\r\n`, 400],
    ["no Host", "GET / HTTP/1.1\r\n\r\n", 400],
    ["two Hosts", `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400],
    ["bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
    ["HTTP/0.9", "GET /\r\n\r\n", 400],
    ["HTTP/2.0", `GET / HTTP/2.0\r\n${H}\r\n`, 400],
    ["HTTP/3.0", `GET / HTTP/3.0\r\n${H}\r\n`, 505],
    ["empty lines first", `\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`, 400],
    ["unknown expectation", `POST / HTTP/1.1\r\n${H}Expect: magic\r\nContent-Length: 1\r\n\r\na`, 417],
    ["long request line", `GET /${"a".repeat(9000)} HTTP/1.1\r\n${H}\r\n`, 414],
    ["large head", `GET / HTTP/1.1\r\n${H}X: ${"a".repeat(9000)}\r\n\r\n`, 431],
    ["too many fields", `GET / HTTP/1.1\r\n${H}${"X: a\r\n".repeat(101)}\r\n`, 431],
    ["large body", `POST / HTTP/1.1\r\n${H}Content-Length: ${11 * 1024 * 1024}\r\n\r\n`, 413],
  ];
  for (const [name, bytes, status] of cases) {
    test(`${name}: ${status} and close`, async () => {
      const out = await exchange(port, bytes);
      assert.match(out, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(out, /\r\nConnection: close\r\n/);
    });
  }
  test("a malformed chunked body is a 400 for a handler that reads it", async () => {
    const reading = createServer(async (req, res) => res.end(await req.text()));
    await reading.listen(0);
    try {
      const p = reading.address()!.port;
      for (const size of ["zz", "1".repeat(14)]) {
        const out = await exchange(p, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${size}\r\n`);
        assert.match(out, /^HTTP\/1\.1 400 /);
      }
    } finally {
      await reading.close();
    }
  });
  test("4 empty lines before the request line are skipped, and HTTP/1.0 closes", async () => {
    assert.match(
      await exchange(port, "\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n"),
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*ok$/,
    );
  });
  test("pipelined requests are answered in order on one connection", async () => {
    const out = await exchange(
      port,
      `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    assert.equal(out.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
    assert.match(out, /Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nokHTTP/);
  });
  test("a slow head is a 408", async () => {
    const slow = createServer((_req, res) => res.end("ok"), { headersTimeout: 100 });
    await slow.listen(0);
    try {
      const out = await exchange(slow.address()!.port, "GET / HTTP/1.1\r\nHost: a\r\n", true);
      assert.match(out, /^HTTP\/1\.1 408 /);
    } finally {
      await slow.close();
    }
  });
});

describe("cli.md", () => {
  test("the `phial routes` table is what the command prints", async () => {
    const { routesCommand } = await import("../../src/cli/routes.ts");
    const page = readFileSync(join(DOCS, "cli.md"), "utf8");
    const m = /```text\n\$ npx phial routes (\S+)\n([^`]*)```/.exec(page);
    assert.ok(m, "cli.md shows a `phial routes` run");
    let printed = "";
    const out = {
      write(chunk: string | Uint8Array) {
        printed += String(chunk);
        return true;
      },
    };
    assert.equal(await routesCommand([join(DOCS, "..", m[1]!)], out), 0);
    assert.equal(printed, m[2]);
  });

  test("every option in the `phial get` table is one the command takes, and the help lists no other", async () => {
    const { HTTP_HELP, parseArgs } = await import("../../src/cli/http.ts");
    const page = readFileSync(join(DOCS, "cli.md"), "utf8");
    const table = page.slice(page.indexOf("### Options"), page.indexOf("### Output"));
    const documented = new Set<string>();
    for (const row of table.split("\n").filter((l) => l.startsWith("| `-"))) {
      const entries = [...row.split("|")[1]!.matchAll(/`(-[^`]+)`|, (--?[a-z-]+)/gi)].map((m) =>
        (m[1] ?? m[2]!).trim(),
      );
      // "-a, --auth USER:PASS": every flag of the row, with a sample value when the row shows one.
      const sample = entries.map((e) => e.split(" ").slice(1).join(" ")).find((v) => v !== "");
      const value =
        sample === undefined
          ? []
          : [
              ({ HBhb: "hb", URL: "http://p:1", SECONDS: "1", N: "3" } as Record<string, string>)[sample] ??
                sample,
            ];
      for (const e of entries) {
        const flag = e.split(" ")[0]!;
        documented.add(flag);
        assert.doesNotThrow(
          () => parseArgs(undefined, [flag, ...value, ":8000"]),
          `${flag} ${value.join(" ")}`,
        );
      }
    }
    assert.ok(documented.size >= 25, [...documented].join(" "));
    for (const m of HTTP_HELP.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm))
      assert.ok(
        [...documented].some((d) => d.startsWith(m[1]!)),
        `${m[1]} is in --help but not in docs/cli.md`,
      );
  });
});

describe("deployment.md: many machines (Redis)", {
  skip: redisSkip("the Redis snippets of deployment.md"),
}, () => {
  test("sessions, limits and fan-out as the page shows them", async () => {
    const { connectRedis, createApp } = await import("../../docs/snippets/shared.ts");
    const redis = await RedisServer.start();
    const client = await connectRedis(redis.url);
    const { app, broker, subscriber } = await createApp(client);
    try {
      const c = app.testClient();
      assert.equal((await c.post("/login", { form: { user: "ada" } })).text, "signed in");
      assert.deepEqual((await c.get("/me")).json, { user: "ada" });
      const other = app.testClient();
      await other.post("/login", { form: { user: "ada" } });
      assert.equal((await c.post("/logout-everywhere")).text, "2 sessions ended");
      assert.deepEqual((await other.get("/me")).json, { user: null });
      const codes = [];
      for (let i = 0; i < 6; i++) codes.push((await c.post("/signin", { form: { username: "x" } })).status);
      assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
      assert.equal((await c.get("/healthz")).headers.has("RateLimit-Limit"), false);
      const res = await app.fetch(new Request("http://127.0.0.1/rooms/lobby/events"));
      assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
      const reader = res.body!.getReader();
      const first = reader.read(); // the stream starts, and subscribes
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await c.post("/rooms/lobby/say", { form: { text: "hi" } })).text, "sent");
      assert.equal(new TextDecoder().decode((await first).value), "data: hi\n\n");
      await reader.cancel();
    } finally {
      await broker.close();
      await subscriber.close();
      await client.close();
      await redis.close();
    }
  });
});

describe("cli.md", async () => {
  const { app, tables } = await import("../../docs/snippets/cli.ts");
  test("an app's command runs with its arguments; the exit code is what it returns", async () => {
    let out = "";
    const cmd = app.cli.commands.get("init-db");
    assert.ok(cmd);
    const code = await cmd.run(["--force"], {
      app,
      stdout: { write: (s) => (out += s) },
      stderr: process.stderr,
    });
    assert.equal(code, 0);
    assert.equal(out, "done\n");
    assert.deepEqual(tables, ["users (forced)"]);
    assert.equal(cmd.help, "Create the tables");
  });
});
