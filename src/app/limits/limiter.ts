// Rate limiting as Flask-Limiter does it: limits on a route, a blueprint or the whole app, keyed by the
// client's address (behind trusted proxies, the forwarded one) or the user or any function; fixed or
// sliding windows; a refused request is a 429 with Retry-After, and every limited response carries the
// IETF draft's RateLimit-* fields. Counters live in a store: memory for one process, Redis for many.

import { createHash } from "node:crypto";
import type { Phial } from "../app.ts";
import { storeUnavailable } from "../redis/index.ts";
import type { Handler } from "../scaffold.ts";
import { TooManyRequests } from "../wrappers/exceptions.ts";
import type { Request } from "../wrappers/request.ts";
import type { Response } from "../wrappers/response.ts";
import { parseLimits, type RateLimitItem } from "./parse.ts";
import { type LimitResult, type LimitStore, MemoryStore, type Strategy } from "./store.ts";

/** Longer keys are stored as their hash. */
const MAX_KEY = 200;

/** What a limit is counted by: a string per client (address, user id, API key, …). */
export type KeyFunc = (req: Request) => string;

/** The client's address (`req.remoteAddr`: behind trusted proxies, the address they forwarded). */
export const remoteAddress: KeyFunc = (req) => req.remoteAddr;

export interface LimitOptions {
  /** Counted by this instead of the limiter's key (e.g. the user: `(req) => String(req.session.get("userId"))`). */
  key?: KeyFunc;
  /** Only requests with these methods count (and are refused). Default: all. */
  methods?: readonly string[];
  /** Hits one request takes. Default 1. */
  cost?: number;
  /**
   * A name shared by routes that count together (Flask-Limiter's `shared_limit`); by default each route
   * (each blueprint with `shared`) has its own counters.
   */
  scope?: string;
  /** Skip the limit for this request (e.g. for staff): true means not counted. */
  exemptWhen?: (req: Request) => boolean;
  /** The 429's text. Default: "<limit> exceeded; try again in N seconds." */
  errorMessage?: string;
}

export interface LimiterOptions {
  /** Where counters live. Default a `MemoryStore` (this process only). */
  store?: LimitStore;
  /** Default `"fixed-window"`. */
  strategy?: Strategy;
  /** What requests are counted by. Default the client's address (`remoteAddress`). */
  key?: KeyFunc;
  /** Limits for every route that has none of its own, each route counted on its own. */
  defaultLimits?: string | readonly string[];
  /** Limits on the whole app, all routes counted together. */
  applicationLimits?: string | readonly string[];
  /** Send RateLimit-Limit/-Remaining/-Reset/-Policy (IETF draft-06). Default true. */
  headers?: boolean;
  /** When the store fails (Redis down): false (default) answers 503; true lets requests through (logged). */
  swallowErrors?: boolean;
  /** False turns every limit off (e.g. in tests). Default true. */
  enabled?: boolean;
}

interface Limit {
  item: RateLimitItem;
  key: KeyFunc | undefined;
  methods: ReadonlySet<string> | undefined;
  cost: number;
  scope: string | undefined;
  exemptWhen: ((req: Request) => boolean) | undefined;
  errorMessage: string | undefined;
}

/** validation/route.ts's wrapper of a route with schemas keeps the view it wraps here. */
const WRAPPED = Symbol.for("phial.wrappedHandler");

/** What the headers report: the limit closest to running out. */
interface Outcome {
  item: RateLimitItem;
  result: LimitResult;
}

type AnyHandler = Handler<never> | ((...args: never[]) => unknown);

/**
 * Rate limits for an app. `const limiter = new Limiter(app, { store, defaultLimits: "200 per hour" })`;
 * then `app.post("/signin", limiter.limit("5 per minute")(function signin(req) { … }))`, or
 * `limiter.limitBlueprint(api, "100/minute")`, `limiter.exempt(handler)`. Checked before the
 * beforeRequest hooks registered after it (so construct it first), before the body is read unless a
 * limit's key reads the form (the body is then read for it).
 */
export class Limiter {
  readonly app: Phial;
  readonly store: LimitStore;
  strategy: Strategy;
  readonly key: KeyFunc;
  headers: boolean;
  swallowErrors: boolean;
  enabled: boolean;
  private readonly defaults: Limit[];
  private readonly application: Limit[];
  private readonly byHandler = new WeakMap<object, Limit[]>();
  private readonly exempted = new WeakSet<object>();
  private readonly blueprints = new Map<string, { limits: Limit[]; shared: boolean }>();
  /** endpoint → the limits that apply (built on first use, again when routes are added). */
  private resolved = new Map<string, Limit[]>();
  private resolvedFor = -1;
  private readonly outcomes = new WeakMap<Request, Outcome>();
  private lastFailureLog = 0;

  constructor(app: Phial, options: LimiterOptions = {}) {
    this.app = app;
    this.store = options.store ?? new MemoryStore();
    this.strategy = options.strategy ?? "fixed-window";
    if (this.strategy !== "fixed-window" && this.strategy !== "sliding-window") {
      throw new TypeError(
        `Unknown strategy ${JSON.stringify(this.strategy)}: "fixed-window" or "sliding-window"`,
      );
    }
    this.key = options.key ?? remoteAddress;
    this.headers = options.headers ?? true;
    this.swallowErrors = options.swallowErrors ?? false;
    this.enabled = options.enabled ?? true;
    this.defaults = options.defaultLimits === undefined ? [] : this.make(options.defaultLimits, {});
    this.application =
      options.applicationLimits === undefined
        ? []
        : this.make(options.applicationLimits, { scope: "global" });
    app.beforeRequest((req) => this.check(req));
    app.afterRequest((res, req) => this.addHeaders(res, req));
  }

  private make(spec: string | readonly string[], o: LimitOptions): Limit[] {
    const cost = o.cost ?? 1;
    if (!Number.isInteger(cost) || cost < 1)
      throw new TypeError(`cost must be a whole number from 1, not ${cost}`);
    return parseLimits(spec).map((item) => ({
      item,
      key: o.key,
      methods: o.methods === undefined ? undefined : new Set(o.methods.map((m) => m.toUpperCase())),
      cost,
      scope: o.scope,
      exemptWhen: o.exemptWhen,
      errorMessage: o.errorMessage,
    }));
  }

  /**
   * Limits one view: `app.post("/signin", limiter.limit("5 per minute")(function signin(req) {…}))`.
   * Returns the handler itself (marked), so its name still makes the endpoint.
   */
  limit(
    spec: string | readonly string[],
    options: LimitOptions = {},
  ): <H extends AnyHandler>(handler: H) => H {
    const limits = this.make(spec, options);
    return (handler) => {
      const list = this.byHandler.get(handler) ?? [];
      list.push(...limits);
      this.byHandler.set(handler, list);
      this.resolvedFor = -1;
      return handler;
    };
  }

  /**
   * Limits every route of a blueprint (its nested blueprints included) that has no limit of its own.
   * Each route counts on its own, or all of them together with `shared: true`.
   */
  limitBlueprint(
    blueprint: string | { readonly name: string },
    spec: string | readonly string[],
    options: LimitOptions & { shared?: boolean } = {},
  ): void {
    const name = typeof blueprint === "string" ? blueprint : blueprint.name;
    const limits = this.make(spec, { ...options, scope: options.shared ? `bp:${name}` : options.scope });
    this.blueprints.set(name, { limits, shared: options.shared === true });
    this.resolvedFor = -1;
  }

  /** No limit at all for this view (default and application limits included). Returns it. */
  exempt<H extends AnyHandler>(handler: H): H {
    this.exempted.add(handler);
    this.resolvedFor = -1;
    return handler;
  }

  /** The limits of an endpoint: its own, else its blueprint's, else the defaults; plus the app's. */
  private limitsFor(endpoint: string, bp: string | undefined): Limit[] {
    const rules = this.app.router.rules;
    if (this.resolvedFor !== rules.length) {
      this.resolved = new Map();
      this.resolvedFor = rules.length;
    }
    let list = this.resolved.get(endpoint);
    if (list !== undefined) return list;
    const rule = rules.find((r) => r.endpoint === endpoint);
    let handler = rule?.data.handler as object | undefined;
    // A route with schemas runs a wrapper around the view that was marked: look through it.
    const inner = (handler as { [WRAPPED]?: object } | undefined)?.[WRAPPED];
    if (inner !== undefined && (this.byHandler.has(inner) || this.exempted.has(inner))) handler = inner;
    if (handler !== undefined && this.exempted.has(handler)) {
      list = [];
    } else {
      let own = handler === undefined ? undefined : this.byHandler.get(handler);
      if (own === undefined && bp !== undefined) {
        // The innermost blueprint with limits: "a.b" before "a".
        for (let name: string | undefined = bp; name !== undefined; ) {
          const b = this.blueprints.get(name);
          if (b !== undefined) {
            own = b.limits;
            break;
          }
          const dot = name.lastIndexOf(".");
          name = dot === -1 ? undefined : name.slice(0, dot);
        }
      }
      list = [...(own ?? this.defaults), ...this.application];
    }
    this.resolved.set(endpoint, list);
    return list;
  }

  /** The beforeRequest hook: counts the request against each limit; a 429 on the first one exceeded. */
  private check(req: Request): void | Promise<void> {
    if (!this.enabled) return;
    const endpoint = req.endpoint;
    if (endpoint === undefined) return; // a 404/405: no route to limit
    const limits = this.limitsFor(endpoint, req.blueprint);
    if (limits.length === 0) return;
    // A key of its own may read the form: it runs before anything is counted, so that a body still on
    // its way (the hook is run again once it is read) never counts the request twice.
    for (let i = 0; i < limits.length; i++) limits[i]!.key?.(req);
    return this.countFrom(req, endpoint, limits, 0, undefined);
  }

  /** Counts limits[i…] in order; sync while the store answers sync. */
  private countFrom(
    req: Request,
    endpoint: string,
    limits: Limit[],
    i: number,
    best: Outcome | undefined,
  ): void | Promise<void> {
    for (; i < limits.length; i++) {
      const l = limits[i]!;
      if (l.methods !== undefined && !l.methods.has(req.method)) continue;
      if (l.exemptWhen?.(req) === true) continue;
      let who = (l.key ?? this.key)(req);
      // A key may come from the client (a form field): a long one is hashed, so no client can make the
      // store keep megabytes per counter.
      if (typeof who !== "string") who = String(who);
      if (who.length > MAX_KEY) who = `sha256:${createHash("sha256").update(who).digest("base64url")}`;
      const key = `${who}/${l.scope ?? endpoint}/${l.item.amount}/${l.item.windowMs}`;
      let r: LimitResult | Promise<LimitResult>;
      try {
        r = this.store.hit(key, l.item.amount, l.item.windowMs, this.strategy, l.cost);
      } catch (err) {
        return this.failed(err);
      }
      if (r instanceof Promise) {
        const at = i;
        const prior = best;
        return r.then(
          (res) => {
            const b = this.settle(req, l, res, prior);
            return this.countFrom(req, endpoint, limits, at + 1, b);
          },
          (err: unknown) => this.failed(err),
        );
      }
      best = this.settle(req, l, r, best);
    }
  }

  /** Records the outcome for the headers; throws the 429 when the limit is exceeded. */
  private settle(req: Request, l: Limit, r: LimitResult, best: Outcome | undefined): Outcome {
    const o: Outcome = { item: l.item, result: r };
    const chosen = !r.allowed || best === undefined || r.remaining < best.result.remaining ? o : best;
    this.outcomes.set(req, chosen);
    if (!r.allowed) {
      const seconds = Math.max(1, Math.ceil(r.retryMs / 1000));
      throw new TooManyRequests(
        l.errorMessage ??
          `${l.item.text} exceeded; try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
        seconds,
      );
    }
    return chosen;
  }

  private failed(err: unknown): void {
    const now = Date.now();
    if (now - this.lastFailureLog > 10_000) {
      this.lastFailureLog = now;
      const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.app.logger.warn(
        `The rate limiter's store did not answer (${why}); ` +
          (this.swallowErrors
            ? "requests go through unlimited until it is back."
            : "requests get 503 until it is back."),
      );
    }
    if (this.swallowErrors) return;
    throw storeUnavailable("rate limiter", err);
  }

  /** The afterRequest hook: RateLimit-* fields (IETF draft-06) for the limit closest to running out. */
  private addHeaders(res: Response, req: Request): void {
    if (!this.headers) return;
    const o = this.outcomes.get(req);
    if (o === undefined) return;
    const h = res.headers;
    const windowSeconds = Math.ceil(o.item.windowMs / 1000);
    h.set("RateLimit-Limit", String(o.item.amount));
    h.set("RateLimit-Remaining", String(o.result.remaining));
    h.set("RateLimit-Reset", String(Math.max(0, Math.ceil(o.result.resetMs / 1000))));
    h.set("RateLimit-Policy", `${o.item.amount};w=${windowSeconds}`);
  }

  /** Forgets every counter (the store's `clear`). */
  reset(): void | Promise<void> {
    return this.store.clear();
  }
}
