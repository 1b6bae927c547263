// application/x-www-form-urlencoded and query strings: flat [name, value] pairs, never nested objects
// (no `a[b][c]` expansion: body-parser/qs CVE-2024-45590), with a cap on the number of fields.
// Decoding is tolerant as in Werkzeug: a malformed `%` escape stays as written, bad UTF-8 becomes U+FFFD.

export interface ParseQueryOptions {
  /** Most pairs accepted; more throws a `TooManyFieldsError`. Default 1000. */
  maxFields?: number;
  /** Decode `+` as a space (form encoding). Default true. */
  plusAsSpace?: boolean;
}

/** More fields than `maxFields`. The framework answers 413. */
export class TooManyFieldsError extends RangeError {
  readonly limit: number;
  constructor(limit: number) {
    super(`more than ${limit} fields`);
    this.name = "TooManyFieldsError";
    this.limit = limit;
  }
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Percent-decodes `s[start, end)` as UTF-8 (and `+` as space when `plus`). The input is what the wire
 * gives: one character per byte (Latin-1), so raw UTF-8 bytes are decoded as well.
 */
export function percentDecode(s: string, plus = false, start = 0, end = s.length): string {
  let i = start;
  let wide = false;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 || c >= 0x80 || (plus && c === 0x2b)) break;
  }
  if (i === end) return start === 0 && end === s.length ? s : s.slice(start, end);
  for (let j = i; j < end; j++) {
    if (s.charCodeAt(j) > 0xff) {
      wide = true;
      break;
    }
  }
  // A wire string is one byte per character; a JS string with wide characters is taken as UTF-8.
  const src = Buffer.from(s.slice(start, end), wide ? "utf8" : "latin1");
  const m = src.length;
  let n = 0;
  for (let k = 0; k < m; k++) {
    const c = src[k]!;
    if (c === 0x25 && k + 2 < m) {
      const h = hexVal(src[k + 1]!);
      const l = hexVal(src[k + 2]!);
      if (h >= 0 && l >= 0) {
        src[n++] = (h << 4) | l;
        k += 2;
        continue;
      }
    }
    src[n++] = plus && c === 0x2b ? 0x20 : c;
  }
  return src.toString("utf8", 0, n);
}

/**
 * Parses `a=1&b=2&a=3` into pairs in order. Empty pieces (`&&`) are skipped; a piece without `=` is a
 * name with an empty value. Throws `TooManyFieldsError` past `maxFields`.
 */
export function parseQuery(s: string, options: ParseQueryOptions = {}): [string, string][] {
  const max = options.maxFields ?? 1000;
  const plus = options.plusAsSpace !== false;
  const out: [string, string][] = [];
  const n = s.length;
  let i = 0;
  while (i <= n) {
    let amp = s.indexOf("&", i);
    if (amp === -1) amp = n;
    if (amp > i) {
      if (out.length >= max) throw new TooManyFieldsError(max);
      const eq = s.indexOf("=", i);
      if (eq === -1 || eq > amp) out.push([percentDecode(s, plus, i, amp), ""]);
      else out.push([percentDecode(s, plus, i, eq), percentDecode(s, plus, eq + 1, amp)]);
    }
    i = amp + 1;
  }
  return out;
}

/** Bytes left as they are by `encodeQuery`: ALPHA DIGIT `-._~` and `*` (as browsers' form encoding). */
const SAFE: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const c of "-._~*") t[c.charCodeAt(0)] = 1;
  return t;
})();

const HEX = "0123456789ABCDEF";

/** Form-encodes one name or value: UTF-8, space as `+`. */
export function encodeComponent(s: string): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || SAFE[c] !== 1) break;
  }
  if (i === s.length) return s;
  const bytes = Buffer.from(s, "utf8");
  let out = "";
  for (const b of bytes) {
    if (b < 0x80 && SAFE[b] === 1) out += String.fromCharCode(b);
    else if (b === 0x20) out += "+";
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/** A query value: strings as given, numbers, booleans and bigints as their text; arrays repeat the key. */
export type QueryValue =
  | string
  | number
  | boolean
  | bigint
  | null
  | undefined
  | readonly (string | number | boolean | bigint)[];

/**
 * Encodes pairs (or a record; arrays repeat the key; undefined and null are left out) as
 * `application/x-www-form-urlencoded`.
 */
export function encodeQuery(
  pairs:
    | Iterable<readonly [string, string | number | boolean | bigint]>
    | Readonly<Record<string, QueryValue>>,
): string {
  let out = "";
  const add = (k: string, v: string | number | boolean | bigint) => {
    if (out.length > 0) out += "&";
    out += `${encodeComponent(k)}=${encodeComponent(String(v))}`;
  };
  if (typeof (pairs as Iterable<unknown>)[Symbol.iterator] === "function") {
    for (const [k, v] of pairs as Iterable<readonly [string, string | number | boolean | bigint]>) add(k, v);
    return out;
  }
  const rec = pairs as Readonly<Record<string, QueryValue>>;
  for (const k of Object.keys(rec)) {
    const v = rec[k];
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v as readonly (string | number | boolean | bigint)[]) add(k, x);
    else add(k, v as string | number | boolean | bigint);
  }
  return out;
}
