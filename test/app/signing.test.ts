import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { test } from "node:test";
import {
  BadSignature,
  HmacKey,
  SignatureExpired,
  TimedSerializer,
  TimestampSigner,
  taggedJson,
} from "../../src/app/sessions/signing.ts";

const T0 = 1_760_000_000; // a fixed clock, in seconds
const clock =
  (s = T0) =>
  () =>
    s * 1000;

function flip(token: string, index: number): string {
  const c = token[index]!;
  const alt = c === "A" ? "B" : "A";
  return token.slice(0, index) + alt + token.slice(index + 1);
}

test("sign/unsign round-trips strings and bytes, with the timestamp", () => {
  const s = new TimestampSigner({ secretKey: "k1", now: clock() });
  const tok = s.sign("hello");
  assert.match(tok, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  const out = s.unsign(tok);
  assert.equal(out.value.toString(), "hello");
  assert.equal(out.timestamp, T0);
  const bytes = Buffer.from([0, 1, 2, 255]);
  assert.deepEqual(s.unsign(s.sign(bytes)).value, bytes);
  assert.equal(s.unsign(s.sign("")).value.length, 0);
});

test("long repetitive payloads are deflated and still round-trip", () => {
  const s = new TimestampSigner({ secretKey: "k1" });
  const value = "abc".repeat(500);
  const tok = s.sign(value);
  assert.ok(tok.startsWith("."), "compressed payloads are marked with a leading dot");
  assert.ok(tok.length < value.length);
  assert.equal(s.unsign(tok).value.toString(), value);
});

test("a changed payload, timestamp or signature is refused", () => {
  const s = new TimestampSigner({ secretKey: "k1" });
  const tok = s.sign('{"user":"alice"}');
  const [p, t, sig] = tok.split(".") as [string, string, string];
  const forged = `${Buffer.from('{"user":"admin"}').toString("base64url")}.${t}.${sig}`;
  assert.throws(() => s.unsign(forged), BadSignature);
  assert.throws(() => s.unsign(`${p}.${flip(t, 0)}.${sig}`), BadSignature);
  for (let i = 0; i < tok.length; i++) {
    if (tok[i] === ".") continue;
    assert.throws(() => s.unsign(flip(tok, i)), BadSignature, `flipping char ${i}`);
  }
  // The signature's last character carries unused bits that Node's decoder ignores: only the canonical
  // spelling verifies, so a token has exactly one valid form.
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (const c of alphabet) {
    if (c === tok.at(-1)) continue;
    assert.throws(() => s.unsign(tok.slice(0, -1) + c), BadSignature, `last char ${c}`);
  }
  assert.throws(() => s.unsign(tok.slice(0, -1)), BadSignature);
  assert.throws(() => s.unsign(`${tok}A`), BadSignature);
  assert.throws(() => s.unsign(`${tok}AAAA`), BadSignature);
});

test("truncated, empty and garbage tokens are refused with BadSignature, never another error", () => {
  const s = new TimestampSigner({ secretKey: "k1" });
  const tok = s.sign("value");
  for (let n = 0; n < tok.length; n++) assert.throws(() => s.unsign(tok.slice(0, n)), BadSignature);
  const garbage = [
    "",
    ".",
    "..",
    "...",
    "a.b",
    "a.b.c",
    "!!!.@@@.###",
    "a b.c d.e f",
    "%00.%00.%00",
    "\u00e9\u00e9.\u00e9.\u00e9",
    `${tok.split(".")[0]}.${tok.split(".")[1]}.${"+".repeat(43)}`,
    `${tok.split(".")[0]}.${tok.split(".")[1]}.${"/".repeat(43)}`,
    `${tok.split(".")[0]}.${tok.split(".")[1]}.${"=".repeat(43)}`,
    `${tok}+/`.replaceAll("-", "+").replaceAll("_", "/"),
    `.${tok}`,
  ];
  for (const g of garbage) assert.throws(() => s.unsign(g), BadSignature, JSON.stringify(g));
});

test("characters outside base64url are not silently skipped", () => {
  // Node's base64url decoder ignores unknown characters, so "ab!c" would decode like "abc".
  const s = new TimestampSigner({ secretKey: "k1" });
  const tok = s.sign("value");
  const [p, t, sig] = tok.split(".") as [string, string, string];
  assert.throws(() => s.unsign(`${p}!.${t}.${sig}`), BadSignature);
  assert.throws(() => s.unsign(`${p}.${t}.${sig.slice(0, 10)}!${sig.slice(10)}`), BadSignature);
});

test("another key, or another salt, doesn't verify", () => {
  const a = new TimestampSigner({ secretKey: "key-a" });
  const b = new TimestampSigner({ secretKey: "key-b" });
  const otherSalt = new TimestampSigner({ secretKey: "key-a", salt: "csrf" });
  const tok = a.sign("x");
  assert.throws(() => b.unsign(tok), BadSignature);
  assert.throws(() => otherSalt.unsign(tok), BadSignature);
  assert.equal(a.validate(tok), true);
  assert.equal(b.validate(tok), false);
});

test("key rotation: sign with the newest key, verify with every fallback", () => {
  const old = new TimestampSigner({ secretKey: "old" });
  const older = new TimestampSigner({ secretKey: "older" });
  const rotated = new TimestampSigner({ secretKey: "new", fallbacks: ["old", "older"] });
  assert.equal(rotated.unsign(old.sign("a")).value.toString(), "a");
  assert.equal(rotated.unsign(older.sign("b")).value.toString(), "b");
  const fresh = rotated.sign("c");
  // Signed with "new" (not a fallback): a signer that only knows the old keys refuses it.
  assert.throws(() => old.unsign(fresh), BadSignature);
  assert.throws(
    () => new TimestampSigner({ secretKey: "old", fallbacks: ["older"] }).unsign(fresh),
    BadSignature,
  );
  assert.equal(new TimestampSigner({ secretKey: "new" }).unsign(fresh).value.toString(), "c");
});

test("maxAge: tokens older than the limit are SignatureExpired", () => {
  const signer = new TimestampSigner({ secretKey: "k", now: clock(T0) });
  const tok = signer.sign("v");
  const later = (s: number) => new TimestampSigner({ secretKey: "k", now: clock(T0 + s) });
  assert.equal(later(100).unsign(tok, { maxAge: 100 }).value.toString(), "v");
  assert.throws(
    () => later(101).unsign(tok, { maxAge: 100 }),
    (e: unknown) => e instanceof SignatureExpired && e instanceof BadSignature && e.timestamp === T0,
  );
  // Without maxAge the age doesn't matter.
  assert.equal(
    later(10 ** 6)
      .unsign(tok)
      .value.toString(),
    "v",
  );
});

test("huge tokens are refused before hashing", () => {
  const s = new TimestampSigner({ secretKey: "k", maxTokenLength: 1000 });
  assert.throws(() => s.unsign("A".repeat(1001)), /too long/);
  assert.throws(() => new TimestampSigner({ secretKey: "k" }).unsign("A".repeat(1 << 20)), BadSignature);
});

test("an empty key is refused up front", () => {
  assert.throws(() => new TimestampSigner({ secretKey: "" }), TypeError);
  assert.throws(() => new TimestampSigner({ secretKey: "k", fallbacks: [""] }), TypeError);
});

test("tagged JSON round-trips dates, bytes and look-alike objects", () => {
  const value = {
    n: 1,
    s: "x",
    when: new Date("2026-12-01T13:00:00.000Z"),
    raw: Buffer.from("hi"),
    list: [1, new Date(0), { " d": "not a date" }],
    fake: { " b": "aGk=" },
    nested: { a: { b: [true, null] } },
  };
  const back = taggedJson.loads(taggedJson.dumps(value)) as typeof value;
  assert.ok(back.when instanceof Date);
  assert.equal(back.when.toISOString(), "2026-12-01T13:00:00.000Z");
  assert.ok(Buffer.isBuffer(back.raw));
  assert.equal(back.raw.toString(), "hi");
  assert.ok(back.list[1] instanceof Date);
  assert.deepEqual(back.list[2], { " d": "not a date" });
  assert.deepEqual(back.fake, { " b": "aGk=" });
  assert.deepEqual(back.nested, { a: { b: [true, null] } });
});

test("tagged JSON refuses values JSON would mangle, naming where", () => {
  assert.throws(() => taggedJson.dumps({ a: { m: new Map() } }), /Map.*value\.a\.m/);
  assert.throws(() => taggedJson.dumps({ f: () => 1 }), /function/);
  assert.throws(() => taggedJson.dumps({ b: 1n }), /bigint/);
});

test("tagged JSON drops __proto__ keys", () => {
  const v = taggedJson.loads('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
  assert.equal(v.a, 1);
  assert.equal(Object.hasOwn(v, "__proto__"), false);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("TimedSerializer signs values; a valid signature over a non-JSON payload is still BadSignature", () => {
  const ser = new TimedSerializer({ secretKey: "k" });
  const tok = ser.dumps({ user: "alice", at: new Date(5) });
  assert.deepEqual(ser.loads(tok), { user: "alice", at: new Date(5) });
  const notJson = ser.signer.sign("{not json");
  assert.throws(() => ser.loads(notJson), BadSignature);
});

// ---- remembered tokens and the keyed hash (the fast paths must give exactly what the slow ones do) ----

test("HmacKey gives HMAC-SHA256 exactly, for keys of any length and messages on both sides of its buffer", () => {
  for (const keyBytes of [1, 32, 64, 65, 200]) {
    const key = randomBytes(keyBytes);
    const k = new HmacKey(key);
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 4031, 4032, 4033, 4096, 4097, 9000]) {
      const data = randomBytes(n).toString("latin1");
      const want = createHmac("sha256", key).update(data, "latin1").digest();
      assert.deepEqual(k.mac(data), want, `key ${keyBytes} B, message ${n} B`);
    }
  }
  // The buffer reused between calls keeps no trace of a longer message before a shorter one.
  const key = randomBytes(32);
  const k = new HmacKey(key);
  k.mac("x".repeat(3000));
  assert.deepEqual(k.mac("ab"), createHmac("sha256", key).update("ab").digest());
});

test("a remembered token is still checked against maxAge on every call, and refused once too old", () => {
  let now = T0 * 1000;
  const s = new TimedSerializer({ secretKey: "k", now: () => now });
  const tok = s.dumps({ user: "alice" }); // signed here: remembered at once
  const fromElsewhere = new TimedSerializer({ secretKey: "k", now: () => T0 * 1000 }).dumps({ user: "bob" });
  assert.deepEqual(s.loads(fromElsewhere, { maxAge: 100 }), { user: "bob" }); // verified: remembered now
  now += 100_000;
  assert.deepEqual(s.loads(tok, { maxAge: 100 }), { user: "alice" });
  assert.deepEqual(s.loads(fromElsewhere, { maxAge: 100 }), { user: "bob" });
  assert.throws(() => s.loads(tok, { maxAge: 99 }), SignatureExpired);
  now += 1000;
  for (const t of [tok, fromElsewhere]) {
    assert.throws(
      () => s.loads(t, { maxAge: 100 }),
      (e: unknown) => e instanceof SignatureExpired && e.timestamp === T0 && /101 s old/.test(e.message),
    );
  }
  // A clock set back before the token was signed: dated in the future, refused as itsdangerous does.
  now = (T0 - 5) * 1000;
  assert.throws(() => s.loads(tok, { maxAge: 100 }), /in the future/);
  assert.deepEqual(s.loads(tok), { user: "alice" }, "without maxAge the age doesn't matter");
});

test("each loads() of a remembered token returns its own value: changing one changes no other", () => {
  const s = new TimedSerializer({ secretKey: "k" });
  const tok = s.dumps({ cart: [1, 2], user: { name: "alice" }, at: new Date(5), raw: Buffer.from("ab") });
  const a = s.loads(tok) as { cart: number[]; user: { name: string }; at: Date; raw: Buffer };
  a.cart.push(3);
  a.user.name = "mallory";
  a.at.setTime(0);
  a.raw[0] = 0;
  const b = s.loads(tok) as typeof a;
  assert.deepEqual(b.cart, [1, 2]);
  assert.equal(b.user.name, "alice");
  assert.equal(b.at.getTime(), 5);
  assert.equal(b.raw.toString(), "ab");
  assert.notEqual(a, b);
});

test("the same value signed twice in one second gives the same token; the next second a new one", () => {
  let now = T0 * 1000;
  const s = new TimedSerializer({ secretKey: "k", now: () => now });
  const fresh = () => new TimedSerializer({ secretKey: "k", now: () => now });
  const a = s.dumps({ n: 1 });
  now += 999;
  assert.equal(s.dumps({ n: 1 }), a);
  assert.equal(fresh().dumps({ n: 1 }), a, "what signing gives anyway: remembering changes nothing");
  now += 1;
  const b = s.dumps({ n: 1 });
  assert.notEqual(b, a);
  assert.equal(b, fresh().dumps({ n: 1 }));
  assert.equal(fresh().signer.unsign(b).timestamp, T0 + 1);
});

test("refusals say why, whether or not the token was remembered; a forged one is never remembered", () => {
  const s = new TimedSerializer({ secretKey: "k" });
  const tok = s.dumps({ n: 1 });
  const forged = `${tok.slice(0, -4)}${tok.endsWith("AAAA") ? "BAAA" : "AAAA"}`;
  for (let i = 0; i < 3; i++) {
    assert.throws(() => s.loads(forged), { name: "BadSignature", message: "The signature does not match" });
  }
  assert.throws(() => s.loads("a.b"), { message: /malformed/ });
  assert.equal(s.signer.validate(forged), false);
  assert.equal(s.signer.validate(tok), true);
});

test("a token this serializer signed but longer than its maxTokenLength is still refused", () => {
  const s = new TimedSerializer({ secretKey: "k", maxTokenLength: 64 });
  const tok = s.dumps({ text: "x".repeat(40) });
  assert.ok(tok.length > 64);
  assert.throws(() => s.loads(tok), { message: "The token is too long" });
  assert.deepEqual(s.loads(s.dumps({ n: 1 })), { n: 1 });
});
