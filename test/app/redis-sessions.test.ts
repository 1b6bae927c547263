// Server-side sessions in a real Redis (a redis-server started here on a free port): two app objects
// stand for two instances sharing one Redis and one secret key. Skipped when redis-server is missing.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Phial, RedisSessionInterface } from "../../src/index.ts";
import { connectClient, RedisServer, redisSkip } from "../redis-support.ts";

const skip = redisSkip("the Redis session tests");

type Client = Awaited<ReturnType<typeof connectClient>>;

function makeApp(client: Client, lifetime = 3600): { app: Phial; si: RedisSessionInterface; logs: string[] } {
  const app = new Phial(import.meta.url);
  const logs: string[] = [];
  app.logger = { info: () => {}, warn: (m) => logs.push(m), error: (m) => logs.push(m) };
  app.config.secretKey = "shared-secret-for-the-instances";
  app.config.permanentSessionLifetime = lifetime;
  const si = new RedisSessionInterface({ client, userKey: "user" });
  app.sessionInterface = si;
  app.post("/login/<name>", (req) => {
    req.session.regenerate();
    req.session.set("user", req.params.name as string);
    req.session.permanent = true;
    return "signed in";
  });
  app.get("/me", (req) => String(req.session.get("user") ?? "anonymous"));
  app.post("/logout", (req) => {
    req.session.clear();
    return "bye";
  });
  app.get("/public", () => "no session needed");
  app.post("/everywhere/<name>", async (req) => String(await si.logOutEverywhere(req.params.name as string)));
  return { app, si, logs };
}

describe("RedisSessionInterface", { skip, timeout: 30_000 }, () => {
  let redis: RedisServer;
  let client: Client;
  before(async () => {
    redis = await RedisServer.start();
    client = await connectClient(redis.url);
  });
  after(async () => {
    await client?.close().catch(() => {});
    await redis?.close();
  });

  test("the cookie holds a signed id only; the data is in Redis with the session lifetime as TTL", async () => {
    const { app } = makeApp(client, 1234);
    const c = app.testClient();
    const r = await c.post("/login/alice");
    assert.equal(r.status, 200);
    const setCookie = r.headers.get("Set-Cookie")!;
    assert.match(setCookie, /^session=[^;]+; .*Max-Age=1234/);
    const cookie = c.getCookie("session")!;
    assert.ok(
      !cookie.includes("alice") && !Buffer.from(cookie.split(".")[0]!, "base64url").includes("alice"),
    );
    assert.equal(r.headers.get("Vary"), "Cookie");
    const keys = await client.keys("session:*");
    const sessionKeys = keys.filter((k) => !k.startsWith("session:user:"));
    assert.equal(sessionKeys.length, 1);
    assert.match((await client.get(sessionKeys[0]!))!, /alice/);
    const ttl = await client.ttl(sessionKeys[0]!);
    assert.ok(ttl > 1200 && ttl <= 1234, `TTL ${ttl}`);
    assert.equal((await c.get("/me")).text, "alice");
    await client.flushAll();
  });

  test("a changed session under the same id sends no new cookie unless it is permanent", async () => {
    const { app } = makeApp(client);
    app.post("/visit", (req) => {
      req.session.set("n", ((req.session.get("n") as number | undefined) ?? 0) + 1);
      return String(req.session.get("n"));
    });
    const c = app.testClient();
    const first = await c.post("/visit");
    assert.equal(first.text, "1");
    assert.ok(first.headers.has("Set-Cookie"), "a new session: its id is sent");
    const second = await c.post("/visit");
    assert.equal(second.text, "2");
    assert.equal(second.headers.has("Set-Cookie"), false, "same id, stored in Redis: nothing to send");
    assert.equal(second.headers.get("Vary"), "Cookie");
    await c.post("/login/kim"); // permanent from here on
    assert.match((await c.post("/visit")).headers.get("Set-Cookie")!, /Max-Age=3600/, "expiry renewed");
    await client.flushAll();
  });

  test("a session made on one instance is read on another", async () => {
    const a = makeApp(client).app;
    const b = makeApp(client).app;
    const ca = a.testClient();
    await ca.post("/login/bob");
    const cb = b.testClient();
    cb.setCookie("session", ca.getCookie("session")!);
    assert.equal((await cb.get("/me")).text, "bob");
    await client.flushAll();
  });

  test("signing in gives a new id and the id from before is dead", async () => {
    const { app } = makeApp(client);
    const c = app.testClient();
    await c.post("/login/eve"); // an id the attacker knows (fixation)
    const planted = c.getCookie("session")!;
    await c.post("/login/carol"); // the victim signs in on it
    const fresh = c.getCookie("session")!;
    assert.notEqual(fresh, planted);
    assert.equal((await c.get("/me")).text, "carol");
    const attacker = app.testClient();
    attacker.setCookie("session", planted);
    assert.equal((await attacker.get("/me")).text, "anonymous");
    const keys = (await client.keys("session:*")).filter((k) => !k.startsWith("session:user:"));
    assert.equal(keys.length, 1, "the old session is deleted in Redis");
    await client.flushAll();
  });

  test("logging out deletes the session in Redis: a copy of the old cookie opens nothing", async () => {
    const { app } = makeApp(client);
    const c = app.testClient();
    await c.post("/login/dave");
    const copy = c.getCookie("session")!;
    const r = await c.post("/logout");
    assert.match(r.headers.get("Set-Cookie")!, /^session=; .*Max-Age=0/);
    assert.equal((await c.get("/me")).text, "anonymous");
    const thief = app.testClient();
    thief.setCookie("session", copy);
    assert.equal((await thief.get("/me")).text, "anonymous");
    assert.deepEqual(await client.keys("session:*"), []);
  });

  test("log out everywhere ends every session of that user, on every instance, and no other", async () => {
    const a = makeApp(client).app;
    const b = makeApp(client).app;
    const laptop = a.testClient();
    const phone = b.testClient();
    const other = a.testClient();
    await laptop.post("/login/frank");
    await phone.post("/login/frank");
    await other.post("/login/grace");
    assert.equal((await phone.get("/me")).text, "frank");
    assert.equal((await b.testClient().post("/everywhere/frank")).text, "2");
    assert.equal((await laptop.get("/me")).text, "anonymous");
    assert.equal((await phone.get("/me")).text, "anonymous");
    assert.equal((await other.get("/me")).text, "grace");
    await client.flushAll();
  });

  test("a forged or tampered cookie is a new session, and Redis is not asked", async () => {
    const { app } = makeApp(client);
    const c = app.testClient();
    await c.post("/login/heidi");
    const v = c.getCookie("session")!;
    const forged = app.testClient();
    forged.setCookie("session", `${v.slice(0, -2)}AA`);
    assert.equal((await forged.get("/me")).text, "anonymous");
    const other = makeApp(client).app;
    other.config.secretKey = "another-secret";
    const stranger = other.testClient();
    stranger.setCookie("session", v);
    assert.equal((await stranger.get("/me")).text, "anonymous");
    await client.flushAll();
  });

  test("Redis down: a clear 503 for requests that need the session, others served; back when Redis is", async () => {
    const { app, logs } = makeApp(client);
    const c = app.testClient();
    await c.post("/login/ivan");
    await redis.stop();
    const r = await c.get("/me");
    assert.equal(r.status, 503);
    assert.equal(r.headers.get("Retry-After"), "5");
    assert.match(r.text, /session store is temporarily unavailable/);
    assert.doesNotMatch(r.text, /127\.0\.0\.1|ECONNREFUSED/, "the store's address is not shown");
    assert.equal((await c.get("/public")).text, "no session needed");
    const fresh = app.testClient();
    const w = await fresh.post("/login/judy"); // a write with Redis away: 503, not a 500
    assert.equal(w.status, 503);
    assert.equal(w.headers.has("Set-Cookie"), false);
    assert.ok(
      logs.some((m) => m.includes("session store (Redis) did not answer")),
      logs.join("\n"),
    );
    await redis.restart();
    for (let i = 0; i < 100 && !client.isReady; i++) await new Promise((r) => setTimeout(r, 20));
    // This Redis kept nothing (no persistence): ivan's session is gone, so he is anonymous, not an error.
    assert.equal((await c.get("/me")).text, "anonymous");
    assert.equal((await fresh.post("/login/judy")).status, 200);
    assert.equal((await fresh.get("/me")).text, "judy");
    await client.flushAll();
  });
});
