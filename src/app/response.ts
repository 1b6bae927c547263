// Responses as a Flask user knows them: `Response`, `makeResponse`, `jsonify`, `redirect`.

import { serializeSetCookie, type SetCookieOptions } from "../http/cookie.ts";
import { STATUS_TEXT } from "../http/status.ts";
import { Headers, type HeadersInit } from "./headers.ts";
import { escapeHtml } from "./html.ts";

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

export class Response {
  /** The status code. */
  status: number;
  /** A custom reason phrase, when the status was given as `"299 Custom Reason"`. */
  statusText: string;
  readonly headers: Headers;
  body: ResponseBody;

  constructor(body: ResponseBody = null, init: ResponseInit = {}) {
    const [code, reason] = parseStatus(init.status ?? 200);
    this.status = code;
    this.statusText = reason;
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.body = body;
    if (init.contentType !== undefined) this.headers.set("Content-Type", init.contentType);
    else if (init.mimetype !== undefined) this.mimetype = init.mimetype;
    else if (!this.headers.has("content-type") && body !== null) this.headers.set("Content-Type", TEXT_HTML);
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

  /** True when the body is produced as a stream. */
  get isStreamed(): boolean {
    const b = this.body;
    return b !== null && typeof b !== "string" && !(b instanceof Uint8Array);
  }

  /**
   * Sets a cookie. `maxAge` is in **seconds** (the attribute's unit), `expires` a Date.
   * Names must be tokens; values are percent-encoded where a cookie can't carry them.
   */
  setCookie(name: string, value: string, options: SetCookieOptions = {}): this {
    this.headers.append("Set-Cookie", serializeSetCookie(name, value, { path: "/", ...options }));
    return this;
  }

  /** Asks the browser to remove a cookie (same path and domain as when it was set). */
  deleteCookie(name: string, options: Pick<SetCookieOptions, "path" | "domain" | "secure" | "httpOnly" | "sameSite" | "partitioned"> = {}): this {
    this.headers.append(
      "Set-Cookie",
      serializeSetCookie(name, "", { path: "/", ...options, maxAge: 0, expires: new Date(0) }),
    );
    return this;
  }
}

/** Builds a response from a body, a status and headers, as Flask's `make_response`. */
export function makeResponse(body: ResponseBody = "", status?: StatusInit, headers?: HeadersInit): Response {
  return new Response(body, { status: status ?? 200, headers });
}

/** How `jsonify` serializes; `app.json` replaces it. */
export interface JsonProvider {
  dumps(value: unknown): string;
  loads(text: string): unknown;
  mimetype: string;
}

/** The default JSON provider: compact `JSON.stringify`, `__proto__` keys dropped on load. */
export const defaultJson: JsonProvider = {
  dumps(value) {
    const s = JSON.stringify(value, jsonReplacer);
    if (s === undefined) throw new TypeError(`Can't serialize ${typeof value} as JSON`);
    return s;
  },
  loads: safeJsonParse,
  mimetype: "application/json",
};

function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/** JSON.parse that drops `__proto__`, `constructor.prototype`-style keys (prototype pollution). */
export function safeJsonParse(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (text.includes("__proto__") || text.includes("prototype")) return scrub(value);
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
      if (k === "constructor" && o[k] !== null && typeof o[k] === "object" && "prototype" in (o[k] as object)) {
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
  const p = currentJson();
  const value = values.length === 1 ? values[0] : values.length === 0 ? null : values;
  return new Response(p.dumps(value), { contentType: p.mimetype });
}

/**
 * A redirect to `location` (kept as given: relative stays relative) with status 302 by default.
 * The body is a short HTML page with the escaped link, for clients that don't follow redirects.
 */
export function redirect(location: string, status: 301 | 302 | 303 | 307 | 308 | number = 302): Response {
  if (/[\r\n\0]/.test(location)) throw new TypeError("redirect(): the location contains CR, LF or NUL");
  const href = escapeHtml(location);
  const body =
    "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n" +
    `<p>You should be redirected automatically to the target URL: <a href="${href}">${href}</a>. If not, click the link.\n`;
  const res = new Response(body, { status, contentType: TEXT_HTML });
  res.headers.set("Location", encodeLocation(location));
  return res;
}

/** Percent-encodes what can't go in a field value (non-ASCII), leaving the URL's structure alone. */
function encodeLocation(location: string): string {
  for (let i = 0; i < location.length; i++) {
    const c = location.charCodeAt(i);
    if (c > 0x7e || c < 0x21) return encodeURI(location).replace(/%25([0-9A-Fa-f]{2})/g, "%$1");
  }
  return location;
}
