// Sessions stored in a signed cookie (Flask's SecureCookieSession and SecureCookieSessionInterface).
//
// The session is read lazily: the cookie is only verified when the app first touches the session,
// and every touch (get, has, size, iteration, …) marks it `accessed`, so the response gets
// `Vary: Cookie` and a shared cache never hands one user's page to another (Flask CVE-2023-30861,
// CVE-2026-27205). A tampered, expired or malformed cookie reads as an empty session, never an error.

import { Refusal, TimedSerializer } from "./signing.ts";

/**
 * The shape of session data. Augment it to type your keys:
 * `declare module "phial" { interface SessionData { userId: number } }`.
 */
export interface SessionData {
  [key: string]: unknown;
}

/** The settings the session reads (the same keys as `app.config`). */
export interface SessionConfig {
  secretKey: string | undefined;
  secretKeyFallbacks: readonly string[];
  sessionCookieName: string;
  sessionCookieDomain: string | undefined;
  sessionCookiePath: string | undefined;
  sessionCookieHttpOnly: boolean;
  sessionCookieSecure: boolean;
  sessionCookieSameSite: "Strict" | "Lax" | "None" | undefined;
  sessionCookiePartitioned: boolean;
  /** Lifetime of permanent sessions, and the oldest cookie accepted at all, in seconds. */
  permanentSessionLifetime: number;
  sessionRefreshEachRequest: boolean;
  /** The cookie's path when `sessionCookiePath` is unset. */
  applicationRoot?: string;
}

/** Where the session keeps its flag and flashed messages (Flask's keys, so ported code agrees). */
export const PERMANENT_KEY = "_permanent";
export const FLASHES_KEY = "_flashes";

function noSecretKey(): Error {
  return new Error(
    "The session is unavailable because no secret key was set. Set `app.config.secretKey` to a long " +
      "random string before writing to the session, e.g. `app.config.secretKey = process.env.SECRET_KEY`, " +
      "or the environment variable PHIAL_SECRET_KEY with `app.config.fromEnv()`. Generate one with: " +
      `node -e "console.log(require('node:crypto').randomBytes(32).toString('hex'))"`,
  );
}

/**
 * What `req.session` and the global `session` are: a Map-like store (Flask's session dict).
 * Implement it (or extend `SecureCookieSession`) for a custom `app.sessionInterface`.
 */
export interface Session extends Iterable<[string, unknown]> {
  get<K extends keyof SessionData & string>(key: K): SessionData[K] | undefined;
  get<K extends keyof SessionData & string, D>(key: K, fallback: D): NonNullable<SessionData[K]> | D;
  set<K extends keyof SessionData & string>(key: K, value: SessionData[K]): this;
  has(key: string): boolean;
  delete(key: string): boolean;
  pop<K extends keyof SessionData & string>(key: K): SessionData[K] | undefined;
  pop<K extends keyof SessionData & string, D>(key: K, fallback: D): NonNullable<SessionData[K]> | D;
  setDefault<K extends keyof SessionData & string>(key: K, value: SessionData[K]): SessionData[K];
  update(values: Readonly<Partial<SessionData>>): this;
  clear(): void;
  readonly size: number;
  keys(): IterableIterator<string>;
  values(): IterableIterator<unknown>;
  entries(): IterableIterator<[string, unknown]>;
  forEach(fn: (value: unknown, key: string, session: this) => void): void;
  toJSON(): Record<string, unknown>;
  /** Kept `permanentSessionLifetime` seconds; else until the browser closes. */
  permanent: boolean;
  /** Set it after changing a nested value in place (not noticed otherwise). */
  modified: boolean;
  /** True once read or written: the response then gets `Vary: Cookie`. */
  readonly accessed: boolean;
  /** True when the request carried no valid session. */
  readonly new: boolean;
  /**
   * Gives the session a new identity, keeping its data: call it when the user signs in (so an id an
   * attacker planted before cannot be used afterwards). A server-side session gets a new id and the
   * old one is deleted; a signed cookie has no id, so it is only signed again.
   */
  regenerate(): void;
}

/**
 * The session: a Map-like store of JSON values (plus `Date` and bytes) kept in a signed cookie.
 * Changing a nested value in place is not noticed: set `session.modified = true` then.
 */
export class SecureCookieSession implements Session {
  /** True once anything was read or written (the response then varies on Cookie). */
  accessed = false;
  /** True once the data changed (the cookie is then sent again). */
  modified = false;
  // Real private fields: `Object.keys(session)` and spreads show no internals.
  #data: Record<string, unknown> | undefined;
  #loader: (() => Record<string, unknown>) | undefined;
  readonly #writable: boolean;
  #isNew = true;
  /** @internal true when the request carried a session cookie (so an emptied session deletes it). */
  hadCookie = false;

  /**
   * @param load returns the stored data on first use (lazy verification), or pass the data itself.
   * @param writable false when no secret key is set: reads see an empty session, writes throw.
   */
  constructor(load?: Record<string, unknown> | (() => Record<string, unknown> | undefined), writable = true) {
    this.#writable = writable;
    if (typeof load === "function") {
      this.#loader = () => {
        const d = load();
        if (d !== undefined) this.#isNew = false;
        return d ?? nullObject();
      };
    } else {
      this.#data = Object.assign(nullObject(), load);
      this.#isNew = load === undefined;
    }
  }

  #read(): Record<string, unknown> {
    this.accessed = true;
    let d = this.#data;
    if (d === undefined) {
      d = this.#loader!();
      this.#data = d;
      this.#loader = undefined;
    }
    return d;
  }

  #write(): Record<string, unknown> {
    if (!this.#writable) throw noSecretKey();
    const d = this.#read();
    this.modified = true;
    return d;
  }

  /** True when the request carried no valid session cookie. Reading it counts as an access. */
  get new(): boolean {
    this.#read();
    return this.#isNew;
  }

  /** The value under `key`, or undefined. */
  get<K extends keyof SessionData & string>(key: K): SessionData[K] | undefined;
  get<K extends keyof SessionData & string, D>(key: K, fallback: D): NonNullable<SessionData[K]> | D;
  get(key: string, fallback?: unknown): unknown {
    const d = this.#read();
    return Object.hasOwn(d, key) ? d[key] : fallback;
  }

  set<K extends keyof SessionData & string>(key: K, value: SessionData[K]): this {
    this.#write()[key] = value;
    return this;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.#read(), key);
  }

  /** Removes a key; true when it was there. */
  delete(key: string): boolean {
    const d = this.#read();
    if (!Object.hasOwn(d, key)) return false;
    delete this.#write()[key];
    return true;
  }

  /** Removes a key and returns its value (Flask's `session.pop(key, default)`). */
  pop<K extends keyof SessionData & string>(key: K): SessionData[K] | undefined;
  pop<K extends keyof SessionData & string, D>(key: K, fallback: D): NonNullable<SessionData[K]> | D;
  pop(key: string, fallback?: unknown): unknown {
    const d = this.#read();
    if (!Object.hasOwn(d, key)) return fallback;
    const v = d[key];
    delete this.#write()[key];
    return v;
  }

  /** Sets `key` to `value` unless present; returns the stored value. */
  setDefault<K extends keyof SessionData & string>(key: K, value: SessionData[K]): SessionData[K] {
    const d = this.#read();
    if (Object.hasOwn(d, key)) return d[key] as SessionData[K];
    this.#write()[key] = value;
    return value;
  }

  /** Copies every key of `values` into the session. */
  update(values: Readonly<Partial<SessionData>>): this {
    const d = this.#write();
    for (const k of Object.keys(values)) {
      if (k === "__proto__") continue;
      d[k] = values[k];
    }
    return this;
  }

  /** Empties the session, `permanent` included (as in Flask); the cookie is then deleted. */
  clear(): void {
    const d = this.#read();
    if (Object.keys(d).length === 0) return;
    this.#write();
    this.#data = nullObject();
  }

  get size(): number {
    return Object.keys(this.#read()).length;
  }

  keys(): IterableIterator<string> {
    return Object.keys(this.#read())[Symbol.iterator]();
  }

  values(): IterableIterator<unknown> {
    return Object.values(this.#read())[Symbol.iterator]();
  }

  entries(): IterableIterator<[string, unknown]> {
    return Object.entries(this.#read())[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, unknown]> {
    return this.entries();
  }

  forEach(fn: (value: unknown, key: string, session: this) => void): void {
    for (const [k, v] of Object.entries(this.#read())) fn(v, k, this);
  }

  /** A copy of the data as a plain object. */
  toJSON(): Record<string, unknown> {
    return { ...this.#read() };
  }

  /**
   * The data itself, not a copy, for saving (the serializer copies as it encodes).
   * @internal
   */
  static dataOf(session: SecureCookieSession): Readonly<Record<string, unknown>> {
    return session.#read();
  }

  /**
   * A permanent session lives `permanentSessionLifetime` seconds (the cookie gets an expiry);
   * otherwise the cookie ends with the browser session.
   */
  get permanent(): boolean {
    return this.#read()[PERMANENT_KEY] === true;
  }

  set permanent(value: boolean) {
    const d = this.#read();
    if ((d[PERMANENT_KEY] === true) === value) return;
    if (value) this.#write()[PERMANENT_KEY] = true;
    else delete this.#write()[PERMANENT_KEY];
  }

  /** A signed cookie has no id to replace: the session is marked changed, so a fresh cookie is sent. */
  regenerate(): void {
    this.#write();
  }

  get [Symbol.toStringTag](): string {
    return "SecureCookieSession";
  }
}

function nullObject(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

/** A cookie to set or delete; the app applies it with `res.setCookie`/`res.deleteCookie`. */
export interface SessionCookieOptions {
  path: string;
  domain?: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite?: "Strict" | "Lax" | "None";
  partitioned?: boolean;
  /** Seconds (permanent sessions only). */
  maxAge?: number;
  expires?: Date;
}

/** What saving a session asks of the response. */
export interface SessionSaveResult {
  /** Add `Cookie` to `Vary` (and mark the response private). */
  vary: boolean;
  /** Set-Cookie to send, if any. */
  cookie?:
    | { action: "set"; name: string; value: string; options: SessionCookieOptions }
    | { action: "delete"; name: string; options: SessionCookieOptions };
  /** A problem worth logging (e.g. a cookie too large for browsers). */
  warning?: string;
}

/** Browsers drop cookies larger than this (name, value and attributes); Flask warns at the same size. */
export const MAX_COOKIE_SIZE = 4093;
/** Cookies longer than this are not even verified. */
const MAX_READ_LENGTH = 8 * 1024;
/** Several cookies with the session's name may arrive (other paths or a parent domain); try a few. */
const MAX_CANDIDATES = 4;

/**
 * Opens and saves sessions as signed cookies. Replace `app.sessionInterface` to store sessions
 * elsewhere (a server-side store keyed by a random id, for instance).
 */
export class SecureCookieSessionInterface {
  /** Separates session tokens from other signed values of the app. */
  salt = "phial.session";
  private cached:
    | { key: string; fallbacks: readonly string[]; salt: string; serializer: TimedSerializer }
    | undefined;

  /** The serializer for the current keys, or undefined without a secret key. */
  serializer(config: SessionConfig): TimedSerializer | undefined {
    const key = config.secretKey;
    if (key === undefined || key === null || key === "") return undefined;
    const fallbacks = config.secretKeyFallbacks ?? [];
    const c = this.cached;
    const salt = this.salt;
    if (c !== undefined && c.key === key && c.salt === salt && sameList(c.fallbacks, fallbacks))
      return c.serializer;
    // A new serializer for new keys: what the old one remembered verifying is forgotten with it.
    const serializer = new TimedSerializer({ secretKey: key, fallbacks, salt });
    this.cached = { key, fallbacks: [...fallbacks], salt, serializer };
    return serializer;
  }

  /**
   * The session for a request, from the values of the cookies named `sessionCookieName` (first
   * that verifies wins). Nothing is verified until the session is first used.
   */
  open(cookieValues: readonly string[] | string | undefined, config: SessionConfig): SecureCookieSession {
    const serializer = this.serializer(config);
    if (serializer === undefined) return new SecureCookieSession(undefined, false);
    const values =
      cookieValues === undefined ? [] : typeof cookieValues === "string" ? [cookieValues] : cookieValues;
    if (values.length === 0) return new SecureCookieSession();
    const maxAge = config.permanentSessionLifetime;
    const session = new SecureCookieSession(() => {
      const n = Math.min(values.length, MAX_CANDIDATES);
      for (let i = 0; i < n; i++) {
        const data = loadToken(serializer, values[i]!, maxAge);
        if (data !== undefined) return data;
      }
      return undefined;
    });
    session.hadCookie = true;
    return session;
  }

  /** The cookie options from the config. */
  cookieOptions(config: SessionConfig): SessionCookieOptions {
    const o: SessionCookieOptions = {
      path: config.sessionCookiePath ?? config.applicationRoot ?? "/",
      secure: config.sessionCookieSecure,
      httpOnly: config.sessionCookieHttpOnly,
    };
    if (o.path === "") o.path = "/";
    if (config.sessionCookieDomain !== undefined) o.domain = config.sessionCookieDomain;
    if (config.sessionCookieSameSite !== undefined) o.sameSite = config.sessionCookieSameSite;
    if (config.sessionCookiePartitioned) o.partitioned = true;
    return o;
  }

  /** True when the cookie must be sent: the session changed, or it is permanent and refreshed each request. */
  shouldSetCookie(session: SecureCookieSession, config: SessionConfig): boolean {
    return session.modified || (config.sessionRefreshEachRequest && session.permanent);
  }

  /**
   * What the response needs for this session: nothing when it was never touched (unless it is a
   * permanent one to refresh); `Vary: Cookie` when it was read; the cookie when it changed (or is
   * refreshed); a deletion when it was emptied (only if the request carried a session cookie:
   * otherwise there is nothing to delete).
   */
  save(session: SecureCookieSession, config: SessionConfig): SessionSaveResult {
    if (!session.accessed) {
      // Flask's SESSION_REFRESH_EACH_REQUEST: a permanent session the request never touched still gets
      // its cookie again (a new expiry). Reading the flag verifies the cookie: only when one was sent.
      if (!config.sessionRefreshEachRequest || !session.hadCookie || !session.permanent)
        return { vary: false };
    }
    const name = config.sessionCookieName;
    const options = this.cookieOptions(config);
    if (session.size === 0) {
      if (session.modified && session.hadCookie)
        return { vary: true, cookie: { action: "delete", name, options } };
      return { vary: true };
    }
    if (!this.shouldSetCookie(session, config)) return { vary: true };
    const serializer = this.serializer(config);
    if (serializer === undefined) throw noSecretKey();
    if (session.permanent) {
      const lifetime = config.permanentSessionLifetime;
      options.maxAge = lifetime;
      options.expires = new Date(Date.now() + lifetime * 1000);
    }
    const value = serializer.dumps(SecureCookieSession.dataOf(session));
    const result: SessionSaveResult = { vary: true, cookie: { action: "set", name, value, options } };
    const size = name.length + value.length + 100; // ~ the attributes
    if (size > MAX_COOKIE_SIZE) {
      result.warning =
        `The session cookie "${name}" is about ${size} bytes, more than the ${MAX_COOKIE_SIZE} bytes browsers keep: ` +
        "they will silently ignore it. Store less in the session (an id, and the data server-side).";
    }
    return result;
  }
}

/**
 * Whether the Cookie fields of a request (raw headers: name, value, …) may hold a cookie named `name`:
 * a scan of the field names, and of a Cookie value for `name=`; nothing is parsed or copied. A false
 * "yes" only costs opening the session; a "no" is certain.
 */
export function mayHaveCookie(rawHeaders: readonly string[], name: string): boolean {
  const n = name.length;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const k = rawHeaders[i]!;
    if (k.length !== 6 || (k !== "Cookie" && k !== "cookie" && k.toLowerCase() !== "cookie")) continue;
    const v = rawHeaders[i + 1]!;
    for (let at = v.indexOf(name); at !== -1; at = v.indexOf(name, at + n)) {
      const before = at === 0 ? 0x3b : v.charCodeAt(at - 1); // start, "; " or ";"
      if (before !== 0x3b && before !== 0x20 && before !== 0x09) continue;
      let j = at + n;
      while (v.charCodeAt(j) === 0x20 || v.charCodeAt(j) === 0x09) j++;
      if (v.charCodeAt(j) === 0x3d) return true;
    }
  }
  return false;
}

function loadToken(
  serializer: TimedSerializer,
  token: string,
  maxAge: number,
): Record<string, unknown> | undefined {
  if (token.length === 0 || token.length > MAX_READ_LENGTH) return undefined;
  // A refused cookie (forged, expired, from another key) is ordinary traffic: no Error is built for it.
  const r = serializer.tryLoads(token, maxAge);
  if (r instanceof Refusal) return undefined;
  const v = r.value;
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  return Object.assign(nullObject(), v as Record<string, unknown>);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- flashed messages -------------------------------------------------------------------------

/** A flashed message and its category. */
export type Flash = [category: string, message: string];

/** Stores a message for the next request that reads the flashes (Flask's `flash`). */
/** The little of a session the flash helpers use. */
type FlashStore = Pick<Session, "get" | "set" | "has" | "delete">;

export function addFlash(session: FlashStore, message: string, category = "message"): void {
  const prev = session.get(FLASHES_KEY);
  const list: Flash[] = Array.isArray(prev) ? [...(prev as Flash[])] : [];
  list.push([String(category), String(message)]);
  session.set(FLASHES_KEY, list);
}

/** Removes and returns the flashed messages (the first read in a request; cache the result per request). */
export function takeFlashes(session: FlashStore): Flash[] {
  // `has` first: a session without flashes is read, not modified, so no cookie is sent for it.
  if (!session.has(FLASHES_KEY)) return [];
  const v = session.get(FLASHES_KEY);
  session.delete(FLASHES_KEY);
  if (!Array.isArray(v)) return [];
  const out: Flash[] = [];
  for (const f of v) {
    if (Array.isArray(f) && f.length === 2) out.push([String(f[0]), String(f[1])]);
  }
  return out;
}

export interface FlashedOptions {
  /** Return `[category, message]` pairs instead of messages. */
  withCategories?: boolean;
  /** Only these categories. */
  categoryFilter?: readonly string[];
}

/** Filters taken flashes as `getFlashedMessages` returns them. */
export function selectFlashes(
  flashes: readonly Flash[],
  options: FlashedOptions & { withCategories: true },
): Flash[];
export function selectFlashes(flashes: readonly Flash[], options?: FlashedOptions): string[] | Flash[];
export function selectFlashes(flashes: readonly Flash[], options: FlashedOptions = {}): string[] | Flash[] {
  const filter = options.categoryFilter;
  const list =
    filter === undefined || filter.length === 0 ? flashes : flashes.filter((f) => filter.includes(f[0]));
  return options.withCategories ? list.map((f) => [f[0], f[1]] as Flash) : list.map((f) => f[1]);
}

// ---- the session as templates see it ----------------------------------------------------------

/**
 * A view of the session for templates, where Jinja code writes `session.user` or `session["user"]`:
 * names the session has (`get`, `has`, `permanent`, `size`, …) are its own; any other name reads that
 * key. `open` is only called on first use, so a template that never looks doesn't open the session
 * (and the response doesn't vary on Cookie).
 */
export function sessionView(open: () => Session): Session & Readonly<SessionData> {
  let s: Session | undefined;
  const session = () => (s ??= open());
  return new Proxy(Object.create(null) as Session & SessionData, {
    get(_t, key) {
      // A plain object to Nunjucks (`'user' in session`, `session | length`, `for k, v in session`).
      if (key === Symbol.toStringTag) return undefined;
      const target = session();
      if (typeof key === "symbol" || key in target) {
        const v = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      }
      return target.get(key);
    },
    has(_t, key) {
      const target = session();
      return typeof key === "symbol" || key in target ? true : target.has(key);
    },
    ownKeys() {
      return [...session().keys()];
    },
    getOwnPropertyDescriptor(_t, key) {
      const target = session();
      if (typeof key !== "string" || !target.has(key)) return undefined;
      return { value: target.get(key), writable: false, enumerable: true, configurable: true };
    },
    set() {
      throw new TypeError("Templates can't change the session; do it in the view");
    },
  });
}
