// One RFC 9110 media-type parser (§8.3.1, §5.6.6), shared by body parsing, validation and CSRF checks,
// so no two parts of the project can disagree on what a Content-Type means (Fastify CVE-2025-32442).

import { TOKEN } from "./fields.ts";

export interface MediaType {
  /** `type/subtype`, lowercased, e.g. `application/json`. */
  essence: string;
  /** `type`, lowercased. */
  type: string;
  /** `subtype`, lowercased. */
  subtype: string;
  /** Parameters by lowercased name (null prototype); values unquoted, case kept. */
  params: Record<string, string>;
}

export interface AcceptItem {
  /** The media range or language as sent, e.g. `text/*` or `en-US`. */
  value: string;
  /** `q`, from 0 to 1 (1 when absent). */
  quality: number;
  /** Other parameters (lowercased names). */
  params: Record<string, string>;
}

function isTchar(c: number): boolean {
  return c < 0x80 && TOKEN[c] === 1;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Reads a token from `i`; returns its end (== i when there is none). */
function tokenEnd(s: string, i: number): number {
  while (i < s.length && isTchar(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Reads `*( OWS ";" OWS [ name "=" value ] )` from `i` to the end (or to a `,` when `list`).
 * Returns the index after the parameters, or -1 when they are malformed.
 */
function readParams(s: string, i: number, params: Record<string, string>, list: boolean): number {
  const n = s.length;
  for (;;) {
    let j = i;
    while (j < n && isOws(s.charCodeAt(j))) j++;
    if (j === n || (list && s.charCodeAt(j) === 0x2c)) return j;
    if (s.charCodeAt(j) !== 0x3b) return -1;
    j++;
    while (j < n && isOws(s.charCodeAt(j))) j++;
    const ns = j;
    j = tokenEnd(s, j);
    if (j === ns) {
      // an empty parameter (`text/html;` or `;;`) is allowed by the grammar
      i = j;
      continue;
    }
    const name = s.slice(ns, j).toLowerCase();
    if (j >= n || s.charCodeAt(j) !== 0x3d) return -1;
    j++;
    let value: string;
    if (j < n && s.charCodeAt(j) === 0x22) {
      // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
      j++;
      value = "";
      let closed = false;
      while (j < n) {
        const c = s.charCodeAt(j);
        if (c === 0x22) {
          closed = true;
          j++;
          break;
        }
        if (c === 0x5c) {
          if (j + 1 >= n) return -1;
          const q = s.charCodeAt(j + 1);
          if (q !== 0x09 && (q < 0x20 || q === 0x7f)) return -1;
          value += s[j + 1];
          j += 2;
          continue;
        }
        if (c !== 0x09 && (c < 0x20 || c === 0x7f)) return -1;
        value += s[j];
        j++;
      }
      if (!closed) return -1;
    } else {
      const vs = j;
      j = tokenEnd(s, j);
      if (j === vs) return -1;
      value = s.slice(vs, j);
    }
    if (name in params) return -1; // a repeated parameter is ambiguous: refuse it
    params[name] = value;
    i = j;
  }
}

/**
 * Parses a Content-Type-style value: `type/subtype *( OWS ";" OWS name=value )`. Returns undefined for
 * anything that is not exactly that (no whitespace inside the type, tokens only, closed quotes, no
 * repeated parameters), so callers answer 415 instead of guessing.
 */
export function parseMediaType(value: string): MediaType | undefined {
  const n = value.length;
  let i = 0;
  while (i < n && isOws(value.charCodeAt(i))) i++;
  const ts = i;
  i = tokenEnd(value, i);
  if (i === ts || i >= n || value.charCodeAt(i) !== 0x2f) return undefined;
  const te = i;
  i++;
  const ss = i;
  i = tokenEnd(value, i);
  if (i === ss) return undefined;
  const type = value.slice(ts, te).toLowerCase();
  const subtype = value.slice(ss, i).toLowerCase();
  const params = Object.create(null) as Record<string, string>;
  if (i < n && readParams(value, i, params, false) !== n) return undefined;
  return { essence: `${type}/${subtype}`, type, subtype, params };
}

/** The `type/subtype` of a Content-Type, lowercased, or "" when absent or malformed. */
export function mediaTypeEssence(value: string | undefined): string {
  if (value === undefined) return "";
  return parseMediaType(value)?.essence ?? "";
}

/** `application/json` or `application/*+json` (Flask's `is_json`). */
export function isJsonMediaType(essence: string): boolean {
  return essence === "application/json" || (essence.startsWith("application/") && essence.endsWith("+json"));
}

/** Parses a `q` value (RFC 9110 §12.4.2): 0, 1, or 0.x with up to three decimals. */
function parseQuality(q: string): number {
  if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(q)) return -1;
  return Number(q);
}

/**
 * Parses an Accept-style field (`Accept`, `Accept-Language`, `Accept-Encoding`, `Accept-Charset`):
 * items best first (stable among equal qualities). Malformed items are skipped, not fatal.
 */
export function parseAccept(header: string): AcceptItem[] {
  const out: AcceptItem[] = [];
  const n = header.length;
  let i = 0;
  while (i < n) {
    while (i < n && (isOws(header.charCodeAt(i)) || header.charCodeAt(i) === 0x2c)) i++;
    if (i >= n) break;
    const vs = i;
    // a media range (`type/subtype`) or a language/coding/charset token
    i = tokenEnd(header, i);
    if (i < n && header.charCodeAt(i) === 0x2f) i = tokenEnd(header, i + 1);
    const value = header.slice(vs, i);
    const params = Object.create(null) as Record<string, string>;
    const end = value.length === 0 ? -1 : readParams(header, i, params, true);
    if (end === -1) {
      // skip to the next item
      let j = header.indexOf(",", i);
      if (j === -1) j = n;
      i = j + 1;
      continue;
    }
    i = end;
    let quality = 1;
    if (params.q !== undefined) {
      quality = parseQuality(params.q);
      delete params.q;
    }
    if (quality >= 0) out.push({ value, quality, params });
  }
  // Stable sort, best first.
  return out
    .map((item, idx) => ({ item, idx }))
    .sort((a, b) => b.item.quality - a.item.quality || a.idx - b.idx)
    .map((x) => x.item);
}
