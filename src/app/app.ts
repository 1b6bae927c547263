// The application: routing, dispatch, return values, errors and hooks, served by the wire.

import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Server as WireServer, ServerOptions, IncomingRequest, ServerResponse } from "../http/index.ts";
import { createServer } from "../http/index.ts";
import { Blueprint, type RegisterOptions } from "./blueprint.ts";
import { type Config, createConfig } from "./config.ts";
import { contextStorage, type RequestContext } from "./context.ts";
import {
  HTTPException,
  InternalServerError,
  MethodNotAllowed,
  NotFound,
  RequestEntityTooLarge,
  renderErrorPage,
} from "./exceptions.ts";
import { Headers, type HeadersInit } from "./headers.ts";
import { Request, type RequestSource } from "./request.ts";
import { defaultJson, type JsonProvider, parseStatus, Response, type ResponseBody, setJsonProviderLookup } from "./response.ts";
import { type BuildOptions, Router } from "./routing/index.ts";
import { TestClient } from "./testing.ts";
import {
  type AfterRequestHook,
  type BeforeRequestHook,
  type ErrorHandler,
  type Handler,
  type HandlerResult,
  type RouteOptions,
  Scaffold,
  type TeardownHook,
} from "./scaffold.ts";

export interface PhialOptions {
  /** Name of the app (logs, the default for nothing else). */
  name?: string;
  /** Folder of static files, relative to the app's file; `null` for none. Default `static`. */
  staticFolder?: string | null;
  /** URL path of the static files. Default `/static`. */
  staticUrlPath?: string;
  /** Folder of templates, relative to the app's file. Default `templates`. */
  templateFolder?: string;
  /** Initial settings (merged into `app.config`). */
  config?: Readonly<Record<string, unknown>>;
}

export interface RunOptions {
  host?: string;
  port?: number;
  debug?: boolean;
  /** Options for the wire server (timeouts, limits, TLS). */
  server?: ServerOptions;
}

/** What the router keeps for each rule. */
interface RouteData {
  handler: Handler<never>;
  /** Dotted name of the blueprint the route belongs to, or undefined for the app. */
  blueprint: string | undefined;
  options: RouteOptions;
}

/** Logs what the app reports. Replace `app.logger` to send it elsewhere. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

const consoleLogger: Logger = {
  info: (m) => console.log(m),
  warn: (m) => console.warn(m),
  error: (m, e) => (e === undefined ? console.error(m) : console.error(m, e)),
};

let lastApp: Phial | undefined;

/** @internal the app of the current request, else the last one created (for urlFor outside requests). */
export function currentApp(): Phial | undefined {
  return (contextStorage.getStore()?.app as Phial | undefined) ?? lastApp;
}

setJsonProviderLookup(() => currentApp()?.json ?? defaultJson);

/** Thrown by a handler returning nothing: the message names the route. */
class HandlerReturnedNothing extends Error {
  constructor(endpoint: string | undefined, rule: string | undefined) {
    super(
      `The view function for "${endpoint ?? "?"}" (${rule ?? "?"}) did not return a valid response: ` +
        "it returned undefined. Return a string, an object (JSON), a Response, or a tuple [body, status, headers].",
    );
    this.name = "TypeError";
  }
}

export class Phial extends Scaffold {
  /** The folder of the app's file; relative folders resolve against it, never the cwd. */
  readonly root: string;
  readonly config: Config;
  readonly staticFolder: string | null;
  readonly staticUrlPath: string;
  readonly templateFolder: string;
  /** How `jsonify` and object return values are serialized. */
  json: JsonProvider = defaultJson;
  logger: Logger = consoleLogger;
  /** @internal */ readonly router = new Router<RouteData>();
  /** @internal dotted name → blueprint */ readonly blueprints = new Map<string, Blueprint>();
  private readonly endpoints = new Map<string, Handler<never>>();
  private server: WireServer | undefined;
  private anyHooks = false;

  /**
   * `new Phial(import.meta.url)`: templates/ and static/ next to the app's file.
   * A directory path works too.
   */
  constructor(importMetaUrl: string, options: PhialOptions = {}) {
    const root = importMetaUrl.startsWith("file:")
      ? dirname(fileURLToPath(importMetaUrl))
      : resolve(importMetaUrl);
    super(options.name ?? "app");
    this.root = root;
    this.config = createConfig(options.config);
    const sf = options.staticFolder === undefined ? "static" : options.staticFolder;
    this.staticFolder = sf === null ? null : isAbsolute(sf) ? sf : resolve(root, sf);
    this.staticUrlPath = options.staticUrlPath ?? "/static";
    const tf = options.templateFolder ?? "templates";
    this.templateFolder = isAbsolute(tf) ? tf : resolve(root, tf);
    lastApp = this;
  }

  protected addRoute(rule: string, options: RouteOptions, handler: Handler<never>): void {
    this.addUrlRule(rule, options, handler, undefined);
  }

  /** @internal registers a rule for the app or a blueprint (`bpName` dotted). */
  addUrlRule(rule: string, options: RouteOptions, handler: Handler<never>, bpName: string | undefined): void {
    const methods = (options.methods ?? ["GET"]).map((m) => m.toUpperCase());
    let endpoint = options.endpoint ?? (handler.name && handler.name !== "anonymous" ? handler.name : undefined);
    endpoint ??= `${methods.join(",")} ${rule}`;
    if (bpName !== undefined) endpoint = `${bpName}.${endpoint}`;
    const prev = this.endpoints.get(endpoint);
    if (prev !== undefined && prev !== handler) {
      throw new Error(
        `The endpoint "${endpoint}" is already used by another handler. ` +
          "Give this route its own `endpoint` option, or name its function differently.",
      );
    }
    this.endpoints.set(endpoint, handler);
    this.router.add(rule, {
      endpoint,
      methods,
      defaults: options.defaults,
      strictSlashes: options.strictSlashes,
      data: { handler, blueprint: bpName, options },
    });
  }

  /** Registers a blueprint (and its nested ones) under its name, or `options.name`, with a URL prefix. */
  registerBlueprint(bp: Blueprint, options: RegisterOptions = {}): this {
    this.registerNested(bp, options, undefined, "");
    return this;
  }

  private registerNested(bp: Blueprint, options: RegisterOptions, parent: string | undefined, parentPrefix: string): void {
    const own = options.name ?? bp.name;
    const name = parent === undefined ? own : `${parent}.${own}`;
    if (this.blueprints.has(name)) {
      throw new Error(
        `A blueprint is already registered as "${name}". Register it again with another \`name\` option.`,
      );
    }
    this.blueprints.set(name, bp);
    bp.registered = true;
    const prefix = joinPrefix(parentPrefix, options.urlPrefix ?? bp.options.urlPrefix ?? "");
    for (const r of bp.records) {
      const rule = prefix === "" ? r.rule : joinPrefix(prefix, r.rule);
      const defaults = bp.options.urlDefaults === undefined ? r.options.defaults : { ...bp.options.urlDefaults, ...r.options.defaults };
      this.addUrlRule(rule === "" ? "/" : rule, { ...r.options, defaults }, r.handler, name);
    }
    for (const c of bp.children) this.registerNested(c.blueprint, c.options, name, prefix);
  }

  /**
   * Builds a URL for an endpoint: `urlFor("profile", { id: 3 })` → `/user/3`. Unknown keys become the
   * query string; `_external`, `_anchor`, `_method`, `_scheme` as in Flask. `.view` is relative to the
   * current blueprint.
   */
  urlFor(endpoint: string, values: Readonly<Record<string, unknown>> = {}): string {
    const ctx = contextStorage.getStore();
    const req = ctx?.app === this ? ctx.request : undefined;
    if (endpoint.startsWith(".")) {
      const bp = req?.endpoint !== undefined && req.endpoint.includes(".") ? req.endpoint.slice(0, req.endpoint.lastIndexOf(".")) : undefined;
      endpoint = bp === undefined ? endpoint.slice(1) : `${bp}${endpoint}`;
    }
    const { _external, _anchor, _method, _scheme, ...params } = values as Record<string, unknown>;
    const external = _external === true || _scheme !== undefined;
    const opts: BuildOptions = {};
    if (_method !== undefined) opts.method = String(_method);
    if (_anchor !== undefined) opts.anchor = String(_anchor);
    if (external) {
      let scheme = _scheme === undefined ? undefined : String(_scheme);
      let host: string | undefined;
      if (req !== undefined) {
        scheme ??= req.scheme;
        host = req.host;
      } else {
        const sn = this.config.serverName;
        if (sn === undefined) {
          throw new Error(
            "urlFor(..., { _external: true }) outside a request needs `app.config.serverName` (e.g. 'example.com')",
          );
        }
        host = sn;
        scheme ??= this.config.preferredUrlScheme;
      }
      opts.external = { scheme, host };
    }
    const root = this.config.applicationRoot;
    if (root !== "/" && root !== "") opts.scriptRoot = root.endsWith("/") ? root.slice(0, -1) : root;
    return this.router.build(endpoint, params, opts);
  }

  // ---- serving --------------------------------------------------------------------------------

  /** The wire handler: `createServer(app.wireHandler)`. */
  readonly wireHandler = (req: IncomingRequest, res: ServerResponse): unknown => {
    const r = this.handle(req);
    if (r instanceof Response) return this.write(r, res, req.method === "HEAD");
    return r.then((resp) => this.write(resp, res, req.method === "HEAD"));
  };

  /** Handles one request in-process (the test client uses this; no socket involved). */
  handle(source: RequestSource): Response | Promise<Response> {
    const req = new Request(source, this.requestConfig);
    const ctx: RequestContext = { app: this, request: req, g: Object.create(null) as Record<string, unknown> };
    return contextStorage.run(ctx, dispatch, this, req);
  }

  /** Starts serving. Resolves once listening. Under `phial run` it does nothing (the CLI serves). */
  async run(options: RunOptions = {}): Promise<WireServer | undefined> {
    if (process.env.PHIAL_RUN_FROM_CLI === "1") return undefined;
    if (options.debug !== undefined) this.config.debug = options.debug;
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 5000;
    const server = this.listen(options.server);
    const addr = await server.listen(port, host);
    const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    this.logger.info(` * Serving Phial app "${this.name}"${this.config.debug ? " (debug mode: never use it in production)" : ""}`);
    this.logger.info(` * Running on http://${shown}:${addr.port} (Ctrl-C to quit)`);
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.once(sig, () => {
        void server.close({ deadline: 10_000 }).then(() => process.exit(0));
      });
    }
    return server;
  }

  /** A wire server for this app (not yet listening). */
  listen(options?: ServerOptions): WireServer {
    this.server = createServer(this.wireHandler, {
      onError: (err, req) => this.logger.error(`Error on ${req?.method ?? "?"} ${req?.url ?? "?"}`, err),
      ...options,
    });
    return this.server;
  }

  /** @internal */
  get requestConfig(): { maxFormFields: number; maxFormMemorySize: number } {
    return { maxFormFields: this.config.maxFormParts, maxFormMemorySize: this.config.maxFormMemorySize };
  }

  /** @internal true when any hook is registered (else a faster path is taken). */
  get hasHooks(): boolean {
    if (this.anyHooks) return true;
    const has = (s: Scaffold) =>
      s.beforeRequestFuncs.length > 0 || s.afterRequestFuncs.length > 0 || s.teardownRequestFuncs.length > 0;
    if (has(this)) return (this.anyHooks = true);
    for (const bp of this.blueprints.values()) if (has(bp)) return (this.anyHooks = true);
    return false;
  }

  /** Writes a response to the wire. */
  private write(res: Response, out: ServerResponse, head: boolean): unknown {
    if (out.closed) return undefined;
    out.statusCode = res.status;
    if (res.statusText) out.statusMessage = res.statusText;
    for (const [k, v] of res.headers) out.appendHeader(k, v);
    const body = res.body;
    if (body === null) {
      out.end();
      return undefined;
    }
    if (typeof body === "string" || body instanceof Uint8Array) {
      out.end(body);
      return undefined;
    }
    if (head) {
      closeStream(body);
      out.end();
      return undefined;
    }
    return pipeBody(body, out);
  }

  /** @internal the scaffolds whose hooks apply to a request, app first then outer to inner blueprints. */
  scaffoldsFor(bp: string | undefined): Scaffold[] {
    const out: Scaffold[] = [this];
    if (bp === undefined) return out;
    let i = bp.indexOf(".");
    for (;;) {
      const name = i === -1 ? bp : bp.slice(0, i);
      const s = this.blueprints.get(name);
      if (s !== undefined) out.push(s);
      if (i === -1) break;
      i = bp.indexOf(".", i + 1);
    }
    return out;
  }

  /** @internal turns an error into a response through the registered error handlers. */
  async handleError(err: unknown, req: Request, bp: string | undefined): Promise<Response> {
    const chain = this.scaffoldsFor(bp).reverse(); // innermost blueprint first, the app last
    if (err instanceof HTTPException) {
      if (err.response !== undefined) return err.response as Response;
      const h = findHandler(chain, err);
      if (h === undefined) return exceptionResponse(err);
      return this.callErrorHandler(h, err, req);
    }
    this.logger.error(`Exception on ${req.method} ${req.path} [${req.endpoint ?? "no endpoint"}]`, err);
    const h = findHandler(chain, err);
    if (h !== undefined) return this.callErrorHandler(h, err, req);
    const ise = new InternalServerError();
    (ise as { originalError?: unknown }).originalError = err;
    const h500 = findHandler(chain, ise);
    if (h500 !== undefined) return this.callErrorHandler(h500, ise, req);
    if (this.config.debug) {
      const stack = err instanceof Error ? (err.stack ?? String(err)) : String(err);
      return new Response(`500 Internal Server Error\n\n${stack}\n`, {
        status: 500,
        contentType: "text/plain; charset=utf-8",
      });
    }
    return exceptionResponse(ise);
  }

  private async callErrorHandler(h: ErrorHandler<never>, err: unknown, req: Request): Promise<Response> {
    try {
      const rv = await (h as ErrorHandler<unknown>)(err, req);
      return this.makeResponse(rv, req);
    } catch (e) {
      this.logger.error(`The error handler for ${describe(err)} failed`, e);
      return exceptionResponse(new InternalServerError());
    }
  }

  /** Turns a handler's return value into a Response (Flask's `make_response`). */
  makeResponse(rv: HandlerResult | undefined, req?: Request): Response {
    if (rv instanceof Response) return rv;
    if (typeof rv === "string" || rv instanceof Uint8Array) return new Response(rv);
    if (rv === undefined || rv === null) {
      throw new HandlerReturnedNothing(req?.endpoint, req?.urlRule);
    }
    if (Array.isArray(rv)) return this.tupleResponse(rv as readonly unknown[], req);
    if (rv instanceof HTTPException) return exceptionResponse(rv);
    if (isStreamBody(rv)) return new Response(rv as ResponseBody);
    if (typeof rv === "object") {
      return new Response(this.json.dumps(rv), { contentType: this.json.mimetype });
    }
    throw new TypeError(
      `The view function for "${req?.endpoint ?? "?"}" returned a ${typeof rv}; ` +
        "return a string, an object (JSON), a Response, or a tuple [body, status, headers].",
    );
  }

  private tupleResponse(t: readonly unknown[], req: Request | undefined): Response {
    if (t.length < 2 || t.length > 3) {
      throw new TypeError(
        `The view function for "${req?.endpoint ?? "?"}" returned an array of length ${t.length}. ` +
          "Arrays are tuples: [body, status], [body, headers] or [body, status, headers]. " +
          "Wrap JSON arrays in jsonify().",
      );
    }
    let status: number | string | undefined;
    let headers: HeadersInit | undefined;
    if (t.length === 3) {
      status = t[1] as number | string;
      headers = t[2] as HeadersInit;
    } else if (typeof t[1] === "number" || typeof t[1] === "string") {
      status = t[1];
    } else {
      headers = t[1] as HeadersInit;
    }
    if (Array.isArray(t[0])) {
      throw new TypeError(
        `The view function for "${req?.endpoint ?? "?"}" returned a nested array as a body; wrap JSON arrays in jsonify().`,
      );
    }
    const res = this.makeResponse(t[0] as HandlerResult, req);
    if (status !== undefined) {
      const [code, reason] = parseStatus(status);
      res.status = code;
      res.statusText = reason;
    }
    if (headers !== undefined) {
      const extra = headers instanceof Headers ? headers : new Headers(headers);
      for (const [k, v] of extra) {
        // Flask's tuples extend the response's headers; Content-Type replaces.
        if (k.toLowerCase() === "content-type") res.headers.set(k, v);
        else res.headers.append(k, v);
      }
    }
    return res;
  }

  /** A client that calls the app in-process (no socket) and keeps cookies. */
  testClient(): TestClient {
    return new TestClient(this);
  }
}

/** The request pipeline, run inside the request context. */
function dispatch(app: Phial, req: Request): Response | Promise<Response> {
  const m = app.router.match(req.path, req.method, req.queryString);
  if (m.kind === "match") {
    req.endpoint = m.rule.endpoint;
    req.urlRule = m.rule.rule;
    req.params = m.params as Record<string, unknown>;
    const data = m.rule.data;
    const opts = data.options;
    if (req.method === "OPTIONS" && !m.rule.methods.has("OPTIONS")) {
      return finish(app, req, data.blueprint, optionsResponse(app, req));
    }
    const src = req.source;
    const needsBody = !opts.streamBody && (!src.bodyComplete || src.contentLength > 0);
    if (!needsBody && !app.hasHooks) {
      // The fast path: no body to read, no hooks. Sync handlers never touch a promise.
      let rv: HandlerResult | Promise<HandlerResult>;
      try {
        rv = (data.handler as Handler)(req);
        if (!isThenable(rv)) return app.makeResponse(rv, req);
      } catch (err) {
        return app.handleError(err, req, data.blueprint);
      }
      return (rv as Promise<HandlerResult>)
        .then((v) => app.makeResponse(v, req))
        .then(undefined, (err: unknown) => app.handleError(err, req, data.blueprint));
    }
    return fullDispatch(app, req, data.handler as Handler, data.blueprint, needsBody);
  }
  let early: Response | HTTPException;
  if (m.kind === "redirect") {
    early = new Response(null, { status: 308 });
    early.headers.set("Location", m.location);
  } else if (m.kind === "methodNotAllowed") {
    early =
      req.method === "OPTIONS" && app.config.provideAutomaticOptions
        ? optionsResponse(app, req)
        : new MethodNotAllowed(m.allowed);
  } else {
    early = new NotFound();
  }
  return fullDispatch(app, req, undefined, undefined, false, early);
}

/** Every step, for requests with a body or with hooks, and for routing errors. */
async function fullDispatch(
  app: Phial,
  req: Request,
  handler: Handler | undefined,
  bp: string | undefined,
  needsBody: boolean,
  early?: Response | HTTPException,
): Promise<Response> {
  let res: Response;
  let unhandled: unknown;
  const scaffolds = app.scaffoldsFor(bp);
  try {
    try {
      if (early instanceof HTTPException) throw early;
      if (needsBody) await loadBody(app, req);
      let rv: HandlerResult | undefined;
      for (const s of scaffolds) {
        for (const fn of s.beforeRequestFuncs as BeforeRequestHook[]) {
          rv = await fn(req);
          if (rv !== undefined) break;
        }
        if (rv !== undefined) break;
      }
      if (rv === undefined) {
        if (early !== undefined) rv = early;
        else rv = await handler!(req);
      }
      res = app.makeResponse(rv, req);
    } catch (err) {
      if (!(err instanceof HTTPException)) unhandled = err;
      res = await app.handleError(err, req, bp);
    }
    for (let i = scaffolds.length - 1; i >= 0; i--) {
      const fns = scaffolds[i]!.afterRequestFuncs as AfterRequestHook[];
      for (let j = fns.length - 1; j >= 0; j--) {
        const r = await fns[j]!(res, req);
        if (r !== undefined) res = r;
      }
    }
  } catch (err) {
    // An after-request hook failed: the response is a plain 500.
    app.logger.error(`Exception in an afterRequest hook on ${req.method} ${req.path}`, err);
    unhandled ??= err;
    res = exceptionResponse(new InternalServerError());
  } finally {
    for (let i = scaffolds.length - 1; i >= 0; i--) {
      for (const fn of scaffolds[i]!.teardownRequestFuncs as TeardownHook[]) {
        try {
          await fn(unhandled, req);
        } catch (err) {
          app.logger.error("Exception in a teardownRequest hook", err);
        }
      }
    }
  }
  return res;
}

/** Reads the body before the handler, within `config.maxContentLength`. */
async function loadBody(app: Phial, req: Request): Promise<void> {
  const max = app.config.maxContentLength;
  const src = req.source;
  if (src.contentLength > max) throw new RequestEntityTooLarge();
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of src) {
    total += chunk.length;
    if (total > max) throw new RequestEntityTooLarge();
    parts.push(chunk);
  }
  req.data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

function finish(app: Phial, req: Request, bp: string | undefined, res: Response): Response | Promise<Response> {
  if (!app.hasHooks) return res;
  return fullDispatch(app, req, undefined, bp, false, res);
}

function optionsResponse(app: Phial, req: Request): Response {
  const allowed = app.router.allowedMethods(req.path);
  const res = new Response("", { status: 200 });
  res.headers.delete("content-type");
  res.headers.set("Allow", allowed.join(", "));
  return res;
}

function exceptionResponse(e: HTTPException): Response {
  const res = new Response(renderErrorPage(e), { status: e.status, contentType: "text/html; charset=utf-8" });
  const extra = e.headers;
  if (extra !== undefined) for (const [k, v] of new Headers(extra)) res.headers.set(k, v);
  return res;
}

function findHandler(chain: Scaffold[], err: unknown): ErrorHandler<never> | undefined {
  if (err instanceof HTTPException) {
    for (const s of chain) {
      const h = s.statusHandlers.get(err.status);
      if (h !== undefined) return h;
    }
  }
  if (err === null || typeof err !== "object") return undefined;
  // Nearest class first: walk the prototype chain, asking each scaffold (innermost first) at each level.
  for (let proto = Object.getPrototypeOf(err) as object | null; proto !== null; proto = Object.getPrototypeOf(proto)) {
    for (const s of chain) {
      for (const [cls, h] of s.classHandlers) if (cls.prototype === proto) return h;
    }
  }
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof HTTPException) return `${err.status}`;
  if (err instanceof Error) return err.name;
  return typeof err;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === "object" && typeof (v as PromiseLike<unknown>).then === "function";
}

function isStreamBody(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  if (typeof ReadableStream !== "undefined" && v instanceof ReadableStream) return true;
  return Symbol.asyncIterator in v || (Symbol.iterator in v && !Array.isArray(v) && typeof v !== "string");
}

/** Streams a body to the wire with backpressure; stops when the client leaves. */
async function pipeBody(body: Exclude<ResponseBody, string | Uint8Array | null>, out: ServerResponse): Promise<void> {
  const iterable: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array> =
    typeof ReadableStream !== "undefined" && body instanceof ReadableStream
      ? (body as unknown as AsyncIterable<string | Uint8Array>)
      : (body as AsyncIterable<string | Uint8Array>);
  try {
    for await (const chunk of iterable) {
      if (out.closed) break;
      await out.write(chunk);
    }
  } finally {
    if (!out.finished) out.end();
  }
}

function closeStream(body: unknown): void {
  if (typeof ReadableStream !== "undefined" && body instanceof ReadableStream) {
    void body.cancel().catch(() => undefined);
    return;
  }
  const it = body as { return?: () => unknown };
  if (typeof it.return === "function") {
    try {
      void it.return();
    } catch {
      // nothing to clean
    }
  }
}

function joinPrefix(prefix: string, rule: string): string {
  if (prefix === "") return rule;
  const p = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (rule === "" || rule === "/") return rule === "/" ? `${p}/` : p;
  return rule.startsWith("/") ? `${p}${rule}` : `${p}/${rule}`;
}
