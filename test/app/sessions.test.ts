import assert from "node:assert/strict";
import { test } from "node:test";
import {
  addFlash,
  FLASHES_KEY,
  mayHaveCookie,
  SecureCookieSession,
  SecureCookieSessionInterface,
  type SessionConfig,
  selectFlashes,
  sessionView,
  takeFlashes,
} from "../../src/app/sessions/secure-cookie.ts";
import { TimedSerializer, TimestampSigner } from "../../src/app/sessions/signing.ts";

function config(over: Partial<SessionConfig> = {}): SessionConfig {
  return {
    secretKey: "test-secret",
    secretKeyFallbacks: [],
    sessionCookieName: "session",
    sessionCookieDomain: undefined,
    sessionCookiePath: undefined,
    sessionCookieHttpOnly: true,
    sessionCookieSecure: false,
    sessionCookieSameSite: "Lax",
    sessionCookiePartitioned: false,
    permanentSessionLifetime: 31 * 24 * 3600,
    sessionRefreshEachRequest: true,
    ...over,
  };
}

/** Writes a session and returns its cookie value, as a first request would. */
function cookieFor(data: Record<string, unknown>, cfg = config()): string {
  const si = new SecureCookieSessionInterface();
  const s = si.open(undefined, cfg);
  s.update(data);
  const r = si.save(s, cfg);
  assert.equal(r.cookie?.action, "set");
  return r.cookie.action === "set" ? r.cookie.value : "";
}

test("a session round-trips through its cookie", () => {
  const si = new SecureCookieSessionInterface();
  const value = cookieFor({ user: "alice", n: 3, when: new Date(1000) });
  const s = si.open(value, config());
  assert.equal(s.get("user"), "alice");
  assert.equal(s.get("n"), 3);
  assert.deepEqual(s.get("when"), new Date(1000));
  assert.equal(s.new, false);
  assert.deepEqual([...s.keys()].sort(), ["n", "user", "when"]);
});

test("opening is lazy: nothing is verified until the session is used", () => {
  const si = new SecureCookieSessionInterface();
  let verified = 0;
  const original = TimedSerializer.prototype.tryLoads;
  TimedSerializer.prototype.tryLoads = function (this: TimedSerializer, ...a: Parameters<typeof original>) {
    verified++;
    return original.apply(this, a);
  };
  try {
    const s = si.open(cookieFor({ a: 1 }), config());
    assert.equal(verified, 0);
    assert.equal(s.accessed, false);
    assert.deepEqual(si.save(s, config()), { vary: false });
    assert.equal(s.get("a"), 1);
    assert.equal(s.get("a"), 1);
    assert.equal(verified, 1);
  } finally {
    TimedSerializer.prototype.tryLoads = original;
  }
});

test("every read path marks the session accessed (Vary: Cookie)", () => {
  const si = new SecureCookieSessionInterface();
  const value = cookieFor({ a: 1 });
  const reads: [string, (s: SecureCookieSession) => unknown][] = [
    ["get", (s) => s.get("a")],
    ["has", (s) => s.has("a")],
    ["size", (s) => s.size],
    ["keys", (s) => [...s.keys()]],
    ["values", (s) => [...s.values()]],
    ["entries", (s) => [...s.entries()]],
    ["iterator", (s) => [...s]],
    ["forEach", (s) => s.forEach(() => {})],
    ["toJSON", (s) => s.toJSON()],
    ["permanent", (s) => s.permanent],
    ["new", (s) => s.new],
    ["get missing", (s) => s.get("nope")],
    ["has missing", (s) => s.has("nope")],
  ];
  for (const [what, read] of reads) {
    const s = si.open(value, config());
    read(s);
    assert.equal(s.accessed, true, what);
    assert.equal(s.modified, false, what);
    const r = si.save(s, config({ sessionRefreshEachRequest: false }));
    assert.equal(r.vary, true, what);
    assert.equal(r.cookie, undefined, `${what}: an unchanged session sends no cookie`);
    // Also for a request without any cookie (the empty session was still consulted).
    const e = si.open(undefined, config());
    read(e);
    assert.equal(si.save(e, config()).vary, true, `${what} (no cookie)`);
  }
});

test("writes mark modified; the cookie is sent with Flask's attributes", () => {
  const si = new SecureCookieSessionInterface();
  const s = si.open(undefined, config({ sessionCookieDomain: "example.com", sessionCookieSecure: true }));
  s.set("user", "bob");
  assert.equal(s.modified, true);
  const r = si.save(s, config({ sessionCookieDomain: "example.com", sessionCookieSecure: true }));
  assert.equal(r.vary, true);
  assert.ok(r.cookie !== undefined && r.cookie.action === "set");
  assert.equal(r.cookie.name, "session");
  assert.deepEqual(r.cookie.options, {
    path: "/",
    domain: "example.com",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
  });
  assert.equal(r.cookie.options.maxAge, undefined, "not permanent: a browser-session cookie");
  assert.match(r.cookie.value, /^[A-Za-z0-9_.-]+$/, "only cookie-safe characters");
});

test("cookie path: sessionCookiePath, else applicationRoot, else /", () => {
  const si = new SecureCookieSessionInterface();
  assert.equal(si.cookieOptions(config({ applicationRoot: "/app" })).path, "/app");
  assert.equal(si.cookieOptions(config({ applicationRoot: "/app", sessionCookiePath: "/x" })).path, "/x");
  assert.equal(si.cookieOptions(config({ sessionCookieSameSite: undefined })).sameSite, undefined);
  assert.equal(si.cookieOptions(config({ sessionCookiePartitioned: true })).partitioned, true);
});

test("permanent sessions get Max-Age/Expires and are refreshed each request", () => {
  const si = new SecureCookieSessionInterface();
  const cfg = config({ permanentSessionLifetime: 3600 });
  const s = si.open(undefined, cfg);
  s.set("a", 1);
  s.permanent = true;
  const before = Date.now();
  const r = si.save(s, cfg);
  assert.ok(r.cookie?.action === "set");
  assert.equal(r.cookie.options.maxAge, 3600);
  const exp = r.cookie.options.expires!.getTime();
  assert.ok(exp >= before + 3_600_000 - 1000 && exp <= Date.now() + 3_600_000 + 1000);
  // Next request: read only, yet the permanent cookie is sent again (sliding expiry) with Vary.
  const next = si.open(r.cookie.value, cfg);
  assert.equal(next.permanent, true);
  const r2 = si.save(next, cfg);
  assert.equal(r2.vary, true);
  assert.equal(r2.cookie?.action, "set");
  // …unless refreshing is off.
  const next2 = si.open(r.cookie.value, cfg);
  next2.get("a");
  assert.equal(si.save(next2, { ...cfg, sessionRefreshEachRequest: false }).cookie, undefined);
  // permanent = false removes the flag.
  const p = si.open(r.cookie.value, cfg);
  p.permanent = false;
  assert.equal(p.has("_permanent"), false);
  assert.equal(p.modified, true);
});

test("a permanent session nobody touched is still refreshed (with Vary); others send nothing", () => {
  const si = new SecureCookieSessionInterface();
  const cfg = config({ permanentSessionLifetime: 3600 });
  const s = si.open(undefined, cfg);
  s.set("a", 1);
  s.permanent = true;
  const token = (si.save(s, cfg).cookie as { value: string }).value;
  const untouched = si.open(token, cfg);
  const r = si.save(untouched, cfg);
  assert.equal(r.vary, true, "CVE-2023-30861: a refreshed cookie varies on Cookie");
  assert.ok(r.cookie?.action === "set");
  assert.equal(r.cookie.options.maxAge, 3600);
  assert.deepEqual(si.open(r.cookie.value, cfg).toJSON(), { a: 1, _permanent: true });
  assert.deepEqual(si.save(si.open(token, cfg), { ...cfg, sessionRefreshEachRequest: false }), {
    vary: false,
  });
  // Not permanent, or a cookie that doesn't verify: nothing at all.
  const plain = si.open(undefined, cfg);
  plain.set("a", 1);
  const plainToken = (si.save(plain, cfg).cookie as { value: string }).value;
  assert.deepEqual(si.save(si.open(plainToken, cfg), cfg), { vary: false });
  assert.deepEqual(si.save(si.open(`${token}x`, cfg), cfg), { vary: false });
  assert.deepEqual(si.save(si.open(undefined, cfg), cfg), { vary: false });
});

test("mayHaveCookie: a cheap scan that never misses a cookie of that name", () => {
  const yes = ["session=abc", "a=1; session=abc", "a=1;session=abc", "a=1;  session =abc", "session="];
  for (const v of yes) assert.equal(mayHaveCookie(["Host", "a", "Cookie", v], "session"), true, v);
  assert.equal(mayHaveCookie(["cookie", "session=1"], "session"), true);
  assert.equal(mayHaveCookie(["COOKIE", "session=1"], "session"), true);
  assert.equal(mayHaveCookie(["Cookie", "a=1", "Cookie", "session=1"], "session"), true);
  const no = ["mysession=1", "session_id=1", "a=session", "sessions=1", "Session=1", ""];
  for (const v of no) assert.equal(mayHaveCookie(["Cookie", v], "session"), false, v);
  assert.equal(
    mayHaveCookie(["Host", "a", "X-Cookie", "session=1", "Cookies", "session=1"], "session"),
    false,
  );
  assert.equal(mayHaveCookie([], "session"), false);
});

test("an emptied session deletes the cookie; an empty one that had no cookie sends nothing", () => {
  const si = new SecureCookieSessionInterface();
  const s = si.open(cookieFor({ a: 1 }), config());
  s.clear();
  const r = si.save(s, config());
  assert.deepEqual(r.cookie, { action: "delete", name: "session", options: si.cookieOptions(config()) });
  const fresh = si.open(undefined, config());
  fresh.set("a", 1);
  fresh.delete("a");
  assert.deepEqual(si.save(fresh, config()), { vary: true });
  const popped = si.open(cookieFor({ a: 1 }), config());
  assert.equal(popped.pop("a"), 1);
  assert.equal(si.save(popped, config()).cookie?.action, "delete");
});

test("attacks on the cookie read as an empty session, never an error", () => {
  const si = new SecureCookieSessionInterface();
  const cfg = config();
  const good = cookieFor({ user: "alice" });
  const [p, t, sig] = good.split(".") as [string, string, string];
  const payloadOf = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const otherKey = new TimedSerializer({ secretKey: "attacker", salt: si.salt }).dumps({ user: "admin" });
  const expired = new TimedSerializer({
    secretKey: "test-secret",
    salt: si.salt,
    now: () => Date.now() - 40 * 24 * 3600 * 1000,
  }).dumps({ user: "alice" });
  const cases: Record<string, string> = {
    "changed payload": `${payloadOf({ user: "admin" })}.${t}.${sig}`,
    "changed signature": `${p}.${t}.${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`,
    "changed timestamp": `${p}.${t === "AAAA" ? "AAAB" : "AAAA"}.${sig}`,
    "other key": otherKey,
    truncated: good.slice(0, -5),
    "no signature": `${p}.${t}`,
    expired,
    "garbage base64": "%%%.***.!!!",
    "garbage base64 (lenient decoders)": `${p}.${t}.${sig}====`,
    "huge cookie": `${"A".repeat(100_000)}.${t}.${sig}`,
    "signed non-object": new TimedSerializer({ secretKey: "test-secret", salt: si.salt }).dumps([1, 2]),
    "signed null": new TimedSerializer({ secretKey: "test-secret", salt: si.salt }).dumps(null),
    "signed by another purpose": new TimedSerializer({ secretKey: "test-secret", salt: "csrf" }).dumps({
      user: "x",
    }),
    "raw signer, no JSON": new TimestampSigner({ secretKey: "test-secret", salt: si.salt }).sign("{user"),
    empty: "",
  };
  for (const [what, value] of Object.entries(cases)) {
    const s = si.open(value, cfg);
    assert.equal(s.get("user"), undefined, what);
    assert.equal(s.size, 0, what);
    assert.equal(s.new, true, what);
    // Saving an untouched-but-read bad session sends no cookie.
    assert.equal(si.save(s, cfg).cookie, undefined, what);
  }
  // The genuine cookie still works with the same interface.
  assert.equal(si.open(good, cfg).get("user"), "alice");
});

test("the first verifying cookie of several with the session's name wins", () => {
  const si = new SecureCookieSessionInterface();
  const good = cookieFor({ user: "alice" });
  assert.equal(si.open(["forged.bad.value", good], config()).get("user"), "alice");
});

test("key rotation: old cookies still open; new cookies are signed with the new key", () => {
  const si = new SecureCookieSessionInterface();
  const oldCookie = cookieFor({ user: "alice" }, config({ secretKey: "old" }));
  const rotated = config({ secretKey: "new", secretKeyFallbacks: ["old"] });
  const s = si.open(oldCookie, rotated);
  assert.equal(s.get("user"), "alice");
  s.set("n", 1);
  const r = si.save(s, rotated);
  assert.ok(r.cookie?.action === "set");
  assert.equal(si.open(r.cookie.value, config({ secretKey: "new" })).get("user"), "alice");
  assert.equal(si.open(r.cookie.value, config({ secretKey: "old" })).get("user"), undefined);
  // Dropping the fallback ends old sessions.
  assert.equal(si.open(oldCookie, config({ secretKey: "new" })).get("user"), undefined);
});

test("without a secret key: reads see an empty session, the first write throws a clear error", () => {
  const si = new SecureCookieSessionInterface();
  const cfg = config({ secretKey: undefined });
  const s = si.open(cookieFor({ user: "alice" }), cfg);
  assert.equal(s.get("user"), undefined);
  assert.equal(s.size, 0);
  assert.throws(() => s.set("user", "x"), /secretKey.*app\.config\.secretKey =/s);
  assert.throws(() => {
    s.permanent = true;
  }, /no secret key/);
  assert.throws(() => addFlash(s, "hi"), /secret key/);
  assert.deepEqual(si.save(s, cfg), { vary: true });
});

test("values that can't be stored are refused on save, naming the key", () => {
  const si = new SecureCookieSessionInterface();
  const s = si.open(undefined, config());
  s.set("bad", new Map());
  assert.throws(() => si.save(s, config()), /Map.*bad/);
});

test("a cookie too large for browsers gives a warning", () => {
  const si = new SecureCookieSessionInterface();
  const s = si.open(undefined, config());
  // Random-looking data doesn't deflate.
  let x = 1;
  let junk = "";
  for (let i = 0; i < 5000; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    junk += String.fromCharCode(33 + (x % 90));
  }
  s.set("junk", junk);
  const r = si.save(s, config());
  assert.match(r.warning ?? "", /more than the 4093 bytes/);
});

test("session data can't reach Object.prototype", () => {
  const si = new SecureCookieSessionInterface();
  const s = si.open(undefined, config());
  s.update(JSON.parse('{"__proto__": {"polluted": 1}, "ok": 1}') as Record<string, unknown>);
  s.set("constructor", "c");
  const value = si.save(s, config()).cookie;
  assert.ok(value?.action === "set");
  const back = si.open(value.value, config());
  assert.equal(back.get("ok"), 1);
  assert.equal(back.get("constructor"), "c");
  assert.equal(back.has("toString"), false);
  assert.equal(back.get("toString"), undefined);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("flash: messages are stored under _flashes and taken once", () => {
  const si = new SecureCookieSessionInterface();
  const s = si.open(undefined, config());
  addFlash(s, "Saved");
  addFlash(s, "Careful", "warning");
  assert.deepEqual(s.get(FLASHES_KEY), [
    ["message", "Saved"],
    ["warning", "Careful"],
  ]);
  const r = si.save(s, config());
  assert.ok(r.cookie?.action === "set");
  const next = si.open(r.cookie.value, config());
  const flashes = takeFlashes(next);
  assert.deepEqual(selectFlashes(flashes), ["Saved", "Careful"]);
  assert.deepEqual(selectFlashes(flashes, { withCategories: true }), [
    ["message", "Saved"],
    ["warning", "Careful"],
  ]);
  assert.deepEqual(selectFlashes(flashes, { categoryFilter: ["warning"] }), ["Careful"]);
  assert.deepEqual(takeFlashes(next), [], "taken");
  // Taking them emptied the session: the cookie is deleted.
  assert.equal(si.save(next, config()).cookie?.action, "delete");
  // A session without flashes isn't modified by looking.
  const plain = si.open(cookieFor({ a: 1 }), config());
  assert.deepEqual(takeFlashes(plain), []);
  assert.equal(plain.modified, false);
});

test("the session is Map-like", () => {
  const s = new SecureCookieSession();
  assert.equal(s.set("a", 1), s);
  assert.equal(s.get("b", "fallback"), "fallback");
  assert.equal(s.setDefault("b", 2), 2);
  assert.equal(s.setDefault("b", 3), 2);
  assert.deepEqual(
    [...s],
    [
      ["a", 1],
      ["b", 2],
    ],
  );
  assert.equal(s.delete("a"), true);
  assert.equal(s.delete("a"), false);
  assert.equal(s.pop("zz", 9), 9);
  assert.equal(String(s), "[object SecureCookieSession]");
});

test("the template view reads keys as properties, lazily", () => {
  const si = new SecureCookieSessionInterface();
  let opened = 0;
  const value = cookieFor({ user: "alice", size: "key named like a member" });
  const inner = si.open(value, config());
  const view = sessionView(() => {
    opened++;
    return inner;
  });
  assert.equal(opened, 0);
  assert.equal(inner.accessed, false);
  assert.equal((view as unknown as Record<string, unknown>).user, "alice");
  assert.equal(opened, 1);
  assert.equal(inner.accessed, true);
  assert.equal(view.get("user"), "alice");
  assert.equal(view.size, 2, "members win over keys");
  assert.equal(view.get("size"), "key named like a member");
  assert.equal((view as unknown as Record<string, unknown>).missing, undefined);
  assert.equal(view.permanent, false);
  assert.deepEqual([...view.keys()].sort(), ["size", "user"]);
  assert.throws(() => {
    (view as unknown as Record<string, unknown>).user = "x";
  }, /can't change the session/);
  assert.equal(opened, 1);
});

test("a cookie verified a moment ago is refused at once when its key is dropped, the salt changes or it outlives the lifetime", () => {
  const si = new SecureCookieSessionInterface();
  const oldCookie = cookieFor({ user: "alice" }, config({ secretKey: "old" }));
  const rotated = config({ secretKey: "new", secretKeyFallbacks: ["old"] });
  assert.equal(si.open(oldCookie, rotated).get("user"), "alice");
  assert.equal(si.open(oldCookie, rotated).get("user"), "alice"); // remembered
  assert.equal(si.open(oldCookie, config({ secretKey: "new" })).get("user"), undefined);
  assert.equal(si.open(oldCookie, rotated).get("user"), "alice", "the fallback back: accepted again");

  const cookie = cookieFor({ user: "bob" });
  assert.equal(si.open(cookie, config()).get("user"), "bob");
  si.salt = "another.purpose";
  assert.equal(si.open(cookie, config()).get("user"), undefined, "another salt, other tokens");
  si.salt = "phial.session";

  // Signed 100 s ago (same key and salt): fine for a lifetime of 1000 s, and remembered; a lifetime of
  // 50 s ends it on the very next request.
  const past = new TimedSerializer({
    secretKey: "test-secret",
    salt: "phial.session",
    now: () => Date.now() - 100_000,
  }).dumps({ user: "carol" });
  assert.equal(si.open(past, config({ permanentSessionLifetime: 1000 })).get("user"), "carol");
  assert.equal(si.open(past, config({ permanentSessionLifetime: 1000 })).get("user"), "carol");
  assert.equal(si.open(past, config({ permanentSessionLifetime: 50 })).get("user"), undefined);
});

test("every request gets its own session data, even from the same remembered cookie", () => {
  const si = new SecureCookieSessionInterface();
  const cookie = cookieFor({ cart: [1], profile: { name: "alice" } });
  const a = si.open(cookie, config());
  (a.get("cart") as number[]).push(2); // changed in place, not saved
  (a.get("profile") as { name: string }).name = "mallory";
  const b = si.open(cookie, config());
  assert.deepEqual(b.get("cart"), [1]);
  assert.deepEqual(b.get("profile"), { name: "alice" });
});
