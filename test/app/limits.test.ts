// Rate limiting: the limit strings, the memory store's fixed and sliding windows (on a clock the test
// moves), what a client sees (429, Retry-After, RateLimit-*), the scopes (route, blueprint, app,
// shared), keys (address behind a trusted proxy, user), and the Redis store on a real redis-server:
// shared by two app objects (two instances), atomic under concurrent hits, 503 while Redis is away.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Blueprint, Limiter, MemoryStore, Phial, parseLimits, RedisStore } from "../../src/index.ts";
import { connectClient, RedisServer, redisSkip } from "../redis-support.ts";

function quietApp(): { app: Phial; logs: string[] } {
  const app = new Phial(import.meta.url);
  const logs: string[] = [];
  app.logger = { info: () => {}, warn: (m) => logs.push(m), error: (m) => logs.push(m) };
  return { app, logs };
}

test("limit strings: Flask-Limiter's forms, and a clear error for others", () => {
  assert.deepEqual(parseLimits("5 per minute"), [{ amount: 5, windowMs: 60_000, text: "5 per 1 minute" }]);
  assert.deepEqual(
    parseLimits("5/second; 100 per 2 hours, 1000/day").map((l) => [l.amount, l.windowMs]),
    [
      [5, 1000],
      [100, 7_200_000],
      [1000, 86_400_000],
    ],
  );
  assert.throws(() => parseLimits("5 per fortnight"), /write it as "5 per minute"/);
  assert.throws(() => parseLimits("many per minute"), /Can't read the rate limit "many per minute"/);
  assert.throws(() => parseLimits(""), /No rate limit/);
});

describe("Limiter with the memory store", () => {
  test("a fixed window: the limit's hits pass with RateLimit-*, the next is a 429 with Retry-After", async () => {
    const { app } = quietApp();
    const store = new MemoryStore();
    let now = 1_000_000;
    store.now = () => now;
    const limiter = new Limiter(app, { store });
    app.post(
      "/signin",
      limiter.limit("3 per minute")(function signin() {
        return "ok";
      }),
    );
    app.get("/free", () => "free");
    const c = app.testClient();
    for (let i = 0; i < 3; i++) {
      const r = await c.post("/signin");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("RateLimit-Limit"), "3");
      assert.equal(r.headers.get("RateLimit-Remaining"), String(2 - i));
      assert.equal(r.headers.get("RateLimit-Reset"), "60");
      assert.equal(r.headers.get("RateLimit-Policy"), "3;w=60");
    }
    now += 20_000;
    const refused = await c.post("/signin");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("Retry-After"), "40");
    assert.equal(refused.headers.get("RateLimit-Remaining"), "0");
    assert.equal(refused.headers.get("RateLimit-Reset"), "40");
    assert.match(refused.text, /3 per 1 minute exceeded; try again in 40 seconds/);
    // Another client (address) has its own counter; a route without limits has none.
    assert.equal((await c.post("/signin", { remoteAddr: "10.0.0.9" })).status, 200);
    const free = await c.get("/free");
    assert.equal(free.status, 200);
    assert.equal(free.headers.has("RateLimit-Limit"), false);
    now += 40_000; // the window is over
    assert.equal((await c.post("/signin")).status, 200);
  });

  test("a per-view limit on a route with schemas, and a key that reads a body still arriving counts once", async () => {
    const { app } = quietApp();
    const limiter = new Limiter(app, { store: new MemoryStore() });
    const schema = {
      "~standard": {
        version: 1 as const,
        vendor: "test",
        validate: (v: unknown) => ({ value: v as { n: number } }),
      },
    };
    app.post(
      "/typed",
      { json: schema },
      limiter.limit("2 per minute")(function typed(req) {
        return { n: (req.valid.json as { n: number }).n };
      }),
    );
    const perAddress = limiter.limit("3 per minute");
    const perName = limiter.limit("100 per minute", { key: (req) => `name:${req.form.get("name") ?? ""}` });
    app.post(
      "/keyed",
      perName(
        perAddress(function keyed() {
          return "ok";
        }),
      ),
    );
    const c = app.testClient();
    assert.equal((await c.post("/typed", { json: { n: 1 } })).status, 200);
    assert.equal((await c.post("/typed", { json: { n: 2 } })).status, 200);
    const third = await c.post("/typed", { json: { n: 3 } });
    assert.equal(third.status, 429, "the view's limit applies through the schema wrapper");
    // A streamed form body is not all there when the Limiter's hook runs: the name's key is read (the body
    // read, the hook run again) before any counter moves, so the address's limit counts each request once.
    const streamed = (name: string, remoteAddr = "127.0.0.1") =>
      c.post("/keyed", {
        remoteAddr,
        data: (async function* () {
          yield Buffer.from(`name=${name}`);
        })(),
        contentType: "application/x-www-form-urlencoded",
      });
    const seen = [];
    for (let i = 0; i < 4; i++) {
      const r = await streamed("eve");
      seen.push([r.status, r.headers.get("RateLimit-Remaining")]);
    }
    assert.deepEqual(seen, [
      [200, "2"],
      [200, "1"],
      [200, "0"],
      [429, "0"],
    ]);
    assert.equal((await streamed("eve", "10.0.0.2")).status, 200, "another address has its own counter");
  });

  test("a sliding window weighs the previous window: no burst of twice the limit at a window's edge", async () => {
    const { app } = quietApp();
    const store = new MemoryStore();
    let now = 10_000 * 1000; // the start of a 10 s window
    store.now = () => now;
    const limiter = new Limiter(app, { store, strategy: "sliding-window" });
    app.get(
      "/",
      limiter.limit("10 per 10 seconds")(function index() {
        return "ok";
      }),
    );
    const c = app.testClient();
    now += 9_000; // the end of the first window
    for (let i = 0; i < 10; i++) assert.equal((await c.get("/")).status, 200);
    assert.equal((await c.get("/")).status, 429);
    now += 1_500; // 0.5 s into the next window: the previous 10 still weigh 9.5
    const r = await c.get("/");
    assert.equal(r.status, 429, "a fixed window would allow 10 more here");
    assert.equal(r.headers.get("Retry-After"), "1"); // at 1 s in, they weigh 9: one more fits
    now += 4_500; // 5 s in: they weigh 5
    let passed = 0;
    for (let i = 0; i < 10; i++) if ((await c.get("/")).status === 200) passed++;
    assert.equal(passed, 5);
  });

  test("blueprint, default and application limits; exempt; methods; a shared scope", async () => {
    const { app } = quietApp();
    const limiter = new Limiter(app, { defaultLimits: "2 per minute", applicationLimits: "12 per minute" });
    app.get("/a", () => "a");
    app.get("/b", () => "b");
    app.get("/c", () => "c");
    app.get(
      "/health",
      limiter.exempt(function health() {
        return "up";
      }),
    );
    app.route(
      "/form",
      { methods: ["GET", "POST"] },
      limiter.limit("1 per minute", { methods: ["POST"] })(function form() {
        return "form";
      }),
    );
    const shared = limiter.limit("3 per minute", { scope: "search" });
    app.get(
      "/s1",
      shared(() => "s1"),
    );
    app.get(
      "/s2",
      shared(() => "s2"),
    );
    const api = new Blueprint("api", { urlPrefix: "/api" });
    api.get("/x", () => "x");
    api.get("/y", () => "y");
    app.registerBlueprint(api);
    limiter.limitBlueprint(api, "1 per minute", { shared: true });
    const c = app.testClient();
    const codes = async (path: string, n: number, method: "get" | "post" = "get") => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await c[method](path)).status);
      return out;
    };
    assert.deepEqual(await codes("/a", 3), [200, 200, 429], "default limit per route");
    assert.deepEqual(await codes("/b", 2), [200, 200], "its own counter");
    assert.deepEqual(await codes("/health", 5), [200, 200, 200, 200, 200], "exempt from every limit");
    assert.deepEqual(await codes("/form", 3), [200, 200, 200], "GET is not counted");
    assert.deepEqual(await codes("/form", 2, "post"), [200, 429]);
    assert.deepEqual(
      [...(await codes("/s1", 2)), ...(await codes("/s2", 2))],
      [200, 200, 200, 429],
      "shared",
    );
    assert.deepEqual([...(await codes("/api/x", 1)), ...(await codes("/api/y", 1))], [200, 429], "blueprint");
    // The application limit counted every request that passed the others: 2 (a) + 2 (b) + 3 GET and 1
    // POST (form) + 3 (s1, s2) + 1 (api): 12, so it is full now.
    const r = await c.get("/c");
    assert.equal(r.status, 429);
    assert.match(r.text, /12 per 1 minute exceeded/);
  });

  test("keyed by the address a trusted proxy forwarded, or by any function (the user)", async () => {
    const { app } = quietApp();
    app.config.trustProxy = "loopback";
    const limiter = new Limiter(app);
    app.get(
      "/",
      limiter.limit("1 per minute")(function index() {
        return "ok";
      }),
    );
    app.post(
      "/signin",
      limiter.limit("2 per minute", {
        key: (req) => `user:${(req.form.get("username") ?? "").toLowerCase()}`,
      })(function signin() {
        return "tried";
      }),
    );
    const c = app.testClient();
    const via = (ip: string) => ({ headers: { "X-Forwarded-For": ip } });
    assert.equal((await c.get("/", via("203.0.113.1"))).status, 200);
    assert.equal((await c.get("/", via("203.0.113.1"))).status, 429);
    assert.equal((await c.get("/", via("203.0.113.2"))).status, 200, "another client behind the same proxy");
    // Untrusted peer: its X-Forwarded-For is not believed, so changing it does not dodge the limit.
    const d = app.testClient();
    assert.equal((await d.get("/", { remoteAddr: "198.51.100.7", ...via("1.1.1.1") })).status, 200);
    assert.equal((await d.get("/", { remoteAddr: "198.51.100.7", ...via("2.2.2.2") })).status, 429);
    // By user: a password-guesser changing address is still counted against the account.
    const tries = [];
    for (const ip of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
      tries.push((await c.post("/signin", { form: { username: "Alice" }, remoteAddr: ip })).status);
    }
    assert.deepEqual(tries, [200, 200, 429]);
    assert.equal((await c.post("/signin", { form: { username: "bob" } })).status, 200);
    // A client-chosen key of 100 KB is counted under its hash, not stored as it came.
    const long = "x".repeat(100_000);
    const store = limiter.store as MemoryStore;
    assert.equal((await c.post("/signin", { form: { username: long } })).status, 200);
    assert.equal((await c.post("/signin", { form: { username: long } })).status, 200);
    assert.equal((await c.post("/signin", { form: { username: long } })).status, 429);
    const keys = [...(store as unknown as { fixed: Map<string, unknown> }).fixed.keys()];
    assert.ok(
      keys.every((k) => k.length < 300),
      "no key longer than a hash and the scope",
    );
  });

  test("a limit string that cannot be read fails when it is declared", () => {
    const { app } = quietApp();
    const limiter = new Limiter(app);
    assert.throws(() => limiter.limit("5 a minute"), /Can't read the rate limit "5 a minute"/);
    assert.throws(
      () => new Limiter(app, { strategy: "leaky" as "fixed-window" }),
      /Unknown strategy "leaky"/,
    );
  });
});

const skip = redisSkip("the Redis rate limit store tests");

describe("Limiter with the Redis store", { skip, timeout: 30_000 }, () => {
  let redis: RedisServer;
  let client: Awaited<ReturnType<typeof connectClient>>;
  before(async () => {
    redis = await RedisServer.start();
    client = await connectClient(redis.url);
  });
  after(async () => {
    await client?.close().catch(() => {});
    await redis?.close();
  });

  function instance(strategy: "fixed-window" | "sliding-window", swallowErrors = false) {
    const { app, logs } = quietApp();
    const limiter = new Limiter(app, { store: new RedisStore(client), strategy, swallowErrors });
    app.post(
      "/signin",
      limiter.limit("5 per minute")(function signin() {
        return "ok";
      }),
    );
    return { app, limiter, logs };
  }

  for (const strategy of ["fixed-window", "sliding-window"] as const) {
    test(`${strategy}: two instances share the counter, and concurrent hits never pass the limit`, async () => {
      const a = instance(strategy).app.testClient();
      const b = instance(strategy).app.testClient();
      const first = await a.post("/signin");
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("RateLimit-Remaining"), "4");
      assert.ok(Number(first.headers.get("RateLimit-Reset")) <= 60);
      // 40 requests at once over both instances: exactly 4 more fit.
      const all = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).post("/signin")));
      assert.equal(all.filter((r) => r.status === 200).length, 4);
      const refused = all.find((r) => r.status === 429)!;
      const retry = Number(refused.headers.get("Retry-After"));
      assert.ok(retry >= 1 && retry <= 120, `Retry-After ${retry}`);
      // Another client is not affected.
      assert.equal((await b.post("/signin", { remoteAddr: "10.1.1.1" })).status, 200);
      await client.flushAll();
    });
  }

  test("Redis down: 503 (or through, with swallowErrors); limits again once it is back", async () => {
    const strict = instance("fixed-window");
    const lenient = instance("fixed-window", true);
    const s = strict.app.testClient();
    const l = lenient.app.testClient();
    await redis.stop();
    const r = await s.post("/signin");
    assert.equal(r.status, 503);
    assert.match(r.text, /rate limiter is temporarily unavailable/);
    assert.equal((await l.post("/signin")).status, 200);
    assert.ok(strict.logs.some((m) => m.includes("requests get 503 until it is back")));
    assert.ok(lenient.logs.some((m) => m.includes("requests go through unlimited")));
    await redis.restart();
    for (let i = 0; i < 100 && !client.isReady; i++) await new Promise((r) => setTimeout(r, 20));
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await s.post("/signin")).status);
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
    await client.flushAll();
  });
});
