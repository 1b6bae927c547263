// Percent-encoding for URLs the router writes (built URLs, redirect locations) and the one decoding of
// a request path. Table-driven scans: no regex, no throw on lone surrogates (they become U+FFFD).

const HEX = "0123456789ABCDEF";

function table(extra: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "-._~") t[ch.charCodeAt(0)] = 1;
  for (const ch of extra) t[ch.charCodeAt(0)] = 1;
  return t;
}

/** RFC 3986 `pchar` without `/`: what a path segment keeps as is. */
export const SEGMENT_SAFE = table("!$&'()*+,;=:@");
/** A path: segments joined by `/`. */
export const PATH_SAFE = table("!$&'()*+,;=:@/");
/**
 * A query key or value (Werkzeug's `_urlencode`: the WHATWG percent-encoded-bytes set): `&`, `=`, `+`
 * and `#` are encoded so the pair survives parsing.
 */
export const QUERY_SAFE = table("!$'()*,/:;?@");
/** A fragment, as Flask's `url_for` quotes `_anchor`: `%` (escapes given stay) and `#` are kept. */
export const FRAGMENT_SAFE = table("!$&'()*+,;=:@/?%#");

function pct(out: string, byte: number): string {
  return `${out}%${HEX[byte >> 4]}${HEX[byte & 15]}`;
}

/** Percent-encodes `s` as UTF-8, keeping the characters `safe` marks. */
export function percentEncode(s: string, safe: Uint8Array): string {
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 128 || safe[c] !== 1) break;
    i++;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 128) {
      out = safe[c] === 1 ? out + s[i] : pct(out, c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        c = 0xfffd; // a lone surrogate cannot be UTF-8
      }
    }
    if (c < 0x800) {
      out = pct(pct(out, 0xc0 | (c >> 6)), 0x80 | (c & 63));
    } else if (c < 0x10000) {
      out = pct(pct(pct(out, 0xe0 | (c >> 12)), 0x80 | ((c >> 6) & 63)), 0x80 | (c & 63));
    } else {
      out = pct(
        pct(pct(pct(out, 0xf0 | (c >> 18)), 0x80 | ((c >> 12) & 63)), 0x80 | ((c >> 6) & 63)),
        0x80 | (c & 63),
      );
    }
  }
  return out;
}

/**
 * A query key or value as Werkzeug's `MapAdapter.build` (Python's `urlencode`) writes it, so that URLs
 * built for Flask and for phial compare equal: `QUERY_SAFE` kept, a space as `+`, the rest percent-encoded.
 */
export function queryEncode(s: string): string {
  const e = percentEncode(s, QUERY_SAFE);
  // "%20" can only come from a space: a "%" of the input is "%25".
  return e.indexOf("%20") === -1 ? e : e.replaceAll("%20", "+");
}

/**
 * Decodes a raw request path once (UTF-8). Returns `undefined` for malformed escapes or invalid UTF-8,
 * which a server answers with 400. `%2F` becomes `/` (as in Werkzeug, which decodes before matching).
 */
export function decodePath(raw: string): string | undefined {
  if (raw.indexOf("%") === -1) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * A query string as received, made safe for a `Location` header: printable ASCII stays (escapes are
 * kept as sent), anything else (controls, spaces, non-ASCII, `#`) is percent-encoded.
 */
export function safeQuery(q: string): string {
  for (let i = 0; i < q.length; i++) {
    const c = q.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x23) return percentEncode(q, QUERY_AS_SENT);
  }
  return q;
}

const QUERY_AS_SENT = (() => {
  const t = new Uint8Array(128);
  for (let c = 0x21; c < 0x7f; c++) t[c] = 1;
  t[0x23] = 0;
  return t;
})();

/** A decoded path, encoded for a `Location` header; never starts with `//` (no open redirect). */
export function locationFor(path: string, queryString: string): string {
  let loc = percentEncode(path, PATH_SAFE);
  if (loc.charCodeAt(1) === 0x2f) loc = `/%2F${loc.slice(2)}`;
  return queryString === "" ? loc : `${loc}?${safeQuery(queryString)}`;
}

/** What a raw path keeps in a `Location`: the path characters, and `%` (its escapes stay as sent). */
const RAW_PATH_SAFE = table("!$&'()*+,;=:@/%");

/**
 * A raw path (as sent, escapes kept) for a `Location` header: escapes stay as they are, so the client
 * asks for exactly the same decoded path; anything else outside the path characters (`\`, `"`, spaces,
 * non-ASCII) is encoded. Never starts with `//` (no open redirect).
 */
export function locationForRaw(rawPath: string, queryString: string): string {
  let loc = percentEncode(rawPath, RAW_PATH_SAFE);
  if (loc.charCodeAt(1) === 0x2f) loc = `/%2F${loc.slice(2)}`;
  return queryString === "" ? loc : `${loc}?${safeQuery(queryString)}`;
}

/** Whether a decoded path has a `.` or `..` segment (which a client resolves in a URL). */
export function hasDotSegment(path: string): boolean {
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path.charCodeAt(i) === 0x2f) {
      const n = i - start;
      if (
        (n === 1 || n === 2) &&
        path.charCodeAt(start) === 0x2e &&
        (n === 1 || path.charCodeAt(start + 1) === 0x2e)
      )
        return true;
      start = i + 1;
    }
  }
  return false;
}

/** Collapses runs of `/` into one. */
export function mergeSlashes(path: string): string {
  let out = "";
  let start = 0;
  for (let i = 1; i < path.length; i++) {
    if (path.charCodeAt(i) === 0x2f && path.charCodeAt(i - 1) === 0x2f) {
      out += path.slice(start, i);
      while (i + 1 < path.length && path.charCodeAt(i + 1) === 0x2f) i++;
      start = i + 1;
    }
  }
  return start === 0 ? path : out + path.slice(start);
}
