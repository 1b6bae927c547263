// What an app and a blueprint share: route registration, hooks and error handlers (Flask's Scaffold).

import { type CorsOptions, compileCors } from "./protections/cors.ts";
import { type WebSocketHandler, type WebSocketOptions, webSocketView } from "./realtime/websocket.ts";
import type { ParamsOf } from "./routing/index.ts";
import type { RouteDocs, RouteSchemas, StandardSchemaV1, TypedResult, ValidOf } from "./validation/types.ts";
import type { HTTPException } from "./wrappers/exceptions.ts";
import type { HeadersInit } from "./wrappers/headers.ts";
import type { Request } from "./wrappers/request.ts";
import type { Response, StatusInit } from "./wrappers/response.ts";

/**
 * A plain object returned by a handler becomes JSON. `object` admits interface-typed values (which lack
 * an index signature); the index-signature arm keeps object literals free of excess-property errors.
 * Arrays are tuples (`length` is excluded): wrap JSON arrays in `jsonify()`.
 */
export type JsonObject = ({ readonly [key: string]: unknown } | object) & { readonly length?: never };

/** What may be the body part of a handler's return value. */
export type ResultBody =
  | string
  | Uint8Array
  | Response
  | HTTPException
  | JsonObject
  | AsyncIterable<string | Uint8Array>
  | IterableIterator<string | Uint8Array>
  | ReadableStream<Uint8Array | string>;

/** What a handler may return: a body, or Flask's `[body, status]`, `[body, headers]`, `[body, status, headers]`. */
export type HandlerResult =
  | ResultBody
  | readonly [ResultBody, StatusInit]
  | readonly [ResultBody, HeadersInit]
  | readonly [ResultBody, StatusInit, HeadersInit];

/**
 * A view function. It may be async. Returning nothing is a type error (and a clear 500 at run time).
 * `V` is what the route's schemas checked (`req.valid`), `Res` what it may return.
 */
export type Handler<P = Record<string, unknown>, V = {}, Res = HandlerResult> = (
  req: Request<P, V>,
) => Res | Promise<Res>;

/** The handler of a route whose options are `S`: `req.valid` typed by its schemas. */
export type RouteHandler<P, S> = Handler<P, ValidOf<S>>;

/** The handler of a route with a `response` schema `O`: it returns that schema's body (or a tuple of it). */
export type ResponseHandler<P, S, O extends StandardSchemaV1> = Handler<
  P,
  ValidOf<S>,
  TypedResult<StandardSchemaV1.InferOutput<O>>
>;

export interface RouteOptions<D extends Readonly<Record<string, unknown>> = Readonly<Record<string, unknown>>>
  extends RouteSchemas,
    RouteDocs {
  /** HTTP methods; GET when omitted. HEAD is implied by GET; OPTIONS is answered automatically. */
  methods?: readonly string[];
  /** The endpoint name for `urlFor`; default: the handler's name, else `"METHOD /rule"`. */
  endpoint?: string;
  /** Parameter values for rules that lack them (one handler serving `/page/` and `/page/<int:page>`). */
  defaults?: D;
  /** Werkzeug's trailing-slash redirects (default true). */
  strictSlashes?: boolean;
  /**
   * Answer with a 308 to another URL instead of calling the handler (Werkzeug's `redirect_to`): a rule
   * template (`"/new/<id>"`) or a function of the params.
   */
  redirectTo?: string | ((params: Readonly<Record<string, unknown>>) => string);
  /** Only for building URLs (`urlFor`), never matched (Werkzeug's `build_only`). */
  buildOnly?: boolean;
  /** This route's body limit in bytes, instead of `config.maxContentLength` (e.g. a large upload). */
  maxContentLength?: number;
  /** Don't read the body before the handler; use `req.stream()`. */
  streamBody?: boolean;
  /**
   * Time this route's view gets to start its response, in ms, instead of `config.handlerTimeout`: past
   * it the client gets a 503 and `req.signal` aborts. On the app's own server only (not under `fetch`
   * or `nodeHandler`); checked about once a second.
   */
  timeout?: number;
  /** Answer OPTIONS for this rule automatically (default: `config.provideAutomaticOptions`). */
  provideAutomaticOptions?: boolean;
  /** This route's CORS policy (instead of its blueprint's or the app's); false for none. */
  cors?: CorsOptions | false;
  /** `csrf: false` exempts this route from the CSRF checks (e.g. a webhook with its own signature). */
  csrf?: false;
  /**
   * The subdomain this route answers on (the app needs `subdomainMatching` and `config.serverName`):
   * `"api"`, or `"<user>"` for a parameter (typed like the rule's). Default: the bare server name.
   */
  subdomain?: string;
  /**
   * The host this route answers on (the app needs `hostMatching`): `"api.example.com"`, or
   * `"<user>.example.com"` for a parameter (typed like the rule's). Compared with the lower-cased Host,
   * its port included unless it is the scheme's default.
   */
  host?: string;
}

/** The literal `subdomain` and `host` of a route's options, for its parameters' types. */
export interface DomainOptions<Sd extends string, Ho extends string> {
  readonly subdomain?: Sd;
  readonly host?: Ho;
}

/** The parameters of a route's subdomain and host: `"<user>"` gives `{ user: string }`. */
export type DomainParams<Sd extends string, Ho extends string> = ParamsOf<Sd> & ParamsOf<Ho>;

/** May short-circuit the request by returning a value other than undefined. */
export type BeforeRequestHook = (
  req: Request,
  // biome-ignore lint/suspicious/noConfusingVoidType: hooks that return nothing are the common case
) => HandlerResult | undefined | void | Promise<HandlerResult | undefined | void>;
/** May change or replace the response. Returning undefined keeps it. */
export type AfterRequestHook = (
  res: Response,
  req: Request,
  // biome-ignore lint/suspicious/noConfusingVoidType: hooks that return nothing are the common case
) => Response | undefined | void | Promise<Response | undefined | void>;
/** Always runs after the request, with the error if one was raised and not handled. */
export type TeardownHook = (error: unknown, req: Request) => void | Promise<void>;
/** Handles an error; returns a response value like a handler. */
/** `urlValuePreprocessor`: the endpoint (undefined when no rule matched) and the rule's values. */
export type UrlValuePreprocessor = (endpoint: string | undefined, values: Record<string, unknown>) => void;
/** `urlDefaults`: the endpoint being built and the values, to fill in. */
export type UrlDefaultsFunction = (endpoint: string, values: Record<string, unknown>) => void;

/** `teardownAppcontext`: the unhandled error, if any. */
export type TeardownAppcontextHook = (error: unknown) => void | Promise<void>;

export type ErrorHandler<E = unknown> = (error: E, req: Request) => HandlerResult | Promise<HandlerResult>;

/** An error class, for `errorHandler(SomeError, fn)`. */
// biome-ignore lint/suspicious/noExplicitAny: constructor arguments of user error classes are unknown
export type ErrorClass<E = Error> = abstract new (...args: any[]) => E;

/** One recorded route registration. */
export interface RouteRecord {
  rule: string;
  options: RouteOptions;
  handler: Handler<never>;
}

/** @internal bumped on every hook registration, so apps can cache "has any hooks" for the fast path. */
export const hookVersion = { value: 0 };

export abstract class Scaffold {
  readonly name: string;
  /** @internal */ readonly beforeRequestFuncs: BeforeRequestHook[] = [];
  /** @internal */ readonly afterRequestFuncs: AfterRequestHook[] = [];
  /** @internal */ readonly teardownRequestFuncs: TeardownHook[] = [];
  /** @internal */ readonly urlValuePreprocessors: UrlValuePreprocessor[] = [];
  /** @internal */ readonly urlDefaultFuncs: UrlDefaultsFunction[] = [];
  /** @internal the app's only (a blueprint has no app context of its own) */
  readonly teardownAppcontextFuncs: TeardownAppcontextHook[] = [];
  /** @internal status → handler */ readonly statusHandlers = new Map<number, ErrorHandler<never>>();
  /** @internal class → handler, in registration order */ readonly classHandlers: [
    ErrorClass<unknown>,
    ErrorHandler<never>,
  ][] = [];

  /** @internal the CORS policy of `cors()` */ corsOptions: CorsOptions | undefined;
  /** @internal set by `csrfExempt()` */ csrfExempted = false;

  constructor(name: string) {
    this.name = name;
  }

  /**
   * A CORS policy for every route of this app or blueprint (a route's `cors` option, then its
   * blueprint's, win): `app.cors({ origins: ["https://app.example"], credentials: true })`. Preflights
   * are answered before any hook. Default origins "*".
   */
  cors(options: CorsOptions = {}): this {
    compileCors(options); // a bad policy throws now, not on the first request
    this.corsOptions = options;
    hookVersion.value++;
    return this;
  }

  /** Exempts every route of this app or blueprint from the CSRF checks (an API with its own auth). */
  csrfExempt(): this {
    this.csrfExempted = true;
    return this;
  }

  /** Registers a rule; called by `route` and the method shorthands. */
  protected abstract addRoute(rule: string, options: RouteOptions, handler: Handler<never>): void;

  /** `app.route(rule, {methods, endpoint}, handler)`; without `methods`, GET. */
  route<R extends string>(rule: R, handler: Handler<ParamsOf<R>>): this;
  route<
    R extends string,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: RouteOptions<D> & S & { readonly response?: undefined } & DomainOptions<Sd, Ho>,
    handler: RouteHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S>,
  ): this;
  route<
    R extends string,
    O extends StandardSchemaV1,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: RouteOptions<D> & S & { readonly response: O } & DomainOptions<Sd, Ho>,
    handler: ResponseHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S, O>,
  ): this;
  route<R extends string>(rule: R, optionsOrHandler: unknown, maybeHandler?: unknown): this {
    const [options, handler] = splitArgs(
      optionsOrHandler as RouteOptions,
      maybeHandler as Handler<never>,
      rule,
    );
    this.addRoute(rule, options, handler as Handler<never>);
    return this;
  }

  get<R extends string>(rule: R, handler: Handler<ParamsOf<R>>): this;
  get<
    R extends string,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response?: undefined } & DomainOptions<Sd, Ho>,
    handler: RouteHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S>,
  ): this;
  get<
    R extends string,
    O extends StandardSchemaV1,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response: O } & DomainOptions<Sd, Ho>,
    handler: ResponseHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S, O>,
  ): this;
  get<R extends string>(rule: R, a: unknown, b?: unknown): this {
    return this.method("GET", rule, a, b);
  }

  post<R extends string>(rule: R, handler: Handler<ParamsOf<R>>): this;
  post<
    R extends string,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response?: undefined } & DomainOptions<Sd, Ho>,
    handler: RouteHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S>,
  ): this;
  post<
    R extends string,
    O extends StandardSchemaV1,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response: O } & DomainOptions<Sd, Ho>,
    handler: ResponseHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S, O>,
  ): this;
  post<R extends string>(rule: R, a: unknown, b?: unknown): this {
    return this.method("POST", rule, a, b);
  }

  put<R extends string>(rule: R, handler: Handler<ParamsOf<R>>): this;
  put<
    R extends string,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response?: undefined } & DomainOptions<Sd, Ho>,
    handler: RouteHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S>,
  ): this;
  put<
    R extends string,
    O extends StandardSchemaV1,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response: O } & DomainOptions<Sd, Ho>,
    handler: ResponseHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S, O>,
  ): this;
  put<R extends string>(rule: R, a: unknown, b?: unknown): this {
    return this.method("PUT", rule, a, b);
  }

  patch<R extends string>(rule: R, handler: Handler<ParamsOf<R>>): this;
  patch<
    R extends string,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response?: undefined } & DomainOptions<Sd, Ho>,
    handler: RouteHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S>,
  ): this;
  patch<
    R extends string,
    O extends StandardSchemaV1,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response: O } & DomainOptions<Sd, Ho>,
    handler: ResponseHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S, O>,
  ): this;
  patch<R extends string>(rule: R, a: unknown, b?: unknown): this {
    return this.method("PATCH", rule, a, b);
  }

  delete<R extends string>(rule: R, handler: Handler<ParamsOf<R>>): this;
  delete<
    R extends string,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response?: undefined } & DomainOptions<Sd, Ho>,
    handler: RouteHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S>,
  ): this;
  delete<
    R extends string,
    O extends StandardSchemaV1,
    D extends Readonly<Record<string, unknown>> = {},
    S extends RouteSchemas = {},
    Sd extends string = "",
    Ho extends string = "",
  >(
    rule: R,
    options: Omit<RouteOptions<D>, "methods"> & S & { readonly response: O } & DomainOptions<Sd, Ho>,
    handler: ResponseHandler<ParamsOf<R> & D & DomainParams<Sd, Ho>, S, O>,
  ): this;
  delete<R extends string>(rule: R, a: unknown, b?: unknown): this {
    return this.method("DELETE", rule, a, b);
  }

  private method<R extends string>(method: string, rule: R, a: unknown, b: unknown): this {
    const [options, handler] = splitArgs(a as RouteOptions, b as Handler<never> | undefined, rule);
    if (options.methods !== undefined) {
      throw new TypeError(
        `${method.toLowerCase()}("${rule}") takes no \`methods\`; use route() for several methods`,
      );
    }
    this.addRoute(rule, { ...options, methods: [method] }, handler as Handler<never>);
    return this;
  }

  /**
   * A WebSocket route: `app.websocket("/chat/<room>", async (ws, req) => { for await (const m of ws) … })`.
   * The upgrade request is routed (converters, typed `req.params`) and goes through the before-request
   * hooks and the session like any GET, so a hook can refuse it with an ordinary HTTP answer. The
   * connection closes (1000) when the handler returns, 1011 when it throws. A plain GET gets 426.
   */
  websocket<R extends string>(rule: R, handler: WebSocketHandler<ParamsOf<R>>): this;
  websocket<R extends string>(
    rule: R,
    options: WebSocketOptions,
    handler: WebSocketHandler<ParamsOf<R>>,
  ): this;
  websocket<R extends string>(
    rule: R,
    a: WebSocketOptions | WebSocketHandler<ParamsOf<R>>,
    b?: WebSocketHandler<ParamsOf<R>>,
  ): this {
    const [options, handler] = typeof a === "function" ? [{}, a] : [a, b];
    if (typeof handler !== "function")
      throw new TypeError(`The WebSocket route "${rule}" has no handler function`);
    const name = handler.name && handler.name !== "anonymous" ? handler.name : undefined;
    this.addRoute(
      rule,
      {
        methods: ["GET"],
        endpoint:
          options.endpoint ??
          name ??
          `WEBSOCKET ${rule}${options.host || options.subdomain ? ` @${options.host || options.subdomain}` : ""}`,
        ...(options.subdomain === undefined ? {} : { subdomain: options.subdomain }),
        ...(options.host === undefined ? {} : { host: options.host }),
      },
      webSocketView(handler as WebSocketHandler<never>, options) as unknown as Handler<never>,
    );
    return this;
  }

  /** Runs before each request (of this blueprint, for a blueprint); a returned value ends the request. */
  beforeRequest(fn: BeforeRequestHook): this {
    this.beforeRequestFuncs.push(fn);
    hookVersion.value++;
    return this;
  }

  /** Runs after each request, error pages included; may change or replace the response. */
  afterRequest(fn: AfterRequestHook): this {
    this.afterRequestFuncs.push(fn);
    hookVersion.value++;
    return this;
  }

  /** Always runs at the end of a request, with the unhandled error if any. */
  teardownRequest(fn: TeardownHook): this {
    this.teardownRequestFuncs.push(fn);
    hookVersion.value++;
    return this;
  }

  /**
   * Runs before the beforeRequest hooks with the matched endpoint and the rule's values, which it may
   * change or take out (Flask's `url_value_preprocessor`: pull a language code out of every URL).
   */
  urlValuePreprocessor(fn: UrlValuePreprocessor): this {
    this.urlValuePreprocessors.push(fn);
    hookVersion.value++;
    return this;
  }

  /**
   * Called by `urlFor` with the endpoint and the values (which it may fill in) for this app's, or this
   * blueprint's, endpoints (Flask's `url_defaults`: put the current language code back into URLs).
   */
  urlDefaults(fn: UrlDefaultsFunction): this {
    this.urlDefaultFuncs.push(fn);
    return this;
  }

  /** Handles errors by status code (`404`) or by class (`NotFound`, `TypeError`, …). */
  errorHandler<E extends HTTPException>(status: number, fn: ErrorHandler<E>): this;
  errorHandler<E>(cls: ErrorClass<E>, fn: ErrorHandler<E>): this;
  errorHandler(key: number | ErrorClass<unknown>, fn: ErrorHandler<never>): this {
    if (typeof key === "number") {
      if (!Number.isInteger(key) || key < 400 || key > 599) {
        throw new RangeError(`errorHandler(${key}): use an error status from 400 to 599, or an error class`);
      }
      this.statusHandlers.set(key, fn);
    } else {
      this.classHandlers.push([key, fn]);
    }
    return this;
  }
}

function splitArgs<H>(a: RouteOptions | H, b: H | undefined, rule: string): [RouteOptions, H] {
  if (typeof a === "function") return [{}, a as H];
  if (typeof b !== "function") throw new TypeError(`The route "${rule}" has no handler function`);
  return [a as RouteOptions, b];
}
