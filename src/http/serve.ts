// Fetch-style handlers on the wire: `(request: Request, info) => Response`, the signature of Hono,
// Deno.serve, Bun.serve and the framework's own `app.fetch`. The wire's IncomingRequest becomes a web
// `Request`, and the `Response` the handler returns is written to the wire's ServerResponse.
//
// A real `Request` costs several microseconds to build (its URL parse, its Headers, its AbortSignal
// following ours, its body stream), ten times the wire's own work per request, and most handlers only
// read the method, the URL and a few headers. So the handler gets a `WireRequest`: an object of the
// `Request` class (`instanceof Request` holds) whose method and url are plain fields, whose headers,
// body and signal are built when first read, and which builds the real `Request` behind it only when
// something else is asked of it (`clone()`, `formData()`, `cache`, or passing it to `fetch()`). Whether
// this runtime's `Request` accepts such an object is checked once, by trying; where it doesn't, every
// request gets a real `Request` from the start (slower, the same behaviour).

import { type IncomingRequest, NO_CHUNKS } from "./request.ts";
import type { ServerResponse } from "./response.ts";
import { type ListenOptions, Server, type ServerOptions } from "./server.ts";

/** What a fetch handler learns besides the request (Hono passes it on as `c.env`). */
export class ServeInfo {
  /** The wire's request: the request-target as sent (`incoming.url`), `rawHeaders`, `trailers`, … */
  readonly incoming: IncomingRequest;
  /** The wire's response, for what a `Response` can't say (103 Early Hints: `writeEarlyHints`). */
  readonly outgoing: ServerResponse;
  readonly server: Server;

  constructor(incoming: IncomingRequest, outgoing: ServerResponse, server: Server) {
    this.incoming = incoming;
    this.outgoing = outgoing;
    this.server = server;
  }

  /** The client's IP address (of the TCP peer: behind a proxy, the proxy's). */
  get remoteAddress(): string {
    return this.incoming.remoteAddress;
  }
  get remotePort(): number {
    return this.incoming.remotePort;
  }
  /** True over TLS. */
  get encrypted(): boolean {
    return this.incoming.encrypted;
  }
}

/** A fetch-style handler. A throw, a rejection or a value that isn't a `Response` becomes a 500. */
export type FetchHandler = (request: Request, info: ServeInfo) => Response | Promise<Response>;

/** `serve()`'s options: the server's, where to listen, and (in the `serve({ fetch, … })` form) the handler. */
export interface ServeOptions extends ServerOptions, ListenOptions {
  /** The handler, for `serve({ fetch: app.fetch, port: 3000 })`. */
  fetch?: FetchHandler;
  /** Same as `host` (the name Hono's and Deno's `serve` use). */
  hostname?: string;
}

/** An object with a `fetch` method (a Hono or Phial app, Bun's `export default { fetch }`): called as its method. */
export interface FetchApp {
  fetch(request: Request, info: ServeInfo): Response | Promise<Response>;
}

/**
 * Creates a wire `Server` that answers every request with a fetch-style handler, or with an object's
 * `fetch` method (called on the object: `createFetchServer(app)`); call `listen()` to start it.
 */
export function createFetchServer(handler: FetchHandler | FetchApp, options?: ServerOptions): Server {
  const app = typeof handler === "object" && handler !== null ? handler : undefined;
  const fetch = app === undefined ? handler : app.fetch;
  if (typeof fetch !== "function") {
    throw new TypeError(
      "A fetch server needs a handler, (request: Request, info) => Response, or an app with a fetch method",
    );
  }
  const adapter = new FetchAdapter(fetch as FetchHandler, app);
  const server = new Server(adapter.handle, options);
  adapter.server = server;
  return server;
}

/**
 * Creates a fetch server and starts listening; resolves with it once it listens (its address:
 * `server.address()`). Port 0 (the default) picks a free port; the host defaults to 127.0.0.1.
 *
 *     await serve(app.fetch, { port: 3000 })       // a handler
 *     await serve(app, { port: 3000 })             // an app: its fetch method, called on it
 *     await serve({ fetch: app.fetch, port: 3000, hostname: "0.0.0.0" })
 */
export async function serve(
  handler: FetchHandler | FetchApp | (ServeOptions & { fetch: FetchHandler }),
  options: ServeOptions = {},
): Promise<Server> {
  let o = options;
  let app: FetchHandler | FetchApp = handler;
  if (typeof handler === "object" && handler !== null && isPlainObject(handler)) {
    // serve({ fetch, port, … }): the options and the handler in one object (a second one adds to it).
    o = { ...(handler as ServeOptions), ...options };
    app = (handler as ServeOptions).fetch as FetchHandler;
    if (typeof app !== "function") {
      throw new TypeError("serve() needs a handler: serve(app.fetch), serve(app) or serve({ fetch, port })");
    }
  }
  const server = createFetchServer(app, o);
  await server.listen({
    port: o.port ?? 0,
    host: o.host ?? o.hostname ?? "127.0.0.1",
    backlog: o.backlog,
    ipv6Only: o.ipv6Only,
  });
  return server;
}

function isPlainObject(x: object): boolean {
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

/** One per server: holds the handler, so that the wire's handler is one function made once. */
class FetchAdapter {
  readonly fetch: FetchHandler;
  /** The object whose fetch method this is (`this` of the call), if any. */
  readonly app: FetchApp | undefined;
  server: Server | undefined;
  readonly handle: (req: IncomingRequest, res: ServerResponse) => unknown;

  constructor(fetch: FetchHandler, app: FetchApp | undefined) {
    this.fetch = fetch;
    this.app = app;
    this.handle = (req, res) => this.exchange(req, res);
  }

  private exchange(req: IncomingRequest, res: ServerResponse): unknown {
    const method = req.method;
    if (method === "CONNECT" || method === "TRACE" || method === "TRACK") {
      // The fetch standard forbids these methods: no `Request` can carry them.
      res.writeHead(501, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(`501 Not Implemented: ${method} can't be passed to a fetch handler\n`);
      return undefined;
    }
    const request = makeRequest(req);
    const r = this.fetch.call(this.app, request, new ServeInfo(req, res, this.server!));
    if (typeof (r as Partial<PromiseLike<Response>>)?.then === "function") {
      return settle(r as PromiseLike<Response>, res);
    }
    return sendResponse(r, res);
  }
}

async function settle(p: PromiseLike<Response>, res: ServerResponse): Promise<void> {
  const r = await p;
  return sendResponse(r, res);
}

// ---- the Request -----------------------------------------------------------------------------------

/**
 * The request's URL as `Request.url` gives it: serialized as the URL standard does (lowercase scheme
 * and host, no default port, dot segments resolved, some characters percent-encoded). The scheme is
 * the connection's (or an absolute-form target's), the host is Host's (or the target's authority).
 * Most requests are already in that form, which a scan checks; the others go through `new URL`.
 */
function urlOf(req: IncomingRequest): string {
  const t = req.url;
  let scheme: string;
  let path: string;
  const c = t.charCodeAt(0);
  if (c === 0x2f) {
    scheme = req.encrypted ? "https" : "http";
    path = t;
  } else if (t === "*") {
    // OPTIONS * has no path a URL can hold: it is given as /* (`info.incoming.url` is "*").
    scheme = req.encrypted ? "https" : "http";
    path = "/*";
  } else {
    // absolute-form (the parser took its authority as the host): its own scheme, then the path.
    const sep = t.indexOf("://");
    scheme = t.slice(0, sep);
    let i = sep + 3;
    while (i < t.length) {
      const ch = t.charCodeAt(i);
      if (ch === 0x2f || ch === 0x3f) break;
      i++;
    }
    path = i === t.length ? "/" : t.charCodeAt(i) === 0x3f ? `/${t.slice(i)}` : t.slice(i);
  }
  const host = req.host;
  if (host !== "") {
    const url = `${scheme}://${host}${path}`;
    if (canonicalHost(host, scheme) && canonicalPath(path) && (scheme === "http" || scheme === "https")) {
      return url;
    }
    if (URL.canParse(url)) return new URL(url).href;
  }
  // No host (HTTP/1.0), or one no URL can hold (`a:99999`, `xn--zz`): the server's own name stands in
  // (the Host field is still in the headers as sent).
  const local = `${scheme.toLowerCase()}://localhost:${req.localPort}${path}`;
  return canonicalPath(path) ? local : new URL(local).href;
}

/**
 * True for a host the URL standard serializes as is: a lowercase DNS name of letters, digits, dots and
 * dashes, or a dotted-decimal IPv4 address, with a port that isn't the scheme's default.
 */
function canonicalHost(h: string, scheme: string): boolean {
  let letter = false;
  let dots = 0;
  let i = 0;
  const n = h.length;
  for (; i < n; i++) {
    const c = h.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) letter = true;
    else if (c === 0x2d) {
      // "--" could be an IDNA label (xn--…) that must decode: the URL parser decides.
      if (i === 0 || h.charCodeAt(i - 1) === 0x2d) return false;
      letter = true;
    } else if (c === 0x2e) {
      if (i === 0 || h.charCodeAt(i - 1) === 0x2e) return false;
      dots++;
    } else if (c === 0x3a) break;
    else if (c < 0x30 || c > 0x39) return false;
  }
  if (!letter && !(dots === 3 && isIPv4(h, i))) return false;
  if (i === n) return true;
  const digits = n - i - 1;
  if (digits === 0 || digits > 5 || h.charCodeAt(i + 1) === 0x30) return false;
  let port = 0;
  for (let j = i + 1; j < n; j++) {
    const c = h.charCodeAt(j);
    if (c < 0x30 || c > 0x39) return false;
    port = port * 10 + c - 0x30;
  }
  return port <= 65535 && port !== (scheme === "https" ? 443 : 80);
}

/** `h` up to `end` is four decimal numbers 0-255 without leading zeros: an IPv4 address as URLs write it. */
function isIPv4(h: string, end: number): boolean {
  let part = 0;
  let len = 0;
  for (let i = 0; i <= end; i++) {
    const c = i === end ? 0x2e : h.charCodeAt(i);
    if (c === 0x2e) {
      if (len === 0 || part > 255) return false;
      part = 0;
      len = 0;
      continue;
    }
    if (len > 0 && part === 0) return false; // a leading zero (octal to the URL parser)
    part = part * 10 + c - 0x30;
    len++;
  }
  return true;
}

/**
 * A path and query the URL standard leaves as they are: no dot segments (plain or %2e), no backslash,
 * none of the characters it percent-encodes (`"` `<` `>` `` ` `` `{` `}`, and `'` in the query).
 */
function canonicalPath(p: string): boolean {
  let query = false;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === 0x3f) query = true;
    else if (c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60 || c === 0x5c || c === 0x23) return false;
    else if (c === 0x27 && query) return false;
    else if (!query) {
      if (c === 0x7b || c === 0x7d) return false;
      if (c === 0x2f) {
        const d = p.charCodeAt(i + 1);
        if (d === 0x2e || (d === 0x25 && p.charCodeAt(i + 2) === 0x32)) return false;
      }
    }
  }
  return true;
}

/** The request's fields as web `Headers`: every field kept in order, Cookie fields joined with "; ". */
function headersOf(req: IncomingRequest): Headers {
  const h = new Headers();
  const raw = req.rawHeaders;
  let cookie: string | undefined;
  let cookies = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 6 && name.toLowerCase() === "cookie") {
      // Headers would join two Cookie fields with ", ", which no cookie parser reads (RFC 6265 §5.4).
      cookie = cookie === undefined ? raw[i + 1]! : `${cookie}; ${raw[i + 1]}`;
      cookies++;
      continue;
    }
    h.append(name, raw[i + 1]!);
  }
  if (cookie !== undefined) h.append(cookies === 1 ? "Cookie" : "cookie", cookie);
  return h;
}

/** The methods a `Request` may not have a body with (normalized as the fetch standard does). */
function bodylessMethod(m: string): boolean {
  if (m.length === 3) return m === "GET" || m.toUpperCase() === "GET";
  if (m.length === 4) return m === "HEAD" || m.toUpperCase() === "HEAD";
  return false;
}

function hasBody(req: IncomingRequest): boolean {
  return (req.contentLength > 0 || req.head.chunked) && !bodylessMethod(req.method);
}

/** Feeds a `ReadableStream` from the wire's body buffer: it is read only as the stream is read. */
class BodyStreamSource {
  readonly req: IncomingRequest;
  /** Read at least once (the body is "disturbed"). */
  started = false;

  constructor(req: IncomingRequest) {
    this.req = req;
  }

  pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | undefined {
    const req = this.req;
    if (!this.started) {
      this.started = true;
      if (!req.wanted) {
        req.wanted = true;
        req.source.wantBody(req); // sends 100 Continue if the client waits for it
      }
    }
    const c = req.chunks;
    if (c.length > 0) {
      // Everything buffered goes at once; the stream asks again only once it was read (high water 0).
      req.chunks = NO_CHUNKS;
      req.buffered = 0;
      for (let i = 0; i < c.length; i++) controller.enqueue(c[i]!);
      req.source.wantBody(req);
      if (req.complete && req.error === undefined) controller.close();
      return undefined;
    }
    if (req.error !== undefined) {
      controller.error(req.error);
      return undefined;
    }
    if (req.complete) {
      controller.close();
      return undefined;
    }
    return new Promise<undefined>((resolve) => {
      req.waiter = resolve;
    }).then(() => this.pull(controller));
  }

  cancel(): void {
    // Nobody reads the rest: drop it as it comes, and let the socket be read again.
    const req = this.req;
    req.discard = true;
    req.chunks = NO_CHUNKS;
    req.buffered = 0;
    req.source.wantBody(req);
  }
}

const NO_BODY_STREAM_HWM = { highWaterMark: 0 };

function bodyStream(req: IncomingRequest): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(new BodyStreamSource(req), NO_BODY_STREAM_HWM);
}

/** A real `Request` for `req`, with the headers and body stream given (or made now). */
function realRequest(
  req: IncomingRequest,
  url: string,
  headers: Headers | undefined,
  body: ReadableStream<Uint8Array> | null | undefined,
): Request {
  const withBody = hasBody(req);
  const init: RequestInit & { duplex?: "half" } = {
    method: req.method,
    headers: headers ?? headersOf(req),
    signal: req.signal,
  };
  if (withBody) {
    init.body = body ?? bodyStream(req);
    init.duplex = "half";
  }
  return new Request(url, init);
}

// The state of a WireRequest lives under symbols, so that, as with a real Request, `Object.keys()` and
// `JSON.stringify()` see nothing of it.
const kMethod: unique symbol = Symbol("method");
const kUrl: unique symbol = Symbol("url");
const kIn: unique symbol = Symbol("incoming");
const kHeaders: unique symbol = Symbol("headers");
const kBody: unique symbol = Symbol("body");
const kSource: unique symbol = Symbol("bodySource");
const kUsed: unique symbol = Symbol("bodyUsed");
const kReal: unique symbol = Symbol("request");

/** The state of a `WireRequest`. */
interface WireRequestFields {
  [kMethod]: string;
  [kUrl]: string;
  [kIn]: IncomingRequest;
  [kHeaders]: Headers | undefined;
  [kBody]: ReadableStream<Uint8Array> | null | undefined;
  [kSource]: BodyStreamSource | undefined;
  /** The body was read through text()/json()/arrayBuffer() without a stream. */
  [kUsed]: boolean;
  [kReal]: Request | undefined;
}

type WireRequest = Request & WireRequestFields;

/**
 * The `WireRequest` constructor. Its prototype answers method, url, headers, signal, body, bodyUsed,
 * duplex, text(), json() and arrayBuffer() itself; everything else of `Request.prototype` (and the
 * runtime's internal slots, read by `new Request(r)` and `fetch(r)`) goes to the real `Request`.
 */
function WireRequestCtor(this: WireRequestFields, req: IncomingRequest, url: string): void {
  this[kMethod] = normalizeMethod(req.method);
  this[kUrl] = url;
  this[kIn] = req;
  this[kHeaders] = undefined;
  this[kBody] = undefined;
  this[kSource] = undefined;
  this[kUsed] = false;
  this[kReal] = undefined;
}

function normalizeMethod(m: string): string {
  switch (m) {
    case "GET":
    case "POST":
    case "PUT":
    case "DELETE":
    case "HEAD":
    case "OPTIONS":
    case "PATCH":
      return m;
  }
  // The fetch standard uppercases these six, whatever their case; every other method stays as sent.
  const u = m.toUpperCase();
  if (u === "DELETE" || u === "GET" || u === "HEAD" || u === "OPTIONS" || u === "POST" || u === "PUT")
    return u;
  return m;
}

function real(r: WireRequest): Request {
  let x = r[kReal];
  if (x === undefined) {
    x = realRequest(r[kIn], r[kUrl], r[kHeaders], r[kBody]);
    r[kReal] = x;
  }
  return x;
}

function bodyUnusable(): Promise<never> {
  return Promise.reject(new TypeError("Body is unusable: the request body has already been read"));
}

function wholeBody(r: WireRequest): Promise<Buffer> {
  // A request without a body reads as empty, as often as asked (its body is null, never "used").
  if (!hasBody(r[kIn])) return Promise.resolve(Buffer.alloc(0));
  r[kUsed] = true;
  return r[kIn].body();
}

/** True when the body can still be read whole straight from the wire (no stream made, nothing read). */
function direct(r: WireRequest): boolean {
  return r[kReal] === undefined && r[kBody] === undefined;
}

const wireProto: Record<string | symbol, unknown> = {};
Object.defineProperties(wireProto, {
  method: {
    get(this: WireRequest) {
      return this[kMethod];
    },
  },
  url: {
    get(this: WireRequest) {
      return this[kUrl];
    },
  },
  headers: {
    get(this: WireRequest) {
      if (this[kReal] !== undefined) return this[kReal].headers;
      let h = this[kHeaders];
      if (h === undefined) {
        h = headersOf(this[kIn]);
        this[kHeaders] = h;
      }
      return h;
    },
  },
  signal: {
    get(this: WireRequest) {
      return this[kReal] !== undefined ? this[kReal].signal : this[kIn].signal;
    },
  },
  body: {
    get(this: WireRequest) {
      if (this[kReal] !== undefined) return this[kReal].body;
      let b = this[kBody];
      if (b === undefined) {
        if (!hasBody(this[kIn])) {
          b = null;
        } else {
          // After text()/json()/arrayBuffer() the stream is empty and counts as read.
          const source = new BodyStreamSource(this[kIn]);
          this[kSource] = source;
          b = new ReadableStream<Uint8Array>(source, NO_BODY_STREAM_HWM);
        }
        this[kBody] = b;
      }
      return b;
    },
  },
  bodyUsed: {
    get(this: WireRequest) {
      if (this[kUsed]) return true;
      if (this[kReal] !== undefined) return this[kReal].bodyUsed;
      return this[kSource]?.started === true;
    },
  },
  duplex: { value: "half" },
  text: {
    value(this: WireRequest): Promise<string> {
      if (this[kUsed]) return bodyUnusable();
      if (!direct(this)) return real(this).text();
      return wholeBody(this).then(utf8);
    },
  },
  json: {
    value(this: WireRequest): Promise<unknown> {
      if (this[kUsed]) return bodyUnusable();
      if (!direct(this)) return real(this).json();
      return wholeBody(this).then(parseJson);
    },
  },
  arrayBuffer: {
    value(this: WireRequest): Promise<ArrayBuffer> {
      if (this[kUsed]) return bodyUnusable();
      if (!direct(this)) return real(this).arrayBuffer();
      return wholeBody(this).then(ownArrayBuffer);
    },
  },
});

function utf8(b: Buffer): string {
  return b.toString("utf8");
}
function parseJson(b: Buffer): unknown {
  return JSON.parse(b.toString("utf8"));
}
function ownArrayBuffer(b: Buffer): ArrayBuffer {
  const ab = b.buffer as ArrayBuffer;
  if (b.byteOffset === 0 && b.byteLength === ab.byteLength) return ab;
  return ab.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

/** Delegates every other member of `Request.prototype` (and the instance's internal slots) to the real one. */
let delegated = false;

function delegateRest(): void {
  if (delegated) return;
  delegated = true;
  const proto = Request.prototype as unknown as Record<string | symbol, unknown>;
  const keys: (string | symbol)[] = [
    ...Object.getOwnPropertyNames(proto),
    ...Object.getOwnPropertySymbols(proto),
  ];
  for (const k of keys) {
    if (k === "constructor" || k === Symbol.toStringTag || Object.hasOwn(wireProto, k)) continue;
    const d = Object.getOwnPropertyDescriptor(proto, k)!;
    if (d.get !== undefined) {
      Object.defineProperty(wireProto, k, {
        get(this: WireRequest) {
          return (real(this) as unknown as Record<string | symbol, unknown>)[k];
        },
      });
    } else if (typeof d.value === "function") {
      const f = d.value as (...args: unknown[]) => unknown;
      Object.defineProperty(wireProto, k, {
        value(this: WireRequest, ...args: unknown[]) {
          return f.apply(real(this), args);
        },
      });
    }
  }
  // The runtime's own slots (undici keeps its state under symbols), so `new Request(r)` and `fetch(r)`
  // read the real request's.
  for (const k of Object.getOwnPropertySymbols(new Request("http://localhost/"))) {
    Object.defineProperty(wireProto, k, {
      get(this: WireRequest) {
        return (real(this) as unknown as Record<symbol, unknown>)[k];
      },
    });
  }
  Object.setPrototypeOf(wireProto, Request.prototype);
  WireRequestCtor.prototype = wireProto;
}

/** Whether this runtime's `Request` takes a `WireRequest` everywhere a `Request` goes: decided by trying. */
let lazyMode: boolean | undefined;

function probeLazy(): boolean {
  try {
    delegateRest();
    // A stand-in for the wire's request: a GET with one field.
    const fake = {
      method: "GET",
      url: "/probe",
      rawHeaders: ["X-Probe", "1"],
      host: "localhost",
      contentLength: -1,
      head: { chunked: false },
      signal: new AbortController().signal,
    } as unknown as IncomingRequest;
    const probe = new (WireRequestCtor as unknown as WireRequestClass)(fake, "http://localhost/probe");
    const copy = new Request(probe, { method: "PUT" });
    const clone = probe.clone();
    return (
      probe instanceof Request &&
      copy.url === "http://localhost/probe" &&
      copy.method === "PUT" &&
      copy.headers.get("x-probe") === "1" &&
      clone.headers.get("x-probe") === "1" &&
      probe.cache === clone.cache &&
      Object.prototype.toString.call(probe) === "[object Request]"
    );
  } catch {
    return false;
  }
}

type WireRequestClass = new (req: IncomingRequest, url: string) => Request;

/** @internal for tests: `false` gives every request a real `Request` (what runtimes failing the probe get). */
export function useLazyRequests(on: boolean | undefined): void {
  if (on === true && !probeLazy()) throw new Error("this runtime's Request doesn't take a WireRequest");
  lazyMode = on;
}

function makeRequest(req: IncomingRequest): Request {
  lazyMode ??= probeLazy();
  const url = urlOf(req);
  if (!lazyMode) return realRequest(req, url, undefined, undefined);
  return new (WireRequestCtor as unknown as WireRequestClass)(req, url);
}

// ---- the Response ----------------------------------------------------------------------------------

/** Where undici keeps a Response's body source (a string or bytes it was made from), found once. */
let kState: symbol | undefined | null = null;

function stateSymbol(r: Response): symbol | undefined {
  if (kState === null) {
    kState = Object.getOwnPropertySymbols(r).find((s) => s.description === "state");
  }
  return kState;
}

/** The bytes a Response was made from (a string, bytes, an ArrayBuffer), when the runtime lets us see them. */
function knownBody(r: Response, body: ReadableStream<Uint8Array>): string | Uint8Array | undefined {
  if (!(r instanceof Response) || r.bodyUsed || body.locked) return undefined;
  const k = stateSymbol(r);
  if (k === undefined) return undefined;
  const b = (
    (r as unknown as Record<symbol, unknown>)[k] as { body?: { source?: unknown; stream?: unknown } }
  )?.body;
  if (b === undefined || b === null || b.stream !== body) return undefined;
  const s = b.source;
  return typeof s === "string" || s instanceof Uint8Array ? s : undefined;
}

function isResponse(r: unknown): r is Response {
  if (r instanceof Response) return true;
  // A Response of another fetch implementation (the undici package, a polyfill).
  if (r === null || typeof r !== "object") return false;
  const x = r as { status?: unknown; headers?: { forEach?: unknown }; body?: unknown };
  return (
    typeof x.status === "number" &&
    typeof x.headers === "object" &&
    x.headers !== null &&
    typeof x.headers.forEach === "function" &&
    "body" in x
  );
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "object") return `an object (${(v as object).constructor?.name ?? "Object"})`;
  return `a ${typeof v}`;
}

function appendField(this: ServerResponse, value: string, name: string): void {
  this.appendHeader(name, value);
}

/** Writes the handler's `Response` to the wire; resolves when it is sent (at once unless it streams). */
function sendResponse(r: unknown, res: ServerResponse): Promise<void> | undefined {
  const req = res.request;
  if (!isResponse(r)) {
    throw new TypeError(
      `The fetch handler returned ${describe(r)} for ${req.method} ${req.url}; it must return (or resolve to) a Response`,
    );
  }
  if (res.closed) {
    void r.body?.cancel().catch(ignore);
    return undefined;
  }
  const status = r.status;
  if (status === 0) {
    throw new TypeError(
      `The fetch handler returned Response.error() for ${req.method} ${req.url}; return a Response with an HTTP status`,
    );
  }
  res.statusCode = status;
  const text = r.statusText;
  if (text !== "" && text !== undefined) res.statusMessage = text;
  r.headers.forEach(appendField, res);
  const body = r.body;
  if (body === null) {
    res.end();
    return undefined;
  }
  const known = knownBody(r, body);
  if (req.method === "HEAD" || status === 204 || status === 304 || status < 200) {
    // No body goes out; a HEAD still says how long the GET's would be, when that is known.
    if (known !== undefined && req.method === "HEAD" && !res.hasHeader("content-length")) {
      res.setHeader("Content-Length", typeof known === "string" ? Buffer.byteLength(known) : known.length);
    }
    void body.cancel().catch(ignore);
    res.end();
    return undefined;
  }
  if (known !== undefined) {
    res.end(known);
    return undefined;
  }
  if (r.bodyUsed || body.locked) {
    throw new TypeError(
      `The Response for ${req.method} ${req.url} has a body that was already read; return a fresh Response`,
    );
  }
  return pump(body.getReader(), res);
}

function ignore(): void {}

/** Ends a stream read when the client goes away (an EventListener object: no closure per request). */
class CancelOnAbort {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.reader = reader;
  }
  handleEvent(event: Event): void {
    void this.reader.cancel((event.target as AbortSignal).reason).catch(ignore);
  }
}

/** Streams a body with backpressure; a client gone cancels the stream and cuts the connection. */
async function pump(reader: ReadableStreamDefaultReader<Uint8Array>, res: ServerResponse): Promise<void> {
  const req = res.request;
  const signal = req.signal;
  const listener = new CancelOnAbort(reader);
  signal.addEventListener("abort", listener);
  try {
    for (;;) {
      if (signal.aborted) {
        await reader.cancel(signal.reason).catch(ignore);
        // Not an error of the app: the wire neither logs it nor sends more, and closes the connection
        // (a body cut short must not look complete).
        throw signal.reason;
      }
      const { done, value } = await reader.read();
      if (signal.aborted) continue; // a read ended by the cancel above says done: it isn't
      if (done) break;
      if (typeof value === "string") await res.write(value);
      else if (value instanceof Uint8Array) {
        if (value.byteLength > 0) await res.write(value);
      } else {
        throw new TypeError(
          `The Response body for ${req.method} ${req.url} gave ${describe(value)}; a body stream must give Uint8Array chunks`,
        );
      }
    }
  } catch (err) {
    // A bad chunk, a body longer than its Content-Length: the stream's producer stops too.
    if (err !== signal.reason) void reader.cancel(err).catch(ignore);
    throw err;
  } finally {
    signal.removeEventListener("abort", listener);
  }
  res.end();
}
