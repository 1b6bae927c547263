// The request pipeline, Flask's `wsgi_app` → `full_dispatch_request`: match the rule → read the body →
// before-request hooks → the view → its return value made a Response → after-request hooks, the
// session saved, teardown hooks and callOnClose cleanups; errors through the registered handlers.
// Requests with no hooks, no body to load and no session take a fast path that never touches a promise
// for a sync view. Writing the result to a socket is serving/write.ts's job.
//
// The `Phial` class (app.ts) registers rules, hooks and blueprints and calls `handleRequest`; this
// module reads the app's registries through its type only (nothing here imports app.ts at run time).

import { unlink } from "node:fs/promises";
import { RequestAbortedError } from "../http/index.ts";
import type { Phial } from "./app.ts";
import { invoke, isAsyncFunction, runWithRequest } from "./context.ts";
import { debugErrorResponse, showDebugPage } from "./debug/page.ts";
import { spoolBody } from "./files/spool.ts";
import {
  applySecurityHeaders,
  type CorsPolicy,
  checkCsrfOrigin,
  checkCsrfToken,
  compileCors,
  csrfTokenInBody,
  isPreflight,
  type SecurityHeadersOptions,
  simpleBody,
  unsafeMethod,
} from "./protections/index.ts";
import { makeViewResponse } from "./return-value.ts";
import type { Router } from "./routing/index.ts";
import type {
  AfterRequestHook,
  BeforeRequestHook,
  ErrorHandler,
  Handler,
  HandlerResult,
  RouteOptions,
  Scaffold,
  TeardownHook,
} from "./scaffold.ts";
import { escapeControls } from "./serving/access-log.ts";
import { type CompressionOptions, compressResponse } from "./serving/compression.ts";
import {
  type Chunk,
  closeIterator,
  describeValue,
  readerIterator,
  STOP,
  type StoppableIterator,
  type StreamBody,
} from "./serving/streams.ts";
import {
  appcontextTearingDown,
  gotRequestException,
  requestFinished,
  requestStarted,
  requestTearingDown,
  signalReceivers,
} from "./signals.ts";
import type { RouteDocs, RouteSchemas } from "./validation/types.ts";
import {
  BadRequest,
  HTTPException,
  InternalServerError,
  MethodNotAllowed,
  NotFound,
  notFoundResponse,
} from "./wrappers/exceptions.ts";
import { hostMatches, hostName } from "./wrappers/proxy.ts";
import { BodyNotRead, Request, type RequestSource } from "./wrappers/request.ts";
import { Response, redirect } from "./wrappers/response.ts";

/** What the router keeps for each rule. */
export interface RouteData {
  handler: Handler<never>;
  isAsync: boolean;
  /** Dotted name of the blueprint the route belongs to, or undefined for the app. */
  blueprint: string | undefined;
  options: RouteOptions;
  /** A class-based view's schemas and docs by upper-case method (`View.schemas`). */
  methodOptions?: Readonly<Record<string, RouteSchemas & RouteDocs>> | undefined;
}

/**
 * Handles one request in-process and resolves with the Response (the test client uses this; no
 * socket involved). A streamed body runs inside the request's context when it is read.
 */
export function handleRequest(app: Phial, source: RequestSource): Response | Promise<Response> {
  const req = new Request(source, app);
  const si = app.sessionInterface;
  const loading = si?.load === undefined ? undefined : si.load(app, req);
  const inner =
    loading === undefined
      ? dispatch(app, req)
      : loading.then(
          () => dispatch(app, req),
          (err: unknown) => {
            app.logger.error("The session interface's load() failed; the request goes on without it", err);
            return dispatch(app, req);
          },
        );
  const r = app.decoratesResponses ? decorate(app, req, inner) : inner;
  if (r instanceof Response) {
    // The fast path: no cleanups can be pending here (they take the slow path).
    if (isStreamed(r)) bindStream(r, req, undefined);
    return r;
  }
  return r.then(
    (res) => {
      if (isStreamed(res)) {
        // callOnClose functions run once the body is sent (or abandoned), as in Flask.
        bindStream(res, req, req.cleanups === undefined ? undefined : () => runCleanups(app, req));
        return res;
      }
      if (req.cleanups === undefined) return res;
      return runCleanups(app, req).then(() => res);
    },
    async (err: unknown) => {
      await runCleanups(app, req);
      throw err;
    },
  );
}

function dispatch(app: Phial, req: Request): Response | Promise<Response> {
  const trusted = app.config.trustedHosts;
  if (trusted !== undefined && trusted !== null && !hostMatches(hostName(req.host), trusted)) {
    return fullDispatch(app, req, undefined, false, untrustedHost(req.host));
  }
  let m: ReturnType<Router<RouteData>["match"]>;
  try {
    m = app.router.domainMatching
      ? matchOnDomain(app, req)
      : app.router.match(req.path, req.method, req.queryString, req.rawPath);
  } catch (err) {
    return failed(app, req, undefined, err); // only a throwing redirectTo function can get here
  }
  if (m.kind !== "match") {
    const appCors = app.corsOptions;
    if (appCors !== undefined) {
      // The app's policy covers every path, as Flask-CORS's `CORS(app)` and @fastify/cors do: a 404, 405
      // or redirect is readable cross-origin (else the page sees a CORS error, not the status), and a
      // preflight for a path no route has is answered, so that the request itself then gets its 404.
      const policy = compileCors(appCors);
      corsOf.set(req, policy);
      if (isPreflight(req))
        return policy.preflight(
          req,
          req.header("origin")!,
          m.kind === "methodNotAllowed" ? m.allowed : undefined,
        );
    }
    return routingError(app, req, m);
  }
  req.endpoint = m.rule.endpoint;
  req.urlRule = m.rule.rule;
  req.params = m.params as Record<string, unknown>;
  const data = m.rule.data;
  if (data.options.maxContentLength !== undefined) req.bodyLimit = data.options.maxContentLength;
  if (data.options.timeout !== undefined) req.source.setHandlerTimeout?.(data.options.timeout);
  if (app.corsUsed) {
    const policy = corsFor(app, data);
    if (policy !== undefined) {
      corsOf.set(req, policy);
      // A preflight is answered before any hook: it carries no credentials, a login check would refuse it.
      if (isPreflight(req)) return policy.preflight(req, req.header("origin")!, [...m.rule.methods]);
    }
  }
  if (req.method === "OPTIONS" && !m.rule.methods.has("OPTIONS")) {
    return fullDispatch(app, req, data, false, optionsResponse(app, req));
  }
  const src = req.source;
  const needsBody = data.options.streamBody !== true && (!src.bodyComplete || src.contentLength > 0);
  if (unsafeMethod(req.method) && csrfWanted(app, req, data)) {
    return fullDispatch(app, req, data, needsBody, undefined, true);
  }
  if (app.hasHooks) return fullDispatch(app, req, data, needsBody, undefined);
  if (needsBody) {
    // A body of declared length within the limit, for no body loader (not multipart): read it whole,
    // then the fast path. Anything else takes every step.
    const n = src.contentLength;
    if (n < 0 || n > req.maxBodyBytes || app.bodyLoaderFor(req.mimetype) || n > app.config.bodyMemorySize)
      return fullDispatch(app, req, data, true, undefined);
    // Most often the body came with the head (the wire hands the handler a small body complete): no
    // promise at all then.
    const now = src.bodyNow === undefined ? undefined : src.bodyNow();
    if (now !== undefined) {
      req.data = now;
      return runRoute(app, req, data);
    }
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

/** Host or subdomain matching: the request's domain, then its path; a host not under serverName is a 404. */
export function matchOnDomain(app: Phial, req: Request): ReturnType<Router<RouteData>["match"]> {
  const domain = app.requestDomain(req);
  if (domain === undefined) return { kind: "notFound" };
  return app.router.matchDomain(domain, req.path, req.method, req.queryString, req.rawPath);
}

/** The fast path: no hooks, the body (if any) read. A sync handler never touches a promise. */
function runRoute(app: Phial, req: Request, data: RouteData): Response | Promise<Response> {
  let rv: HandlerResult | Promise<HandlerResult>;
  try {
    rv = invoke(req, data.isAsync, data.handler as Handler, req, undefined);
    if (!isThenable(rv)) {
      const res = makeViewResponse(rv, req, app.json);
      if (req.sessionCache === undefined && req.cleanups === undefined && !sessionToRefresh(app, req))
        return res;
      return finishRequest(app, req, [app], res);
    }
  } catch (err) {
    return failed(app, req, data.blueprint, err);
  }
  return (rv as Promise<HandlerResult>).then(
    (v) => {
      const res = makeViewResponse(v, req, app.json);
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
    res = await handleError(app, err, req, bp);
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
/** Flask 3.1's SecurityError for a Host outside `config.trustedHosts`: a 400. */
function untrustedHost(host: string): BadRequest {
  const shown = host.length > 100 ? `${host.slice(0, 100)}…` : host;
  return new BadRequest(
    `The host ${JSON.stringify(shown)} is not one of this app's trusted hosts (config.trustedHosts).`,
  );
}

function routingError(app: Phial, req: Request, m: RoutingMiss): Response | Promise<Response> {
  const plain =
    !app.hasHooks &&
    app.statusHandlers.size === 0 &&
    app.classHandlers.length === 0 &&
    !refreshWanted(app, req); // a permanent session is refreshed on a 404 too
  if (m.kind === "redirect") {
    // Behind a prefix (applicationRoot, a trusted X-Forwarded-Prefix) the client's URL starts with it.
    const root = m.location.charCodeAt(0) === 0x2f ? req.scriptRoot : "";
    // Werkzeug's RequestRedirect: a 308 with the small "Redirecting..." page.
    const res = redirect(root + m.location, 308);
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
  csrf = false,
): Promise<Response> {
  const bp = data?.blueprint;
  const scaffolds = app.scaffoldsFor(bp);
  let res: Response;
  try {
    res = await runView(app, req, scaffolds, data, needsBody, early, csrf);
  } catch (err) {
    try {
      res = await handleError(app, err, req, bp);
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
  csrf: boolean,
): Promise<Response> {
  if (signalReceivers.count > 0) requestStarted.send(app, { request: req });
  // Flask's order: no body byte is read before the hooks (a hook that refuses the request leaves an
  // upload unread and unparsed). A hook that reads the body gets it at once if it has all arrived;
  // otherwise the body is read and that hook run again (and, from then on, the body read before it).
  if (needsBody) req.bodyPending = true; // (the wire hands over a small body that came with its head complete)
  let tokenLater = false;
  if (csrf) {
    // Before any hook, as Flask-WTF's CSRFProtect: the browser's fields, then the token if it can be
    // had without waiting for the body (a header, or a small body that is all here).
    checkCsrfOrigin(req);
    if (!needsBody || !csrfTokenInBody(req) || req.takeBodyNow()) {
      checkCsrfToken(req);
    } else {
      // A token in a large or multipart body is verified as soon as the body is read: before the view,
      // and before any hook that reads the body. Hooks that don't read it (a sign-in check) may refuse
      // the request first, as Flask's hooks registered before Flask-WTF's CSRFProtect do.
      tokenLater = true;
      req.tokenHeld = true;
    }
  }
  for (const s of scaffolds) {
    const pre = s.urlValuePreprocessors;
    for (let i = 0; i < pre.length; i++) pre[i]!(req.endpoint, req.params);
  }
  for (const s of scaffolds) {
    for (const fn of s.beforeRequestFuncs as BeforeRequestHook[]) {
      if (req.bodyPending && bodyHooks.has(fn)) await loadBody(app, req);
      if (tokenLater && !req.bodyPending) tokenLater = tokenChecked(req);
      let rv: Awaited<ReturnType<BeforeRequestHook>>;
      try {
        rv = await invoke(req, isAsyncFunction(fn), fn, req, undefined);
      } catch (err) {
        if (!(err instanceof BodyNotRead) || !req.bodyPending) throw err;
        bodyHooks.add(fn);
        app.logger.warn(
          `The beforeRequest hook ${fn.name || "(anonymous)"} read the request body before it had arrived: ` +
            "it was run again once the body was read, and from now on the body is read before it runs.",
        );
        await loadBody(app, req);
        if (tokenLater) tokenLater = tokenChecked(req);
        rv = await invoke(req, isAsyncFunction(fn), fn, req, undefined);
      }
      if (rv !== undefined && rv !== null) return makeViewResponse(rv, req, app.json);
    }
  }
  if (early !== undefined) {
    if (early instanceof HTTPException) throw early;
    return early;
  }
  if (req.bodyPending) await loadBody(app, req);
  if (tokenLater) tokenChecked(req);
  const rv = await invoke(req, data!.isAsync, data!.handler as Handler, req, undefined);
  return makeViewResponse(rv, req, app.json);
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
    if (signalReceivers.count > 0) requestFinished.send(app, { request: req, response: res });
  } catch (err) {
    if (err instanceof HTTPException) {
      // e.g. a 503 from a session store that did not answer while saving.
      res = err.getResponse();
    } else {
      req.unhandledError ??= err;
      app.logger.error(
        `Exception while finishing ${req.method} ${escapeControls(req.path)} (afterRequest hook or session)`,
        err,
      );
      res = showDebugPage(app.config, req)
        ? debugErrorResponse(err, req)
        : new InternalServerError().getResponse();
    }
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
    await tearDownAppContext(app, req);
  }
  return res;
}

/** The request's end signals and the app's teardownAppcontext functions (last first), errors logged. */
async function tearDownAppContext(app: Phial, req: Request): Promise<void> {
  const signals = signalReceivers.count > 0;
  const exc = req.unhandledError;
  try {
    if (signals) requestTearingDown.send(app, { request: req, exc });
  } catch (err) {
    app.logger.error("Exception in a requestTearingDown receiver", err);
  }
  const fns = app.teardownAppcontextFuncs;
  for (let i = fns.length - 1; i >= 0; i--) {
    try {
      await fns[i]!(exc);
    } catch (err) {
      app.logger.error("Exception in a teardownAppcontext function", err);
    }
  }
  try {
    if (signals) appcontextTearingDown.send(app, { exc });
  } catch (err) {
    app.logger.error("Exception in an appcontextTearingDown receiver", err);
  }
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

/**
 * Reads the body before the handler (or a hook that needs it), within `config.maxContentLength` (413
 * beyond): through the media type's body loader (multipart), else in memory up to
 * `config.bodyMemorySize` and spooled to a temp file beyond it (removed when the request is over).
 */
async function loadBody(app: Phial, req: Request): Promise<void> {
  req.bodyPending = false;
  const loader = app.bodyLoaderFor(req.mimetype);
  if (loader !== undefined) {
    await loader(req);
    return;
  }
  const c = app.config;
  const s = await spoolBody(
    req.source,
    req.maxBodyBytes,
    c.bodyMemorySize ?? DEFAULT_BODY_MEMORY,
    c.uploadTempDir,
  );
  if (s.path === undefined) {
    req.data = s.data;
    return;
  }
  const path = s.path;
  req.spoolPath = path;
  req.callOnClose(() => unlink(path).catch(() => undefined));
}

const DEFAULT_BODY_MEMORY = 512 * 1024;

/** The CSRF token that waited for the body, checked now that it is read; false (nothing left to check). */
function tokenChecked(req: Request): false {
  req.tokenHeld = false;
  checkCsrfToken(req);
  return false;
}

/** beforeRequest hooks seen reading the body: it is read before they run. */
const bodyHooks = new WeakSet<object>();

// ---- protections -------------------------------------------------------------------------------

/** The CORS policy of each request whose route has one. */
const corsOf = new WeakMap<Request, CorsPolicy>();

/** The route's policy, else its innermost blueprint's, else the app's. */
function corsFor(app: Phial, data: RouteData): CorsPolicy | undefined {
  const own = data.options.cors;
  if (own === false) return undefined;
  if (own !== undefined) return compileCors(own);
  const chain = app.scaffoldsFor(data.blueprint);
  for (let i = chain.length - 1; i >= 0; i--) {
    const o = chain[i]!.corsOptions;
    if (o !== undefined) return compileCors(o);
  }
  return undefined;
}

/** True when a state-changing request must pass the CSRF checks (csrf.ts says which). */
function csrfWanted(app: Phial, req: Request, data: RouteData): boolean {
  if (app.config.csrfProtection === false || data.options.csrf === false || !simpleBody(req)) return false;
  for (const s of app.scaffoldsFor(data.blueprint)) if (s.csrfExempted) return false;
  return true;
}

/** CORS grants and security headers on every response of the app (error pages included). */
function decorate(app: Phial, req: Request, r: Response | Promise<Response>): Response | Promise<Response> {
  if (r instanceof Response) return decorateOne(app, req, r);
  return r.then((res) => decorateOne(app, req, res));
}

function decorateOne(app: Phial, req: Request, res: Response): Response {
  const policy = corsOf.get(req);
  if (policy !== undefined) policy.apply(res, req.header("origin"));
  const sh = app.config.securityHeaders;
  if (sh !== false) applySecurityHeaders(res, req, sh === true ? NO_OPTIONS : (sh as SecurityHeadersOptions));
  const co = app.config.compression;
  if (co !== false) compressResponse(res, req, co === true ? NO_OPTIONS : (co as CompressionOptions));
  return res;
}

const NO_OPTIONS = {};

function optionsResponse(app: Phial, req: Request): Response {
  const res = new Response(null);
  const domain = app.router.domainMatching ? app.requestDomain(req) : undefined;
  res.headers.set("Allow", app.router.allowedMethods(req.path, req.rawPath, domain).join(", "));
  return res;
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

// ---- errors ---------------------------------------------------------------------------------------

/** @internal turns an error into a response through the registered error handlers. */
async function handleError(
  app: Phial,
  err: unknown,
  req: Request,
  bp: string | undefined,
): Promise<Response> {
  if (err instanceof RequestAbortedError) {
    // The body could not be read (client left, bad framing, too large): the client's problem.
    err = HTTPException.of(err.status >= 400 && err.status < 600 ? err.status : 400, err.message);
  }
  const chain = app.scaffoldsFor(bp).reverse(); // innermost blueprint first, the app last
  if (err instanceof HTTPException) {
    if (err.response !== undefined) return err.response;
    const h = findHandler(chain, err);
    if (h === undefined) return err.getResponse();
    return callErrorHandler(app, h, err, req);
  }
  const h = findHandler(chain, err);
  if (h !== undefined) return callErrorHandler(app, h, err, req);
  // Unhandled: a 500.
  req.unhandledError = err;
  if (signalReceivers.count > 0) gotRequestException.send(app, { request: req, exception: err });
  app.logger.error(
    `Exception on ${req.method} ${escapeControls(req.path)} [${req.endpoint ?? "no endpoint"}]`,
    err,
  );
  if (app.config.testing && app.config.propagateExceptions !== false) throw err;
  const ise = new InternalServerError();
  ise.originalError = err;
  const h500 = findHandler(chain, ise);
  if (h500 !== undefined) return callErrorHandler(app, h500, ise, req);
  if (showDebugPage(app.config, req)) return debugErrorResponse(err, req);
  return ise.getResponse();
}

async function callErrorHandler(
  app: Phial,
  h: ErrorHandler<never>,
  err: unknown,
  req: Request,
): Promise<Response> {
  try {
    const rv = await invoke(req, isAsyncFunction(h), h as ErrorHandler<unknown>, err, req);
    return makeViewResponse(rv, req, app.json);
  } catch (e) {
    // Flask's finalize_request(from_error_handler): a failing error handler gives a plain 500.
    req.unhandledError ??= e;
    app.logger.error(
      `The error handler for ${describe(err)} on ${req.method} ${escapeControls(req.path)} failed`,
      e,
    );
    if (app.config.testing && app.config.propagateExceptions !== false) throw e;
    return showDebugPage(app.config, req)
      ? debugErrorResponse(e, req)
      : new InternalServerError().getResponse();
  }
}

// ---- streamed bodies ---------------------------------------------------------------------------

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
