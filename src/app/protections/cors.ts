// CORS as Flask-CORS and @fastify/cors do it: a policy per app, blueprint or route (the innermost
// wins), preflights answered before any hook or view, `Vary: Origin` whenever the answer depends on it,
// credentials only for explicitly listed origins.

import type { Request } from "../wrappers/request.ts";
import { Response } from "../wrappers/response.ts";

export interface CorsOptions {
  /**
   * Who may read responses: `"*"` (anyone, no credentials; the default), an origin
   * (`"https://app.example"`), a RegExp tested against the whole origin, a list of those, or a function.
   */
  origins?: "*" | string | RegExp | readonly (string | RegExp)[] | ((origin: string) => boolean);
  /** Methods allowed in preflights. Default: the route's methods (any method for the app or blueprint). */
  methods?: readonly string[];
  /** Request fields allowed in preflights; default: those the preflight asks for. */
  allowHeaders?: readonly string[];
  /** Response fields the browser's script may read beyond the safelisted ones. */
  exposeHeaders?: readonly string[];
  /** Send cookies / authorization. Needs explicit `origins` (never with "*"). */
  credentials?: boolean;
  /** Seconds a browser may cache a preflight's answer (`Access-Control-Max-Age`). Default 600. */
  maxAge?: number;
}

/** A compiled policy. */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly test: (origin: string) => boolean;
  private readonly methods: string | undefined;
  private readonly allowHeaders: string | undefined;
  private readonly expose: string | undefined;
  private readonly credentials: boolean;
  private readonly maxAge: string;

  constructor(o: CorsOptions) {
    const origins = o.origins ?? "*";
    this.any = origins === "*";
    this.credentials = o.credentials === true;
    if (this.any && this.credentials) {
      throw new TypeError(
        'CORS: credentials need explicit origins (browsers refuse "*" with credentials, and reflecting any ' +
          "origin would let every site act as the user); list them in `origins`",
      );
    }
    if (typeof origins === "function") this.test = origins;
    else if (origins === "*") this.test = () => true;
    else {
      const list = (typeof origins === "string" || origins instanceof RegExp ? [origins] : origins).map(
        (x) => (typeof x === "string" ? x.toLowerCase() : x),
      );
      this.test = (origin) => {
        const lo = origin.toLowerCase();
        for (const x of list) {
          if (typeof x === "string" ? x === lo : x.test(origin) && anchored(x, origin)) return true;
        }
        return false;
      };
    }
    for (const m of o.methods ?? []) checkToken(m, "method");
    for (const h of [...(o.allowHeaders ?? []), ...(o.exposeHeaders ?? [])]) checkToken(h, "field name");
    this.methods = o.methods === undefined ? undefined : o.methods.map((m) => m.toUpperCase()).join(", ");
    this.allowHeaders = o.allowHeaders === undefined ? undefined : o.allowHeaders.join(", ");
    this.expose =
      o.exposeHeaders === undefined || o.exposeHeaders.length === 0 ? undefined : o.exposeHeaders.join(", ");
    const age = o.maxAge ?? 600;
    if (!Number.isInteger(age) || age < 0)
      throw new TypeError(`CORS maxAge must be whole seconds, not ${age}`);
    this.maxAge = String(age);
  }

  /** True when `origin` may read the response. */
  allows(origin: string): boolean {
    return this.test(origin);
  }

  /** The preflight's answer: 204 with the grants, or 403 saying what was refused. */
  preflight(req: Request, origin: string, routeMethods: readonly string[] | undefined): Response {
    const method = req.header("access-control-request-method")!.trim().toUpperCase();
    if (!this.allows(origin)) return refuse(`the origin ${origin} is not allowed`);
    const allowed = this.methods ?? routeMethods?.join(", ");
    if (allowed !== undefined && !SIMPLE_METHODS.has(method) && !listHas(allowed, method)) {
      return refuse(`the method ${method} is not allowed (allowed: ${allowed})`);
    }
    const res = new Response(null, { status: 204 });
    this.grant(res, origin);
    res.headers.set("Access-Control-Allow-Methods", allowed ?? method);
    const asked = req.header("access-control-request-headers");
    const allowHeaders = this.allowHeaders ?? (asked === undefined ? undefined : asked);
    if (allowHeaders !== undefined && allowHeaders !== "")
      res.headers.set("Access-Control-Allow-Headers", allowHeaders);
    res.headers.set("Access-Control-Max-Age", this.maxAge);
    res.headers.append("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers");
    return res;
  }

  /** Adds the grants to an actual response (none for a refused origin, `Vary: Origin` always). */
  apply(res: Response, origin: string | undefined): void {
    if (!this.any) addVary(res, "Origin");
    if (origin === undefined || !this.allows(origin)) return;
    this.grant(res, origin);
    if (this.expose !== undefined) res.headers.set("Access-Control-Expose-Headers", this.expose);
  }

  private grant(res: Response, origin: string): void {
    res.headers.set("Access-Control-Allow-Origin", this.any ? "*" : origin);
    if (!this.any) addVary(res, "Origin");
    if (this.credentials) res.headers.set("Access-Control-Allow-Credentials", "true");
  }
}

const compiled = new WeakMap<CorsOptions, CorsPolicy>();

/** The policy of some options, compiled once. */
export function compileCors(o: CorsOptions): CorsPolicy {
  let p = compiled.get(o);
  if (p === undefined) {
    p = new CorsPolicy(o);
    compiled.set(o, p);
  }
  return p;
}

const SIMPLE_METHODS = new Set(["GET", "HEAD", "POST"]);

/** A preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(req: Request): boolean {
  return (
    req.method === "OPTIONS" &&
    req.header("origin") !== undefined &&
    req.header("access-control-request-method") !== undefined
  );
}

function refuse(why: string): Response {
  return new Response(`CORS preflight refused: ${why}.\n`, {
    status: 403,
    headers: { "Content-Type": "text/plain; charset=utf-8", Vary: "Origin" },
  });
}

function listHas(list: string, item: string): boolean {
  for (const x of list.split(",")) if (x.trim() === item) return true;
  return false;
}

/** A RegExp origin must match the whole origin (a bare /example\.com/ would pass evil-example.com.attacker). */
function anchored(re: RegExp, origin: string): boolean {
  const m = re.exec(origin);
  re.lastIndex = 0;
  return m !== null && m.index === 0 && m[0].length === origin.length;
}

function checkToken(s: string, what: string): void {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s))
    throw new TypeError(`CORS: ${JSON.stringify(s)} is not a valid ${what}`);
}

/** Adds a name to `Vary` unless it is there. */
export function addVary(res: Response, name: string): void {
  const cur = res.headers.get("vary");
  if (cur === undefined) {
    res.headers.set("Vary", name);
    return;
  }
  const lo = name.toLowerCase();
  for (const x of cur.split(",")) {
    const t = x.trim().toLowerCase();
    if (t === lo || t === "*") return;
  }
  res.headers.set("Vary", `${cur}, ${name}`);
}
