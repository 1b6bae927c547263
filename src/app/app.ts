// The application object, Flask's `Flask` class: it registers rules, hooks, error handlers, blueprints
// and converters, holds the config, the logger, the session interface and the template engine, and
// serves itself (`run`, `listen`, `fetch`, `nodeHandler`, `testClient`). What happens to one request is
// the dispatch pipeline's (dispatch.ts); this file only hands requests to it.
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
//
// This is the top of src/app: it may import anything below it; nothing under src/app imports a value
// from it (types only, erased at run time, as Flask's modules import `Flask` under TYPE_CHECKING).

import type { Socket } from "node:net";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { IncomingRequest, ServerOptions, ServerResponse, Server as WireServer } from "../http/index.ts";
import { createServer } from "../http/index.ts";
import type { Blueprint, RegisterOptions } from "./blueprint.ts";
import { CommandGroup } from "./commands.ts";
import { type Config, createConfig } from "./config.ts";
import { currentRequest, isAsyncFunction, runWithRequest, setLastApp } from "./context.ts";
import { handleRequest, type RouteData } from "./dispatch.ts";
import { type SendFromDirectoryOptions, sendFromFolder } from "./files/send-file.ts";
import { loadMultipart } from "./files/uploads.ts";
import { isWebSocketUpgrade, WebSocketHub } from "./realtime/websocket.ts";
import { makeViewResponse } from "./return-value.ts";
import { type BuildOptions, type ConverterFactory, Router } from "./routing/index.ts";
import {
  type Handler,
  type HandlerResult,
  hookVersion,
  type RouteOptions,
  Scaffold,
  type TeardownAppcontextHook,
} from "./scaffold.ts";
import {
  type AccessLogEntry,
  accessEntry,
  colourWanted,
  escapeControls,
  formatAccessLine,
} from "./serving/access-log.ts";
import { type FetchOptions, handleFetch, nodeHandler } from "./serving/adapters.ts";
import { calledFromMain, listenErrorMessage, noteSkippedRun } from "./serving/run-guard.ts";
import { writeResponse } from "./serving/write.ts";
import { CookieSessionInterface } from "./sessions/app-sessions.ts";
import { beforeRenderTemplate, signalReceivers, templateRendered } from "./signals.ts";
import { createTemplates } from "./templates/app-templates.ts";
import type { TemplateContext, TemplateEnvironment } from "./templates/environment.ts";
import { makeTestRequest, TestClient } from "./testing.ts";
import type { UrlForArgs } from "./url-for.ts";
import { hasSchemas, type RouteDocs, type RouteSchemas, validatedHandler } from "./validation/index.ts";
import type { HeadersInit } from "./wrappers/headers.ts";
import { ProxySettings } from "./wrappers/proxy.ts";
import type { Request, RequestSource, SessionLike } from "./wrappers/request.ts";
import { defaultJson, type JsonProvider, Response } from "./wrappers/response.ts";

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
  /**
   * Optional: an async step before the request is dispatched, for stores outside the request (Redis):
   * read what `open` will need and keep it. Return undefined when there is nothing to wait for (no
   * session cookie), so such requests take no promise. Must not reject: keep a failure for `open`.
   */
  load?(app: Phial, req: Request): Promise<void> | undefined;
  /** Called on first access to `req.session`; must be sync (cookies are there, `load` has run). */
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

export class Phial extends Scaffold {
  /** The folder of the app's file; relative folders resolve against it, never the cwd. */
  readonly root: string;
  readonly config: Config;
  /** Commands for the `phial` command line: `app.cli.command("init-db", fn)`, run by `phial init-db`. */
  readonly cli = new CommandGroup<Phial>();
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
  /**
   * The WebSocket connections of `app.websocket` routes: `app.websockets.publish(room, data)`, `.rooms`
   * (set `.rooms.pubsub` to share rooms between processes), `.connections`, `.closeAll()`.
   */
  readonly websockets: WebSocketHub = new WebSocketHub((m, e) => this.logger.error(m, e));
  private readonly endpoints = new Map<string, Handler<never>>();
  private hooksSeen = -1;
  /** @internal a route or blueprint has a CORS policy */ private corsInRoutes = false;
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
    setLastApp(this);
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
  sendStaticFile(filename: string, options: SendFromDirectoryOptions = {}): Promise<Response> {
    if (this.staticFolder === null) {
      throw new Error(
        "sendStaticFile(): this app has no static folder (it was created with staticFolder: null)",
      );
    }
    return sendFromFolder(currentRequest(), this, this.staticFolder, filename, options, true);
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
    // A class-based view's function carries its methods (Flask's `view_func.methods`).
    const viewMethods = (handler as { methods?: readonly string[] }).methods;
    const methods = (options.methods ?? (Array.isArray(viewMethods) ? viewMethods : ["GET"])).map((m) =>
      m.toUpperCase(),
    );
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
    if (options.cors !== undefined && options.cors !== false) this.corsInRoutes = true;
    // A route with schemas gets its handler wrapped once here; others are registered untouched.
    let run = hasSchemas(options)
      ? (validatedHandler(rule, options, handler as never) as Handler<never>)
      : handler;
    // A class-based view with per-method schemas: each method's requests through its own checks.
    const methodOptions = (handler as { methodSchemas?: Readonly<Record<string, RouteSchemas & RouteDocs>> })
      .methodSchemas;
    if (methodOptions !== undefined) run = perMethodHandler(rule, options, methodOptions, handler, run);
    this.router.add(rule, {
      endpoint,
      methods,
      defaults: options.defaults,
      strictSlashes: options.strictSlashes,
      automaticOptions: options.provideAutomaticOptions ?? this.config.provideAutomaticOptions !== false,
      redirectTo: options.redirectTo,
      buildOnly: options.buildOnly,
      data: { handler: run, isAsync: isAsyncFunction(handler), blueprint: bpName, options, methodOptions },
    });
  }

  /**
   * Runs when the app context ends, after the request's teardown hooks, with the unhandled error if any
   * (Flask's `teardown_appcontext`: close a database connection kept in `g`). Phial has one context per
   * request, so this runs once per request, last.
   */
  teardownAppcontext(fn: TeardownAppcontextHook): this {
    this.teardownAppcontextFuncs.push(fn);
    hookVersion.value++;
    return this;
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
    if (bp.corsOptions !== undefined) this.corsInRoutes = true;
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
    if (signalReceivers.count === 0) return this.templates.render(name, context);
    return this.renderSignalled(typeof name === "string" ? name : name.join(" | "), context, () =>
      this.templates.render(name, context),
    );
  }

  /** beforeRenderTemplate and templateRendered around a render. */
  private async renderSignalled(
    template: string,
    context: TemplateContext | undefined,
    render: () => Promise<string>,
  ): Promise<string> {
    const values = { template, context: { ...(context ?? {}) } };
    beforeRenderTemplate.send(this, values);
    const out = await render();
    templateRendered.send(this, values);
    return out;
  }

  /** A macro or top-level variable of a template (Flask's `get_template_attribute`). */
  getTemplateAttribute(name: string, attribute: string): Promise<unknown> {
    return this.templates.getAttribute(name, attribute);
  }

  /** Renders template source (autoescaped). Never pass source that came from a user. */
  renderTemplateString(source: string, context?: TemplateContext): Promise<string> {
    if (signalReceivers.count === 0) return this.templates.renderString(source, context);
    return this.renderSignalled("<string>", context, () => this.templates.renderString(source, context));
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
    // urlDefaults of the app, then of the endpoint's blueprints (outer to inner), fill in values.
    const dot = name.lastIndexOf(".");
    for (const s of this.scaffoldsFor(dot === -1 ? undefined : name.slice(0, dot))) {
      for (const fn of s.urlDefaultFuncs) fn(name, params);
    }
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
    return handleRequest(this, source);
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
   * As Flask's `if __name__ == "__main__": app.run()`, it serves only when called from the module Node
   * was started with (`npx tsx app.ts`, `node app.js`); imported by a test, by `phial run` or by
   * another module, it does nothing and resolves with undefined.
   */
  async run(options: RunOptions = {}): Promise<WireServer | undefined> {
    if (process.env.PHIAL_RUN_FROM_CLI === "1" || !calledFromMain()) {
      noteSkippedRun(this);
      return undefined;
    }
    if (options.debug !== undefined) this.config.debug = options.debug;
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 5000;
    // As Flask's development server, every request is logged unless config.logRequests is false.
    const server = this.listen(options.server, this.config.logRequests ?? true);
    let addr: Awaited<ReturnType<WireServer["listen"]>>;
    try {
      addr = await server.listen(port, host);
    } catch (err) {
      // As Flask's dev server: say what happened and what to do in one line, and exit.
      const message = listenErrorMessage(err, host, port, `app.run({ port: ${port + 1} })`);
      if (message === undefined) throw err;
      process.stderr.write(`${message}\n`);
      process.exit(1);
    }
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
      onError: (err, req) =>
        this.logger.error(`Error on ${req?.method ?? "?"} ${escapeControls(req?.url ?? "?")}`, err),
      // Body size is the app's to limit (`maxContentLength`, per route too), with its own 413 page and
      // error handlers; the wire's own cap would answer first with a plain 413 and cap every route.
      maxBodyBytes: Number.POSITIVE_INFINITY,
      // WebSocket upgrade requests go through the pipeline to the app's WebSocket routes (unless given
      // an onUpgrade); other upgrades (h2c) are ordinary requests on a connection that stays open.
      onUpgrade: this.upgradeHandler,
      upgradeFilter: options.onUpgrade === undefined ? wantsWebSocket : undefined,
      handlerTimeout: this.config.handlerTimeout,
      ...options,
      onResponse,
    });
    // Closing the server drains the app (its readiness route can say so while requests finish) and
    // closes the app's WebSockets with 1001 (going away), within the same deadline.
    const close = server.close.bind(server);
    server.close = (o) => {
      this.draining = true;
      const deadline = o?.deadline ?? 10_000;
      return Promise.all([close(o), this.websockets.closeAll(1001, "server shutting down", deadline)]).then(
        () => undefined,
      );
    };
    return server;
  }

  /**
   * The wire's `onUpgrade` for this app: the request is dispatched like any other (routing, hooks,
   * session); a WebSocket route's 101 hands the socket to `ws`, any other answer is written and the
   * socket closed.
   */
  readonly upgradeHandler = (req: IncomingRequest, socket: Socket, head: Buffer): void => {
    socket.on("error", ignoreError); // a reset while dispatching; ws adds its own later
    // A synchronous pipeline (no async hook or session store) completes the handshake in this same
    // turn, as `ws` on node:http does: no promise chain per upgrade.
    let res: Response | Promise<Response>;
    try {
      res = this.handle(req);
      if (res instanceof Response) {
        const done = this.websockets.complete(res, req, socket, head);
        if (done !== undefined) done.catch((err: unknown) => this.upgradeFailed(req, socket, err));
        return;
      }
    } catch (err) {
      this.upgradeFailed(req, socket, err);
      return;
    }
    res
      .then((r) => this.websockets.complete(r, req, socket, head))
      .catch((err: unknown) => this.upgradeFailed(req, socket, err));
  };

  private upgradeFailed(req: IncomingRequest, socket: Socket, err: unknown): void {
    this.logger.error(`Error on the upgrade request ${req.method} ${req.url}`, err);
    socket.destroy();
  }

  /** @internal true when some route, blueprint or the app has a CORS policy. */
  get corsUsed(): boolean {
    return this.corsInRoutes || this.corsOptions !== undefined;
  }

  /** @internal responses get CORS grants or security headers after the pipeline. */
  get decoratesResponses(): boolean {
    const c = this.config;
    return (
      this.corsInRoutes ||
      this.corsOptions !== undefined ||
      c.securityHeaders !== false ||
      c.compression !== false
    );
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

  /**
   * Turns a handler's return value into a Response (Flask's `make_response`): strings and bytes are
   * HTML, objects JSON, arrays tuples, streams streamed. Anything else is a TypeError naming the route.
   */
  makeResponse(rv: HandlerResult | undefined, req?: Request): Response {
    return makeViewResponse(rv, req, this.json);
  }

  /** A client that calls the app in-process (no socket) and keeps cookies. */
  testClient(): TestClient {
    return new TestClient(this);
  }

  /**
   * Runs `fn` inside a request context for `path` (Flask's `with app.test_request_context(path):`):
   * `request`, `g`, `session`, `urlFor` and `renderTemplate` work as in a view. Nothing is dispatched:
   * no hooks run.
   */
  testRequestContext<R>(
    path: string,
    fn: (req: Request) => R,
    options: { method?: string; headers?: HeadersInit; query?: Record<string, string | number> } = {},
  ): R {
    const req = makeTestRequest(this, path, options);
    return runWithRequest(req, () => fn(req));
  }
}

// Uploads: multipart/form-data is read by the streaming parser (uploads.ts), for every app.
Phial.defaultBodyLoaders.set("multipart/form-data", loadMultipart);

/**
 * The handler of a class-based view whose class declares `schemas`: a method with schemas goes through
 * its own checks (the route's options, then the method's), the others straight to the view. Built once
 * at registration; per request one Map lookup.
 */
function perMethodHandler(
  rule: string,
  options: RouteOptions,
  byMethod: Readonly<Record<string, RouteSchemas & RouteDocs>>,
  bare: Handler<never>,
  view: Handler<never>,
): Handler<never> {
  const checked = new Map<string, Handler<never>>();
  for (const [method, s] of Object.entries(byMethod)) {
    // The route's schemas and the method's, checked once, around the bare view.
    const merged = { ...options, ...s };
    if (hasSchemas(s)) {
      checked.set(method, validatedHandler(`${method} ${rule}`, merged, bare as never) as Handler<never>);
    }
  }
  if (checked.size === 0) return view;
  return function methodView(req: Request) {
    const h = checked.get(req.method);
    return h === undefined ? view(req as never) : h(req as never);
  } as Handler<never>;
}

function ignoreError(): void {}

function wantsWebSocket(req: IncomingRequest): boolean {
  return isWebSocketUpgrade(req.header("upgrade"));
}

function hasHooksOf(s: Scaffold): boolean {
  return (
    s.beforeRequestFuncs.length > 0 ||
    s.afterRequestFuncs.length > 0 ||
    s.teardownRequestFuncs.length > 0 ||
    s.urlValuePreprocessors.length > 0 ||
    s.teardownAppcontextFuncs.length > 0 ||
    signalReceivers.count > 0
  );
}

function joinPrefix(prefix: string, rule: string): string {
  if (prefix === "") return rule;
  const p = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (rule === "" || rule === "/") return rule === "/" ? `${p}/` : p;
  return rule.startsWith("/") ? `${p}${rule}` : `${p}/${rule}`;
}
