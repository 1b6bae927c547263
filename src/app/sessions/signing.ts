// Signed, timestamped tokens for session cookies (the idea of itsdangerous, written for Node).
//
// A token is `payload.timestamp.signature`, every part base64url without padding:
//   payload    the value's bytes; a leading "." marks a deflated payload (only used when smaller)
//   timestamp  seconds since the epoch, big-endian, leading zero bytes dropped
//   signature  HMAC-SHA256(derivedKey, "payload.timestamp")
// The key is derived per purpose: derivedKey = HMAC-SHA256(secretKey, salt), so a token signed for
// sessions can't be replayed where another salt is expected. Signing uses the newest key; verifying
// tries the newest key and then every fallback, so keys can be rotated without logging everyone out.
// Verification happens before anything is decoded or inflated: unsigned bytes are never parsed.

import * as crypto from "node:crypto";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";

/** A secret: a string (UTF-8) or bytes. */
export type SecretKey = string | Uint8Array;

/** The token was not signed by any of the keys, or is malformed. */
export class BadSignature extends Error {
  constructor(message = "The signature does not match") {
    super(message);
    this.name = "BadSignature";
  }
}

/**
 * The signature is valid but the token is older than `maxAge`, or (as itsdangerous) dated in the
 * future: made on a host whose clock runs ahead, or by someone who holds the key and chose the date.
 */
export class SignatureExpired extends BadSignature {
  /** When the token was signed (seconds since the epoch). */
  readonly timestamp: number;
  constructor(timestamp: number, age: number, maxAge: number) {
    super(
      age < 0
        ? `The signature is dated ${-age} s in the future; tokens from the future are refused (check the clocks)`
        : `The signature is ${age} s old, more than the allowed ${maxAge} s`,
    );
    this.name = "SignatureExpired";
    this.timestamp = timestamp;
  }
}

export interface SignerOptions {
  /** The key that signs; it is also the first one tried when verifying. */
  secretKey: SecretKey;
  /** Older keys still accepted when verifying (never used to sign), newest first. */
  fallbacks?: readonly SecretKey[];
  /** Separates purposes: tokens signed with one salt don't verify with another. */
  salt?: string;
  /** Longest token accepted, in characters (longer ones are refused before any hashing). Default 16 KiB. */
  maxTokenLength?: number;
  /** The clock, in milliseconds (tests). Default `Date.now`. */
  now?: () => number;
}

export interface UnsignOptions {
  /** Refuse tokens older than this many seconds, or dated in the future (`SignatureExpired`). */
  maxAge?: number;
}

/** What a valid token carried. */
export interface Unsigned {
  value: Buffer;
  /** When it was signed, seconds since the epoch. */
  timestamp: number;
}

const SIG_BYTES = 32;
/** Payloads shorter than this are never worth deflating. */
const COMPRESS_MIN = 64;
/** Most tokens remembered (verified ones, and ones just signed), per signer or serializer. */
const CACHE_ENTRIES = 4096;
/** Most characters (keys and values) a memory holds: about 1 MB, whatever the cookies' sizes. */
const CACHE_CHARS = 1 << 20;
/** Longer tokens (and payloads) are verified and signed every time, never remembered. */
const CACHE_MAX_CHARS = 4096;

/**
 * Why a token was refused, without an Error: a forged or stale cookie is ordinary traffic, and
 * capturing a stack for each costs more than the HMAC. `unsign`/`loads` turn it into the error.
 * @internal
 */
export class Refusal {
  constructor(
    readonly message: string,
    /** Set for an expired (or future-dated) token. */
    readonly expired?: { timestamp: number; age: number; maxAge: number },
  ) {}

  error(): BadSignature {
    const e = this.expired;
    return e === undefined
      ? new BadSignature(this.message)
      : new SignatureExpired(e.timestamp, e.age, e.maxAge);
  }
}

const TOO_LONG = new Refusal("The token is too long");
const MALFORMED = new Refusal("The token is malformed (expected payload.timestamp.signature)");
const NOT_BASE64 = new Refusal("The token is malformed (not base64url)");
const BAD_SIG_ENCODING = new Refusal("The signature has the wrong length or encoding");
const MISMATCH = new Refusal("The signature does not match");
const BAD_TIMESTAMP = new Refusal("The timestamp is malformed");
const NOT_INFLATABLE = new Refusal("The payload could not be decompressed");
const NOT_VALID = new Refusal("The payload is not valid");

/** Refuses a timestamp older than `maxAge` seconds or in the future; undefined when fine. */
function checkAge(timestamp: number, maxAge: number | undefined, nowMs: number): Refusal | undefined {
  if (maxAge === undefined) return undefined;
  const age = Math.floor(nowMs / 1000) - timestamp;
  if (age > maxAge || age < 0) return new Refusal("expired", { timestamp, age, maxAge });
  return undefined;
}

/** Signs values with a timestamp; see the file's header for the format. */
export class TimestampSigner {
  private readonly signKey: HmacKey;
  private readonly verifyKeys: readonly HmacKey[];
  /** @internal the longest token `verify` accepts. */
  readonly maxTokenLength: number;
  private readonly now: () => number;
  /** Payload text → the token signed for it in one second (the same bytes signing would give again). */
  private readonly signed = new Recent<{ seconds: number; token: string }>();

  constructor(options: SignerOptions) {
    const salt = options.salt ?? "phial.signer";
    const keys = [options.secretKey, ...(options.fallbacks ?? [])];
    for (const k of keys) {
      if ((typeof k === "string" ? k.length : k.byteLength) === 0) {
        throw new TypeError("A signing key must not be empty");
      }
    }
    this.verifyKeys = keys.map((k) => new HmacKey(deriveKey(k, salt)));
    this.signKey = this.verifyKeys[0]!;
    this.maxTokenLength = options.maxTokenLength ?? 16 * 1024;
    this.now = options.now ?? (() => Date.now()); // read at each call: a test may move the clock
  }

  /** Signs `value` (a string is UTF-8) with the current time, or `timestamp` (seconds). */
  sign(value: string | Uint8Array, timestamp?: number): string {
    const seconds = timestamp ?? Math.floor(this.now() / 1000);
    // HMAC and deflate are deterministic: the same text in the same second gives the same token, so a
    // session re-sent unchanged (a permanent one refreshed on each request) is signed once a second.
    const cacheable = typeof value === "string" && value.length <= CACHE_MAX_CHARS;
    if (cacheable) {
      const hit = this.signed.get(value);
      if (hit !== undefined && hit.seconds === seconds) return hit.token;
    }
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
    let payload: string;
    if (bytes.length >= COMPRESS_MIN) {
      const packed = deflateRawSync(bytes);
      payload =
        packed.length < bytes.length - 1 ? `.${packed.toString("base64url")}` : bytes.toString("base64url");
    } else {
      payload = bytes.toString("base64url");
    }
    const head = `${payload}.${encodeTimestamp(seconds)}`;
    const token = `${head}.${this.signKey.mac(head).toString("base64url")}`;
    if (cacheable) this.signed.set(value, { seconds, token }, value.length + token.length);
    return token;
  }

  /** Verifies a token and returns its value. Throws `BadSignature` (or `SignatureExpired`). */
  unsign(token: string, options: UnsignOptions = {}): Unsigned {
    const r = this.verify(token, options.maxAge);
    if (r instanceof Refusal) throw r.error();
    return r;
  }

  /**
   * `unsign` without throwing: the value, or why it was refused.
   * @internal
   */
  verify(token: string, maxAge: number | undefined): Unsigned | Refusal {
    if (typeof token !== "string" || token.length > this.maxTokenLength) return TOO_LONG;
    const sigDot = token.lastIndexOf(".");
    const tsDot = sigDot <= 0 ? -1 : token.lastIndexOf(".", sigDot - 1);
    if (tsDot < 0) return MALFORMED;
    // A leading dot marks a deflated payload (never empty); ".ts.sig" is an empty, plain payload.
    const compressed = token.charCodeAt(0) === 0x2e && tsDot > 0;
    if (
      !isBase64Url(token, sigDot + 1, token.length) ||
      !isBase64Url(token, tsDot + 1, sigDot) ||
      !isBase64Url(token, compressed ? 1 : 0, tsDot) ||
      tsDot + 1 === sigDot
    ) {
      return NOT_BASE64;
    }
    const sigText = token.slice(sigDot + 1);
    const sig = Buffer.from(sigText, "base64url");
    // Canonical only: the last character's unused bits would otherwise give several spellings of one signature.
    if (sig.length !== SIG_BYTES || sig.toString("base64url") !== sigText) return BAD_SIG_ENCODING;
    const head = token.slice(0, sigDot);
    let ok = false;
    for (const key of this.verifyKeys) {
      // Every key is tried (no early exit), so timing doesn't tell which key matched.
      if (timingSafeEqual(key.mac(head), sig)) ok = true;
    }
    if (!ok) return MISMATCH;
    // Signed by us from here on; still decode defensively.
    const timestamp = decodeTimestamp(token.slice(tsDot + 1, sigDot));
    if (timestamp === undefined) return BAD_TIMESTAMP;
    const old = checkAge(timestamp, maxAge, this.now());
    if (old !== undefined) return old;
    let value = Buffer.from(token.slice(compressed ? 1 : 0, tsDot), "base64url");
    if (compressed) {
      try {
        value = inflateRawSync(value, { maxOutputLength: this.maxTokenLength * 64 });
      } catch {
        return NOT_INFLATABLE;
      }
    }
    return { value, timestamp };
  }

  /** @internal the signer's clock, in milliseconds. */
  clock(): number {
    return this.now();
  }

  /** True when the token verifies (and is younger than `maxAge`). */
  validate(token: string, options: UnsignOptions = {}): boolean {
    return !(this.verify(token, options.maxAge) instanceof Refusal);
  }
}

export interface SerializerOptions extends SignerOptions {
  /** Turns values into text and back. Default: `taggedJson`. */
  serializer?: { dumps(value: unknown): string; loads(text: string): unknown };
}

/**
 * Signs structured values: `dumps(value)` → token, `loads(token, {maxAge})` → value.
 *
 * Remembers the last few hundred tokens it verified or signed (the exact token text → its payload text
 * and timestamp), so a browser sending its cookie back costs no HMAC: the age is still checked against
 * `maxAge` on every call, and the payload is decoded again each time (every call gets its own value).
 * Keys are fixed per serializer, so a new key (or fallback list) means a new serializer and an empty memory.
 */
export class TimedSerializer {
  readonly signer: TimestampSigner;
  private readonly serializer: { dumps(value: unknown): string; loads(text: string): unknown };
  /** Token → what it carries; only tokens that verified (or that this serializer signed) get in. */
  private readonly verified = new Recent<{ text: string; timestamp: number }>();

  constructor(options: SerializerOptions) {
    this.signer = new TimestampSigner(options);
    this.serializer = options.serializer ?? taggedJson;
  }

  dumps(value: unknown): string {
    const text = this.serializer.dumps(value);
    const timestamp = Math.floor(this.signer.clock() / 1000);
    const token = this.signer.sign(text, timestamp);
    // The browser sends it back on its next request: already known to be ours (unless too long to accept).
    if (
      token.length <= CACHE_MAX_CHARS &&
      token.length <= this.signer.maxTokenLength &&
      text.length <= CACHE_MAX_CHARS &&
      !this.verified.has(token)
    )
      this.verified.set(token, { text, timestamp }, token.length + text.length);
    return token;
  }

  /** Verifies and decodes. Throws `BadSignature`/`SignatureExpired`; a signed but undecodable payload is a `BadSignature`. */
  loads(token: string, options: UnsignOptions = {}): unknown {
    const r = this.tryLoads(token, options.maxAge);
    if (r instanceof Refusal) throw r.error();
    return r.value;
  }

  /**
   * `loads` without throwing: `{ value }`, or why the token was refused.
   * @internal
   */
  tryLoads(token: string, maxAge: number | undefined): { value: unknown } | Refusal {
    let known = this.verified.get(token);
    if (known !== undefined) {
      const old = checkAge(known.timestamp, maxAge, this.signer.clock());
      if (old !== undefined) return old;
    } else {
      const r = this.signer.verify(token, maxAge);
      if (r instanceof Refusal) return r;
      known = { text: r.value.toString("utf8"), timestamp: r.timestamp };
      let value: unknown;
      try {
        value = this.serializer.loads(known.text);
      } catch {
        return NOT_VALID;
      }
      if (token.length <= CACHE_MAX_CHARS && known.text.length <= CACHE_MAX_CHARS)
        this.verified.set(token, known, token.length + known.text.length);
      return { value };
    }
    try {
      return { value: this.serializer.loads(known.text) };
    } catch {
      return NOT_VALID;
    }
  }
}

/**
 * A bounded memory of recent entries, in two generations: new entries go to the young one; when it is
 * full (half of CACHE_ENTRIES, or of CACHE_CHARS characters) it becomes the old one and the previous old
 * one is dropped whole. O(1) per entry, where evicting one by one from a Map's oldest end costs a walk
 * over its deleted slots.
 */
class Recent<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private youngChars = 0;

  get(key: string): V | undefined {
    const v = this.young.get(key);
    return v !== undefined ? v : this.old.get(key);
  }

  has(key: string): boolean {
    return this.young.has(key) || this.old.has(key);
  }

  set(key: string, value: V, chars: number): void {
    if (this.young.size >= CACHE_ENTRIES / 2 || this.youngChars + chars > CACHE_CHARS / 2) {
      this.old = this.young;
      this.young = new Map();
      this.youngChars = 0;
    }
    this.young.set(key, value);
    this.youngChars += chars;
  }
}

// ---- tagged JSON ------------------------------------------------------------------------------
//
// Plain JSON, plus the two things a session most often holds that JSON loses: `Date` (as {" d": iso})
// and bytes (`Uint8Array`/`Buffer`, as {" b": base64}). An object whose only key is a tag is itself
// wrapped ({" di": {...}}), so user data can never be mistaken for a tag. Values JSON would silently
// mangle (Map, Set, functions, symbols) are refused with an error naming the key.

const TAGS = new Set([" d", " b", " di"]);

/** JSON that round-trips `Date` and bytes; `__proto__` keys are dropped on load. */
export const taggedJson = {
  dumps(value: unknown): string {
    return JSON.stringify(tag(value, "value"));
  },
  loads(text: string): unknown {
    // The reviver (which drops `__proto__` keys) makes parsing several times slower: only used when
    // the text could hold such a key, spelled plainly or with \u escapes.
    const risky = text.includes("__proto__") || text.includes("\\u");
    return untag(risky ? JSON.parse(text, dropProto) : JSON.parse(text));
  },
};

function tag(v: unknown, where: string): unknown {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.map((x, i) => (x === undefined ? null : tag(x, `${where}[${i}]`)));
  if (v instanceof Date) return { " d": v.toISOString() };
  if (v instanceof Uint8Array)
    return { " b": Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  if (typeof v === "object") {
    if (v instanceof Map || v instanceof Set) {
      throw new TypeError(
        `Can't store a ${v.constructor.name} in the session (at ${where}); use a plain object or array`,
      );
    }
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return tag((toJSON as () => unknown).call(v), where);
    const out: Record<string, unknown> = {};
    let n = 0;
    let only = "";
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined) continue;
      out[k] = tag(x, `${where}.${k}`);
      n++;
      only = k;
    }
    return n === 1 && TAGS.has(only) ? { " di": out } : out;
  }
  throw new TypeError(
    `Can't store a ${typeof v} in the session (at ${where}); use JSON values, Date or bytes`,
  );
}

function untag(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = untag(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const k = keys[0]!;
    const x = o[k];
    if (k === " d" && typeof x === "string") return new Date(x);
    if (k === " b" && typeof x === "string") return Buffer.from(x, "base64");
    if (k === " di" && x !== null && typeof x === "object" && !Array.isArray(x)) {
      for (const kk of Object.keys(x))
        (x as Record<string, unknown>)[kk] = untag((x as Record<string, unknown>)[kk]);
      return x;
    }
  }
  for (const k of keys) o[k] = untag(o[k]);
  return o;
}

function dropProto(key: string, value: unknown): unknown {
  return key === "__proto__" ? undefined : value;
}

// ---- helpers ----------------------------------------------------------------------------------

function deriveKey(secret: SecretKey, salt: string): Buffer {
  return createHmac("sha256", typeof secret === "string" ? Buffer.from(secret, "utf8") : secret)
    .update(salt)
    .digest();
}

/** `crypto.hash` (Node 20.12+): a one-shot digest, without the Hash object `createHash` builds. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: "buffer") => Buffer })
  .hash;

/**
 * HMAC-SHA256 with one key (RFC 2104), the key's inner and outer blocks computed once: two one-shot
 * SHA-256 digests per message instead of keying a new `createHmac` each time (Node's Hmac can't be
 * reset or copied). Where `crypto.hash` is missing (Node < 20.12), `createHmac`.
 */
/** Messages up to this many bytes are hashed in the key's own buffer. */
const SCRATCH_BYTES = 4096;

/** @internal */
export class HmacKey {
  readonly #key: Buffer;
  /** ipad-masked key, then room for the message. */
  readonly #inner = Buffer.alloc(64 + SCRATCH_BYTES);
  /** opad-masked key, then the inner digest. */
  readonly #outer = Buffer.alloc(64 + 32);

  constructor(key: Buffer) {
    this.#key = key;
    // A key longer than the block is hashed first (RFC 2104); derived keys are 32 bytes, so never here.
    const k = key.length > 64 ? createHash("sha256").update(key).digest() : key;
    for (let i = 0; i < 64; i++) {
      const b = i < k.length ? k[i]! : 0;
      this.#inner[i] = b ^ 0x36;
      this.#outer[i] = b ^ 0x5c;
    }
  }

  /** The MAC of `data`, whose characters are all below U+0100 (each is one byte, as latin1). */
  mac(data: string): Buffer {
    const inner = this.#inner;
    // Longer messages (rare: cookies stay under 4 KiB) take createHmac rather than a larger buffer kept.
    if (oneShot === undefined || 64 + data.length > inner.length) {
      return createHmac("sha256", this.#key).update(data, "latin1").digest();
    }
    const n = inner.write(data, 64, "latin1");
    // Synchronous from here to the digest: no other call can use the scratch bytes in between.
    oneShot("sha256", inner.subarray(0, 64 + n), "buffer").copy(this.#outer, 64);
    return oneShot("sha256", this.#outer, "buffer");
  }
}

/** A strict check of `s[from, to)`: Node's base64url decoder silently skips characters outside the alphabet. */
function isBase64Url(s: string, from: number, to: number): boolean {
  if ((to - from) % 4 === 1) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2d ||
      c === 0x5f;
    if (!ok) return false;
  }
  return true;
}

function encodeTimestamp(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new RangeError(`Bad timestamp ${seconds}`);
  const b = Buffer.alloc(6);
  b.writeUIntBE(seconds, 0, 6);
  let i = 0;
  while (i < 5 && b[i] === 0) i++;
  return b.subarray(i).toString("base64url");
}

/** Seconds from a timestamp part (already checked to be base64url), or undefined when malformed. */
function decodeTimestamp(text: string): number | undefined {
  const b = Buffer.from(text, "base64url");
  if (b.length === 0 || b.length > 6) return undefined;
  return b.readUIntBE(0, b.length);
}
