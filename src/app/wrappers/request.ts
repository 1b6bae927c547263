// The request as a Flask user reads it: `req.args`, `req.form`, `req.json`, `req.cookies`, …
// Everything is computed on first use from the wire's raw request.

import { createReadStream, readFileSync } from "node:fs";
import { parseCookieHeader } from "../../http/cookie.ts";
import { isJsonMediaType, parseAccept, parseMediaType } from "../../http/media-type.ts";
import { parseQuery, percentDecode, TooManyFieldsError } from "../../http/urlencoded.ts";
import type { Phial } from "../app.ts";
import type { FileStorage } from "../files/multipart.ts";
import type { Session } from "../sessions/secure-cookie.ts";
import { MultiDict } from "./datastructures.ts";
import { BadRequest, RequestEntityTooLarge, UnsupportedMediaType } from "./exceptions.ts";
import { Headers } from "./headers.ts";
import { ETags, parseHttpDate, Range, RequestCacheControl } from "./http-values.ts";
import { type ForwardedView, resolveForwarded } from "./proxy.ts";

let lastContentType = "";
let lastEssence = "";

/** What the framework needs of an incoming request: the wire's `IncomingRequest`, or the test client's. */
export interface RequestSource {
  readonly method: string;
  /** The request-target as sent. */
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly host: string;
  readonly remoteAddress: string;
  readonly encrypted: boolean;
  /** Declared body length, -1 when unknown (chunked) or absent. */
  readonly contentLength: number;
  /** True when there is no body left to receive. */
  readonly bodyComplete: boolean;
  readonly signal: AbortSignal;
  /** The wire handed this request's socket to the app's upgrade handler (absent elsewhere). */
  readonly upgraded?: boolean;
  /** The wire's per-request handler time limit (absent elsewhere). */
  setHandlerTimeout?(ms: number): void;
  body(): Promise<Buffer>;
  /** The whole body if it has all arrived and none was read, else undefined (optional). */
  bodyNow?(): Buffer | undefined;
  [Symbol.asyncIterator](): AsyncIterator<Buffer>;
}

/** `req.authorization`: Basic credentials, or another scheme's token. */
export type Authorization =
  | { readonly type: "basic"; readonly username: string; readonly password: string }
  | {
      readonly type: string;
      readonly token: string;
      readonly username?: undefined;
      readonly password?: undefined;
    };

/** An uploaded file (filled in by the multipart parser, which defines it). */
export type { FileStorage };

/**
 * What `req.session` gives: the Map-like `Session` of the sessions module (signed cookies by default);
 * any access marks the response `Vary: Cookie`.
 */
export type SessionLike = Session;

/** The params of a request that matched no rule (shared: frozen). */
const NO_PARAMS: Readonly<Record<string, unknown>> = Object.freeze(
  Object.create(null) as Record<string, unknown>,
);

export class Request<P = Record<string, unknown>, V = {}> {
  /** The app handling this request (Flask's `current_app`). */
  readonly app: Phial;
  readonly method: string;
  /** Route parameters, typed by the rule: `/user/<int:id>` gives `params.id: number`. Defaults included. */
  params: P;
  /**
   * The inputs checked by the route's schemas (`{ json: Item, query: Q }` → `req.valid.json`,
   * `req.valid.query`), typed by them. Only routes with schemas have it (declared, never initialized, so
   * that requests of other routes don't carry it).
   */
  declare valid: V;
  /** The matched endpoint, e.g. `profile` or `admin.index`. */
  endpoint: string | undefined;
  /** The matched rule string. */
  urlRule: string | undefined;
  /** @internal */ readonly source: RequestSource;
  /** @internal the body bytes once in memory (see `data`). */
  dataBuf: Buffer | undefined;
  // The next three are set only on the slow path (declared, so that a request of the fast path doesn't
  // carry them).
  /** @internal the temp file a large body was spooled to (read into memory on first use). */
  declare spoolPath: string | undefined;
  /**
   * @internal the body has not been read yet (the beforeRequest hooks run first): a getter takes it if it
   * has all arrived, else throws `BodyNotRead` (the pipeline reads it and runs that hook again).
   */
  declare bodyPending: boolean | undefined;
  /** @internal a CSRF token in the body awaits its check: getters may not take the body on their own. */
  declare tokenHeld: boolean | undefined;
  /**
   * @internal Form fields and files set by a body loader (`app.bodyLoaders`, e.g. multipart); when left
   * undefined, `form` parses an urlencoded `data`.
   */
  parsedForm: MultiDict<string> | undefined;
  /** @internal */ parsedFiles: MultiDict<FileStorage> | undefined;
  /** @internal the session, once opened by `app.sessionInterface` (saved after the handler). */
  sessionCache: SessionLike | undefined;
  /** @internal the matched route's own body limit, if it has one. */
  bodyLimit: number | undefined;
  /** @internal the error that went unhandled (a 500), passed to the teardown hooks. */
  unhandledError: unknown;
  /** @internal functions run when the request ends (after teardown), e.g. deleting spooled uploads. */
  cleanups: (() => void | Promise<void>)[] | undefined;
  private readonly target: string;
  private pathCache: string | undefined;
  private qIndex: number;
  private headersCache: Headers | undefined;
  private argsCache: MultiDict<string> | undefined;
  private cookiesCache: MultiDict<string> | undefined;
  private valuesCache: MultiDict<string> | undefined;
  private jsonCache: unknown;
  private jsonDone = false;
  private gStore: Record<string, unknown> | undefined;
  /** What trusted proxies said; null when proxies aren't trusted (computed on first use). */
  private fwd: ForwardedView | null | undefined;

  constructor(source: RequestSource, app: Phial) {
    this.source = source;
    this.app = app;
    this.method = source.method;
    let t = source.url;
    if (t.charCodeAt(0) !== 0x2f) {
      // absolute-form: keep path and query only
      const sep = t.indexOf("://");
      if (sep > 0) {
        const slash = t.indexOf("/", sep + 3);
        const q = t.indexOf("?", sep + 3);
        t = slash === -1 || (q !== -1 && q < slash) ? `/${q === -1 ? "" : t.slice(q)}` : t.slice(slash);
      } else {
        t = "/";
      }
    }
    this.target = t;
    this.qIndex = t.indexOf("?");
    this.params = NO_PARAMS as P;
  }

  /**
   * The path, percent-decoded once as UTF-8, e.g. `/café/x`. As in Werkzeug, a malformed escape stays as
   * written and invalid UTF-8 becomes U+FFFD.
   */
  get path(): string {
    let p = this.pathCache;
    if (p === undefined) {
      p = percentDecode(this.rawPath);
      this.pathCache = p;
    }
    return p;
  }

  /** The path as sent, without decoding. */
  get rawPath(): string {
    return this.qIndex === -1 ? this.target : this.target.slice(0, this.qIndex);
  }

  /** The query string as sent, without `?`. */
  get queryString(): string {
    return this.qIndex === -1 ? "" : this.target.slice(this.qIndex + 1);
  }

  /** Path and query, e.g. `/search?q=x` (Flask's `full_path`, always with `?`). */
  get fullPath(): string {
    return `${this.path}?${this.queryString}`;
  }

  /**
   * What trusted proxies (`config.trustProxy`) forwarded, or null when proxies aren't trusted. Only
   * computed when asked, and with trust off it costs one comparison.
   */
  get forwarded(): ForwardedView | null {
    let f = this.fwd;
    if (f === undefined) {
      const c = this.app.config;
      const p =
        c.trustProxy === false ? undefined : this.app.proxySettings.get(c.trustProxy, c.forwardedHeaders);
      f =
        p === undefined
          ? null
          : resolveForwarded(this.source.remoteAddress, (n) => this.joined(n), p.trust, p.fields);
      this.fwd = f;
    }
    return f;
  }

  /** `http` or `https`: the connection's, or what a trusted proxy forwarded (`X-Forwarded-Proto`). */
  get scheme(): string {
    const f = this.fwd === null ? null : this.forwarded;
    return f?.scheme ?? (this.source.encrypted ? "https" : "http");
  }

  /** True for HTTPS (as the client sees it, behind a trusted proxy). */
  get isSecure(): boolean {
    return this.scheme === "https";
  }

  /** The host and port the client asked for (`X-Forwarded-Host` from a trusted proxy). */
  get host(): string {
    const f = this.fwd === null ? null : this.forwarded;
    return f?.host ?? this.source.host;
  }

  /**
   * The path the app is mounted under, without a trailing slash ("" at the root): a trusted proxy's
   * `X-Forwarded-Prefix` followed by `config.applicationRoot`. `urlFor` and automatic redirects start
   * with it.
   */
  get scriptRoot(): string {
    const f = this.fwd === null ? null : this.forwarded;
    const root = this.app.config.applicationRoot;
    const r = root === "/" || root === "" ? "" : root.endsWith("/") ? root.slice(0, -1) : root;
    const prefix = f?.prefix;
    return prefix === undefined ? r : prefix + r;
  }

  /** `scheme://host/` */
  get hostUrl(): string {
    return `${this.scheme}://${this.host}/`;
  }

  /**
   * The full URL, query included, as in Flask and the web `Request`; behind a trusted proxy as the
   * client sent it (scheme, host and the `X-Forwarded-Prefix` the proxy stripped).
   */
  get url(): string {
    return `${this.scheme}://${this.host}${this.forwardedPrefix}${this.target}`;
  }

  /**
   * The application's root URL, `scheme://host` and the script root, with a trailing slash (Flask's
   * `request.url_root`, also `root_url`): `http://example.com/` or, mounted under `/app`,
   * `http://example.com/app/`.
   */
  get urlRoot(): string {
    return `${this.scheme}://${this.host}${this.scriptRoot}/`;
  }

  /** The URL without the query string. */
  get baseUrl(): string {
    return `${this.scheme}://${this.host}${this.forwardedPrefix}${this.rawPath}`;
  }

  private get forwardedPrefix(): string {
    if (this.fwd === null) return "";
    return this.forwarded?.prefix ?? "";
  }

  /** Every value of a field, joined with ", " (X-Forwarded-For may come as several fields). */
  private joined(name: string): string | undefined {
    const raw = this.source.rawHeaders;
    let out: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      if (k.length === name.length && k.toLowerCase() === name) {
        out = out === undefined ? raw[i + 1]! : `${out}, ${raw[i + 1]!}`;
      }
    }
    return out;
  }

  /**
   * The header fields, read-only: `req.headers.get("x-token")` (case-insensitive), `getAll` for repeats.
   * Names are never conflated: `X_Custom` is not `X-Custom`.
   */
  get headers(): Headers {
    let h = this.headersCache;
    if (h === undefined) {
      h = Headers.fromRaw(this.source.rawHeaders);
      this.headersCache = h;
    }
    return h;
  }

  /** One header field's first value without building the whole map. */
  header(name: string): string | undefined {
    const raw = this.source.rawHeaders;
    const n = name.length;
    const lower = name.toLowerCase();
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      if (k.length === n && (k === lower || k.toLowerCase() === lower)) return raw[i + 1];
    }
    return undefined;
  }

  /** Query arguments (`?a=1&a=2`) as a read-only MultiDict: `req.args.get("q")`, `getAll("a")`. */
  get args(): MultiDict<string> {
    let a = this.argsCache;
    if (a === undefined) {
      const q = this.queryString;
      a = MultiDict.fromPairs(q.length === 0 ? [] : this.parsePairs(q, false)).freeze();
      this.argsCache = a;
    }
    return a;
  }

  /** Cookies sent by the client, as a read-only MultiDict (`req.cookies.get("username")`). */
  get cookies(): MultiDict<string> {
    let c = this.cookiesCache;
    if (c === undefined) {
      const raw = this.source.rawHeaders;
      let pairs: [string, string][] = [];
      for (let i = 0; i < raw.length; i += 2) {
        if (raw[i]!.length === 6 && raw[i]!.toLowerCase() === "cookie") {
          const p = parseCookieHeader(raw[i + 1]!);
          pairs = pairs.length === 0 ? p : pairs.concat(p);
        }
      }
      c = MultiDict.fromPairs(pairs).freeze();
      this.cookiesCache = c;
    }
    return c;
  }

  /** The Content-Type field. */
  get contentType(): string | undefined {
    return this.header("content-type");
  }

  /** @internal The most body bytes this request may send: its route's limit, else `config.maxContentLength`. */
  get maxBodyBytes(): number {
    return limit(this.bodyLimit ?? this.app.config.maxContentLength);
  }

  /** The media type without parameters, lowercased, e.g. `application/json`; "" when absent. */
  get mimetype(): string {
    const ct = this.contentType;
    if (ct === undefined) return "";
    // Clients send the same Content-Type again and again (the wire even hands on the same string):
    // the last one parsed is remembered (a string, so nothing can change it).
    if (ct !== lastContentType) {
      lastEssence = parseMediaType(ct)?.essence ?? "";
      lastContentType = ct;
    }
    return lastEssence;
  }

  /** Parameters of the Content-Type, e.g. `{ charset: "utf-8" }`. */
  get mimetypeParams(): Readonly<Record<string, string>> {
    const ct = this.contentType;
    return (ct === undefined ? undefined : parseMediaType(ct)?.params) ?? Object.create(null);
  }

  /** The declared body length, or undefined. */
  get contentLength(): number | undefined {
    const n = this.source.contentLength;
    return n < 0 ? undefined : n;
  }

  get userAgent(): string {
    return this.header("user-agent") ?? "";
  }

  /**
   * The client's address: the socket peer, or behind trusted proxies (`config.trustProxy`) the first
   * untrusted address in X-Forwarded-For, read right to left.
   */
  get remoteAddr(): string {
    if (this.fwd === null) return this.source.remoteAddress;
    return this.forwarded?.remoteAddr ?? this.source.remoteAddress;
  }

  /** The addresses the request went through, client first, as far as trusted proxies vouch for them. */
  get accessRoute(): string[] {
    const f = this.fwd === null ? null : this.forwarded;
    return f === null ? [this.source.remoteAddress] : [...f.accessRoute];
  }

  /**
   * The `Authorization` field parsed: `{ type: "basic", username, password }` for Basic (UTF-8),
   * `{ type: "bearer", token }` for Bearer, `{ type, token }` for other schemes; undefined when absent or
   * malformed.
   */
  get authorization(): Authorization | undefined {
    const v = this.header("authorization");
    if (v === undefined) return undefined;
    const sp = v.indexOf(" ");
    const scheme = (sp === -1 ? v : v.slice(0, sp)).toLowerCase();
    const rest = sp === -1 ? "" : v.slice(sp + 1).trim();
    if (scheme === "") return undefined;
    if (scheme === "basic") {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(rest)) return undefined;
      const decoded = Buffer.from(rest, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon === -1) return undefined;
      return { type: "basic", username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    return { type: scheme, token: rest };
  }

  /** The `Referer` field. */
  get referrer(): string | undefined {
    return this.header("referer");
  }

  /** The dotted name of the blueprint of the matched endpoint (`admin` for `admin.index`), else undefined. */
  get blueprint(): string | undefined {
    const e = this.endpoint;
    if (e === undefined) return undefined;
    const dot = e.lastIndexOf(".");
    return dot === -1 ? undefined : e.slice(0, dot);
  }

  /**
   * The session (signed cookie), opened on first use. Needs `app.config.secretKey`; the sessions module
   * installs `app.sessionInterface`.
   */
  get session(): SessionLike {
    let s = this.sessionCache;
    if (s === undefined) {
      const si = this.app.sessionInterface;
      if (si === undefined) {
        throw new Error(
          "No session interface is installed: sessions are not available in this build of the app",
        );
      }
      s = si.open(this.app, this as unknown as Request);
      this.sessionCache = s;
    }
    return s;
  }

  /** Scratch space for this request (Flask's `g`); the global `g` is this object. */
  get g(): Record<string, unknown> {
    let g = this.gStore;
    if (g === undefined) {
      g = Object.create(null) as Record<string, unknown>;
      this.gStore = g;
    }
    return g;
  }

  /**
   * Runs `fn` when the request is over: after the teardown hooks, and for a streamed body once it was sent
   * or abandoned (Flask's `call_on_close`). Errors are logged.
   */
  callOnClose(fn: () => void | Promise<void>): void {
    if (this.cleanups === undefined) this.cleanups = [fn];
    else this.cleanups.push(fn);
  }

  /** The accepted media types, best first, with `bestMatch(offers)`. */
  get acceptMimetypes(): Accept {
    // No field: an empty list, and `bestMatch` gives no match (Werkzeug's empty MIMEAccept).
    return new Accept(this.joined("accept") ?? "");
  }

  /** The accepted languages, best first. */
  get acceptLanguages(): Accept {
    return new Accept(this.joined("accept-language") ?? "");
  }

  /** `If-Match`'s entity-tags (empty without the field), Werkzeug's `if_match`. */
  get ifMatch(): ETags {
    return new ETags(this.joined("if-match"));
  }

  /** `If-None-Match`'s entity-tags (empty without the field), Werkzeug's `if_none_match`. */
  get ifNoneMatch(): ETags {
    return new ETags(this.joined("if-none-match"));
  }

  /** `If-Modified-Since` as a Date, or undefined when absent or not a date. */
  get ifModifiedSince(): Date | undefined {
    return httpDate(this.header("if-modified-since"));
  }

  /** `If-Unmodified-Since` as a Date, or undefined when absent or not a date. */
  get ifUnmodifiedSince(): Date | undefined {
    return httpDate(this.header("if-unmodified-since"));
  }

  /** The `Date` field as a Date, or undefined. */
  get date(): Date | undefined {
    return httpDate(this.header("date"));
  }

  /** The `Range` field, or undefined when absent or malformed (Werkzeug's `range`). */
  get range(): Range | undefined {
    return Range.parse(this.header("range"));
  }

  /** The request's `Cache-Control` directives (Werkzeug's `cache_control`). */
  get cacheControl(): RequestCacheControl {
    return new RequestCacheControl(this.joined("cache-control"));
  }

  /** The accepted charsets (`Accept-Charset`), best first; empty without the field. */
  get acceptCharsets(): Accept {
    return new Accept(this.joined("accept-charset") ?? "");
  }

  /** The accepted content codings (`Accept-Encoding`), best first; empty without the field. */
  get acceptEncodings(): Accept {
    return new Accept(this.joined("accept-encoding") ?? "");
  }

  /** Aborted when the client goes away. */
  get signal(): AbortSignal {
    return this.source.signal;
  }

  /** True when the body is JSON (`application/json` or `+json`). */
  get isJson(): boolean {
    return isJsonMediaType(this.mimetype);
  }

  /**
   * The raw body (undefined for `streamBody` routes, whose body is read with `stream()`). Read before the
   * view; a large one (over `config.bodyMemorySize`) waits in a temp file until this is first touched.
   */
  get data(): Buffer | undefined {
    if (this.bodyPending) this.takeBody();
    let d = this.dataBuf;
    if (d === undefined && this.spoolPath !== undefined) {
      // Rare (a view that wants a large body whole): a sync read, so the getters stay synchronous.
      d = readFileSync(this.spoolPath);
      this.dataBuf = d;
    }
    return d;
  }
  set data(v: Buffer | undefined) {
    this.dataBuf = v;
  }

  /** @internal takes a pending body that has all arrived, else throws `BodyNotRead`. */
  private takeBody(): void {
    if (!this.takeBodyNow()) throw new BodyNotRead();
  }

  /**
   * @internal takes a pending body if it has all arrived (and needs no body loader such as multipart's);
   * false when it must be read asynchronously.
   */
  takeBodyNow(): boolean {
    if (this.tokenHeld === true) return false;
    const b =
      this.app.bodyLoaderFor(this.mimetype) === undefined && this.source.bodyNow !== undefined
        ? this.source.bodyNow()
        : undefined;
    if (b === undefined) return false;
    this.bodyPending = false;
    if (b.length > this.maxBodyBytes) throw tooLarge(this.maxBodyBytes);
    this.dataBuf = b;
    return true;
  }

  /**
   * Form fields of an urlencoded (or, with the multipart loader, multipart) body, read-only:
   * `req.form.get("username")`, or `req.form.require("username")` for Flask's `request.form[...]` (400
   * when missing).
   */
  get form(): MultiDict<string> {
    let f = this.parsedForm;
    if (f === undefined) {
      const d = this.data;
      if (d !== undefined && d.length > 0 && this.mimetype === "application/x-www-form-urlencoded") {
        if (d.length > limit(this.app.config.maxFormMemorySize)) {
          throw new RequestEntityTooLarge(
            `The form is larger than maxFormMemorySize (${this.app.config.maxFormMemorySize} bytes).`,
          );
        }
        f = MultiDict.fromPairs(this.parsePairs(d.toString("latin1"), true));
      } else {
        f = new MultiDict<string>();
      }
      f.freeze();
      this.parsedForm = f;
    }
    return f;
  }

  /** Uploaded files of a multipart body (filled by the multipart loader), read-only. */
  get files(): MultiDict<FileStorage> {
    if (this.parsedFiles === undefined && this.bodyPending) this.takeBody();
    if (this.parsedFiles === undefined) this.parsedFiles = new MultiDict<FileStorage>().freeze();
    return this.parsedFiles;
  }

  /** `args` and `form` together (args first), read-only. For GET requests only `args` (as Werkzeug). */
  get values(): MultiDict<string> {
    let v = this.valuesCache;
    if (v === undefined) {
      const pairs = [...this.args.entries()];
      if (this.method !== "GET") for (const p of this.form.entries()) pairs.push(p);
      v = MultiDict.fromPairs(pairs).freeze();
      this.valuesCache = v;
    }
    return v;
  }

  /**
   * The body parsed as JSON. A non-JSON Content-Type is a 415 and a malformed body a 400 (Flask ≥ 2.3).
   * Keys named `__proto__` are dropped.
   */
  get json(): unknown {
    return this.getJson();
  }

  /** `force`: ignore the Content-Type; `silent`: undefined instead of an error. */
  getJson<T = unknown>(options?: { force?: boolean; silent?: false }): T;
  getJson<T = unknown>(options: { force?: boolean; silent: boolean }): T | undefined;
  getJson<T = unknown>(options: { force?: boolean; silent?: boolean } = {}): T | undefined {
    if (this.jsonDone) return this.jsonCache as T;
    if (!options.force && !this.isJson) {
      if (options.silent) return undefined;
      throw new UnsupportedMediaType(
        "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
      );
    }
    const data = this.data;
    try {
      if (data === undefined || data.length === 0) throw new SyntaxError("empty body");
      // A UTF-8 byte order mark is skipped, as Python's json.loads of bytes does.
      const bom = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf;
      this.jsonCache = this.app.json.loads(data.toString("utf8", bom ? 3 : 0));
    } catch {
      if (options.silent) return undefined;
      throw new BadRequest("Failed to decode JSON object: the body is not valid JSON.");
    }
    this.jsonDone = true;
    return this.jsonCache as T;
  }

  /** The body as text (UTF-8). */
  getData(options: { asText: true }): string;
  getData(options?: { asText?: false }): Buffer;
  getData(options: { asText?: boolean } = {}): string | Buffer {
    const d = this.data ?? Buffer.alloc(0);
    return options.asText ? d.toString("utf8") : d;
  }

  /**
   * The raw body as a stream, for routes registered with `{ streamBody: true }` (other routes have it in
   * `data` already). More than `config.maxContentLength` bytes is a 413.
   */
  async *stream(): AsyncGenerator<Buffer, void, undefined> {
    if (this.bodyPending) {
      this.bodyPending = false; // read from the wire right here
    } else if (this.dataBuf !== undefined) {
      if (this.dataBuf.length > 0) yield this.dataBuf;
      return;
    } else if (this.spoolPath !== undefined) {
      yield* createReadStream(this.spoolPath, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>;
      return;
    }
    const max = this.maxBodyBytes;
    if (this.source.contentLength > max) throw tooLarge(max);
    let total = 0;
    for await (const chunk of this.source) {
      total += chunk.length;
      if (total > max) throw tooLarge(max);
      yield chunk;
    }
  }

  private parsePairs(s: string, form: boolean): [string, string][] {
    try {
      return parseQuery(s, { maxFields: limit(this.app.config.maxFormParts) });
    } catch (err) {
      if (!(err instanceof TooManyFieldsError)) throw err;
      if (form) throw new RequestEntityTooLarge(`The form has more than ${err.limit} fields (maxFormParts).`);
      throw new BadRequest(`The query string has more than ${err.limit} arguments (maxFormParts).`);
    }
  }
}

/** @internal a size setting; `null`/`undefined` (Flask's None) mean no limit. */
export function limit(v: number | null | undefined): number {
  return v === null || v === undefined ? Number.POSITIVE_INFINITY : v;
}

function httpDate(v: string | undefined): Date | undefined {
  const t = v === undefined ? undefined : parseHttpDate(v);
  return t === undefined ? undefined : new Date(t * 1000);
}

/**
 * @internal A body getter was used before the body was read: the pipeline catches it in a beforeRequest
 * hook (reads the body, runs the hook again); anywhere else it is a programming error with this message.
 */
export class BodyNotRead extends Error {
  constructor() {
    super(
      "The request body has not been read yet: it is read after the beforeRequest hooks (and again before a " +
        "hook that reads it), so an error handler for an answer a hook gave early cannot see it.",
    );
    this.name = "BodyNotRead";
  }
}

/** @internal the 413 for a body over `maxContentLength`. */
export function tooLarge(max: number): RequestEntityTooLarge {
  return new RequestEntityTooLarge(`The request body is larger than maxContentLength (${max} bytes).`);
}

/** An Accept-style header, best first. */
export class Accept {
  readonly values: readonly { value: string; quality: number }[];
  private readonly header: string;

  constructor(header: string) {
    this.header = header;
    this.values = parseAccept(header).map((e) => ({ value: e.value, quality: e.quality }));
  }

  /** The offer the client prefers, or undefined when it accepts none of them. */
  bestMatch(offers: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestQ = 0;
    let bestSpec = -1;
    for (const offer of offers) {
      for (const { value, quality } of this.values) {
        if (quality <= 0) continue;
        const spec = matches(value, offer);
        if (spec < 0) continue;
        if (quality > bestQ || (quality === bestQ && spec > bestSpec)) {
          best = offer;
          bestQ = quality;
          bestSpec = spec;
        }
        break;
      }
    }
    return best;
  }

  /** The quality the client gives `offer` (0 when not acceptable). */
  quality(offer: string): number {
    for (const { value, quality } of this.values) if (matches(value, offer) >= 0) return quality;
    return 0;
  }

  toString(): string {
    return this.header;
  }
}

/** -1 when `pattern` does not accept `offer`; otherwise how specific the match is. */
function matches(pattern: string, offer: string): number {
  const p = pattern.toLowerCase();
  const o = offer.toLowerCase();
  if (p === o) return 3;
  if (p === "*" || p === "*/*") return 0;
  const ps = p.indexOf("/");
  if (ps === -1) {
    // languages: `en` accepts `en-US`
    return o.startsWith(`${p}-`) ? 1 : -1;
  }
  if (p.endsWith("/*") && o.startsWith(p.slice(0, ps + 1))) return 1;
  return -1;
}
