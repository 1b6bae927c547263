// The application: routing, dispatch, return values, errors and hooks, served by the wire.
//
// Seams for the other modules (keep them stable):
// - `app.sessionInterface` ({ open, save, refreshes? }): `req.session` opens it lazily; it is saved after
//   the afterRequest hooks of any request that touched it, or that `refreshes` names (fast path included).
// - `app.bodyLoaders` / `Phial.defaultBodyLoaders` (media type → loader): a loader reads
//   `req.stream()` itself (limits enforced) and sets `req.parsedForm` / `req.parsedFiles`
//   (multipart); other bodies are read into `req.data`.
// - `currentRequest()` (context.ts): call it synchronously (e.g. first thing in renderTemplate)
//   to get the request, its app, session and g; works in sync and async code.
// - `req.callOnClose(fn)`: cleanup once the response is done: after the teardown hooks, and for a
//   streamed body after it was sent or abandoned (spooled uploads, open files).
// - `Response` with a streamed body and a `Content-Length` field is sent with that length (files).
// - `app.addUrlRule(rule, options, handler, blueprintName)`: routes registered by modules (static files).

import { basename, dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { IncomingRequest, ServerOptions, ServerResponse, Server as WireServer } from "../http/index.ts";
import { createServer, RequestAbortedError } from "../http/index.ts";
import { type AccessLogEntry, accessEntry, colourWanted, formatAccessLine } from "./access-log.ts";
import { type FetchOptions, handleFetch, nodeHandler } from "./adapters.ts";
import { CookieSessionInterface } from "./app-sessions.ts";
import { createTemplates } from "./app-templates.ts";
import type { Blueprint, RegisterOptions } from "./blueprint.ts";
import { type Config, createConfig } from "./config.ts";
import { currentRequest, invoke, isAsyncFunction, runWithRequest } from "./context.ts";
import { renderDebugHtml, renderDebugText, wantsHtml } from "./debug-page.ts";
import {
  HTTPException,
  InternalServerError,
  MethodNotAllowed,
  NotFound,
  notFoundResponse,
} from "./exceptions.ts";
import { type SendFileOptions, sendFromFolder } from "./files.ts";
import type { Headers } from "./headers.ts";
import { ProxySettings } from "./proxy.ts";
import { Request, type RequestSource, type SessionLike, tooLarge } from "./request.ts";
import {
  defaultJson,
  type JsonProvider,
  parseStatus,
  Response,
  setCurrentHostLookup,
  setJsonProviderLookup,
  updateHeaders,
  valueToResponse,
} from "./response.ts";
import { type BuildOptions, type ConverterFactory, Router } from "./routing/index.ts";
import {
  type AfterRequestHook,
  type BeforeRequestHook,
  type ErrorHandler,
  type Handler,
  type HandlerResult,
  hookVersion,
  type RouteOptions,
  Scaffold,
  type TeardownHook,
} from "./scaffold.ts";
import {
  type Chunk,
  closeBody,
  closeIterator,
  describeValue,
  pumpStream,
  readerIterator,
  STOP,
  type StoppableIterator,
  type StreamBody,
} from "./streams.ts";
import type { TemplateContext, TemplateEnvironment } from "./templating.ts";
import { TestClient } from "./testing.ts";
import { loadMultipart } from "./uploads.ts";
import type { UrlForArgs } from "./url-for.ts";

export interface PhialOptions {
  /** Name of the app (logs). Default `app`. */
  name?: string;
  /** Folder of static files, relative to the app's file; `null` for none. Default `static`. */
  staticFolder?: string | null;
  /** URL path of the static files. Default: `/` and the folder's name (`/static`), as in Flask. */
  staticUrlPath?: string;
  /** Folder of templates, relative to the app's file. Default `templates`. */
  templateFolder?: string;
  /** Initial settings (merged into `app.config` after the defaults, before `PHIAL_*` variables). */
  config?: Readonly<Record<string, unknown>>;
  /** Read `PHIAL_*` environment variables into `app.config` (default true). */
  fromEnv?: boolean;
  /** `//a///b` redirects to `/a/b` (default true, as Werkzeug). */
  mergeSlashes?: boolean;
  /** Default of each route's `strictSlashes` (default true, as Werkzeug). */
  strictSlashes?: boolean;
}

/** One registered rule, as `app.urlRules` lists it (for `phial routes`). */
export interface UrlRule {
  readonly rule: string;
  readonly endpoint: string;
  readonly methods: readonly string[];
}

export interface RunOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 5000. */
  port?: number;
  /** Debug mode: stack traces on error pages and request logging. Never in production. */
  debug?: boolean;
  /** Options for the wire server (timeouts, limits, TLS). */
  server?: ServerOptions;
}

/** Opens and saves sessions (the sessions module provides the signed-cookie one). */
export interface SessionInterface {
  /** Called on first access to `req.session`; must be sync (cookies are already there). */
  open(app: Phial, req: Request): SessionLike;
  /** Called after the afterRequest hooks when the request touched its session (or `refreshes` said so). */
  save(app: Phial, session: SessionLike, req: Request, res: Response): void | Promise<void>;
  /**
   * Optional: true when the session of a request that never touched it must still be opened and saved
   * (e.g. to refresh a permanent session's cookie). Asked once per such request: keep it cheap.
   */
  refreshes?(app: Phial, req: Request): boolean;
}

/**
 * Reads a request body of one media type before the handler (e.g. multipart). It consumes
 * `req.stream()` (which enforces `maxContentLength`) and sets `req.parsedForm` / `req.parsedFiles`.
 */
export type BodyLoader = (req: Request) => Promise<void>;

/** What the router keeps for each rule. */
interface RouteData {
  handler: Handler<never>;
  isAsync: boolean;
  /** Dotted name of the blueprint the route belongs to, or undefined for the app. */
  blueprint: string | undefined;
  options: RouteOptions;
}

/** Logs what the app reports. Replace `app.logger` to send it elsewhere. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** `error` is the exception, logged with its stack. */
  error(message: string, error?: unknown): void;
  /**
   * One served request (the access log). Without it, the line `127.0.0.1 - "GET / HTTP/1.1" 200 5 0.3ms`
   * goes to `info`.
   */
  access?(entry: AccessLogEntry): void;
}

const consoleLogger: Logger = {
  info: (m) => console.log(m),
  warn: (m) => console.warn(m),
  error: (m, e) => (e === undefined ? console.error(m) : console.error(m, e)),
};

let lastApp: Phial | undefined;

/** @internal the app of the current request, else the last one created (for urlFor outside requests). */
export function currentApp(): Phial | undefined {
  return currentRequest()?.app ?? lastApp;
}

setJsonProviderLookup(() => currentApp()?.json ?? defaultJson);
setCurrentHostLookup(() => currentRequest()?.host);

function routeName(req: Request | undefined): string {
  if (req === undefined) return "?";
  return req.endpoint === undefined
    ? `${req.method} ${req.path}`
    : `"${req.endpoint}" (${req.urlRule ?? req.path})`;
}

/** Thrown by a handler returning nothing: the message names the route. */
class HandlerReturnedNothing extends TypeError {
  constructor(req: Request | undefined) {
    super(
      `The view function for ${routeName(req)} did not return a valid response: it returned undefined. ` +
        "Return a string, an object (JSON), a Response, or a tuple [body, status, headers].",
    );
  }
}

export class Phial extends Scaffold {
  /** The folder of the app's file; relative folders resolve against it, never the cwd. */
  readonly root: string;
  readonly config: Config;
  readonly staticFolder: string | null;
  readonly staticUrlPath: string;
  readonly templateFolder: string;
  /** How `jsonify`, object return values and `req.json` (de)serialize. */
  json: JsonProvider = defaultJson;
  logger: Logger = consoleLogger;
  /**
   * True once the app is shutting down (SIGTERM under `phial run` or `app.run()`, or `close()` on a
   * server from `app.listen()`): in-flight requests still complete, and a readiness route should
   * answer 503 so a load balancer stops sending (`phial run --shutdown-delay` gives it time to see it).
   */
  draining = false;
  /** @internal `config.trustProxy` compiled, again only when it changes. */
  readonly proxySettings = new ProxySettings();
  /** Opens and saves `req.session`: signed cookies by default (`CookieSessionInterface`). */
  sessionInterface: SessionInterface | undefined = new CookieSessionInterface();
  private templateEnv: TemplateEnvironment | undefined;
  /** Body readers by media type (installed by e.g. the multipart module). */
  readonly bodyLoaders = new Map<string, BodyLoader>();
  /**
   * Body readers by media type for every app (a module installs its own at import time, e.g.
   * `Phial.defaultBodyLoaders.set("multipart/form-data", loader)`); an app's `bodyLoaders` win.
   */
  static readonly defaultBodyLoaders = new Map<string, BodyLoader>();
  /** @internal */ readonly router: Router<RouteData>;
  /** @internal dotted name → blueprint */ readonly blueprints = new Map<string, Blueprint>();
  private readonly endpoints = new Map<string, Handler<never>>();
  private hooksSeen = -1;
  private hooksAny = false;

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
    this.router = new Router<RouteData>({
      mergeSlashes: options.mergeSlashes,
      strictSlashes: options.strictSlashes,
    });
    this.config = createConfig(options.config);
    if (options.fromEnv !== false) this.config.fromEnv();
    const sf = options.staticFolder === undefined ? "static" : options.staticFolder;
    this.staticFolder = sf === null ? null : isAbsolute(sf) ? sf : resolve(root, sf);
    this.staticUrlPath =
      options.staticUrlPath ?? (this.staticFolder === null ? "/static" : `/${basename(this.staticFolder)}`);
    const tf = options.templateFolder ?? "templates";
    this.templateFolder = isAbsolute(tf) ? tf : resolve(root, tf);
    lastApp = this;
    if (this.staticFolder !== null) {
      // Flask's `static` endpoint; the view is sync so that it takes the request from the context slot.
      const view = (req: Request<{ filename: string }>) => this.sendStaticFile(req.params.filename);
      const url = this.staticUrlPath.replace(/\/+$/, "");
      this.addUrlRule(`${url}/<path:filename>`, { endpoint: "static" }, view as Handler<never>, undefined);
    }
  }

  /**
   * Sends `filename` from the static folder, as the `static` view does (`sendFromDirectory` rules:
   * anything leaving the folder is a 404), cached per `config.sendFileMaxAgeDefault`.
   */
  sendStaticFile(filename: string, options: SendFileOptions = {}): Promise<Response> {
    if (this.staticFolder === null) {
      throw new Error(
        "sendStaticFile(): this app has no static folder (it was created with staticFolder: null)",
      );
    }
    return sendFromFolder(currentRequest(), this, this.staticFolder, filename, options);
  }

  /** @internal the body loader for a media type: the app's, else the default. */
  bodyLoaderFor(mimetype: string): BodyLoader | undefined {
    if (this.bodyLoaders.size > 0) {
      const own = this.bodyLoaders.get(mimetype);
      if (own !== undefined) return own;
    }
    return Phial.defaultBodyLoaders.size === 0 ? undefined : Phial.defaultBodyLoaders.get(mimetype);
  }

  protected addRoute(rule: string, options: RouteOptions, handler: Handler<never>): void {
    this.addUrlRule(rule, options, handler, undefined);
  }

  /**
   * Registers a converter for rules: `app.addConverter("hex", () => patternConverter({ pattern: /[0-9a-f]+/,
   * parse: (s) => parseInt(s, 16) }))`, then `/color/<hex:c>`. Register before the rules that use it.
   */
  addConverter(name: string, factory: ConverterFactory): this {
    this.router.addConverter(name, factory);
    return this;
  }

  /** Every registered rule with its endpoint and methods, in registration order. */
  get urlRules(): UrlRule[] {
    return this.router.rules.map((r) => ({
      rule: r.rule,
      endpoint: r.endpoint,
      methods: [...r.methods].sort(),
    }));
  }

  /** Registers a rule for the app, or for a blueprint (`bpName` dotted, e.g. `admin.users`). */
  addUrlRule(rule: string, options: RouteOptions, handler: Handler<never>, bpName: string | undefined): void {
    if (typeof handler !== "function") throw new TypeError(`The route "${rule}" has no handler function`);
    const methods = (options.methods ?? ["GET"]).map((m) => m.toUpperCase());
    let endpoint =
      options.endpoint ?? (handler.name && handler.name !== "anonymous" ? handler.name : undefined);
    endpoint ??= `${methods.join(",")} ${rule}`;
    if (bpName !== undefined) endpoint = `${bpName}.${endpoint}`;
    const prev = this.endpoints.get(endpoint);
    if (prev !== undefined && prev !== handler) {
      throw new Error(
        `The endpoint "${endpoint}" is already used by another handler (rule "${rule}"). ` +
          "Give this route its own `endpoint` option, or name its function differently.",
      );
    }
    this.endpoints.set(endpoint, handler);
    this.router.add(rule, {
      endpoint,
      methods,
      defaults: options.defaults,
      strictSlashes: options.strictSlashes,
      automaticOptions: options.provideAutomaticOptions ?? this.config.provideAutomaticOptions !== false,
      redirectTo: options.redirectTo,
      buildOnly: options.buildOnly,
      data: { handler, isAsync: isAsyncFunction(handler), blueprint: bpName, options },
    });
  }

  /** Registers a blueprint (and its nested ones) under its name, or `options.name`, with a URL prefix. */
  registerBlueprint(bp: Blueprint, options: RegisterOptions = {}): this {
    this.registerNested(bp, options, undefined, "");
    return this;
  }

  private registerNested(
    bp: Blueprint,
    options: RegisterOptions,
    parent: string | undefined,
    parentPrefix: string,
  ): void {
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
      const defaults =
        bp.options.urlDefaults === undefined
          ? r.options.defaults
          : { ...bp.options.urlDefaults, ...r.options.defaults };
      this.addUrlRule(rule === "" ? "/" : rule, { ...r.options, defaults }, r.handler, name);
    }
    for (const c of bp.children) this.registerNested(c.blueprint, c.options, name, prefix);
    this.hooksSeen = -1;
  }

  /**
   * The template engine (Nunjucks, Jinja syntax) over `templates/` and the blueprints' folders:
   * `app.templates.addFilter(...)`, `.addGlobal(...)`, `.contextProcessor(...)`.
   */
  get templates(): TemplateEnvironment {
    this.templateEnv ??= createTemplates(this);
    return this.templateEnv;
  }

  /** Renders a template; works outside a request too (then `request`/`session` are undefined). */
  renderTemplate(name: string | readonly string[], context?: TemplateContext): Promise<string> {
    return this.templates.render(name, context);
  }

  /** Renders template source (autoescaped). Never pass source that came from a user. */
  renderTemplateString(source: string, context?: TemplateContext): Promise<string> {
    return this.templates.renderString(source, context);
  }

  /**
   * Builds a URL for an endpoint: `urlFor("profile", { id: 3 })` → `/user/3`. Unknown keys become the
   * query string; `_external`, `_anchor`, `_method`, `_scheme` as in Flask. `.view` is relative to the
   * current blueprint. Throws `BuildError` for an unknown endpoint or a missing parameter.
   */
  urlFor<E extends string>(endpoint: E, ...args: UrlForArgs<E>): string {
    const values: Readonly<Record<string, unknown>> = args[0] ?? {};
    const cur = currentRequest();
    const req = cur?.app === this ? cur : undefined;
    let name: string = endpoint;
    if (name.startsWith(".")) {
      const bp = req?.blueprint;
      name = bp === undefined ? name.slice(1) : `${bp}${name}`;
    }
    const { _external, _anchor, _method, _scheme, ...params } = values as Record<string, unknown>;
    // As Flask: inside a request URLs are relative unless asked; outside, external needs serverName.
    const external = _external === true || (_scheme !== undefined && _external !== false);
    const opts: BuildOptions = {};
    if (_method !== undefined) opts.method = String(_method);
    if (_anchor !== undefined) opts.anchor = String(_anchor);
    if (external) {
      let scheme = _scheme === undefined ? undefined : String(_scheme);
      let host: string;
      if (req !== undefined) {
        scheme ??= req.scheme;
        host = req.host;
      } else {
        const sn = this.config.serverName;
        if (sn === undefined || sn === "") {
          throw new Error(
            `urlFor("${name}", { _external: true }) outside a request needs app.config.serverName ` +
              '(e.g. "example.com" or "localhost:5000")',
          );
        }
        host = sn;
        scheme ??= this.config.preferredUrlScheme;
      }
      opts.external = { scheme, host };
    }
    if (req !== undefined) {
      const sr = req.scriptRoot; // X-Forwarded-Prefix from a trusted proxy, then applicationRoot
      if (sr !== "") opts.scriptRoot = sr;
    } else {
      const root = this.config.applicationRoot;
      if (root !== "/" && root !== "") opts.scriptRoot = root.endsWith("/") ? root.slice(0, -1) : root;
    }
    return this.router.build(name, params, opts);
  }

  // ---- serving --------------------------------------------------------------------------------

  /** The wire handler: `createServer(app.wireHandler)`. */
  readonly wireHandler = (req: IncomingRequest, out: ServerResponse): unknown => {
    const r = this.handle(req);
    if (r instanceof Response) return writeResponse(r, out);
    return r.then((res) => writeResponse(res, out));
  };

  /**
   * Handles one request in-process and resolves with the Response (the test client uses this; no
   * socket involved). A streamed body runs inside the request's context when it is read.
   */
  handle(source: RequestSource): Response | Promise<Response> {
    const req = new Request(source, this);
    const r = dispatch(this, req);
    if (r instanceof Response) {
      // The fast path: no cleanups can be pending here (they take the slow path).
      if (isStreamed(r)) bindStream(r, req, undefined);
      return r;
    }
    return r.then(
      (res) => {
        if (isStreamed(res)) {
          // callOnClose functions run once the body is sent (or abandoned), as in Flask.
          bindStream(res, req, req.cleanups === undefined ? undefined : () => runCleanups(this, req));
          return res;
        }
        if (req.cleanups === undefined) return res;
        return runCleanups(this, req).then(() => res);
      },
      async (err: unknown) => {
        await runCleanups(this, req);
        throw err;
      },
    );
  }

  /**
   * Serves a web `Request` (fetch-style runtimes, or tests with `fetch` objects) and resolves with a web
   * `Response`. Streamed bodies become a `ReadableStream`; cancelling it stops the stream at once (and
   * aborts `req.signal`). Bound to the app, so it can be passed on by itself, as Hono's is:
   * `serve({ fetch: app.fetch })`, `export default { fetch: app.fetch }`, `const { fetch } = app`.
   */
  readonly fetch = (request: globalThis.Request, options?: FetchOptions): Promise<globalThis.Response> =>
    handleFetch(this, request, options);

  /** A handler for node:http (or node:https): `http.createServer(app.nodeHandler())`. */
  nodeHandler(): ReturnType<typeof nodeHandler> {
    return nodeHandler(this, (err) => this.logger.error("Error while serving through node:http", err));
  }

  /**
   * Starts serving and resolves with the server once listening (print: ` * Running on http://…`).
   * Under `phial run` it does nothing: the CLI serves the app.
   */
  async run(options: RunOptions = {}): Promise<WireServer | undefined> {
    if (process.env.PHIAL_RUN_FROM_CLI === "1") return undefined;
    if (options.debug !== undefined) this.config.debug = options.debug;
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 5000;
    // As Flask's development server, every request is logged unless config.logRequests is false.
    const server = this.listen(options.server, this.config.logRequests ?? true);
    const addr = await server.listen(port, host);
    const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    this.logger.info(` * Serving Phial app "${this.name}"`);
    if (this.config.debug)
      this.logger.info(" * Debug mode: on (shows stack traces: never use it in production)");
    this.logger.info(` * Running on http://${shown}:${addr.port} (Ctrl-C to quit)`);
    // Ctrl-C and SIGTERM close gracefully; the listeners go away with the server.
    const stop = () => {
      unhook();
      this.draining = true;
      void server.close({ deadline: 10_000 }).then(() => process.exit(0));
    };
    const unhook = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const close = server.close.bind(server);
    server.close = (o) => {
      unhook();
      return close(o);
    };
    return server;
  }

  /**
   * A wire server for this app (not yet listening); errors go to `app.logger`. `accessLog` (default:
   * `config.logRequests`, else debug mode) logs each response to `app.logger` as it is sent.
   */
  listen(options: ServerOptions = {}, accessLog?: boolean): WireServer {
    const log = accessLog ?? this.config.logRequests ?? this.config.debug === true;
    const own = options.onResponse;
    let onResponse = own;
    if (log) {
      // Colour only for the default console logger writing to a terminal.
      const colour = colourWanted(process.stdout);
      onResponse = (req, res, info) => {
        const logger = this.logger;
        const entry = accessEntry(this, req, info);
        if (logger.access !== undefined) logger.access(entry);
        else logger.info(formatAccessLine(entry, colour && logger === consoleLogger));
        if (own !== undefined) own(req, res, info);
      };
    }
    const server = createServer(this.wireHandler, {
      onError: (err, req) => this.logger.error(`Error on ${req?.method ?? "?"} ${req?.url ?? "?"}`, err),
      // Body size is the app's to limit (`maxContentLength`, per route too), with its own 413 page and
      // error handlers; the wire's own cap would answer first with a plain 413 and cap every route.
      maxBodyBytes: Number.POSITIVE_INFINITY,
      handlerTimeout: this.config.handlerTimeout,
      ...options,
      onResponse,
    });
    // Closing the server drains the app: its readiness route can say so while requests finish.
    const close = server.close.bind(server);
    server.close = (o) => {
      this.draining = true;
      return close(o);
    };
    return server;
  }

  /** @internal true when any hook is registered (else the fast path is taken). */
  get hasHooks(): boolean {
    if (this.hooksSeen === hookVersion.value) return this.hooksAny;
    let any = hasHooksOf(this);
    if (!any) for (const bp of this.blueprints.values()) if (hasHooksOf(bp)) any = true;
    this.hooksAny = any;
    this.hooksSeen = hookVersion.value;
    return any;
  }

  /** @internal the scaffolds whose hooks apply to a request: the app, then outer to inner blueprints. */
  scaffoldsFor(bp: string | undefined): Scaffold[] {
    const out: Scaffold[] = [this];
    if (bp === undefined) return out;
    let i = bp.indexOf(".");
    for (;;) {
      const s = this.blueprints.get(i === -1 ? bp : bp.slice(0, i));
      if (s !== undefined) out.push(s);
      if (i === -1) break;
      i = bp.indexOf(".", i + 1);
    }
    return out;
  }

  /** @internal turns an error into a response through the registered error handlers. */
  async handleError(err: unknown, req: Request, bp: string | undefined): Promise<Response> {
    if (err instanceof RequestAbortedError) {
      // The body could not be read (client left, bad framing, too large): the client's problem.
      err = HTTPException.of(err.status >= 400 && err.status < 600 ? err.status : 400, err.message);
    }
    const chain = this.scaffoldsFor(bp).reverse(); // innermost blueprint first, the app last
    if (err instanceof HTTPException) {
      if (err.response !== undefined) return err.response;
      const h = findHandler(chain, err);
      if (h === undefined) return err.getResponse();
      return this.callErrorHandler(h, err, req);
    }
    const h = findHandler(chain, err);
    if (h !== undefined) return this.callErrorHandler(h, err, req);
    // Unhandled: a 500.
    req.unhandledError = err;
    this.logger.error(`Exception on ${req.method} ${req.path} [${req.endpoint ?? "no endpoint"}]`, err);
    if (this.config.testing && this.config.propagateExceptions !== false) throw err;
    const ise = new InternalServerError();
    ise.originalError = err;
    const h500 = findHandler(chain, ise);
    if (h500 !== undefined) return this.callErrorHandler(h500, ise, req);
    if (showDebugPage(this, req)) return debugErrorResponse(err, req);
    return ise.getResponse();
  }

  private async callErrorHandler(h: ErrorHandler<never>, err: unknown, req: Request): Promise<Response> {
    try {
      const rv = await invoke(req, isAsyncFunction(h), h as ErrorHandler<unknown>, err, req);
      return this.makeResponse(rv, req);
    } catch (e) {
      // Flask's finalize_request(from_error_handler): a failing error handler gives a plain 500.
      req.unhandledError ??= e;
      this.logger.error(`The error handler for ${describe(err)} on ${req.method} ${req.path} failed`, e);
      if (this.config.testing && this.config.propagateExceptions !== false) throw e;
      return showDebugPage(this, req) ? debugErrorResponse(e, req) : new InternalServerError().getResponse();
    }
  }

  /**
   * Turns a handler's return value into a Response (Flask's `make_response`): strings and bytes are
   * HTML, objects JSON, arrays tuples, streams streamed. Anything else is a TypeError naming the route.
   */
  makeResponse(rv: HandlerResult | undefined, req?: Request): Response {
    if (rv instanceof Response) return rv;
    if (typeof rv === "string") return new Response(rv);
    if (rv === undefined || rv === null) throw new HandlerReturnedNothing(req);
    if (Array.isArray(rv)) return this.tupleResponse(rv as readonly unknown[], req);
    if (rv instanceof HTTPException) return rv.getResponse();
    const res = valueToResponse(rv, this.json);
    if (res !== undefined) return res;
    throw new TypeError(
      `The view function for ${routeName(req)} returned ${describeValue(rv)}; ` +
        "return a string, bytes, an object (JSON), a Response, a stream, or a tuple [body, status, headers].",
    );
  }

  private tupleResponse(t: readonly unknown[], req: Request | undefined): Response {
    if (t.length < 2 || t.length > 3) throw badTuple(req, `of length ${t.length}`);
    const body = t[0];
    if (body === undefined || body === null || (typeof body !== "string" && typeof body !== "object")) {
      throw badTuple(req, `whose first item (the body) is ${describeValue(body)}`);
    }
    if (Array.isArray(body)) throw badTuple(req, "whose first item (the body) is an array");
    let status: unknown;
    let headers: unknown;
    if (t.length === 3) {
      status = t[1];
      headers = t[2];
    } else if (typeof t[1] === "number" || typeof t[1] === "string") {
      status = t[1];
    } else {
      headers = t[1];
    }
    if (status !== undefined && status !== null && typeof status !== "number" && typeof status !== "string") {
      throw badTuple(req, `whose status is ${describeValue(status)}`);
    }
    if (headers !== undefined && headers !== null && typeof headers !== "object") {
      throw badTuple(
        req,
        `whose headers are ${describeValue(headers)} (give an object, [name, value] pairs or a Headers)`,
      );
    }
    let code = 0;
    let reason = "";
    if (typeof status === "number" && Number.isInteger(status) && status >= 100 && status <= 999) {
      code = status; // the common case, without parseStatus's pair
    } else if (status !== undefined && status !== null) {
      try {
        [code, reason] = parseStatus(status as number | string);
      } catch (err) {
        throw badTuple(req, `whose status is invalid: ${(err as Error).message}`);
      }
    }
    const res = this.makeResponse(body as HandlerResult, req);
    if (code !== 0) {
      res.status = code;
      res.statusText = reason;
    }
    if (headers !== undefined && headers !== null) updateHeaders(res.headers, headers as Headers);
    return res;
  }

  /** A client that calls the app in-process (no socket) and keeps cookies. */
  testClient(): TestClient {
    return new TestClient(this);
  }
}

// Uploads: multipart/form-data is read by the streaming parser (uploads.ts), for every app.
Phial.defaultBodyLoaders.set("multipart/form-data", loadMultipart);

function hasHooksOf(s: Scaffold): boolean {
  return (
    s.beforeRequestFuncs.length > 0 || s.afterRequestFuncs.length > 0 || s.teardownRequestFuncs.length > 0
  );
}

// ---- the request pipeline -----------------------------------------------------------------------

function dispatch(app: Phial, req: Request): Response | Promise<Response> {
  let m: ReturnType<Router<RouteData>["match"]>;
  try {
    m = app.router.match(req.path, req.method, req.queryString, req.rawPath);
  } catch (err) {
    return failed(app, req, undefined, err); // only a throwing redirectTo function can get here
  }
  if (m.kind !== "match") return routingError(app, req, m);
  req.endpoint = m.rule.endpoint;
  req.urlRule = m.rule.rule;
  req.params = m.params as Record<string, unknown>;
  const data = m.rule.data;
  if (data.options.maxContentLength !== undefined) req.bodyLimit = data.options.maxContentLength;
  if (data.options.timeout !== undefined) req.source.setHandlerTimeout?.(data.options.timeout);
  if (req.method === "OPTIONS" && !m.rule.methods.has("OPTIONS")) {
    return fullDispatch(app, req, data, false, optionsResponse(app, req));
  }
  const src = req.source;
  const needsBody = data.options.streamBody !== true && (!src.bodyComplete || src.contentLength > 0);
  if (app.hasHooks) return fullDispatch(app, req, data, needsBody, undefined);
  if (needsBody) {
    // A body of declared length within the limit, for no body loader (not multipart): read it whole,
    // then the fast path. Anything else takes every step.
    const n = src.contentLength;
    if (n < 0 || n > req.maxBodyBytes || app.bodyLoaderFor(req.mimetype))
      return fullDispatch(app, req, data, true, undefined);
    return src.body().then(
      (body) => {
        req.data = body;
        return runRoute(app, req, data);
      },
      (err: unknown) => failed(app, req, data.blueprint, err),
    );
  }
  return runRoute(app, req, data);
}

/** The fast path: no hooks, the body (if any) read. A sync handler never touches a promise. */
function runRoute(app: Phial, req: Request, data: RouteData): Response | Promise<Response> {
  let rv: HandlerResult | Promise<HandlerResult>;
  try {
    rv = invoke(req, data.isAsync, data.handler as Handler, req, undefined);
    if (!isThenable(rv)) {
      const res = app.makeResponse(rv, req);
      if (req.sessionCache === undefined && req.cleanups === undefined && !sessionToRefresh(app, req))
        return res;
      return finishRequest(app, req, [app], res);
    }
  } catch (err) {
    return failed(app, req, data.blueprint, err);
  }
  return (rv as Promise<HandlerResult>).then(
    (v) => {
      const res = app.makeResponse(v, req);
      if (req.sessionCache === undefined && req.cleanups === undefined && !sessionToRefresh(app, req))
        return res;
      return finishRequest(app, req, [app], res);
    },
    (err: unknown) => failed(app, req, data.blueprint, err),
  );
}

/** An error on the fast path: the error handlers, then what every request ends with. */
async function failed(app: Phial, req: Request, bp: string | undefined, err: unknown): Promise<Response> {
  let res: Response;
  try {
    res = await app.handleError(err, req, bp);
  } catch (e) {
    await finishRequest(app, req, app.scaffoldsFor(bp), new InternalServerError().getResponse());
    throw e; // testing: propagate to the test client
  }
  return finishRequest(app, req, app.scaffoldsFor(bp), res);
}

type RoutingMiss = Exclude<ReturnType<Router<RouteData>["match"]>, { kind: "match" }>;

/**
 * No rule matched: a redirect to the slashed URL, an automatic OPTIONS, a 405 or a 404. Without hooks,
 * error handlers on the app (a miss belongs to no blueprint) or a session to refresh, nothing could
 * change the answer, so it is made right here: no exception (and its stack trace), no promise.
 */
function routingError(app: Phial, req: Request, m: RoutingMiss): Response | Promise<Response> {
  const plain =
    !app.hasHooks &&
    app.statusHandlers.size === 0 &&
    app.classHandlers.length === 0 &&
    !refreshWanted(app, req); // a permanent session is refreshed on a 404 too
  if (m.kind === "redirect") {
    const res = new Response(null, { status: 308 });
    // Behind a prefix (applicationRoot, a trusted X-Forwarded-Prefix) the client's URL starts with it.
    const root = m.location.charCodeAt(0) === 0x2f ? req.scriptRoot : "";
    res.headers.set("Location", root + m.location);
    return plain ? res : fullDispatch(app, req, undefined, false, res);
  }
  if (m.kind === "methodNotAllowed") {
    const e = new MethodNotAllowed(m.allowed);
    return plain ? e.getResponse() : fullDispatch(app, req, undefined, false, e);
  }
  if (plain) return notFoundResponse();
  return fullDispatch(app, req, undefined, false, new NotFound());
}

/** Every step, for requests with a body or with hooks, and for routing errors. */
async function fullDispatch(
  app: Phial,
  req: Request,
  data: RouteData | undefined,
  needsBody: boolean,
  early: Response | HTTPException | undefined,
): Promise<Response> {
  const bp = data?.blueprint;
  const scaffolds = app.scaffoldsFor(bp);
  let res: Response;
  try {
    res = await runView(app, req, scaffolds, data, needsBody, early);
  } catch (err) {
    try {
      res = await app.handleError(err, req, bp);
    } catch (e) {
      await finishRequest(app, req, scaffolds, new InternalServerError().getResponse());
      throw e; // testing: propagate to the test client
    }
  }
  return finishRequest(app, req, scaffolds, res);
}

async function runView(
  app: Phial,
  req: Request,
  scaffolds: Scaffold[],
  data: RouteData | undefined,
  needsBody: boolean,
  early: Response | HTTPException | undefined,
): Promise<Response> {
  if (needsBody) await loadBody(app, req);
  for (const s of scaffolds) {
    for (const fn of s.beforeRequestFuncs as BeforeRequestHook[]) {
      const rv = await invoke(req, isAsyncFunction(fn), fn, req, undefined);
      if (rv !== undefined && rv !== null) return app.makeResponse(rv, req);
    }
  }
  if (early !== undefined) {
    if (early instanceof HTTPException) throw early;
    return early;
  }
  const rv = await invoke(req, data!.isAsync, data!.handler as Handler, req, undefined);
  return app.makeResponse(rv, req);
}

/** afterRequest hooks (innermost blueprint first, each in reverse), the session, teardown, cleanups. */
async function finishRequest(
  app: Phial,
  req: Request,
  scaffolds: Scaffold[],
  res: Response,
): Promise<Response> {
  try {
    for (let i = scaffolds.length - 1; i >= 0; i--) {
      const fns = scaffolds[i]!.afterRequestFuncs as AfterRequestHook[];
      for (let j = fns.length - 1; j >= 0; j--) {
        const fn = fns[j]!;
        const r = await invoke(req, isAsyncFunction(fn), fn, res, req);
        if (r !== undefined && r !== null) {
          if (!(r instanceof Response)) {
            throw new TypeError(
              `An afterRequest hook returned ${describeValue(r)}; return the response (or a new Response) or nothing`,
            );
          }
          res = r;
        }
      }
    }
    if (req.sessionCache === undefined) sessionToRefresh(app, req);
    const s = req.sessionCache;
    if (s !== undefined && app.sessionInterface !== undefined)
      await app.sessionInterface.save(app, s, req, res);
  } catch (err) {
    req.unhandledError ??= err;
    app.logger.error(
      `Exception while finishing ${req.method} ${req.path} (afterRequest hook or session)`,
      err,
    );
    res = showDebugPage(app, req) ? debugErrorResponse(err, req) : new InternalServerError().getResponse();
  } finally {
    for (let i = scaffolds.length - 1; i >= 0; i--) {
      const fns = scaffolds[i]!.teardownRequestFuncs as TeardownHook[];
      for (let j = fns.length - 1; j >= 0; j--) {
        const fn = fns[j]!;
        try {
          await invoke(req, isAsyncFunction(fn), fn, req.unhandledError, req);
        } catch (err) {
          app.logger.error("Exception in a teardownRequest hook", err);
        }
      }
    }
  }
  return res;
}

/**
 * A request whose session the app never touched may still need it saved (a permanent session's cookie
 * is refreshed on every request, Flask's SESSION_REFRESH_EACH_REQUEST): then it is opened (lazily, not
 * verified yet) and true returned. Without a session cookie this is a scan of the header names.
 */
function sessionToRefresh(app: Phial, req: Request): boolean {
  return refreshWanted(app, req) && req.session !== undefined; // opens it
}

/** The session interface wants this request's session saved though the app never touched it. */
function refreshWanted(app: Phial, req: Request): boolean {
  const si = app.sessionInterface;
  return si?.refreshes?.(app, req) === true;
}

/** The request's callOnClose functions, each once; errors logged. */
async function runCleanups(app: Phial, req: Request): Promise<void> {
  const cleanups = req.cleanups;
  if (cleanups === undefined) return;
  req.cleanups = undefined;
  for (const fn of cleanups) {
    try {
      await fn();
    } catch (err) {
      app.logger.error("Exception in a callOnClose function", err);
    }
  }
}

function isStreamed(res: Response): boolean {
  const b = res.body;
  return b !== null && typeof b === "object" && !(b instanceof Uint8Array);
}

/** Reads the body before the handler, within `config.maxContentLength` (413 beyond). */
async function loadBody(app: Phial, req: Request): Promise<void> {
  const loader = app.bodyLoaderFor(req.mimetype);
  if (loader !== undefined) {
    await loader(req);
    return;
  }
  const max = req.maxBodyBytes;
  const src = req.source;
  if (src.contentLength > max) throw tooLarge(max);
  if (src.contentLength >= 0) {
    // The length is declared (and within the limit): the wire delivers exactly that, in one piece.
    req.data = await src.body();
    return;
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of src) {
    total += chunk.length;
    if (total > max) throw tooLarge(max);
    parts.push(chunk);
  }
  req.data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

function optionsResponse(app: Phial, req: Request): Response {
  const res = new Response(null);
  res.headers.set("Allow", app.router.allowedMethods(req.path, req.rawPath).join(", "));
  return res;
}

/**
 * The debug page shows source code, so only in debug mode and only to a client on this machine
 * (loopback), unless `config.debugPageForRemote` says otherwise (e.g. a dev container).
 */
function showDebugPage(app: Phial, req: Request): boolean {
  if (app.config.debug !== true) return false;
  if (app.config.debugPageForRemote === true) return true;
  const a = req.remoteAddr;
  return a === "::1" || a.startsWith("127.") || a.startsWith("::ffff:127.");
}

/** The error for a returned array that is not a valid tuple (a JSON array needs jsonify()). */
function badTuple(req: Request | undefined, what: string): TypeError {
  return new TypeError(
    `The view function for ${routeName(req)} returned an array ${what}. Arrays are tuples: ` +
      "[body, status], [body, headers] or [body, status, headers]. Wrap JSON arrays in jsonify().",
  );
}

/** Debug mode only: the exception, the stack with the app's source lines, the request. */
function debugErrorResponse(err: unknown, req: Request): Response {
  const summary = { method: req.method, url: req.url, headers: req.headers, remoteAddr: req.remoteAddr };
  if (wantsHtml(req.header("accept"))) {
    return new Response(renderDebugHtml(err, summary), {
      status: 500,
      contentType: "text/html; charset=utf-8",
    });
  }
  return new Response(renderDebugText(err, summary), {
    status: 500,
    contentType: "text/plain; charset=utf-8",
  });
}

/**
 * The handler for an error: status handlers first (innermost blueprint to the app), then class handlers
 * (innermost blueprint to the app, each walking from the error's own class to its ancestors).
 */
function findHandler(chain: readonly Scaffold[], err: unknown): ErrorHandler<never> | undefined {
  if (err instanceof HTTPException) {
    for (const s of chain) {
      const h = s.statusHandlers.get(err.status);
      if (h !== undefined) return h;
    }
  }
  if (err === null || typeof err !== "object") return undefined;
  for (const s of chain) {
    if (s.classHandlers.length === 0) continue;
    for (
      let proto = Object.getPrototypeOf(err) as object | null;
      proto !== null;
      proto = Object.getPrototypeOf(proto)
    ) {
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

// ---- writing to the wire ------------------------------------------------------------------------

/** Makes a streamed body run inside the request's context (Flask's stream_with_context, always on). */
function bindStream(res: Response, req: Request, onEnd: (() => Promise<void>) | undefined): void {
  const body = res.body as StreamBody | ReadableStream<Chunk>;
  const web = body instanceof ReadableStream;
  // A Node stream (anything with destroy()): destroying it also ends a pending read of its iterator.
  const destroy = web ? undefined : (body as { destroy?: unknown }).destroy;
  const source = body as StreamBody;
  let it: AsyncIterator<Chunk> | Iterator<Chunk> | undefined;
  // The cleanups, once: when the stream ends, fails, is closed or stopped.
  let ending: Promise<void> | undefined;
  const end = (): Promise<void> => {
    ending ??= onEnd === undefined ? Promise.resolve() : onEnd();
    return ending;
  };
  const open = () =>
    web
      ? readerIterator(body)
      : Symbol.asyncIterator in source
        ? (source as AsyncIterable<Chunk>)[Symbol.asyncIterator]()
        : (source as Iterable<Chunk>)[Symbol.iterator]();
  const done = { done: true as const, value: undefined };
  const bound: AsyncIterable<Chunk> & { [BOUND]: true } = {
    [BOUND]: true,
    [Symbol.asyncIterator](): StoppableIterator {
      return {
        next: () =>
          runWithRequest(req, async () => {
            it ??= open();
            let r: IteratorResult<Chunk>;
            try {
              r = await it.next();
            } catch (err) {
              await end();
              throw err;
            }
            if (r.done) await end();
            return r;
          }),
        return: (value?: unknown) =>
          runWithRequest(req, async () => {
            try {
              if (it === undefined) {
                if (web) {
                  await body.cancel().catch(() => undefined);
                  return done;
                }
                // Never read (HEAD, client gone): still close it, e.g. a file stream's descriptor.
                if (typeof destroy === "function") {
                  (destroy as () => void).call(source);
                  return done;
                }
                it = open();
              }
              if (typeof it.return === "function") await it.return(value as undefined);
              return done;
            } finally {
              await end();
            }
          }),
        [STOP]: () => {
          if (ending !== undefined) return ending.then(undefined, () => undefined); // over already
          runWithRequest(req, () => {
            try {
              if (it === undefined && web) {
                void body.cancel().catch(() => undefined);
              } else if (typeof destroy === "function") {
                (destroy as () => void).call(source);
              } else {
                // An async generator suspended at an await runs this (its finally blocks) only once that
                // await settles and it reaches its next yield: JavaScript can't cut an await short. A
                // ReadableStream's reader, or an iterator such as events.on()'s, ends at once.
                it ??= open();
                closeIterator(it);
              }
            } catch {
              // a source failing as it stops: the client is gone, nobody to tell
            }
          });
          // The cleanups don't wait for the source: a wait that never settles would hold them forever.
          return end().then(undefined, (err: unknown) =>
            req.app.logger.error("Exception in a callOnClose function", err),
          );
        },
      };
    },
  };
  res.body = bound;
}

const BOUND = Symbol("phial.boundStream");

/** Writes a response to the wire; a streamed body with backpressure. */
function writeResponse(res: Response, out: ServerResponse): unknown {
  if (out.closed) {
    closeBody(res.body);
    return undefined;
  }
  out.statusCode = res.status;
  if (res.statusText !== "") out.statusMessage = res.statusText;
  // Headers checked every field as it was set (constants aside): the wire needn't check them again.
  // The wire takes the list itself (nothing changes it once the response is being written).
  out.adoptCheckedHeaders(res.headers.raw() as string[]);
  const body = res.body;
  if (body === null) {
    out.end();
    return undefined;
  }
  if (typeof body === "string" || body instanceof Uint8Array) {
    out.end(body);
    return undefined;
  }
  const sized = res.headers.get("content-length") !== undefined;
  if (out.request.method === "HEAD" || res.status === 204 || res.status === 304) {
    closeBody(body);
    // Without a declared length, send no Content-Length at all (a GET would be chunked).
    if (!sized) void out.write("");
    out.end();
    return undefined;
  }
  return pipeBody(body as StreamBody, out, sized);
}

/**
 * Streams a body to the wire with backpressure. When the client leaves (the request's signal aborts)
 * the source is stopped at once, even while it is waiting for its next value (an SSE loop awaiting an
 * event), and the request's cleanups run. A client that only half-closed its side looks the same as one
 * that left, so a body without a declared length (SSE, generated output: it ends only when the client
 * goes) stops then too; a body with a length (a file) is finite and still goes out whole to it, unless
 * the connection itself is gone.
 */
async function pipeBody(body: StreamBody, out: ServerResponse, sized: boolean): Promise<void> {
  const it = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator]() as StoppableIterator;
  await pumpStream(
    it,
    out.request.signal,
    (chunk) => out.write(chunk),
    () => !sized || out.closed,
    () => out.closed,
  );
  if (!out.finished) out.end();
}

function joinPrefix(prefix: string, rule: string): string {
  if (prefix === "") return rule;
  const p = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (rule === "" || rule === "/") return rule === "/" ? `${p}/` : p;
  return rule.startsWith("/") ? `${p}${rule}` : `${p}/${rule}`;
}
