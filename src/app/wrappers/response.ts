// Responses as a Flask user knows them: `Response`, `makeResponse`, `jsonify`, `redirect`.

import { createHash } from "node:crypto";
import { type SetCookieOptions, serializeSetCookie } from "../../http/cookie.ts";
import { STATUS_TEXT } from "../../http/status.ts";
import { Headers, type HeadersInit } from "./headers.ts";
import { escapeHtml } from "./html.ts";
import { etagListMatches, parseHttpDate, quoteEtag, Range, ResponseCacheControl } from "./http-values.ts";

/** What a response body may be: text (UTF-8), bytes, or a stream of them. */
export type ResponseBody =
  | string
  | Uint8Array
  | AsyncIterable<string | Uint8Array>
  | Iterable<string | Uint8Array>
  | ReadableStream<Uint8Array | string>
  | null;

/** A status code, or Flask's `"299 Custom Reason"` form. */
export type StatusInit = number | string;

export interface ResponseInit {
  status?: StatusInit;
  headers?: HeadersInit;
  /** Media type; `; charset=utf-8` is added to text types. */
  mimetype?: string;
  /** The Content-Type field exactly as given. */
  contentType?: string;
}

const TEXT_HTML = "text/html; charset=utf-8";

/** True for media types that carry text and so get a charset. */
function isTextType(mimetype: string): boolean {
  return (
    mimetype.startsWith("text/") ||
    mimetype === "application/javascript" ||
    mimetype === "application/xml" ||
    mimetype.endsWith("+xml") ||
    mimetype === "application/ecmascript"
  );
}

/** Parses a status given as a number or as `"299 Custom Reason"`. */
export function parseStatus(status: StatusInit): [code: number, reason: string] {
  if (typeof status === "number") {
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new RangeError(`Invalid status code ${status}: use an integer from 100 to 999`);
    }
    return [status, ""];
  }
  const s = status.trim();
  const sp = s.indexOf(" ");
  const code = Number(sp === -1 ? s : s.slice(0, sp));
  if (!Number.isInteger(code) || code < 100 || code > 999) {
    throw new RangeError(`Invalid status ${JSON.stringify(status)}: use a number or "299 Custom Reason"`);
  }
  return [code, sp === -1 ? "" : s.slice(sp + 1).trim()];
}

/**
 * A response: status, header fields and a body. Everything is mutable until it is sent, so hooks and
 * error handlers can amend it. `new Response("<h1>Hi</h1>")` is `200 text/html; charset=utf-8`.
 *
 * A streamed body (an iterable, async iterable or web `ReadableStream`) is sent chunked, or with the
 * length of a `Content-Length` field when one is set (e.g. a file of known size).
 */
export class Response {
  /** The status code. */
  status: number;
  /** A custom reason phrase, when the status was given as `"299 Custom Reason"`. */
  statusText: string;
  readonly headers: Headers;
  body: ResponseBody;

  constructor(body: ResponseBody = null, init?: ResponseInit) {
    this.body = body;
    if (init === undefined) {
      // The common case, kept cheap: no parsing, no checks of a constant field.
      this.status = 200;
      this.statusText = "";
      this.headers = new Headers();
      // Always, as Werkzeug: a bodiless response (an automatic OPTIONS, a 204) has the default type too.
      this.headers.pushUnchecked("Content-Type", TEXT_HTML);
      return;
    }
    if (init.status === undefined || init.status === 200) {
      this.status = 200;
      this.statusText = "";
    } else {
      const [code, reason] = parseStatus(init.status);
      this.status = code;
      this.statusText = reason;
    }
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    if (init.contentType !== undefined) this.headers.set("Content-Type", init.contentType);
    else if (init.mimetype !== undefined) this.mimetype = init.mimetype;
    else if (this.status !== 304 && this.status >= 200 && !this.headers.has("content-type"))
      this.headers.pushUnchecked("Content-Type", TEXT_HTML); // a 304 describes no new representation
  }

  /** The `Content-Length` field as a number, or undefined. Set it for a streamed body of known size. */
  get contentLength(): number | undefined {
    const v = this.headers.get("content-length");
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  }

  set contentLength(value: number | undefined) {
    if (value === undefined) this.headers.delete("content-length");
    else {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(`Invalid contentLength ${value}: use a non-negative integer`);
      }
      this.headers.set("Content-Length", value);
    }
  }

  /** The reason phrase that will be sent. */
  get reason(): string {
    return this.statusText || STATUS_TEXT[this.status] || "Unknown";
  }

  /** The media type without parameters, e.g. `text/html`. */
  get mimetype(): string | undefined {
    const ct = this.headers.get("content-type");
    if (ct === undefined || ct === null) return undefined;
    const semi = ct.indexOf(";");
    return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  }

  set mimetype(value: string | undefined) {
    if (value === undefined) {
      this.headers.delete("content-type");
      return;
    }
    this.headers.set("Content-Type", isTextType(value) ? `${value}; charset=utf-8` : value);
  }

  /** The Content-Type field as sent. */
  get contentType(): string | undefined {
    return this.headers.get("content-type") ?? undefined;
  }

  set contentType(value: string | undefined) {
    if (value === undefined) this.headers.delete("content-type");
    else this.headers.set("Content-Type", value);
  }

  /**
   * The body as bytes (Flask's `get_data()`); `{ asText: true }` for a string. A streamed body has no
   * data yet: this throws rather than consuming it.
   */
  getData(options: { asText: true }): string;
  getData(options?: { asText?: false }): Buffer;
  getData(options: { asText?: boolean } = {}): string | Buffer {
    const b = this.body;
    if (b !== null && typeof b !== "string" && !(b instanceof Uint8Array)) {
      throw new TypeError("getData(): the body is a stream; it can only be read by sending it");
    }
    const buf =
      b === null ? Buffer.alloc(0) : typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b);
    return options.asText ? buf.toString("utf8") : buf;
  }

  /** Replaces the body with text or bytes (Flask's `set_data()`). */
  setData(data: string | Uint8Array): void {
    this.body = data;
  }

  /** The body parsed as JSON, for JSON responses (undefined otherwise). */
  get json(): unknown {
    const mt = this.mimetype;
    if (
      mt === undefined ||
      !(mt === "application/json" || (mt.startsWith("application/") && mt.endsWith("+json")))
    ) {
      return undefined;
    }
    return JSON.parse(this.getData({ asText: true }));
  }

  /**
   * The `Cache-Control` directives (Werkzeug's `ResponseCacheControl`): setting one rewrites the field,
   * `res.cacheControl.maxAge = 300; res.cacheControl.public = true` → `max-age=300, public`.
   */
  get cacheControl(): ResponseCacheControl {
    return new ResponseCacheControl(this.headers.get("cache-control") ?? undefined, (v) => {
      if (v === undefined) this.headers.delete("cache-control");
      else this.headers.set("Cache-Control", v);
    });
  }

  /** `Last-Modified` as a Date (set a Date, or undefined to remove it). */
  get lastModified(): Date | undefined {
    return dateField(this.headers.get("last-modified"));
  }
  set lastModified(value: Date | undefined) {
    setDateField(this.headers, "Last-Modified", value);
  }

  /** `Expires` as a Date (set a Date, or undefined to remove it). */
  get expires(): Date | undefined {
    return dateField(this.headers.get("expires"));
  }
  set expires(value: Date | undefined) {
    setDateField(this.headers, "Expires", value);
  }

  /** Sets the `ETag` (quoted for you; `weak` for `W/"…"`), as Werkzeug's `set_etag`. */
  setEtag(etag: string, weak = false): this {
    this.headers.set("ETag", quoteEtag(etag, weak));
    return this;
  }

  /** The `ETag`, unquoted, and whether it is weak; undefined without one (Werkzeug's `get_etag`). */
  getEtag(): { etag: string; weak: boolean } | undefined {
    const v = this.headers.get("etag");
    if (v === undefined || v === null) return undefined;
    const weak = v.startsWith("W/");
    const t = weak ? v.slice(2) : v;
    if (t.length < 2 || !t.startsWith('"') || !t.endsWith('"')) return undefined;
    return { etag: t.slice(1, -1), weak };
  }

  /**
   * Sets an ETag from the body's SHA-1 unless one is set (or `overwrite`), as Werkzeug's `add_etag`.
   * A streamed body can't be hashed before it is sent: set one with `setEtag` instead.
   */
  addEtag(overwrite = false, weak = false): this {
    if (!overwrite && this.headers.has("etag")) return this;
    if (this.isStreamed) {
      throw new TypeError("addEtag(): the body is a stream and can't be hashed first; use setEtag(tag)");
    }
    return this.setEtag(createHash("sha1").update(this.getData()).digest("hex"), weak);
  }

  /**
   * Answers a conditional or range request from this response's ETag and Last-Modified (Werkzeug's
   * `make_conditional`), for GET and HEAD: a 412 when `If-Match`/`If-Unmodified-Since` fails, a 304
   * (no body) when `If-None-Match`/`If-Modified-Since` says the client's copy is current, in RFC 9110's
   * order; with `acceptRanges`, one byte range of a body in memory is a 206 (`If-Range` honoured), an
   * unsatisfiable one raises the 416. Returns the response.
   */
  makeConditional(
    req: { readonly method: string; header(name: string): string | undefined },
    options: { acceptRanges?: boolean } = {},
  ): this {
    const method = req.method;
    if (method !== "GET" && method !== "HEAD") return this;
    if (this.status !== 200) return this; // only a full representation has validators to compare
    const etag = this.headers.get("etag") ?? undefined;
    const lmField = this.headers.get("last-modified");
    const lastModified = lmField === undefined || lmField === null ? undefined : parseHttpDate(lmField);
    const ifMatch = req.header("if-match");
    if (ifMatch !== undefined) {
      if (!(ifMatch.trim() === "*" || (etag !== undefined && etagListMatches(ifMatch, etag, false))))
        return this.becomeBodiless(412);
    } else {
      const ius = req.header("if-unmodified-since");
      const t = ius === undefined ? undefined : parseHttpDate(ius);
      if (t !== undefined && lastModified !== undefined && lastModified > t) return this.becomeBodiless(412);
    }
    const inm = req.header("if-none-match");
    if (inm !== undefined) {
      if (inm.trim() === "*" || (etag !== undefined && etagListMatches(inm, etag, true)))
        return this.becomeBodiless(304);
    } else {
      const ims = req.header("if-modified-since");
      const t = ims === undefined ? undefined : parseHttpDate(ims);
      if (t !== undefined && lastModified !== undefined && lastModified <= t) return this.becomeBodiless(304);
    }
    if (options.acceptRanges !== true || this.isStreamed) return this;
    this.headers.set("Accept-Ranges", "bytes");
    const rangeField = method === "GET" ? req.header("range") : undefined;
    if (rangeField === undefined) return this;
    const ifRange = req.header("if-range");
    if (ifRange !== undefined) {
      const v = ifRange.trim();
      const holds =
        v.startsWith('"') || v.startsWith("W/")
          ? etag !== undefined && etagListMatches(v, etag, false)
          : lastModified !== undefined && parseHttpDate(v) === lastModified;
      if (!holds) return this; // the client's copy changed: the whole body
    }
    const range = Range.parse(rangeField);
    if (range === undefined || range.units !== "bytes" || range.ranges.length !== 1) return this; // ignored
    const data = this.getData();
    const r = range.rangeFor(data.length);
    if (r === undefined) throw unsatisfiableRange.make(data.length);
    this.body = data.subarray(r[0], r[1]);
    this.status = 206;
    this.statusText = "";
    this.headers.set("Content-Range", `bytes ${r[0]}-${r[1] - 1}/${data.length}`);
    if (this.headers.has("content-length")) this.headers.set("Content-Length", r[1] - r[0]);
    return this;
  }

  /** A 304 or 412 from `makeConditional`: no body; a 304 keeps only what updates a cache. */
  private becomeBodiless(status: 304 | 412): this {
    this.status = status;
    this.statusText = "";
    this.body = null;
    this.headers.delete("content-length");
    if (status === 304) {
      // RFC 9110 §15.4.5: no Content-* of a body that isn't sent; Last-Modified only without an ETag.
      this.headers.delete("content-type");
      if (this.headers.has("etag")) this.headers.delete("last-modified");
    }
    return this;
  }

  /** True when the body is produced as a stream. */
  get isStreamed(): boolean {
    const b = this.body;
    return b !== null && typeof b !== "string" && !(b instanceof Uint8Array);
  }

  /**
   * Sets a cookie, as Werkzeug does. `maxAge` is in **seconds** (and also writes `Expires`), `expires` a Date or epoch seconds.
   * Names must be tokens; any value works: values a cookie cannot carry are quoted with escapes.
   */
  setCookie(name: string, value: string, options: SetCookieOptions = {}): this {
    this.headers.append("Set-Cookie", serializeSetCookie(name, value, { path: "/", ...options }));
    return this;
  }

  /** Asks the browser to remove a cookie (same path and domain as when it was set). */
  deleteCookie(
    name: string,
    options: Pick<
      SetCookieOptions,
      "path" | "domain" | "secure" | "httpOnly" | "sameSite" | "partitioned"
    > = {},
  ): this {
    this.headers.append(
      "Set-Cookie",
      serializeSetCookie(name, "", { path: "/", ...options, maxAge: 0, expires: new Date(0) }),
    );
    return this;
  }
}

/** What `makeResponse` and handlers may give as a body. */
export type ResponseValue = ResponseBody | Response | { readonly [key: string]: unknown };

function isPlainObjectLike(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as object | null;
  return proto === null || proto === Object.prototype;
}

/** @internal true for bodies that are streamed: web streams, async iterables and iterators (generators). */
export function isStreamBody(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  if (v instanceof ReadableStream) return true;
  if (Symbol.asyncIterator in v) return true;
  return Symbol.iterator in v && typeof (v as { next?: unknown }).next === "function";
}

/**
 * @internal Turns a body value into a Response: strings and bytes as HTML, streams streamed, objects as
 * JSON. Returns undefined for values that are none of these (the caller names the route in its error).
 */
export function valueToResponse(rv: unknown, json?: JsonProvider): Response | undefined {
  if (typeof rv === "string" || rv instanceof Uint8Array) return new Response(rv);
  if (rv instanceof Response) return rv;
  if (rv === null || typeof rv !== "object") return undefined;
  if (Array.isArray(rv)) return undefined;
  if (isStreamBody(rv)) return new Response(rv as ResponseBody);
  if (
    !isPlainObjectLike(rv) &&
    !(rv instanceof Map) &&
    typeof (rv as { toJSON?: unknown }).toJSON !== "function"
  ) {
    if (Symbol.iterator in rv) return undefined; // a Set or another collection: ambiguous, make them say
  }
  return jsonResponse(json ?? currentJson(), rv);
}

let checkedMimetype = "";

/** A JSON response through a provider; its media type is checked once, not per response. */
function jsonResponse(p: JsonProvider, value: unknown): Response {
  const body = p.dumps(value);
  const ct = p.mimetype;
  if (ct !== checkedMimetype) {
    new Headers().set("Content-Type", ct); // throws for a bad media type, naming the header
    checkedMimetype = ct;
  }
  const res = new Response(null);
  res.body = body;
  res.headers.resetUnchecked("Content-Type", ct);
  return res;
}

/**
 * Replaces the fields named in `extra` by its values (repeats kept), as Flask's tuple headers and
 * `make_response(..., headers)` do.
 */
export function updateHeaders(target: Headers, extra: HeadersInit): void {
  if (setRecord(target, extra)) return;
  const h = extra instanceof Headers ? extra : new Headers(extra);
  const seen = new Set<string>();
  for (const [k] of h) {
    const lower = k.toLowerCase();
    if (!seen.has(lower)) {
      seen.add(lower);
      target.delete(k);
    }
  }
  for (const [k, v] of h) target.append(k, v);
}

/**
 * The common case of `updateHeaders`, without building a second `Headers`: a plain record whose names
 * differ (case-insensitively) and whose values are single strings or numbers, so that `set` per name is
 * the same as deleting every name and then appending. False (nothing done) for anything else.
 */
function setRecord(target: Headers, extra: HeadersInit): boolean {
  if (extra instanceof Headers || typeof (extra as Iterable<unknown>)[Symbol.iterator] === "function")
    return false;
  const rec = extra as Readonly<Record<string, unknown>>;
  const keys = Object.keys(rec);
  const n = keys.length;
  for (let i = 0; i < n; i++) {
    const v = rec[keys[i]!];
    if (typeof v !== "string" && typeof v !== "number") return false;
    for (let j = 0; j < i; j++) if (keys[j]!.toLowerCase() === keys[i]!.toLowerCase()) return false;
  }
  for (let i = 0; i < n; i++) target.set(keys[i]!, rec[keys[i]!] as string | number);
  return true;
}

/**
 * Builds a response from a body, a status and headers, as Flask's `make_response`:
 * `makeResponse("成功")`, `makeResponse({ ok: true }, 201)`, `makeResponse(body, 200, { token: "1" })`.
 * A `Response` given as the body is amended.
 */
export function makeResponse(body: ResponseValue = "", status?: StatusInit, headers?: HeadersInit): Response {
  const res = valueToResponse(body);
  if (res === undefined) {
    throw new TypeError(
      `makeResponse() can't make a response of ${Array.isArray(body) ? "an array (wrap JSON arrays in jsonify())" : typeof body}`,
    );
  }
  if (status !== undefined) {
    const [code, reason] = parseStatus(status);
    res.status = code;
    res.statusText = reason;
  }
  if (headers !== undefined) updateHeaders(res.headers, headers);
  return res;
}

/** How `jsonify` serializes; `app.json` replaces it. */
export interface JsonProvider {
  dumps(value: unknown): string;
  loads(text: string): unknown;
  mimetype: string;
}

export interface JsonProviderOptions {
  /** Sort object keys (Flask does). Default false: insertion order, faster. */
  sortKeys?: boolean;
  /** Escape every non-ASCII character as `\uXXXX` (Flask does). Default false: UTF-8 as is. */
  ensureAscii?: boolean;
  /** Dates as ISO 8601 (default, `Date#toJSON`) or as HTTP dates (`Tue, 01 Dec 2026 13:25:31 GMT`, Flask). */
  dateFormat?: "iso" | "http";
  /** Indent nested values by this many spaces (pretty output). Default: compact. */
  indent?: number;
  /** Add a newline after the document (Flask's jsonify does). Default false. */
  trailingNewline?: boolean;
  /** Media type of JSON responses. Default `application/json`. */
  mimetype?: string;
}

/**
 * The JSON provider: `app.json = new DefaultJsonProvider({ sortKeys: true })`. BigInts become strings,
 * Maps objects and Sets arrays; `loads` drops `__proto__` keys. `DefaultJsonProvider.flask()` writes
 * what Flask's jsonify writes (sorted keys, ASCII only, HTTP dates, trailing newline).
 */
export class DefaultJsonProvider implements JsonProvider {
  readonly mimetype: string;
  readonly options: Readonly<JsonProviderOptions>;
  private readonly replacer: (this: unknown, key: string, value: unknown) => unknown;

  constructor(options: JsonProviderOptions = {}) {
    this.options = { ...options };
    this.mimetype = options.mimetype ?? "application/json";
    const sort = options.sortKeys === true;
    const http = options.dateFormat === "http";
    this.replacer =
      !sort && !http
        ? jsonReplacer
        : function (this: unknown, key: string, value: unknown): unknown {
            if (http) {
              const raw = (this as Record<string, unknown>)[key];
              if (raw instanceof Date) return raw.toUTCString();
            }
            const v = jsonReplacer.call(this, key, value);
            if (sort && v !== null && typeof v === "object" && !Array.isArray(v)) {
              const out: Record<string, unknown> = {};
              for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
              return out;
            }
            return v;
          };
  }

  /** Flask's output: sorted keys, ASCII only, HTTP dates, a trailing newline. */
  static flask(): DefaultJsonProvider {
    return new DefaultJsonProvider({
      sortKeys: true,
      ensureAscii: true,
      dateFormat: "http",
      trailingNewline: true,
    });
  }

  dumps(value: unknown): string {
    let s = this.replacer === jsonReplacer ? plainStringify(value, this.options.indent) : undefined;
    // A replacer costs a call per key (several times slower): only when the value needs it.
    if (s === undefined) s = JSON.stringify(value, this.replacer, this.options.indent);
    if (s === undefined) throw new TypeError(`Can't serialize ${typeof value} as JSON`);
    if (this.options.ensureAscii) s = s.replace(NON_ASCII, escapeChar);
    return this.options.trailingNewline ? `${s}\n` : s;
  }

  loads(text: string): unknown {
    return safeJsonParse(text);
  }
}

const NON_ASCII = /[\u007f-\uffff]/g;

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** The default JSON provider: compact, insertion order, UTF-8; `__proto__` keys dropped on load. */
export const defaultJson: JsonProvider = new DefaultJsonProvider();

/**
 * JSON.stringify without a replacer, or undefined when the value needs jsonReplacer: a bigint (plain
 * JSON.stringify throws on it) or a Map or Set (written as `{}`, so only an output holding `{}` is
 * checked, with a walk of the value).
 */
function plainStringify(value: unknown, indent: string | number | undefined): string | undefined {
  let s: string | undefined;
  try {
    s = JSON.stringify(value, undefined, indent);
  } catch (err) {
    if (err instanceof TypeError) return undefined; // a bigint (or a cycle, which the replacer reports too)
    throw err;
  }
  if (s?.includes("{}") && needsReplacer(value, 0)) return undefined;
  return s;
}

/** True when `value` holds something plain JSON.stringify gets wrong (bigint, Map, Set, custom toJSON). */
function needsReplacer(value: unknown, depth: number): boolean {
  if (typeof value === "bigint") return true;
  if (value === null || typeof value !== "object") return false;
  if (depth > 32) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v !== null && (typeof v === "object" || typeof v === "bigint") && needsReplacer(v, depth + 1))
        return true;
    }
    return false;
  }
  if (value instanceof Date) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== Object.prototype && proto !== null) return true; // Map, Set, class instances, toJSON
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== null && (typeof v === "object" || typeof v === "bigint") && needsReplacer(v, depth + 1))
      return true;
  }
  return false;
}

function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/**
 * JSON.parse that drops `__proto__`, `constructor.prototype`-style keys (prototype pollution). Keys are
 * checked after decoding, as secure-json-parse does: `"\u005f_proto__"` is `__proto__` too. The text
 * is only a shortcut — a document with neither spelling nor any `\u` escape can't hold such a key.
 */
export function safeJsonParse(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (text.includes("__proto__") || text.includes("prototype") || text.includes("\\u")) return scrub(value);
  return value;
}

function scrub(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = scrub(v[i]);
    return v;
  }
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k === "__proto__" || (k === "prototype" && typeof o.constructor === "object")) {
        delete o[k];
        continue;
      }
      if (
        k === "constructor" &&
        o[k] !== null &&
        typeof o[k] === "object" &&
        "prototype" in (o[k] as object)
      ) {
        delete o[k];
        continue;
      }
      o[k] = scrub(o[k]);
    }
  }
  return v;
}

let currentJson: () => JsonProvider = () => defaultJson;

/** @internal the app in context decides how JSON is written. */
export function setJsonProviderLookup(lookup: () => JsonProvider): void {
  currentJson = lookup;
}

/**
 * A JSON response: `jsonify(value)`; several arguments make an array (`jsonify(1, 2)` → `[1,2]`).
 * Use it for arrays, which a handler can't return bare (arrays are tuples).
 */
export function jsonify(...values: unknown[]): Response {
  return jsonResponse(currentJson(), values.length === 1 ? values[0] : values.length === 0 ? null : values);
}

/**
 * A redirect to `location` (kept as given: relative stays relative) with status 302 by default.
 * The body is a short HTML page with the escaped link, for clients that don't follow redirects.
 */
export function redirect(location: string, status: 301 | 302 | 303 | 307 | 308 | number = 302): Response {
  if (/[\r\n\0]/.test(location)) throw new TypeError("redirect(): the location contains CR, LF or NUL");
  const encoded = encodeLocation(location);
  // The page shows and links the Location as sent (percent-encoded), as Werkzeug 2.2 does.
  const href = escapeHtml(encoded);
  const body =
    "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n" +
    `<p>You should be redirected automatically to the target URL: <a href="${href}">${href}</a>. If not, click the link.\n`;
  const res = new Response(body, { status, contentType: TEXT_HTML });
  res.headers.set("Location", encoded);
  return res;
}

export interface SafeRedirectOptions {
  /** Hosts (with port when not the default) an absolute target may point to, besides the request's own. */
  allowHosts?: readonly string[];
  /** Where to go when the target is refused. Default `/`. */
  fallback?: string;
  /** Default 302. */
  status?: number;
}

/** `scheme:` at the start of a URL. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * The target if it is safe to redirect to, else undefined: a path on this site (`/next`, not `//host`
 * nor `/\host`), or an http(s) URL whose host is `ownHost` or in `allowHosts`. Control characters and
 * backslashes are refused everywhere (browsers read `\` as `/`).
 */
export function checkRedirectTarget(
  target: string,
  ownHost: string | undefined,
  allowHosts: readonly string[] = [],
): string | undefined {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x5c) return undefined;
  }
  if (target === "") return undefined;
  const absolute = target.startsWith("//") || SCHEME.test(target);
  if (!absolute) return target;
  let url: URL;
  try {
    url = new URL(target, "http://invalid.invalid");
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  const host = url.host.toLowerCase();
  if (ownHost !== undefined && host === ownHost.toLowerCase()) return target;
  for (const h of allowHosts) if (h.toLowerCase() === host) return target;
  return undefined;
}

/**
 * A redirect that refuses open-redirect targets (`?next=//evil.com`): see `checkRedirectTarget`.
 * Inside a request, the request's own host is allowed.
 */
export function safeRedirect(target: string, options: SafeRedirectOptions = {}): Response {
  const own = currentHost();
  const ok = checkRedirectTarget(target, own, options.allowHosts);
  return redirect(ok ?? options.fallback ?? "/", options.status ?? 302);
}

let currentHost: () => string | undefined = () => undefined;

/** @internal the app tells which host the current request is for. */
export function setCurrentHostLookup(lookup: () => string | undefined): void {
  currentHost = lookup;
}

/** Percent-encodes what can't go in a field value (non-ASCII), leaving the URL's structure alone. */
function encodeLocation(location: string): string {
  for (let i = 0; i < location.length; i++) {
    const c = location.charCodeAt(i);
    if (c > 0x7e || c < 0x21) return encodeURI(location).replace(/%25([0-9A-Fa-f]{2})/g, "%$1");
  }
  return location;
}

/**
 * @internal What `makeConditional` raises for an unsatisfiable range: exceptions.ts installs its
 * `RequestedRangeNotSatisfiable` (it imports this module, so this one can't import it back).
 */
export const unsatisfiableRange = {
  make: (length: number): Error => new RangeError(`416: no satisfiable range in ${length} bytes`),
};

function dateField(v: string | null | undefined): Date | undefined {
  const t = v === undefined || v === null ? undefined : parseHttpDate(v);
  return t === undefined ? undefined : new Date(t * 1000);
}

function setDateField(headers: Headers, name: string, value: Date | undefined): void {
  if (value === undefined) headers.delete(name);
  else {
    if (!(value instanceof Date) || Number.isNaN(value.getTime()))
      throw new TypeError(`${name}: give a valid Date, or undefined to remove the field`);
    headers.set(name, value.toUTCString());
  }
}
