// The client: URL and header handling, request serialization (request mode of the wire), redirects,
// cookies, timeouts and aborts on top of the per-origin pools.

import { assertValidField, isToken } from "../http/fields.ts";
import type { ParserLimits } from "../http/parser.ts";
import {
  type BodyInit,
  type FormInit,
  formBody,
  jsonBody,
  type MultipartInit,
  multipartBody,
  type PreparedBody,
  rawBody,
} from "./body.ts";
import { CookieJar } from "./cookies.ts";
import {
  ClientError,
  RedirectError,
  RequestAbortedError,
  RequestTimeoutError,
  TooManyRedirectsError,
} from "./errors.ts";
import { flattenHeaders, type HeadersInit } from "./headers.ts";
import { Exchange, Pool, type PoolSettings, type TlsSettings } from "./pool.ts";
import { type ProxyInit, ProxyRules, proxyAuthorization } from "./proxy.ts";
import type { ClientResponse } from "./response.ts";

/** Options of a `Client` (every request it makes). */
export interface ClientOptions {
  /** Prefix for relative URLs: `baseUrl: "https://api.test/v1"` + `"/users"` → `https://api.test/v1/users`. */
  baseUrl?: string | URL;
  /** Headers sent with every request (a request's own header of the same name replaces one of these). */
  headers?: HeadersInit;
  /** Whole-request deadline in ms, redirects and reading the body included. 0 (default) for none. */
  timeout?: number;
  /** Deadline for the TCP connection and TLS handshake, in ms. Default 10 000. */
  connectTimeout?: number;
  /** Longest silence from the server while a response is awaited or read, in ms. Default 30 000. */
  readTimeout?: number;
  /** Longest wait for a response head, however slowly it trickles in, in ms. Default 60 000. */
  headersTimeout?: number;
  /** With `Expect: 100-continue`, how long to wait for `100 Continue` before sending the body anyway (ms). Default 1 000. */
  expectContinueTimeout?: number;
  /** Most sockets per origin; more requests wait in a queue. Default 128. */
  connections?: number;
  /** How long an idle keep-alive socket is kept, in ms (shortened to the server's `Keep-Alive: timeout`). Default 4 000. */
  idleTimeout?: number;
  /** What to do with 3xx responses that have a Location: follow them (default), return them, or throw. */
  redirect?: "follow" | "manual" | "error";
  /** Most redirects followed for one request. Default 20. */
  maxRedirects?: number;
  /** Keep cookies between requests: `true` for a new jar, or a `CookieJar` to share. Default false. */
  cookies?: boolean | CookieJar;
  /** Send `Accept-Encoding: gzip, deflate, br` and decode such bodies. Default true. */
  decompress?: boolean;
  /** Largest response body accepted, raw and decoded, in bytes. Default 256 MiB; `Infinity` for none. */
  maxResponseBytes?: number;
  /** TLS settings for https URLs (custom CA, client certificate, verification). */
  tls?: TlsSettings;
  /** Limits of the response parser (header bytes and count, chunk-line and trailer bytes). */
  limits?: Partial<ParserLimits>;
  /** The User-Agent sent when a request sets none; `false` to send none. Default `phial/0.1`. */
  userAgent?: string | false;
  /**
   * An http proxy: a URL for both schemes (`"http://user:pass@proxy:3128"`), `{ http, https, noProxy }`,
   * or `"env"` to read `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` as curl does. https goes through a
   * CONNECT tunnel. Default false: no proxy, whatever the environment says.
   */
  proxy?: ProxyInit;
}

/** Options of one request. */
export interface RequestOptions {
  /** Default GET. */
  method?: string;
  headers?: HeadersInit;
  /** Parameters appended to the URL's query string. */
  query?:
    | Readonly<Record<string, string | number | boolean | readonly (string | number | boolean)[]>>
    | URLSearchParams;
  /** A raw body: string (UTF-8, `text/plain` unless a Content-Type is set), bytes, Blob, or async iterable (sent chunked). */
  body?: BodyInit;
  /** A value sent as JSON (`application/json`). */
  json?: unknown;
  /** Fields sent urlencoded (`application/x-www-form-urlencoded`). */
  form?: FormInit;
  /** Fields and files sent as `multipart/form-data`. */
  multipart?: MultipartInit;
  /** Cancels the request (and the reading of its body). */
  signal?: AbortSignal;
  /** Overrides the client's whole-request deadline (ms, 0 for none). */
  timeout?: number;
  redirect?: "follow" | "manual" | "error";
  maxRedirects?: number;
  decompress?: boolean;
  maxResponseBytes?: number;
  /** Called with each request head exactly as written (redirect hops included), e.g. for `-v` output. */
  trace?: (head: string, url: URL) => void;
  /** Called with each redirect response before it is followed to `next` (its body is then discarded). */
  onRedirect?: (response: ClientResponse, next: URL) => void;
}

/** Per-request options without the method, for the verb shortcuts. */
export type VerbOptions = Omit<RequestOptions, "method">;

const STANDARD_METHODS = new Set(["get", "head", "post", "put", "delete", "options", "patch", "trace"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
/** Fields that describe a body and go when a redirect drops it (Fetch's request-body-header names). */
const BODY_FIELDS = new Set(["content-type", "content-encoding", "content-language", "content-location"]);
/**
 * Fields that never follow a redirect to another origin: credentials (LESSONS 15), and a caller-set
 * Host, which would send the request for the first origin's virtual host to the second server.
 */
const CREDENTIAL_FIELDS = new Set(["authorization", "cookie", "proxy-authorization", "host"]);

/** State of one logical request across redirects: deadline, abort signal, current exchange. */
class Control {
  current: Exchange | undefined;
  error: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  private readonly onAbort: (() => void) | undefined;

  constructor(timeout: number, signal: AbortSignal | undefined) {
    if (timeout > 0) {
      this.timer = setTimeout(() => this.stop(new RequestTimeoutError(timeout)), timeout);
    }
    if (signal !== undefined) {
      this.signal = signal;
      this.onAbort = () => this.stop(new RequestAbortedError(signal.reason));
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  private stop(err: Error): void {
    if (this.error !== undefined) return;
    this.error = err;
    this.current?.abort(err);
    this.dispose();
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.signal !== undefined && this.onAbort !== undefined)
      this.signal.removeEventListener("abort", this.onAbort);
    this.signal = undefined;
  }
}

function lowerNames(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push(flat[i]!.toLowerCase());
  return out;
}

/** An HTTP/1.1 client with keep-alive pools per origin. Reuse one client for many requests. */
export class Client {
  readonly jar: CookieJar | undefined;
  private readonly base: string | undefined;
  private readonly defaults: string[];
  private readonly defaultsLower: string[];
  private readonly settings: PoolSettings;
  private readonly pools = new Map<string, Pool>();
  private readonly timeout: number;
  private readonly redirect: "follow" | "manual" | "error";
  private readonly maxRedirects: number;
  private readonly decompress: boolean;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string | undefined;
  private readonly proxies: ProxyRules | undefined;
  private closed = false;

  constructor(options: ClientOptions = {}) {
    if (options.baseUrl !== undefined) {
      const b = new URL(String(options.baseUrl));
      if (b.protocol !== "http:" && b.protocol !== "https:")
        throw new TypeError(
          `baseUrl must be an http: or https: URL, got ${JSON.stringify(String(options.baseUrl))}`,
        );
      this.base = b.href.endsWith("/") ? b.href.slice(0, -1) : b.href;
    }
    this.defaults = flattenHeaders(options.headers);
    for (let i = 0; i < this.defaults.length; i += 2)
      assertValidField(this.defaults[i]!, this.defaults[i + 1]!);
    this.defaultsLower = lowerNames(this.defaults);
    for (const n of this.defaultsLower)
      if (n === "content-length" || n === "transfer-encoding")
        throw new TypeError(`Default header "${n}" is not allowed: the client frames each body itself`);
    this.jar =
      options.cookies instanceof CookieJar
        ? options.cookies
        : options.cookies === true
          ? new CookieJar()
          : undefined;
    this.timeout = options.timeout ?? 0;
    this.redirect = options.redirect ?? "follow";
    this.maxRedirects = options.maxRedirects ?? 20;
    this.decompress = options.decompress ?? true;
    this.maxResponseBytes = options.maxResponseBytes ?? 256 * 1024 * 1024;
    const ua = options.userAgent ?? "phial/0.1";
    if (ua !== false) assertValidField("User-Agent", ua);
    this.userAgent = ua === false ? undefined : ua;
    this.proxies = ProxyRules.from(options.proxy);
    this.settings = {
      connections: options.connections ?? 128,
      idleTimeout: options.idleTimeout ?? 4_000,
      connectTimeout: options.connectTimeout ?? 10_000,
      readTimeout: options.readTimeout ?? 30_000,
      headersTimeout: options.headersTimeout ?? 60_000,
      expectContinueTimeout: options.expectContinueTimeout ?? 1_000,
      tls: options.tls,
      // Body size is checked per request (maxResponseBytes may differ per request), not by the parser.
      limits: { maxBodyBytes: Number.POSITIVE_INFINITY, ...options.limits },
    };
  }

  /** Sends a request and resolves with the response once its head has arrived (read the body next). */
  async request(input: string | URL, options: RequestOptions = {}): Promise<ClientResponse> {
    if (this.closed) throw new ClientError("PHIAL_CLOSED", "The client is closed; create a new Client");
    let url = this.resolve(input, options.query);
    let method = options.method ?? "GET";
    if (!isToken(method)) throw new TypeError(`Invalid method ${JSON.stringify(method)}: methods are tokens`);
    if (STANDARD_METHODS.has(method)) method = method.toUpperCase();
    let body = prepareBody(options);
    let user = options.headers === undefined ? [] : flattenHeaders(options.headers);
    for (let i = 0; i < user.length; i += 2) assertValidField(user[i]!, user[i + 1]!);
    const signal = options.signal;
    if (signal?.aborted === true) throw new RequestAbortedError(signal.reason);
    const timeout = options.timeout ?? this.timeout;
    const ctl = timeout > 0 || signal !== undefined ? new Control(timeout, signal) : undefined;
    const mode = options.redirect ?? this.redirect;
    const maxRedirects = options.maxRedirects ?? this.maxRedirects;
    const decode = options.decompress ?? this.decompress;
    const maxBytes = options.maxResponseBytes ?? this.maxResponseBytes;
    let stripCredentials = false;
    let bodyDropped = false;
    let redirected = false;
    try {
      for (let hops = 0; ; hops++) {
        const pool = this.pool(url);
        const ex = this.exchange(
          method,
          url,
          user,
          body,
          stripCredentials,
          bodyDropped,
          decode,
          maxBytes,
          pool.secure ? undefined : pool.proxy,
        );
        if (ctl !== undefined) ctl.current = ex;
        options.trace?.(ex.head, url);
        pool.dispatch(ex);
        const res = await ex.promise;
        if (ctl?.error !== undefined) throw ctl.error;
        if (this.jar !== undefined) {
          const sc = res.headers.getSetCookie();
          if (sc.length > 0) this.jar.setCookies(sc, url);
        }
        const st = res.status;
        const location =
          st >= 301 && st <= 308 && st !== 304 && st !== 305 && st !== 306
            ? res.headers.get("location")
            : undefined;
        if (location === undefined || mode === "manual") {
          res.redirected = redirected;
          if (ctl !== undefined) {
            if (res.bodyUsed || isDone(res)) ctl.dispose();
            else res.onSettled = () => ctl.dispose();
          }
          return res;
        }
        if (mode === "error")
          throw new RedirectError(`${url.href} redirected (${st}) to ${location} and redirect is "error"`);
        if (hops >= maxRedirects)
          throw new TooManyRedirectsError(
            `More than ${maxRedirects} redirects, the last from ${url.href}; is there a loop?`,
          );
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          await discard(res);
          throw new RedirectError(
            `${url.href} redirected to an invalid Location ${JSON.stringify(location)}`,
          );
        }
        options.onRedirect?.(res, next);
        await discard(res);
        if (ctl?.error !== undefined) throw ctl.error;
        if (next.protocol !== "http:" && next.protocol !== "https:")
          throw new RedirectError(`${url.href} redirected to a non-HTTP URL ${next.href}; not followed`);
        let dropBody = false;
        if (st === 303 ? method !== "HEAD" : (st === 301 || st === 302) && method === "POST") {
          method = "GET";
          dropBody = true;
        }
        if (dropBody) {
          body = undefined;
          bodyDropped = true;
          user = filterFields(user, BODY_FIELDS);
        } else if (body !== undefined && !body.replayable) {
          throw new RedirectError(
            `${url.href} answered ${st}, which needs the body sent again, but it was a one-shot stream; pass bytes or a Blob to allow redirects`,
          );
        }
        if (!stripCredentials && originOf(next) !== originOf(url)) {
          stripCredentials = true;
          user = filterFields(user, CREDENTIAL_FIELDS);
        }
        url = next;
        redirected = true;
      }
    } catch (e) {
      ctl?.dispose();
      if (e instanceof ClientError && e.url === undefined) e.url = url.href;
      throw e;
    }
  }

  /** GET */
  get(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
    return this.request(url, options === undefined ? GET : { ...options, method: "GET" });
  }
  /** HEAD: the response never has a body. */
  head(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
    return this.request(url, { ...options, method: "HEAD" });
  }
  /** POST */
  post(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
    return this.request(url, { ...options, method: "POST" });
  }
  /** PUT */
  put(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
    return this.request(url, { ...options, method: "PUT" });
  }
  /** PATCH */
  patch(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
    return this.request(url, { ...options, method: "PATCH" });
  }
  /** DELETE */
  delete(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
    return this.request(url, { ...options, method: "DELETE" });
  }
  /** OPTIONS */
  options(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
    return this.request(url, { ...options, method: "OPTIONS" });
  }

  /** Sockets open to an origin (for tests and diagnostics). */
  stats(origin: string | URL): { open: number; idle: number } {
    const u = new URL(String(origin));
    const p = this.pools.get(originOf(u));
    return { open: p?.size ?? 0, idle: p?.idleCount ?? 0 };
  }

  /** Closes idle sockets now and the others when their exchange ends; later requests throw. */
  close(): void {
    this.closed = true;
    for (const p of this.pools.values()) p.close();
  }

  /** Destroys every socket now; requests in flight fail. */
  destroy(): void {
    this.closed = true;
    for (const p of this.pools.values()) p.destroy();
    this.pools.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private resolve(input: string | URL, query: RequestOptions["query"]): URL {
    let url: URL;
    if (input instanceof URL) url = new URL(input.href);
    else {
      const s = String(input);
      const b = this.base;
      if (b !== undefined && !hasScheme(s)) {
        url = new URL(
          s.length === 0 ? b : s.charCodeAt(0) === 0x2f || s.charCodeAt(0) === 0x3f ? b + s : `${b}/${s}`,
        );
      } else {
        try {
          url = new URL(s);
        } catch {
          throw new TypeError(
            `Invalid URL ${JSON.stringify(s)}: give an absolute http(s) URL or set baseUrl`,
          );
        }
      }
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new TypeError(
        `Unsupported URL scheme ${url.protocol} in ${url.href}: phial/client speaks http: and https:`,
      );
    if (url.username !== "" || url.password !== "")
      throw new TypeError("Credentials in the URL are not sent; use an Authorization header instead");
    if (query !== undefined) {
      const sp = url.searchParams;
      if (query instanceof URLSearchParams) for (const [k, v] of query) sp.append(k, v);
      else
        for (const k in query) {
          const v = query[k]!;
          if (typeof v === "object") for (const one of v) sp.append(k, String(one));
          else sp.append(k, String(v));
        }
    }
    return url;
  }

  private pool(url: URL): Pool {
    const key = originOf(url);
    let p = this.pools.get(key);
    if (p === undefined) {
      p = new Pool(url, this.settings, this.proxies?.proxyFor(url));
      this.pools.set(key, p);
    }
    return p;
  }

  /** Serializes the head (one string) and wraps it, with the body, in an exchange. */
  private exchange(
    method: string,
    url: URL,
    user: string[],
    body: PreparedBody | undefined,
    stripCredentials: boolean,
    bodyDropped: boolean,
    decode: boolean,
    maxBytes: number,
    httpProxy: URL | undefined,
  ): Exchange {
    let hostLine = "";
    let rest = "";
    let hasType = false;
    let hasUa = false;
    let hasAe = false;
    let hasAccept = false;
    let close = false;
    let expectContinue = false;
    let cookie = this.jar?.cookieHeader(url);
    const d = this.defaults;
    const dl = this.defaultsLower;
    const userLower = user.length === 0 ? undefined : lowerNames(user);
    // Defaults first (unless the request overrides them, or a redirect dropped them), then the
    // request's own fields: one loop over both lists.
    for (let src = 0; src < 2; src++) {
      const list = src === 0 ? d : user;
      const lowers = src === 0 ? dl : userLower;
      if (lowers === undefined) break;
      for (let i = 0; i < list.length; i += 2) {
        const lower = lowers[i >> 1]!;
        if (src === 0) {
          if (userLower?.includes(lower)) continue;
          if (stripCredentials && CREDENTIAL_FIELDS.has(lower)) continue;
          if (bodyDropped && BODY_FIELDS.has(lower)) continue;
        }
        const value = list[i + 1]!;
        const r = this.field(list[i]!, value, lower, cookie);
        if (r === 1) hostLine = `${list[i]}: ${value}\r\n`;
        else {
          if (lower === "cookie") cookie = undefined;
          rest += r;
        }
        if (lower === "content-type") hasType = true;
        else if (lower === "user-agent") hasUa = true;
        else if (lower === "accept-encoding") hasAe = true;
        else if (lower === "accept") hasAccept = true;
        else if (lower === "connection") close ||= value.toLowerCase().includes("close");
        else if (src === 1 && lower === "expect") expectContinue = value.toLowerCase() === "100-continue";
      }
    }
    // Through a proxy, plain http names the whole URL (absolute-form, RFC 9112 §3.2.2).
    const target =
      httpProxy === undefined
        ? `${url.pathname}${url.search}`
        : `${url.protocol}//${url.host}${url.pathname}${url.search}`;
    let head = `${method} ${target} HTTP/1.1\r\n${hostLine === "" ? `Host: ${url.host}\r\n` : hostLine}${rest}`;
    if (httpProxy !== undefined) head += proxyAuthorization(httpProxy);
    if (!hasUa && this.userAgent !== undefined) head += `User-Agent: ${this.userAgent}\r\n`;
    if (!hasAccept) head += "Accept: */*\r\n";
    if (!hasAe && decode) head += "Accept-Encoding: gzip, deflate, br\r\n";
    if (cookie !== undefined) head += `Cookie: ${cookie}\r\n`;
    if (body !== undefined) {
      if (!hasType && body.contentType !== undefined) head += `Content-Type: ${body.contentType}\r\n`;
      head += body.length >= 0 ? `Content-Length: ${body.length}\r\n` : "Transfer-Encoding: chunked\r\n";
    } else if (BODY_METHODS.has(method)) {
      head += "Content-Length: 0\r\n";
    }
    head += "\r\n";
    const ex = new Exchange(method, url, head, body, maxBytes, decode, close);
    if (expectContinue && body !== undefined) ex.expectContinue = true;
    return ex;
  }

  /** One header line, or 1 for Host (which goes first). Refuses fields the client owns. */
  private field(name: string, value: string, lower: string, jarCookie: string | undefined): string | 1 {
    switch (lower) {
      case "host":
        if (!isValidHostValue(value))
          throw new TypeError(`Invalid Host header ${JSON.stringify(value)}: give host[:port] only`);
        return 1;
      case "content-length":
      case "transfer-encoding":
        throw new TypeError(
          `Don't set "${name}": the client frames the body itself (give body, json, form or multipart)`,
        );
      case "cookie":
        return jarCookie === undefined ? `${name}: ${value}\r\n` : `${name}: ${value}; ${jarCookie}\r\n`;
      default:
        return `${name}: ${value}\r\n`;
    }
  }
}

const GET: RequestOptions = Object.freeze({ method: "GET" });

/** Bytes allowed in a Host value (reg-name, IPv4, IP-literal, port), as the server's parser checks. */
const HOST_CHAR: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (const c of "-._~!$&'()*+,;=:[]%") t[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  return t;
})();

function isValidHostValue(v: string): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c > 0x7f || HOST_CHAR[c] !== 1) return false;
  }
  return true;
}

/** "scheme://…" (checked without a regex: this runs for every request). */
function hasScheme(s: string): boolean {
  const colon = s.indexOf("://");
  if (colon <= 0) return false;
  for (let i = 0; i < colon; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (
      !(
        (c >= 0x61 && c <= 0x7a) ||
        (i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e))
      )
    )
      return false;
  }
  return true;
}

function originOf(u: URL): string {
  return `${u.protocol}//${u.host}`;
}

function filterFields(flat: string[], drop: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2)
    if (!drop.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  return out;
}

function isDone(res: ClientResponse): boolean {
  return (res as unknown as { done: boolean }).done;
}

/** Reads away a redirect's body so its socket can be reused; a long one closes the socket instead. */
async function discard(res: ClientResponse): Promise<void> {
  const cl = res.headers.get("content-length");
  if (isDone(res) || (cl !== undefined && Number(cl) <= 64 * 1024)) {
    try {
      await res.bytes();
    } catch {
      // A broken redirect body does not matter; the next hop is a new exchange.
    }
    return;
  }
  await res.cancel();
}

function prepareBody(o: RequestOptions): PreparedBody | undefined {
  let n = 0;
  let b: PreparedBody | undefined;
  if (o.body !== undefined) {
    n++;
    b = rawBody(o.body);
  }
  if (o.json !== undefined) {
    n++;
    b = jsonBody(o.json);
  }
  if (o.form !== undefined) {
    n++;
    b = formBody(o.form);
  }
  if (o.multipart !== undefined) {
    n++;
    b = multipartBody(o.multipart);
  }
  if (n > 1) throw new TypeError("Give only one of body, json, form and multipart");
  return b;
}
