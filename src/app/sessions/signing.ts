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

import { createHmac, timingSafeEqual } from "node:crypto";
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

/** Signs values with a timestamp; see the file's header for the format. */
export class TimestampSigner {
  private readonly signKey: Buffer;
  private readonly verifyKeys: readonly Buffer[];
  private readonly maxTokenLength: number;
  private readonly now: () => number;

  constructor(options: SignerOptions) {
    const salt = options.salt ?? "phial.signer";
    const keys = [options.secretKey, ...(options.fallbacks ?? [])];
    for (const k of keys) {
      if ((typeof k === "string" ? k.length : k.byteLength) === 0) {
        throw new TypeError("A signing key must not be empty");
      }
    }
    this.verifyKeys = keys.map((k) => deriveKey(k, salt));
    this.signKey = this.verifyKeys[0]!;
    this.maxTokenLength = options.maxTokenLength ?? 16 * 1024;
    this.now = options.now ?? (() => Date.now()); // read at each call: a test may move the clock
  }

  /** Signs `value` (a string is UTF-8) with the current time, or `timestamp` (seconds). */
  sign(value: string | Uint8Array, timestamp?: number): string {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
    let payload: string;
    if (bytes.length >= COMPRESS_MIN) {
      const packed = deflateRawSync(bytes);
      payload =
        packed.length < bytes.length - 1 ? `.${packed.toString("base64url")}` : bytes.toString("base64url");
    } else {
      payload = bytes.toString("base64url");
    }
    const ts = encodeTimestamp(timestamp ?? Math.floor(this.now() / 1000));
    const head = `${payload}.${ts}`;
    return `${head}.${hmac(this.signKey, head).toString("base64url")}`;
  }

  /** Verifies a token and returns its value. Throws `BadSignature` (or `SignatureExpired`). */
  unsign(token: string, options: UnsignOptions = {}): Unsigned {
    if (typeof token !== "string" || token.length > this.maxTokenLength) {
      throw new BadSignature("The token is too long");
    }
    const sigDot = token.lastIndexOf(".");
    const tsDot = sigDot <= 0 ? -1 : token.lastIndexOf(".", sigDot - 1);
    if (tsDot < 0) throw new BadSignature("The token is malformed (expected payload.timestamp.signature)");
    const sigText = token.slice(sigDot + 1);
    const tsText = token.slice(tsDot + 1, sigDot);
    // A leading dot marks a deflated payload (never empty); ".ts.sig" is an empty, plain payload.
    const compressed = token.charCodeAt(0) === 0x2e && tsDot > 0;
    const payloadText = token.slice(compressed ? 1 : 0, tsDot);
    if (!isBase64Url(sigText) || !isBase64Url(tsText) || !isBase64Url(payloadText) || tsText.length === 0) {
      throw new BadSignature("The token is malformed (not base64url)");
    }
    const sig = Buffer.from(sigText, "base64url");
    // Canonical only: the last character's unused bits would otherwise give several spellings of one signature.
    if (sig.length !== SIG_BYTES || sig.toString("base64url") !== sigText) {
      throw new BadSignature("The signature has the wrong length or encoding");
    }
    const head = token.slice(0, sigDot);
    let ok = false;
    for (const key of this.verifyKeys) {
      // Every key is tried (no early exit), so timing doesn't tell which key matched.
      if (timingSafeEqual(hmac(key, head), sig)) ok = true;
    }
    if (!ok) throw new BadSignature();
    // Signed by us from here on; still decode defensively.
    const timestamp = decodeTimestamp(tsText);
    if (options.maxAge !== undefined) {
      const age = Math.floor(this.now() / 1000) - timestamp;
      if (age > options.maxAge || age < 0) throw new SignatureExpired(timestamp, age, options.maxAge);
    }
    let value = Buffer.from(payloadText, "base64url");
    if (compressed) {
      try {
        value = inflateRawSync(value, { maxOutputLength: this.maxTokenLength * 64 });
      } catch {
        throw new BadSignature("The payload could not be decompressed");
      }
    }
    return { value, timestamp };
  }

  /** True when the token verifies (and is younger than `maxAge`). */
  validate(token: string, options: UnsignOptions = {}): boolean {
    try {
      this.unsign(token, options);
      return true;
    } catch (err) {
      if (err instanceof BadSignature) return false;
      throw err;
    }
  }
}

export interface SerializerOptions extends SignerOptions {
  /** Turns values into text and back. Default: `taggedJson`. */
  serializer?: { dumps(value: unknown): string; loads(text: string): unknown };
}

/** Signs structured values: `dumps(value)` → token, `loads(token, {maxAge})` → value. */
export class TimedSerializer {
  readonly signer: TimestampSigner;
  private readonly serializer: { dumps(value: unknown): string; loads(text: string): unknown };

  constructor(options: SerializerOptions) {
    this.signer = new TimestampSigner(options);
    this.serializer = options.serializer ?? taggedJson;
  }

  dumps(value: unknown): string {
    return this.signer.sign(this.serializer.dumps(value));
  }

  /** Verifies and decodes. Throws `BadSignature`/`SignatureExpired`; a signed but undecodable payload is a `BadSignature`. */
  loads(token: string, options: UnsignOptions = {}): unknown {
    const { value } = this.signer.unsign(token, options);
    try {
      return this.serializer.loads(value.toString("utf8"));
    } catch {
      throw new BadSignature("The payload is not valid");
    }
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
    return untag(JSON.parse(text, dropProto));
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

function hmac(key: Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "latin1").digest();
}

/** A strict check: Node's base64url decoder silently skips characters outside the alphabet. */
function isBase64Url(s: string): boolean {
  if (s.length % 4 === 1) return false;
  for (let i = 0; i < s.length; i++) {
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

function decodeTimestamp(text: string): number {
  const b = Buffer.from(text, "base64url");
  if (b.length === 0 || b.length > 6) throw new BadSignature("The timestamp is malformed");
  return b.readUIntBE(0, b.length);
}
