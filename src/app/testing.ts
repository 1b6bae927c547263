// The test client: requests handled in-process (no socket), cookies kept between requests.

import { WebSocket } from "ws";
import { decodeCookieValue, encodeCookieValue } from "../http/cookie.ts";
import type { Server as WireServer } from "../http/index.ts";
import { encodeQuery } from "../http/urlencoded.ts";
import type { Phial } from "./app.ts";
import { runWithRequest } from "./context.ts";
import { encodeMultipart, type MultipartFile } from "./files/multipart.ts";
import type { RouteSchemas, StandardSchemaV1 } from "./validation/types.ts";
import { Headers, type HeadersInit } from "./wrappers/headers.ts";
import { Request, type RequestSource } from "./wrappers/request.ts";
import type { Response } from "./wrappers/response.ts";

export interface TestRequestOptions {
  /** Query arguments, appended to the path's own. */
  query?: Readonly<Record<string, string | number | boolean | readonly (string | number)[]>>;
  headers?: HeadersInit;
  /** An urlencoded form body (multipart/form-data when `files` are given too). */
  form?: Readonly<Record<string, string | number | readonly (string | number)[]>>;
  /** Files to upload: the body is multipart/form-data, with `form`'s fields before the files. */
  files?: Readonly<Record<string, MultipartFile | readonly MultipartFile[]>>;
  /** A JSON body. */
  json?: unknown;
  /** A raw body; an async iterable is sent as a stream of unknown length (like a chunked upload). */
  data?: string | Uint8Array | AsyncIterable<Uint8Array>;
  /** Content-Type of `data` (a `headers` entry works too). */
  contentType?: string;
  /** Follow redirects (GET for 301/302/303, same method for 307/308). Default false. */
  followRedirects?: boolean;
  /** Pretend the request came over TLS. */
  secure?: boolean;
  /** The client address the app sees. Default 127.0.0.1. */
  remoteAddr?: string;
  /**
   * Send the request to this subdomain of `config.serverName` (Flask's `subdomain=`): the Host is
   * `alice.example.com` for `"alice"` (`alice.localhost` without a serverName). A `Host` header wins.
   */
  subdomain?: string;
}

/** The options with another Host (and scheme). */
function withHost(opts: TestRequestOptions, host: string, secure?: boolean): TestRequestOptions {
  const h = new Headers(opts.headers);
  h.set("Host", host);
  return secure === undefined ? { ...opts, headers: h } : { ...opts, headers: h, secure };
}

/** The input type of a route's schema `K`, or `Else` when the route declares none. */
type InputOf<S, K extends keyof RouteSchemas, Else> = S extends { readonly [k in K]: infer X }
  ? X extends StandardSchemaV1
    ? StandardSchemaV1.InferInput<X>
    : Else
  : Else;

/** The output type of a route's `response` schema, else `unknown`. */
export type ResponseOf<S> = S extends { readonly response: infer X }
  ? X extends StandardSchemaV1
    ? StandardSchemaV1.InferOutput<X>
    : unknown
  : unknown;

/**
 * The options of a request to a route whose schemas are `S` (`client.for(S)`): `json`, `query` and
 * `form` typed by the schemas' _input_ types, the rest as for any request.
 */
export interface TypedRequestOptions<S extends RouteSchemas>
  extends Omit<TestRequestOptions, "json" | "query" | "form"> {
  json?: InputOf<S, "json", unknown>;
  query?: InputOf<S, "query", unknown> & TestRequestOptions["query"];
  form?: InputOf<S, "form", unknown> & TestRequestOptions["form"];
}

/**
 * The test client seen through one route's schemas (`client.for(S)`): the request options are typed by
 * the schemas' inputs, the answer's `json` by the `response` schema's output. Types only: the requests
 * are the client's own (same cookies), and nothing is checked at run time: assert the answer.
 */
export interface TypedTestClient<S extends RouteSchemas> {
  get(path: string, options?: TypedRequestOptions<S>): Promise<TestResponse<ResponseOf<S>>>;
  post(path: string, options?: TypedRequestOptions<S>): Promise<TestResponse<ResponseOf<S>>>;
  put(path: string, options?: TypedRequestOptions<S>): Promise<TestResponse<ResponseOf<S>>>;
  patch(path: string, options?: TypedRequestOptions<S>): Promise<TestResponse<ResponseOf<S>>>;
  delete(path: string, options?: TypedRequestOptions<S>): Promise<TestResponse<ResponseOf<S>>>;
}

/** What a test sees of a response; `T` types `json` (`client.post<z.output<typeof ItemOut>>(…)`). */
export class TestResponse<T = unknown> {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The body bytes. */
  readonly data: Buffer;
  /** The response object the app produced. */
  readonly response: Response;
  /** The URLs of the redirects followed to get here. */
  readonly history: readonly string[];

  constructor(res: Response, data: Buffer, history: readonly string[]) {
    this.response = res;
    this.status = res.status;
    this.statusText = res.reason;
    // A copy (the app may return the same Response again) with the Content-Length the wire would send.
    const h = new Headers(res.headers);
    const b = res.body;
    const bodyless = res.status === 204 || res.status === 304 || res.status < 200;
    if (
      !bodyless &&
      !h.has("content-length") &&
      (b === null || typeof b === "string" || b instanceof Uint8Array)
    ) {
      h.set("Content-Length", b === null ? 0 : typeof b === "string" ? Buffer.byteLength(b) : b.byteLength);
    }
    this.headers = h;
    this.data = data;
    this.history = history;
  }

  /** The body as UTF-8 text. */
  get text(): string {
    return this.data.toString("utf8");
  }

  /** The body parsed as JSON (typed `T` as the test says, not checked). */
  get json(): T {
    return JSON.parse(this.text) as T;
  }

  /** The media type of the body. */
  get mimetype(): string | undefined {
    return this.response.mimetype;
  }
}

interface StoredCookie {
  value: string;
  path: string;
  expires: number;
}

/** The test client's WebSocket: `ws`'s, plus `nextMessage()`, which misses nothing sent before it was called. */
export interface TestWebSocket extends WebSocket {
  /** The next message (text as a string, binary as a Buffer), in order, from the moment of connecting. */
  nextMessage(): Promise<string | Buffer>;
}

export class TestClient {
  readonly app: Phial;
  /** Cookies the app set, sent back on later requests (name → cookie). */
  private readonly jar = new Map<string, StoredCookie>();

  private server: Promise<{ server: WireServer; port: number }> | undefined;

  constructor(app: Phial) {
    this.app = app;
  }

  /**
   * Opens a WebSocket to one of the app's `app.websocket` routes, with the client's cookies (so a
   * session set by earlier requests applies). A WebSocket needs a socket: the first call serves the app
   * on 127.0.0.1 (a free port) until `close()`. Resolves once open; a refused upgrade rejects with
   * its status.
   */
  async websocket(
    path: string,
    options: { headers?: Record<string, string>; protocols?: string[] } = {},
  ): Promise<TestWebSocket> {
    this.server ??= (async () => {
      const server = this.app.listen();
      const { port } = await server.listen(0, "127.0.0.1");
      return { server, port };
    })();
    const { port } = await this.server;
    const headers: Record<string, string> = { ...options.headers };
    const cookie = this.cookieHeader(path.split("?")[0]!);
    if (cookie !== undefined && cookie !== "") headers.cookie = cookie;
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, options.protocols ?? [], {
      headers,
    }) as TestWebSocket;
    // The app's first message can come in the same packet as the 101: queue from the start.
    const queue: (string | Buffer)[] = [];
    const waiting: ((m: string | Buffer) => void)[] = [];
    ws.on("message", (data, isBinary) => {
      const m = isBinary ? (data as Buffer) : String(data);
      const w = waiting.shift();
      if (w !== undefined) w(m);
      else queue.push(m);
    });
    ws.nextMessage = () =>
      queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r));
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(ws));
      ws.once("unexpected-response", (_req, res) => {
        ws.on("error", () => undefined);
        ws.terminate();
        reject(
          Object.assign(new Error(`WebSocket upgrade of ${path} refused: ${res.statusCode}`), {
            status: res.statusCode,
          }),
        );
      });
      ws.once("error", reject);
    });
  }

  /** Stops the server `websocket()` started (its WebSockets are closed with 1001). */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s !== undefined) await (await s).server.close({ deadline: 1_000 });
  }

  /**
   * The client typed by a route's schemas, the same object the route was declared with:
   * `const CreateItem = { json: Item, response: ItemOut }; app.post("/items", CreateItem, …)`, then
   * `await client.for(CreateItem).post("/items", { json: { name: "a" } })`: a body that doesn't fit
   * `Item`'s input is a type error, and `r.json` is `ItemOut`'s output.
   */
  for<S extends RouteSchemas>(_schemas: S): TypedTestClient<S> {
    return this as unknown as TypedTestClient<S>;
  }

  get<T = unknown>(path: string, options?: TestRequestOptions): Promise<TestResponse<T>> {
    return this.open<T>("GET", path, options);
  }
  post<T = unknown>(path: string, options?: TestRequestOptions): Promise<TestResponse<T>> {
    return this.open<T>("POST", path, options);
  }
  put<T = unknown>(path: string, options?: TestRequestOptions): Promise<TestResponse<T>> {
    return this.open<T>("PUT", path, options);
  }
  patch<T = unknown>(path: string, options?: TestRequestOptions): Promise<TestResponse<T>> {
    return this.open<T>("PATCH", path, options);
  }
  delete<T = unknown>(path: string, options?: TestRequestOptions): Promise<TestResponse<T>> {
    return this.open<T>("DELETE", path, options);
  }
  head<T = unknown>(path: string, options?: TestRequestOptions): Promise<TestResponse<T>> {
    return this.open<T>("HEAD", path, options);
  }
  options<T = unknown>(path: string, options?: TestRequestOptions): Promise<TestResponse<T>> {
    return this.open<T>("OPTIONS", path, options);
  }

  /** A cookie's current value in the client's jar (decoded as `req.cookies` would see it). */
  getCookie(name: string): string | undefined {
    const c = this.jar.get(name);
    if (c === undefined || c.expires <= Date.now()) return undefined;
    return decodeCookieValue(c.value);
  }

  /** Sets a cookie as if the app had set it. */
  setCookie(name: string, value: string, path = "/"): void {
    this.jar.set(name, { value: encodeCookieValue(value, name), path, expires: Number.POSITIVE_INFINITY });
  }

  deleteCookie(name: string): void {
    this.jar.delete(name);
  }

  /** Sends a request with any method. */
  async open<T = unknown>(
    method: string,
    path: string,
    options: TestRequestOptions = {},
  ): Promise<TestResponse<T>> {
    const history: string[] = [];
    let m = method.toUpperCase();
    let target = withQuery(path, options.query);
    let opts = options;
    if (opts.subdomain !== undefined && !new Headers(opts.headers).has("host")) {
      const sn = this.app.config.serverName;
      opts = withHost(opts, `${opts.subdomain}.${sn === undefined || sn === "" ? "localhost" : sn}`);
    }
    // An absolute URL (`http://alice.example.com/x`, as Werkzeug's test client takes): its host and scheme.
    if (/^https?:\/\//i.test(target)) {
      const u = new URL(target);
      target = `${u.pathname}${u.search}`;
      opts = withHost(opts, u.host, u.protocol === "https:");
    }
    for (let hops = 0; ; hops++) {
      const { res, data } = await this.once(m, target, opts);
      if (!options.followRedirects || res.status < 300 || res.status >= 400 || hops >= 20) {
        return new TestResponse<T>(res, data, history);
      }
      const loc = res.headers.get("location");
      if (loc === undefined || loc === null) return new TestResponse<T>(res, data, history);
      history.push(target);
      const here = new Headers(opts.headers).get("host") ?? "localhost";
      const scheme = opts.secure === true ? "https" : "http";
      const u = new URL(loc, `${scheme}://${here}${target}`);
      target = `${u.pathname}${u.search}`;
      // A redirect to another host (a subdomain's URL) is followed there.
      if (u.host !== here || u.protocol !== `${scheme}:`)
        opts = withHost(opts, u.host, u.protocol === "https:");
      if (res.status !== 307 && res.status !== 308) {
        m = m === "HEAD" ? "HEAD" : "GET";
        opts = { ...opts, form: undefined, json: undefined, data: undefined, files: undefined };
      }
    }
  }

  private async once(
    method: string,
    target: string,
    options: TestRequestOptions,
  ): Promise<{ res: Response; data: Buffer }> {
    const headers = new Headers(options.headers);
    let body: Buffer | undefined;
    let stream: AsyncIterable<Uint8Array> | undefined;
    if (options.json !== undefined) {
      body = Buffer.from(JSON.stringify(options.json), "utf8");
      if (!headers.has("content-type")) headers.set("Content-Type", "application/json");
    } else if (options.files !== undefined) {
      const fields: [string, string][] = [];
      for (const [k, v] of Object.entries(options.form ?? {})) {
        if (Array.isArray(v)) for (const x of v) fields.push([k, String(x)]);
        else fields.push([k, String(v)]);
      }
      const files: [string, MultipartFile][] = [];
      for (const [k, v] of Object.entries(options.files)) {
        if (Array.isArray(v)) for (const f of v as readonly MultipartFile[]) files.push([k, f]);
        else files.push([k, v as MultipartFile]);
      }
      const m = encodeMultipart(fields, files);
      body = m.body;
      if (!headers.has("content-type")) headers.set("Content-Type", m.contentType);
    } else if (options.form !== undefined) {
      const pairs: [string, string][] = [];
      for (const [k, v] of Object.entries(options.form)) {
        if (Array.isArray(v)) for (const x of v) pairs.push([k, String(x)]);
        else pairs.push([k, String(v)]);
      }
      body = Buffer.from(encodeQuery(pairs), "latin1");
      if (!headers.has("content-type")) headers.set("Content-Type", "application/x-www-form-urlencoded");
    } else if (options.data !== undefined) {
      const d = options.data;
      if (typeof d === "string") body = Buffer.from(d, "utf8");
      else if (d instanceof Uint8Array) body = Buffer.from(d);
      else stream = d;
    }
    if (options.contentType !== undefined && !headers.has("content-type")) {
      headers.set("Content-Type", options.contentType);
    }
    if (!headers.has("host")) headers.set("Host", "localhost");
    if (body !== undefined && !headers.has("content-length"))
      headers.set("Content-Length", String(body.length));
    const cookie = this.cookieHeader(target);
    if (cookie !== "" && !headers.has("cookie")) headers.set("Cookie", cookie);

    const raw: string[] = [];
    for (const [k, v] of headers) raw.push(k, v);
    const source = new TestSource(
      method,
      target,
      raw,
      headers.get("host") ?? "localhost",
      body,
      stream,
      options,
    );
    const res = await this.app.handle(source);
    this.storeCookies(res, target);
    let data: Buffer;
    if (method === "HEAD") {
      data = Buffer.alloc(0);
      await discard(res.body);
    } else {
      data = await collect(res.body);
    }
    return { res, data };
  }

  private cookieHeader(target: string): string {
    const now = Date.now();
    const path = target.split("?")[0]!;
    const parts: string[] = [];
    for (const [name, c] of this.jar) {
      if (c.expires <= now) {
        this.jar.delete(name);
        continue;
      }
      if (
        path === c.path ||
        path.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`) ||
        c.path === "/"
      ) {
        parts.push(`${name}=${c.value}`);
      }
    }
    return parts.join("; ");
  }

  private storeCookies(res: Response, target: string): void {
    for (const sc of res.headers.getSetCookie()) {
      const attrs = sc.split(";");
      const first = attrs[0]!;
      const eq = first.indexOf("=");
      if (eq <= 0) continue;
      const name = first.slice(0, eq).trim();
      const value = first.slice(eq + 1).trim();
      let path = target.split("?")[0]!.replace(/\/[^/]*$/, "") || "/";
      let expires = Number.POSITIVE_INFINITY;
      for (const a of attrs.slice(1)) {
        const i = a.indexOf("=");
        const k = (i === -1 ? a : a.slice(0, i)).trim().toLowerCase();
        const v = i === -1 ? "" : a.slice(i + 1).trim();
        if (k === "path") path = v || "/";
        else if (k === "max-age") expires = Date.now() + Number(v) * 1000;
        else if (k === "expires" && expires === Number.POSITIVE_INFINITY) expires = Date.parse(v);
      }
      if (!(expires > Date.now())) this.jar.delete(name);
      else this.jar.set(name, { value, path, expires });
    }
  }
}

/** A request as the app sees it, built in memory. */
/**
 * A request as the test client would send it, without handling it: for a request context outside a
 * request (`app.testRequestContext`, the `phial shell`, custom commands).
 */
export function makeTestRequest(
  app: Phial,
  path = "/",
  options: { method?: string; headers?: HeadersInit; query?: TestRequestOptions["query"] } = {},
): Request {
  const target = withQuery(path, options.query);
  const headers = new Headers(options.headers);
  if (!headers.has("host")) headers.set("Host", "localhost");
  const raw: string[] = [];
  for (const [k, v] of headers) raw.push(k, v);
  const source = new TestSource(
    (options.method ?? "GET").toUpperCase(),
    target,
    raw,
    headers.get("host") ?? "localhost",
    undefined,
    undefined,
    {},
  );
  const req = new Request(source, app);
  const domain = app.router.domainMatching ? app.requestDomain(req) : undefined;
  const m =
    domain !== undefined
      ? app.router.matchDomain(domain, req.path, req.method, req.queryString, req.rawPath)
      : app.router.match(req.path, req.method, req.queryString, req.rawPath);
  if (m.kind === "match") {
    req.endpoint = m.rule.endpoint;
    req.urlRule = m.rule.rule;
    req.params = m.params as Record<string, unknown>;
  }
  return req;
}

class TestSource implements RequestSource {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly host: string;
  readonly remoteAddress: string;
  readonly encrypted: boolean;
  readonly contentLength: number;
  readonly bodyComplete: boolean;
  readonly signal: AbortSignal = new AbortController().signal;
  private readonly payload: Buffer | undefined;
  private readonly stream: AsyncIterable<Uint8Array> | undefined;

  constructor(
    method: string,
    url: string,
    raw: string[],
    host: string,
    body: Buffer | undefined,
    stream: AsyncIterable<Uint8Array> | undefined,
    o: TestRequestOptions,
  ) {
    this.method = method;
    this.url = url;
    this.rawHeaders = raw;
    this.host = host;
    this.remoteAddress = o.remoteAddr ?? "127.0.0.1";
    this.encrypted = o.secure === true;
    this.payload = body;
    this.stream = stream;
    this.contentLength = body === undefined ? -1 : body.length;
    this.bodyComplete = stream === undefined && (body === undefined || body.length === 0);
  }

  bodyNow(): Buffer | undefined {
    if (this.stream !== undefined) return undefined;
    return this.payload ?? Buffer.alloc(0);
  }

  async body(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this) parts.push(c);
    return Buffer.concat(parts);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.payload !== undefined && this.payload.length > 0) yield this.payload;
    if (this.stream !== undefined) for await (const c of this.stream) yield Buffer.from(c);
  }
}

function withQuery(path: string, query: TestRequestOptions["query"]): string {
  if (query === undefined) return path;
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) for (const x of v) pairs.push([k, String(x)]);
    else pairs.push([k, String(v)]);
  }
  if (pairs.length === 0) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${encodeQuery(pairs)}`;
}

/** Closes a streamed body without reading it (HEAD), as the wire does. */
async function discard(body: Response["body"]): Promise<void> {
  if (body === null || typeof body !== "object" || body instanceof Uint8Array) return;
  if (body instanceof ReadableStream) {
    await body.cancel().catch(() => undefined);
    return;
  }
  const it =
    Symbol.asyncIterator in body
      ? (body as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (body as Iterable<unknown>)[Symbol.iterator]();
  await it.return?.();
}

async function collect(body: Response["body"]): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const parts: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<string | Uint8Array>) {
    parts.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/** What `CliRunner.invoke` gives back (Click's `Result`, which Flask's runner returns). */
export interface CliResult {
  /** The command's exit code: what it returned (0 for nothing), 1 when it threw, 2 for an unknown command. */
  readonly exitCode: number;
  /** Everything written to stdout and stderr, in order (Click's `output`). */
  readonly output: string;
  readonly stdout: string;
  readonly stderr: string;
  /** What the command threw, if it did. */
  readonly exception: unknown;
}

/**
 * Runs an app's commands in-process and captures their output (Flask's `app.test_cli_runner()`):
 * `await app.testCliRunner().invoke(["init-db", "--force"])`. As `phial init-db --force`, the command
 * runs in a request context for "/"; unlike the command line, what it throws is caught into the result.
 */
export class CliRunner {
  constructor(private readonly app: Phial) {}

  async invoke(args: readonly string[]): Promise<CliResult> {
    const [name, ...rest] = args;
    let stdout = "";
    let stderr = "";
    let output = "";
    const out = {
      write: (chunk: string) => {
        stdout += chunk;
        output += chunk;
        return true;
      },
    };
    const err = {
      write: (chunk: string) => {
        stderr += chunk;
        output += chunk;
        return true;
      },
    };
    const cmd = name === undefined ? undefined : this.app.cli.commands.get(name);
    if (cmd === undefined) {
      const known = [...this.app.cli.commands.keys()];
      err.write(
        `No such command ${JSON.stringify(name ?? "")}. ` +
          (known.length === 0
            ? "The app registers none (app.cli.command(name, fn)).\n"
            : `Commands: ${known.join(", ")}.\n`),
      );
      return { exitCode: 2, output, stdout, stderr, exception: undefined };
    }
    const req = makeTestRequest(this.app, "/");
    try {
      const rv = await runWithRequest(req, () =>
        cmd.run([...rest], { app: this.app, stdout: out, stderr: err }),
      );
      return { exitCode: typeof rv === "number" ? rv : 0, output, stdout, stderr, exception: undefined };
    } catch (e) {
      return { exitCode: 1, output, stdout, stderr, exception: e };
    }
  }
}
