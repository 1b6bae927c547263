// The request as a Flask user reads it: `req.args`, `req.form`, `req.json`, `req.cookies`, …
// Everything is computed on first use from the wire's raw request.

import { parseCookieHeader } from "../http/cookie.ts";
import { isJsonMediaType, parseAccept, parseMediaType } from "../http/media-type.ts";
import { parseQuery } from "../http/urlencoded.ts";
import { MultiDict } from "./datastructures.ts";
import { BadRequest, UnsupportedMediaType } from "./exceptions.ts";
import { Headers } from "./headers.ts";
import { safeJsonParse } from "./response.ts";

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
  body(): Promise<Buffer>;
  [Symbol.asyncIterator](): AsyncIterator<Buffer>;
}

/** An uploaded file (filled in by the multipart parser). */
export interface FileStorage {
  readonly name: string;
  readonly filename: string;
  readonly contentType: string;
  readonly mimetype: string;
  readonly size: number;
  read(): Promise<Buffer>;
  stream(): AsyncIterable<Buffer>;
  save(path: string): Promise<void>;
}

export interface RequestConfig {
  maxFormFields: number;
  maxFormMemorySize: number;
}

const EMPTY_ARGS = Object.freeze(new MultiDict<string>());

export class Request<P = Record<string, unknown>> {
  readonly method: string;
  /** Route parameters, typed by the rule: `/user/<int:id>` gives `params.id: number`. Defaults included. */
  params: P;
  /** The matched endpoint, e.g. `profile` or `admin.index`. */
  endpoint: string | undefined;
  /** The matched rule string. */
  urlRule: string | undefined;
  /** @internal */ readonly source: RequestSource;
  /** @internal */ readonly config: RequestConfig;
  /** The raw body, once read (small bodies are read before the handler). */
  data: Buffer | undefined;
  /** @internal parsed multipart data, set by the body loader. */ parsedForm: MultiDict<string> | undefined;
  /** @internal */ parsedFiles: MultiDict<FileStorage> | undefined;
  private readonly target: string;
  private pathCache: string | undefined;
  private qIndex: number;
  private headersCache: Headers | undefined;
  private argsCache: MultiDict<string> | undefined;
  private cookiesCache: MultiDict<string> | undefined;
  private jsonCache: unknown;
  private jsonDone = false;

  constructor(source: RequestSource, config: RequestConfig) {
    this.source = source;
    this.config = config;
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
    this.params = Object.create(null) as P;
  }

  /** The path, percent-decoded once (UTF-8), e.g. `/café/x`. Malformed escapes are a 400. */
  get path(): string {
    let p = this.pathCache;
    if (p === undefined) {
      const raw = this.rawPath;
      if (raw.indexOf("%") === -1) p = raw;
      else {
        try {
          p = decodeURIComponent(raw);
        } catch {
          throw new BadRequest("The URL path has malformed percent-escapes");
        }
      }
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

  /** `http` or `https`. */
  get scheme(): string {
    return this.source.encrypted ? "https" : "http";
  }

  get isSecure(): boolean {
    return this.source.encrypted;
  }

  /** The host and port the client asked for. */
  get host(): string {
    return this.source.host;
  }

  /** `scheme://host/` */
  get hostUrl(): string {
    return `${this.scheme}://${this.host}/`;
  }

  /** The full URL, query included, as in Flask and the web `Request`. */
  get url(): string {
    return `${this.scheme}://${this.host}${this.target}`;
  }

  /** The URL without the query string. */
  get baseUrl(): string {
    return `${this.scheme}://${this.host}${this.rawPath}`;
  }

  /** The header fields (case-insensitive; `X_Custom` and `X-Custom` stay distinct). */
  get headers(): Headers {
    let h = this.headersCache;
    if (h === undefined) {
      const raw = this.source.rawHeaders;
      const pairs: [string, string][] = [];
      for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
      h = new Headers(pairs);
      this.headersCache = h;
    }
    return h;
  }

  /** One header field's value without building the whole map. */
  header(name: string): string | undefined {
    const raw = this.source.rawHeaders;
    const lower = name.toLowerCase();
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === lower) return raw[i + 1];
    return undefined;
  }

  /** Query arguments (`?a=1&a=2`) as a MultiDict. */
  get args(): MultiDict<string> {
    let a = this.argsCache;
    if (a === undefined) {
      const q = this.queryString;
      a = q.length === 0 ? EMPTY_ARGS : new MultiDict(this.parsePairs(q));
      this.argsCache = a;
    }
    return a;
  }

  /** Cookies sent by the client. */
  get cookies(): MultiDict<string> {
    let c = this.cookiesCache;
    if (c === undefined) {
      const raw = this.source.rawHeaders;
      const pairs: [string, string][] = [];
      for (let i = 0; i < raw.length; i += 2) {
        if (raw[i]!.length === 6 && raw[i]!.toLowerCase() === "cookie") pairs.push(...parseCookieHeader(raw[i + 1]!));
      }
      c = new MultiDict(pairs);
      this.cookiesCache = c;
    }
    return c;
  }

  /** The Content-Type field. */
  get contentType(): string | undefined {
    return this.header("content-type");
  }

  /** The media type without parameters, lowercased, e.g. `application/json`; "" when absent. */
  get mimetype(): string {
    const ct = this.contentType;
    if (ct === undefined) return "";
    return parseMediaType(ct)?.essence ?? "";
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

  /** The client's address (the socket peer; see `trustProxy` for proxies). */
  get remoteAddr(): string {
    return this.source.remoteAddress;
  }

  /** The accepted media types, best first, with `bestMatch(offers)`. */
  get acceptMimetypes(): Accept {
    return new Accept(this.header("accept") ?? "*/*");
  }

  /** The accepted languages, best first. */
  get acceptLanguages(): Accept {
    return new Accept(this.header("accept-language") ?? "*");
  }

  /** Aborted when the client goes away. */
  get signal(): AbortSignal {
    return this.source.signal;
  }

  /** True when the body is JSON (`application/json` or `+json`). */
  get isJson(): boolean {
    return isJsonMediaType(this.mimetype);
  }

  /** Form fields of an urlencoded or multipart body. */
  get form(): MultiDict<string> {
    let f = this.parsedForm;
    if (f === undefined) {
      const mt = this.mimetype;
      if (mt === "application/x-www-form-urlencoded" && this.data !== undefined && this.data.length > 0) {
        f = new MultiDict(this.parsePairs(this.data.toString("latin1"), true));
      } else {
        f = new MultiDict<string>();
      }
      this.parsedForm = f;
    }
    return f;
  }

  /** Uploaded files of a multipart body. */
  get files(): MultiDict<FileStorage> {
    if (this.parsedFiles === undefined) this.parsedFiles = new MultiDict<FileStorage>();
    return this.parsedFiles;
  }

  /** `args` and `form` together (args first). */
  get values(): MultiDict<string> {
    const m = new MultiDict<string>([...this.args.entries()]);
    for (const [k, v] of this.form.entries()) m.append(k, v);
    return m;
  }

  /**
   * The body parsed as JSON. A non-JSON Content-Type is a 415 and a malformed body a 400 (Flask ≥ 2.3).
   * Keys named `__proto__` are dropped.
   */
  get json(): unknown {
    return this.getJson();
  }

  /** `force`: ignore the Content-Type; `silent`: undefined instead of an error. */
  getJson(options: { force?: boolean; silent?: boolean } = {}): unknown {
    if (this.jsonDone) return this.jsonCache;
    if (!options.force && !this.isJson) {
      if (options.silent) return undefined;
      throw new UnsupportedMediaType(
        "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
      );
    }
    const data = this.data;
    try {
      if (data === undefined || data.length === 0) throw new SyntaxError("empty body");
      this.jsonCache = safeJsonParse(data.toString("utf8"));
    } catch {
      if (options.silent) return undefined;
      throw new BadRequest("Failed to decode JSON object: the body is not valid JSON.");
    }
    this.jsonDone = true;
    return this.jsonCache;
  }

  /** The body as text (UTF-8). */
  getData(options: { asText: true }): string;
  getData(options?: { asText?: false }): Buffer;
  getData(options: { asText?: boolean } = {}): string | Buffer {
    const d = this.data ?? Buffer.alloc(0);
    return options.asText ? d.toString("utf8") : d;
  }

  /** The raw body as a stream (routes registered with `{ streamBody: true }`). */
  stream(): AsyncIterable<Buffer> {
    return this.source;
  }

  private parsePairs(s: string, form = false): [string, string][] {
    try {
      return parseQuery(s, { maxFields: this.config.maxFormFields });
    } catch (err) {
      throw new BadRequest(
        form ? `The form is too large: ${(err as Error).message}` : `The query is too large: ${(err as Error).message}`,
      );
    }
  }
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
