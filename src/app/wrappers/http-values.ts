// Werkzeug's typed header values (`werkzeug.datastructures`): entity-tag lists (`ETags`), byte ranges
// (`Range`), Cache-Control directives (`RequestCacheControl`, `ResponseCacheControl`), and HTTP dates.
// Parsing is strict and bounded: a malformed value is "absent" (undefined or empty), never an error
// page, as Werkzeug's parsers return None; lists stop at MAX_ITEMS.

/** Most entity-tags, ranges or directives read from one field; the rest are ignored. */
const MAX_ITEMS = 64;

/** The opaque part of an entity-tag, for comparison, or undefined when not an entity-tag. */
export function opaqueTag(tag: string, weakOk: boolean): string | undefined {
  let t = tag;
  if (t.startsWith("W/")) {
    if (!weakOk) return undefined;
    t = t.slice(2);
  }
  if (t.length < 2 || t.charCodeAt(0) !== 0x22 || t.charCodeAt(t.length - 1) !== 0x22) return undefined;
  return t.slice(1, -1);
}

/** The items of an entity-tag list, split on commas outside quotes (`*` is an item). */
function etagItems(header: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = header.length;
  while (i < n && out.length < MAX_ITEMS) {
    while (i < n && (header[i] === " " || header[i] === "\t" || header[i] === ",")) i++;
    if (i >= n) break;
    let j = i;
    if (header.startsWith("W/", j)) j += 2;
    if (header[j] === '"') {
      const close = header.indexOf('"', j + 1);
      j = close === -1 ? n : close + 1;
    } else {
      while (j < n && header[j] !== ",") j++;
    }
    out.push(header.slice(i, j).trim());
    i = j;
  }
  return out;
}

/**
 * True when an `If-Match` / `If-None-Match` list names `etag` (`*` names any). Weak comparison
 * ignores `W/` on both sides; strong comparison refuses weak tags.
 */
export function etagListMatches(header: string, etag: string, weak: boolean): boolean {
  const mine = opaqueTag(etag, weak);
  if (mine === undefined) return false;
  for (const item of etagItems(header)) {
    if (item === "*") return true;
    if (opaqueTag(item, weak) === mine) return true;
  }
  return false;
}

/** An HTTP date in seconds since the epoch, or undefined when it is not a date. */
export function parseHttpDate(value: string): number | undefined {
  // IMF-fixdate, the obsolete RFC 850 and asctime forms all parse; numbers alone are refused.
  if (value.length < 8 || value.length > 64 || !/[A-Za-z]/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** `"x"` (or `W/"x"`) for a bare tag, as Werkzeug's `quote_etag`; a tag with a quote is refused. */
export function quoteEtag(etag: string, weak = false): string {
  if (etag.includes('"')) throw new TypeError(`The ETag ${JSON.stringify(etag)} contains a quote`);
  for (let i = 0; i < etag.length; i++) {
    const c = etag.charCodeAt(i);
    if (c < 0x21 || c === 0x7f)
      throw new TypeError(`The ETag ${JSON.stringify(etag)} contains a space or control`);
  }
  return weak ? `W/"${etag}"` : `"${etag}"`;
}

/**
 * An `If-Match` / `If-None-Match` list (Werkzeug's `ETags`): tags unquoted, strong and weak apart.
 * Tags given to its methods may be quoted or not.
 */
export class ETags {
  /** `*`: any current representation. */
  readonly star: boolean;
  readonly strongTags: ReadonlySet<string>;
  readonly weakTags: ReadonlySet<string>;

  constructor(header: string | undefined) {
    const strong = new Set<string>();
    const weak = new Set<string>();
    let star = false;
    for (const item of etagItems(header ?? "")) {
      if (item === "*") star = true;
      else if (item.startsWith("W/")) {
        const t = opaqueTag(item, true);
        if (t !== undefined) weak.add(t);
      } else {
        const t = opaqueTag(item, false);
        if (t !== undefined) strong.add(t);
      }
    }
    this.star = star;
    this.strongTags = strong;
    this.weakTags = weak;
  }

  /** No tags and no `*` (the field was absent or empty). */
  get empty(): boolean {
    return !this.star && this.strongTags.size === 0 && this.weakTags.size === 0;
  }

  /** Strong comparison (`If-Match`): `*`, or the tag among the strong ones. */
  contains(etag: string): boolean {
    return this.star || this.strongTags.has(unquote(etag));
  }

  /** Weak comparison (`If-None-Match`): `*`, or the tag among the strong or weak ones. */
  containsWeak(etag: string): boolean {
    const t = unquote(etag);
    return this.star || this.strongTags.has(t) || this.weakTags.has(t);
  }

  isWeak(etag: string): boolean {
    return this.weakTags.has(unquote(etag));
  }

  isStrong(etag: string): boolean {
    return this.strongTags.has(unquote(etag));
  }

  /** The tags (strong, and weak ones too with `includeWeak`). */
  asSet(includeWeak = false): Set<string> {
    const s = new Set(this.strongTags);
    if (includeWeak) for (const t of this.weakTags) s.add(t);
    return s;
  }

  toString(): string {
    if (this.star) return "*";
    return [...[...this.strongTags].map((t) => `"${t}"`), ...[...this.weakTags].map((t) => `W/"${t}"`)].join(
      ", ",
    );
  }
}

function unquote(etag: string): string {
  const t = etag.startsWith("W/") ? etag.slice(2) : etag;
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

const MAX_DIGITS = 15; // beyond this a number is larger than any body (and than 2^53)

function digits(s: string): number | undefined {
  if (s.length === 0 || s.length > MAX_DIGITS) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return Number(s);
}

/**
 * A `Range` field (Werkzeug's `Range`): the unit and the ranges as `[start, stop)` pairs, `stop`
 * undefined for an open range (`500-`), a negative `start` for a suffix (`-500` is `[-500, undefined)`).
 */
export class Range {
  readonly units: string;
  readonly ranges: readonly (readonly [number, number | undefined])[];

  constructor(units: string, ranges: readonly (readonly [number, number | undefined])[]) {
    this.units = units;
    this.ranges = ranges;
  }

  /** Parses a Range field; undefined when it is absent or malformed (as Werkzeug's `parse_range_header`). */
  static parse(header: string | undefined): Range | undefined {
    if (header === undefined) return undefined;
    const eq = header.indexOf("=");
    if (eq <= 0) return undefined;
    const units = header.slice(0, eq).trim().toLowerCase();
    if (!/^[a-z]+$/.test(units)) return undefined;
    const ranges: [number, number | undefined][] = [];
    for (const raw of header.slice(eq + 1).split(",", MAX_ITEMS + 1)) {
      const spec = raw.trim();
      if (spec === "") continue;
      if (ranges.length >= MAX_ITEMS) return undefined;
      const dash = spec.indexOf("-");
      if (dash === -1) return undefined;
      const a = spec.slice(0, dash).trim();
      const b = spec.slice(dash + 1).trim();
      if (a === "") {
        const n = digits(b);
        if (n === undefined || n === 0) return undefined;
        ranges.push([-n, undefined]);
        continue;
      }
      const first = digits(a);
      if (first === undefined) return undefined;
      if (b === "") ranges.push([first, undefined]);
      else {
        const last = digits(b);
        if (last === undefined || last < first) return undefined;
        ranges.push([first, last + 1]);
      }
    }
    return ranges.length === 0 ? undefined : new Range(units, ranges);
  }

  /**
   * The `[start, stop)` of the one byte range for a body of `length` bytes, or undefined when there are
   * several ranges, another unit, or none can be satisfied. A suffix longer than the body is the whole
   * body, and a last position past the end stops at it (RFC 9110 §14.1.2; Werkzeug refuses the suffix).
   */
  rangeFor(length: number): [number, number] | undefined {
    if (this.units !== "bytes" || this.ranges.length !== 1 || length <= 0) return undefined;
    const [start, stop] = this.ranges[0]!;
    if (start < 0) return [Math.max(0, length + start), length];
    if (start >= length) return undefined;
    return [start, stop === undefined ? length : Math.min(stop, length)];
  }

  /** `bytes 0-499/1234` for the range of a body of `length` bytes. */
  contentRangeFor(length: number): string | undefined {
    const r = this.rangeFor(length);
    return r === undefined ? undefined : `${this.units} ${r[0]}-${r[1] - 1}/${length}`;
  }

  toString(): string {
    return `${this.units}=${this.ranges
      .map(([a, b]) => (a < 0 ? String(a) : `${a}-${b === undefined ? "" : b - 1}`))
      .join(",")}`;
  }
}

/** Cache-Control directives by lower-case name: `true` for a bare one, else its value (unquoted). */
function parseDirectives(header: string | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  if (header === undefined) return out;
  let i = 0;
  const n = header.length;
  while (i < n && out.size < MAX_ITEMS) {
    while (i < n && (header[i] === " " || header[i] === "\t" || header[i] === ",")) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && header[j] !== "=" && header[j] !== ",") j++;
    const name = header.slice(i, j).trim().toLowerCase();
    let value: string | true = true;
    if (j < n && header[j] === "=") {
      j++;
      while (j < n && (header[j] === " " || header[j] === "\t")) j++;
      if (header[j] === '"') {
        let v = "";
        j++;
        while (j < n && header[j] !== '"') {
          if (header[j] === "\\" && j + 1 < n) j++;
          v += header[j];
          j++;
        }
        j++; // the closing quote
        value = v;
        while (j < n && header[j] !== ",") j++;
      } else {
        const s = j;
        while (j < n && header[j] !== ",") j++;
        value = header.slice(s, j).trim();
      }
    }
    if (/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name) && !out.has(name)) out.set(name, value);
    i = j;
  }
  return out;
}

function seconds(v: string | true | undefined): number | undefined {
  return typeof v === "string" ? digits(v) : undefined;
}

/** A request's `Cache-Control` (Werkzeug's `RequestCacheControl`); read-only. */
export class RequestCacheControl {
  protected readonly directives: Map<string, string | true>;

  constructor(header: string | undefined) {
    this.directives = parseDirectives(header);
  }

  /** A directive: `true` when given without a value, its value, or undefined when absent. */
  get(name: string): string | true | undefined {
    return this.directives.get(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.directives.has(name.toLowerCase());
  }

  get maxAge(): number | undefined {
    return seconds(this.directives.get("max-age"));
  }
  /** `true` for `max-stale` without a value (any staleness). */
  get maxStale(): number | true | undefined {
    const v = this.directives.get("max-stale");
    return v === true ? true : seconds(v);
  }
  get minFresh(): number | undefined {
    return seconds(this.directives.get("min-fresh"));
  }
  get noCache(): boolean {
    return this.directives.has("no-cache");
  }
  get noStore(): boolean {
    return this.directives.has("no-store");
  }
  get noTransform(): boolean {
    return this.directives.has("no-transform");
  }
  get onlyIfCached(): boolean {
    return this.directives.has("only-if-cached");
  }
  get staleIfError(): number | undefined {
    return seconds(this.directives.get("stale-if-error"));
  }

  toString(): string {
    const parts: string[] = [];
    for (const [k, v] of this.directives) {
      if (v === true) parts.push(k);
      else
        parts.push(
          /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(v) ? `${k}=${v}` : `${k}="${v.replace(/[\\"]/g, "\\$&")}"`,
        );
    }
    return parts.join(", ");
  }
}

/**
 * A response's `Cache-Control` (Werkzeug's `ResponseCacheControl`): setting a property rewrites the
 * field (`res.cacheControl.maxAge = 60`); `false` or `undefined` removes the directive.
 */
export class ResponseCacheControl extends RequestCacheControl {
  private readonly onUpdate: (value: string | undefined) => void;

  constructor(header: string | undefined, onUpdate: (value: string | undefined) => void) {
    super(header);
    this.onUpdate = onUpdate;
  }

  /** Sets a directive: `true` bare, a string or number as its value, `false`/`undefined` removes it. */
  set(name: string, value: string | number | boolean | undefined): this {
    const k = name.toLowerCase();
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(k))
      throw new TypeError(`${JSON.stringify(name)} is not a directive name`);
    if (value === undefined || value === false) this.directives.delete(k);
    else if (value === true) this.directives.set(k, true);
    else {
      const v = String(value);
      if (/[\x00-\x1f\x7f]/.test(v))
        throw new TypeError(`The Cache-Control value of ${k} contains a control character`);
      this.directives.set(k, v);
    }
    this.onUpdate(this.directives.size === 0 ? undefined : this.toString());
    return this;
  }

  private setSeconds(name: string, v: number | undefined): void {
    if (v !== undefined && (!Number.isFinite(v) || v < 0))
      throw new RangeError(`Cache-Control ${name}: use a number of seconds ≥ 0, got ${v}`);
    this.set(name, v === undefined ? undefined : Math.floor(v));
  }

  override get maxAge(): number | undefined {
    return super.maxAge;
  }
  override set maxAge(v: number | undefined) {
    this.setSeconds("max-age", v);
  }
  get sMaxage(): number | undefined {
    return seconds(this.directives.get("s-maxage"));
  }
  set sMaxage(v: number | undefined) {
    this.setSeconds("s-maxage", v);
  }
  get staleWhileRevalidate(): number | undefined {
    return seconds(this.directives.get("stale-while-revalidate"));
  }
  set staleWhileRevalidate(v: number | undefined) {
    this.setSeconds("stale-while-revalidate", v);
  }
  override get staleIfError(): number | undefined {
    return super.staleIfError;
  }
  override set staleIfError(v: number | undefined) {
    this.setSeconds("stale-if-error", v);
  }
  get public(): boolean {
    return this.directives.has("public");
  }
  set public(v: boolean) {
    this.set("public", v);
  }
  get private(): boolean {
    return this.directives.has("private");
  }
  set private(v: boolean) {
    this.set("private", v);
  }
  override get noCache(): boolean {
    return super.noCache;
  }
  override set noCache(v: boolean) {
    this.set("no-cache", v);
  }
  override get noStore(): boolean {
    return super.noStore;
  }
  override set noStore(v: boolean) {
    this.set("no-store", v);
  }
  override get noTransform(): boolean {
    return super.noTransform;
  }
  override set noTransform(v: boolean) {
    this.set("no-transform", v);
  }
  get mustRevalidate(): boolean {
    return this.directives.has("must-revalidate");
  }
  set mustRevalidate(v: boolean) {
    this.set("must-revalidate", v);
  }
  get proxyRevalidate(): boolean {
    return this.directives.has("proxy-revalidate");
  }
  set proxyRevalidate(v: boolean) {
    this.set("proxy-revalidate", v);
  }
  get immutable(): boolean {
    return this.directives.has("immutable");
  }
  set immutable(v: boolean) {
    this.set("immutable", v);
  }
  get mustUnderstand(): boolean {
    return this.directives.has("must-understand");
  }
  set mustUnderstand(v: boolean) {
    this.set("must-understand", v);
  }
}
