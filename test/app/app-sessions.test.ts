import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TimedSerializer } from "../../src/app/sessions/signing.ts";
import {
  flash,
  getFlashedMessages,
  Phial,
  type Request,
  type RequestSource,
  redirect,
  session,
} from "../../src/index.ts";
import { sessionTransaction } from "../../src/testing.ts";

function makeApp(secretKey: string | null = "s3cret") {
  const app = new Phial(import.meta.url, { name: "sessions-test" });
  app.config.secretKey = secretKey ?? undefined;
  app.logger = { info() {}, warn() {}, error() {} };
  app.post("/login", (req: Request) => {
    req.session.set("user", req.form.get("user") ?? "anon");
    return redirect("/me");
  });
  app.get("/me", function me(req: Request) {
    return { user: req.session.get("user") ?? null };
  });
  app.get("/me-global", function meGlobal() {
    return { user: session.get("user") ?? null };
  });
  app.get("/logout", function logout(req: Request) {
    req.session.clear();
    return "bye";
  });
  app.get("/plain", function plain() {
    return "no session here";
  });
  app.get("/async", async function asyncView() {
    await new Promise((r) => setImmediate(r));
    session.set("n", ((session.get("n") as number | undefined) ?? 0) + 1);
    return { n: session.get("n") };
  });
  return app;
}

function sessionCookie(res: { headers: { getSetCookie(): string[] } }): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith("session="));
}

test("sign in: the session is kept across requests", async () => {
  const c = makeApp().testClient();
  const login = await c.post("/login", { form: { user: "alice" } });
  assert.equal(login.status, 302);
  const set = sessionCookie(login);
  assert.ok(set !== undefined, "a session cookie was set");
  assert.match(set, /; HttpOnly/i);
  assert.match(set, /; SameSite=Lax/i);
  assert.match(set, /; Path=\//i);
  assert.doesNotMatch(set, /Max-Age|Expires/i, "not permanent: a browser-session cookie");
  assert.equal(login.headers.get("vary"), "Cookie");
  const me = await c.get("/me");
  assert.deepEqual(me.json, { user: "alice" });
  assert.equal(me.headers.get("vary"), "Cookie");
  assert.equal(me.headers.get("cache-control"), "private");
  assert.equal(sessionCookie(me), undefined, "an unchanged session sends no cookie");
  assert.deepEqual((await c.get("/me-global")).json, { user: "alice" });
});

test("a view that never touches the session: no Vary, no cookie, no verification", async () => {
  const c = makeApp().testClient();
  await c.post("/login", { form: { user: "alice" } });
  const r = await c.get("/plain");
  assert.equal(r.headers.get("vary"), undefined);
  assert.equal(r.headers.get("cache-control"), undefined);
  assert.equal(sessionCookie(r), undefined);
});

test("logout clears the session and deletes the cookie", async () => {
  const c = makeApp().testClient();
  await c.post("/login", { form: { user: "alice" } });
  const r = await c.get("/logout");
  const set = sessionCookie(r);
  assert.ok(set !== undefined);
  assert.match(set, /Max-Age=0|Expires=Thu, 01 Jan 1970/i);
  assert.deepEqual((await c.get("/me")).json, { user: null });
});

test("the global session works after awaits in async views", async () => {
  const c = makeApp().testClient();
  assert.deepEqual((await c.get("/async")).json, { n: 1 });
  assert.deepEqual((await c.get("/async")).json, { n: 2 });
});

test("tampered, foreign, expired and garbage cookies give an empty session (200, not an error)", async () => {
  const app = makeApp();
  const c = app.testClient();
  await c.post("/login", { form: { user: "alice" } });
  const good = c.getCookie("session")!;
  const [p, t, sig] = good.split(".") as [string, string, string];
  const forgedPayload = Buffer.from(JSON.stringify({ user: "admin" })).toString("base64url");
  const cases = {
    "changed payload": `${forgedPayload}.${t}.${sig}`,
    "changed signature": `${p}.${t}.${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`,
    "other key": new TimedSerializer({ secretKey: "other", salt: "phial.session" }).dumps({ user: "admin" }),
    truncated: good.slice(0, good.length - 3),
    expired: new TimedSerializer({
      secretKey: "s3cret",
      salt: "phial.session",
      now: () => Date.now() - 32 * 24 * 3600 * 1000,
    }).dumps({ user: "alice" }),
    "garbage base64": "!!!.%%%.***",
    "huge cookie": "A".repeat(6000),
  };
  for (const [what, value] of Object.entries(cases)) {
    const fresh = app.testClient();
    fresh.setCookie("session", value);
    const r = await fresh.get("/me");
    assert.equal(r.status, 200, what);
    assert.deepEqual(r.json, { user: null }, what);
  }
});

test("key rotation through secretKeyFallbacks", async () => {
  const app = makeApp("old-key");
  const c = app.testClient();
  await c.post("/login", { form: { user: "alice" } });
  app.config.secretKey = "new-key";
  app.config.secretKeyFallbacks = ["old-key"];
  assert.deepEqual((await c.get("/me")).json, { user: "alice" });
  await c.post("/login", { form: { user: "bob" } });
  app.config.secretKeyFallbacks = [];
  assert.deepEqual((await c.get("/me")).json, { user: "bob" }, "re-signed with the new key");
});

test("without secretKey: reading works, the first write is a 500 whose log names the config key", async () => {
  const app = makeApp(null);
  const logged: unknown[] = [];
  app.logger = { info() {}, warn() {}, error: (_m, e) => logged.push(e) };
  const c = app.testClient();
  assert.deepEqual((await c.get("/me")).json, { user: null });
  const r = await c.post("/login", { form: { user: "alice" } });
  assert.equal(r.status, 500);
  const err = logged.find((e) => e instanceof Error) as Error;
  assert.match(err.message, /app\.config\.secretKey/);
  assert.match(err.message, /randomBytes/);
});

test("permanent sessions: Max-Age and Expires from permanentSessionLifetime, refreshed each request", async () => {
  const app = makeApp();
  app.config.permanentSessionLifetime = 600;
  app.get("/remember", function remember(req: Request) {
    req.session.permanent = true;
    req.session.set("user", "alice");
    return "ok";
  });
  const c = app.testClient();
  const r = await c.get("/remember");
  assert.match(sessionCookie(r) ?? "", /Max-Age=600/);
  assert.match(sessionCookie(r) ?? "", /Expires=/);
  const again = await c.get("/me");
  assert.match(sessionCookie(again) ?? "", /Max-Age=600/, "refreshed");
  assert.equal(again.headers.get("vary"), "Cookie");
  app.config.sessionRefreshEachRequest = false;
  assert.equal(sessionCookie(await c.get("/me")), undefined);
});

describe("SESSION_REFRESH_EACH_REQUEST: a permanent session's cookie is re-sent even when untouched", () => {
  /** An app with a permanent session set by /remember; the other views never touch the session. */
  function refreshApp(config: Record<string, unknown> = {}) {
    const app = makeApp();
    app.config.permanentSessionLifetime = 600;
    Object.assign(app.config, config);
    app.get("/remember", function remember(req: Request) {
      req.session.permanent = true;
      req.session.set("user", "alice");
      return "ok";
    });
    app.get("/forget-me", function forgetMe(req: Request) {
      req.session.set("user", "bob"); // a session that is not permanent
      return "ok";
    });
    app.get("/slow", async function slow() {
      await new Promise((r) => setImmediate(r));
      return "async, untouched";
    });
    app.get("/boom", function boom() {
      throw new Error("failing view");
    });
    return app;
  }

  /** The seconds from now until the cookie's Expires. */
  function secondsLeft(set: string): number {
    const m = /Expires=([^;]+)/.exec(set);
    assert.ok(m !== null, `no Expires in ${set}`);
    return (Date.parse(m[1]!) - Date.now()) / 1000;
  }

  for (const path of ["/plain", "/slow", "/static/nope.txt", "/no-such-page", "/remember/"]) {
    test(`a view that never touches the session (${path}) re-sends it, with a new expiry`, async () => {
      const c = refreshApp().testClient();
      const first = sessionCookie(await c.get("/remember"));
      assert.ok(first !== undefined);
      const r = await c.get(path);
      const set = sessionCookie(r);
      assert.ok(set !== undefined, "the permanent session's cookie is refreshed");
      assert.match(set, /Max-Age=600/);
      assert.ok(secondsLeft(set) > 590, "the expiry starts again from this request");
      assert.match(set, /; HttpOnly/i);
      assert.equal(r.headers.get("vary"), "Cookie", "a response with the session cookie varies on Cookie");
      if (path === "/plain" || path === "/slow") assert.equal(r.headers.get("cache-control"), "private");
      // The cookie still holds the same session.
      assert.deepEqual((await c.get("/me")).json, { user: "alice" });
    });
  }

  test("error pages refresh it too (as Flask: the session is saved for every response)", async () => {
    const c = refreshApp().testClient();
    await c.get("/remember");
    const r = await c.get("/boom");
    assert.equal(r.status, 500);
    assert.match(sessionCookie(r) ?? "", /Max-Age=600/);
  });

  test("a session that is not permanent, no session cookie, or a bad one: nothing is sent", async () => {
    const app = refreshApp();
    const c = app.testClient();
    const none = await c.get("/plain");
    assert.equal(sessionCookie(none), undefined);
    assert.equal(none.headers.get("vary"), undefined);
    await c.get("/forget-me");
    const r = await c.get("/plain");
    assert.equal(sessionCookie(r), undefined, "browser-session cookies are not refreshed");
    assert.equal(r.headers.get("vary"), undefined, "an untouched session adds no Vary");
    // A cookie signed with another key, and one whose name only ends with the session's name.
    const other = refreshApp({ secretKey: "another key" }).testClient();
    await other.get("/remember");
    const forged = other.getCookie("session")!;
    for (const cookie of [`session=${forged}`, "mysession=x; session_x=1", "session=garbage"]) {
      const bad = await app.testClient().get("/plain", { headers: { Cookie: cookie } });
      assert.equal(sessionCookie(bad), undefined, cookie);
      assert.equal(bad.headers.get("vary"), undefined, cookie);
    }
  });

  test("off with sessionRefreshEachRequest = false (or PHIAL_SESSION_REFRESH_EACH_REQUEST=0)", async () => {
    const app = refreshApp();
    const c = app.testClient();
    await c.get("/remember");
    app.config.fromEnv("PHIAL", { PHIAL_SESSION_REFRESH_EACH_REQUEST: "0" });
    assert.equal(app.config.sessionRefreshEachRequest, false);
    assert.equal(sessionCookie(await c.get("/plain")), undefined);
    assert.equal(sessionCookie(await c.get("/me")), undefined, "a read without a change sends nothing");
    assert.match(sessionCookie(await c.get("/remember")) ?? "", /Max-Age=600/, "a change still does");
  });

  test("a request without a session cookie stays on the synchronous fast path", () => {
    const app = refreshApp();
    const source = (cookie: string): RequestSource => ({
      method: "GET",
      url: "/plain",
      rawHeaders: ["Host", "a", "Cookie", cookie],
      host: "a",
      remoteAddress: "127.0.0.1",
      encrypted: false,
      contentLength: -1,
      bodyComplete: true,
      signal: new AbortController().signal,
      body: async () => Buffer.alloc(0),
      async *[Symbol.asyncIterator]() {},
    });
    assert.ok(!(app.handle(source("theme=dark; xsession=1")) instanceof Promise), "answered in place");
    assert.ok(app.handle(source("theme=dark; session=x")) instanceof Promise, "the session is saved");
  });
});

test("session cookie settings come from app.config", async () => {
  const app = makeApp();
  Object.assign(app.config, {
    sessionCookieName: "sid",
    sessionCookieDomain: "example.test",
    sessionCookiePath: "/app",
    sessionCookieSecure: true,
    sessionCookieSameSite: "Strict",
    sessionCookieHttpOnly: false,
  });
  const r = await app.testClient().post("/login", { form: { user: "a" } });
  const set = r.headers.getSetCookie().find((x) => x.startsWith("sid="));
  assert.ok(set !== undefined);
  assert.match(set, /Domain=example\.test/i);
  assert.match(set, /Path=\/app/);
  assert.match(set, /; Secure/);
  assert.match(set, /SameSite=Strict/);
  assert.doesNotMatch(set, /HttpOnly/i);
});

test("Vary merges with the app's own Vary; Cache-Control set by the view is kept", async () => {
  const app = makeApp();
  app.get("/vary", function vary(req: Request) {
    req.session.get("user");
    return ["x", { Vary: "Accept-Encoding", "Cache-Control": "no-store" }];
  });
  const r = await app.testClient().get("/vary");
  assert.equal(r.headers.get("vary"), "Accept-Encoding, Cookie");
  assert.equal(r.headers.get("cache-control"), "no-store");
});

test("the session is saved after afterRequest hooks, which may still change it", async () => {
  const app = makeApp();
  app.afterRequest((res, req) => {
    if (req.path === "/plain") req.session.set("seen", true);
    return res;
  });
  app.get("/seen", function seen(req: Request) {
    return { seen: req.session.get("seen") ?? false };
  });
  const c = app.testClient();
  await c.get("/plain");
  assert.deepEqual((await c.get("/seen")).json, { seen: true });
});

test("values that can't go in a cookie are a 500 naming the key", async () => {
  const app = makeApp();
  const logged: unknown[] = [];
  app.logger = { info() {}, warn() {}, error: (_m, e) => logged.push(e) };
  app.get("/bad", function bad(req: Request) {
    req.session.set("m", new Map());
    return "x";
  });
  const r = await app.testClient().get("/bad");
  assert.equal(r.status, 500);
  assert.ok(logged.some((e) => e instanceof Error && /Map.*\bm\b/.test(e.message)));
});

test("header injection through session values is impossible: the cookie is base64url", async () => {
  const app = makeApp();
  app.get("/inject", function inject(req: Request) {
    req.session.set("user", "x\r\nSet-Cookie: admin=1; \u0000;");
    return "ok";
  });
  const c = app.testClient();
  const r = await c.get("/inject");
  const sets = r.headers.getSetCookie();
  assert.equal(sets.length, 1);
  assert.match(sets[0]!, /^session=[A-Za-z0-9_.-]+;/);
  assert.deepEqual((await c.get("/me")).json, { user: "x\r\nSet-Cookie: admin=1; \u0000;" });
});

test("flash: shown once, with categories", async () => {
  const app = makeApp();
  app.post("/save", function save() {
    flash("Saved");
    flash("Disk almost full", "warning");
    return redirect("/show");
  });
  app.get("/show", function show() {
    const first = getFlashedMessages({ withCategories: true });
    const again = getFlashedMessages();
    const warnings = getFlashedMessages({ categoryFilter: ["warning"] });
    return { first, again, warnings };
  });
  const c = app.testClient();
  await c.post("/save");
  assert.deepEqual((await c.get("/show")).json, {
    first: [
      ["message", "Saved"],
      ["warning", "Disk almost full"],
    ],
    again: ["Saved", "Disk almost full"],
    warnings: ["Disk almost full"],
  });
  assert.deepEqual(
    (await c.get("/show")).json,
    { first: [], again: [], warnings: [] },
    "gone after one request",
  );
});

test("flash outside a request is a clear error", () => {
  assert.throws(() => flash("x"), /only available while a request is handled/);
  assert.throws(() => getFlashedMessages(), /only available while a request is handled/);
});

test("sessionTransaction reads and changes the test client's session", async () => {
  const app = makeApp();
  const c = app.testClient();
  await sessionTransaction(c, (s) => {
    assert.equal(s.get("user"), undefined);
    s.set("user", "carol");
  });
  assert.deepEqual((await c.get("/me")).json, { user: "carol" });
  await sessionTransaction(c, (s) => {
    assert.equal(s.get("user"), "carol");
    s.clear();
  });
  assert.equal(c.getCookie("session"), undefined);
  assert.deepEqual((await c.get("/me")).json, { user: null });
});

test("over a real socket: Set-Cookie, Vary and the session round-trip through the wire", async (t) => {
  const app = makeApp();
  const server = app.listen();
  const addr = await server.listen(0, "127.0.0.1");
  t.after(() => server.close({ deadline: 1000 }));
  const base = `http://127.0.0.1:${addr.port}`;
  const login = await fetch(`${base}/login`, {
    method: "POST",
    body: new URLSearchParams({ user: "dave" }),
    redirect: "manual",
  });
  assert.equal(login.status, 302);
  const set = login.headers.getSetCookie();
  assert.equal(set.length, 1);
  assert.equal(login.headers.get("vary"), "Cookie");
  const cookie = set[0]!.split(";")[0]!;
  const me = await fetch(`${base}/me`, { headers: { cookie } });
  assert.deepEqual(await me.json(), { user: "dave" });
  assert.equal(me.headers.get("cache-control"), "private");
  const forged = await fetch(`${base}/me`, { headers: { cookie: `${cookie.slice(0, -2)}xx` } });
  assert.equal(forged.status, 200);
  assert.deepEqual(await forged.json(), { user: null });
});

test("every way of reading the session adds Vary: Cookie (also through the global)", async () => {
  const app = makeApp();
  const reads: Record<string, () => unknown> = {
    get: () => session.get("user"),
    has: () => session.has("user"),
    size: () => session.size,
    iterate: () => [...session],
    keys: () => [...session.keys()],
    permanent: () => session.permanent,
    toJSON: () => JSON.stringify(session),
  };
  for (const [name, read] of Object.entries(reads)) {
    app.get(`/read-${name}`, { endpoint: `read-${name}` }, () => {
      read();
      return "ok";
    });
  }
  const c = app.testClient();
  await c.post("/login", { form: { user: "alice" } });
  for (const name of Object.keys(reads)) {
    const r = await c.get(`/read-${name}`);
    assert.equal(r.status, 200, name);
    assert.equal(r.headers.get("vary"), "Cookie", name);
    assert.equal(sessionCookie(r), undefined, `${name}: read only, no cookie`);
  }
  // Without any cookie too: the (empty) session was consulted.
  assert.equal((await app.testClient().get("/read-has")).headers.get("vary"), "Cookie");
});

test("a session cookie name or domain that would inject attributes is refused, not sent", async () => {
  for (const [key, value] of [
    ["sessionCookieName", "sess\r\nX-Injected: 1"],
    ["sessionCookieName", "a=b; Domain=evil.test"],
    ["sessionCookieDomain", "example.test; SameSite=None"],
    ["sessionCookiePath", "/\r\nX-Injected: 1"],
  ] as const) {
    const app = makeApp();
    const logged: unknown[] = [];
    app.logger = { info() {}, warn() {}, error: (_m, e) => logged.push(e) };
    (app.config as Record<string, unknown>)[key] = value;
    const r = await app.testClient().post("/login", { form: { user: "a" } });
    assert.equal(r.status, 500, `${key}=${JSON.stringify(value)}`);
    assert.equal(r.headers.getSetCookie().length, 0);
    assert.equal(r.headers.get("x-injected"), undefined);
    assert.ok(logged.some((e) => e instanceof Error));
  }
});
