// Server-side sessions in Redis (Flask-Session's RedisSessionInterface): the cookie holds only a signed,
// random session id; the data lives in Redis under `prefix + id` with a time to live of
// `permanentSessionLifetime`, so it can be larger than a cookie, stays private, and can be revoked.
//
// The session is read before the request is dispatched (`load`, one GET, only when the request carries
// a session cookie that verifies), so `req.session` stays synchronous. When Redis does not answer, the
// request goes on: only touching the session throws a 503 (ServiceUnavailable), and saving a changed
// session does the same, so pages that never look at the session keep working.

import { randomBytes } from "node:crypto";
import type { Phial, SessionInterface } from "../app.ts";
import { evalScript, FailureLog, type RedisLike, redisScript, storeUnavailable } from "../redis/index.ts";
import type { Request } from "../wrappers/request.ts";
import type { Response } from "../wrappers/response.ts";
import { addVary } from "./app-sessions.ts";
import { mayHaveCookie, SecureCookieSession, SecureCookieSessionInterface } from "./secure-cookie.ts";
import { Refusal, TimestampSigner, taggedJson } from "./signing.ts";

export interface RedisSessionOptions {
  /** A connected client (node-redis `createClient(...)`, see docs/deployment.md). */
  client: RedisLike;
  /** Prefix of the session keys. Default `"session:"`. */
  prefix?: string;
  /**
   * The session key that names the signed-in user (e.g. `"userId"`). When set, each user's session ids
   * are kept in a set, so `logOutEverywhere(userId)` can revoke them all.
   */
  userKey?: string;
  /** Largest session accepted, in bytes of JSON (a larger one is a 500 with a clear message). Default 1 MiB. */
  maxBytes?: number;
}

/** Loaded (or failed) before dispatch, for `open` to pick up. */
interface Loaded {
  sid: string;
  /** The stored JSON, or null when Redis has no such session (expired, revoked, never saved). */
  data: string | null;
  error: unknown;
}

const NO_DATA: Loaded = { sid: "", data: null, error: undefined };

/** The session `RedisSessionInterface` opens: the data of the cookie session, plus its id. */
export class RedisSession extends SecureCookieSession {
  /** @internal the id the request's cookie named, when Redis had it (undefined: a new session). */
  sid: string | undefined;
  /** @internal `regenerate()` was called: the next save uses a new id and deletes the old one. */
  regenerated = false;
  /** @internal why the session could not be read (Redis down): every use throws a 503. */
  failure: unknown;
  /** @internal the user the stored session named (`userKey`), to unindex it at logout. */
  storedUser: unknown;

  override regenerate(): void {
    this.modified = true;
    this.regenerated = true;
    this.get("_"); // a read: the session is opened (and a 503 raised when it cannot be)
  }

  override get [Symbol.toStringTag](): string {
    return "RedisSession";
  }
}

// One round trip, atomic: write the session (and drop the one it replaces), index it under its user.
// KEYS: session, replaced session ("" for none), user set ("" for none). ARGV: data, ttl, id, replaced id.
const SAVE = redisScript(`
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if KEYS[2] ~= '' then redis.call('DEL', KEYS[2]) end
if KEYS[3] ~= '' then
  if ARGV[4] ~= '' then redis.call('SREM', KEYS[3], ARGV[4]) end
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
end
return 1`);

// KEYS: session, user set ("" for none). ARGV: id.
const DELETE = redisScript(`
redis.call('DEL', KEYS[1])
if KEYS[2] ~= '' then redis.call('SREM', KEYS[2], ARGV[1]) end
return 1`);

// KEYS: the user's set. ARGV: the session key prefix. Deletes every session of the user.
const REVOKE_USER = redisScript(`
local ids = redis.call('SMEMBERS', KEYS[1])
for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id) end
redis.call('DEL', KEYS[1])
return #ids`);

/**
 * Sessions kept in Redis, for apps that run on several instances or need sessions larger, more private
 * or revocable: `app.sessionInterface = new RedisSessionInterface({ client })`. Needs
 * `app.config.secretKey` (the id in the cookie is signed). Logging out (`session.clear()`) deletes the
 * session in Redis, so an old copy of the cookie is worth nothing; `logOutEverywhere(userId)` ends every
 * session of a user (with `userKey`).
 */
export class RedisSessionInterface implements SessionInterface {
  readonly client: RedisLike;
  readonly prefix: string;
  readonly userKey: string | undefined;
  readonly maxBytes: number;
  /** Cookie decisions and options are the signed-cookie session's. */
  private readonly cookies = new SecureCookieSessionInterface();
  private readonly loaded = new WeakMap<Request, Loaded>();
  private signer: { key: string; fallbacks: readonly string[]; signer: TimestampSigner } | undefined;
  private readonly failures = new FailureLog("session store");

  constructor(options: RedisSessionOptions) {
    if (options === undefined || typeof options.client?.sendCommand !== "function") {
      throw new TypeError(
        "RedisSessionInterface needs a connected Redis client: new RedisSessionInterface({ client }), " +
          "with client = createClient({ url }) from the `redis` package, after `await client.connect()`",
      );
    }
    this.client = options.client;
    this.prefix = options.prefix ?? "session:";
    this.userKey = options.userKey;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
  }

  private signerFor(app: Phial): TimestampSigner | undefined {
    const c = app.config;
    const key = c.secretKey;
    if (key === undefined || key === null || key === "") return undefined;
    const fallbacks = c.secretKeyFallbacks ?? [];
    const s = this.signer;
    if (s !== undefined && s.key === key && s.fallbacks === fallbacks) return s.signer;
    const signer = new TimestampSigner({
      secretKey: key,
      fallbacks,
      salt: "phial.session-id",
      maxTokenLength: 256,
    });
    this.signer = { key, fallbacks, signer };
    return signer;
  }

  /** The session id a cookie value carries, when its signature holds; else undefined. */
  private idFrom(signer: TimestampSigner, value: string): string | undefined {
    // A forged id is ordinary traffic: refused without building an Error.
    const r = signer.verify(value, undefined);
    if (r instanceof Refusal) return undefined;
    // Signed by us, so it is one of our ids; the length only guards against a key reused elsewhere.
    const id = r.value.toString("latin1");
    return id.length === 43 ? id : undefined;
  }

  /**
   * Before dispatch: reads the session the request's cookie names (one GET), or nothing (no promise)
   * when there is no cookie or it does not verify. Never rejects: a failure is kept for `open`.
   */
  load(app: Phial, req: Request): Promise<void> | undefined {
    const name = app.config.sessionCookieName;
    if (!mayHaveCookie(req.source.rawHeaders, name)) return undefined;
    const signer = this.signerFor(app);
    if (signer === undefined) return undefined;
    const values = req.cookies.getAll(name);
    let sid: string | undefined;
    for (let i = 0; i < values.length && i < 4 && sid === undefined; i++)
      sid = this.idFrom(signer, values[i]!);
    if (sid === undefined) {
      if (values.length > 0) this.loaded.set(req, NO_DATA); // a cookie to delete if the session is emptied
      return undefined;
    }
    const id = sid;
    return this.client.sendCommand(["GET", this.prefix + id]).then(
      (data) => {
        this.loaded.set(req, { sid: id, data: typeof data === "string" ? data : null, error: undefined });
      },
      (error: unknown) => {
        this.failures.report((m) => app.logger.warn(m), error);
        this.loaded.set(req, { sid: id, data: null, error });
      },
    );
  }

  open(app: Phial, req: Request): RedisSession {
    if (this.signerFor(app) === undefined) return new RedisSession(undefined, false);
    const l = this.loaded.get(req);
    if (l === undefined) return new RedisSession();
    let session: RedisSession;
    if (l.error !== undefined) {
      const error = l.error;
      session = new RedisSession(() => {
        throw storeUnavailable("session store", error);
      });
      session.failure = error;
      session.sid = l.sid;
    } else if (l.data === null) {
      session = new RedisSession(); // expired or revoked: a new session, under a new id
    } else {
      const text = l.data;
      const userKey = this.userKey;
      const s = new RedisSession(() => {
        const d = parseSession(text);
        if (userKey !== undefined && d !== undefined) s.storedUser = d[userKey];
        return d;
      });
      s.sid = l.sid;
      session = s;
    }
    session.hadCookie = true;
    return session;
  }

  /** A permanent session is refreshed on every request that carries it (its TTL and cookie renewed). */
  refreshes(app: Phial, req: Request): boolean {
    const c = app.config;
    if (c.sessionRefreshEachRequest !== true) return false;
    const l = this.loaded.get(req);
    return l !== undefined && l.data !== null;
  }

  async save(app: Phial, session: SecureCookieSession, _req: Request, res: Response): Promise<void> {
    if (!(session instanceof RedisSession)) {
      throw new TypeError("RedisSessionInterface.save() got a session it did not open");
    }
    if (session.failure !== undefined) return; // the request already got (or handled) its 503
    const c = app.config;
    if (!session.accessed) {
      if (!c.sessionRefreshEachRequest || session.sid === undefined || !session.permanent) return;
    }
    addVary(res, "Cookie");
    if (!res.headers.has("Cache-Control")) res.headers.set("Cache-Control", "private");
    const name = c.sessionCookieName;
    const options = this.cookies.cookieOptions(c);
    const userSet = (data: Record<string, unknown>) => {
      const u = this.userKey === undefined ? undefined : data[this.userKey];
      return u === undefined || u === null ? "" : this.userSetKey(u);
    };
    try {
      if (session.size === 0) {
        if (!session.modified) return;
        if (session.sid !== undefined) {
          // Logging out: the stored session goes, so a copy of the old cookie opens nothing.
          await evalScript(
            this.client,
            DELETE,
            [this.prefix + session.sid, this.previousUserSet(session)],
            [session.sid],
          );
        }
        if (session.hadCookie) res.deleteCookie(name, options);
        return;
      }
      const ttl = Math.max(1, Math.floor(c.permanentSessionLifetime));
      const data = session.toJSON();
      if (session.modified || session.sid === undefined) {
        const fresh = session.sid === undefined || session.regenerated;
        const sid = fresh ? newId() : session.sid!;
        const old = fresh && session.sid !== undefined ? session.sid : "";
        const json = taggedJson.dumps(data);
        if (json.length > this.maxBytes) {
          throw new Error(
            `The session is ${json.length} bytes of JSON, more than the ${this.maxBytes} RedisSessionInterface ` +
              "accepts (option maxBytes): store less in it.",
          );
        }
        const users = userSet(data);
        if (old === "" && users === "") {
          await this.client.sendCommand(["SET", this.prefix + sid, json, "EX", String(ttl)]);
        } else {
          await evalScript(
            this.client,
            SAVE,
            [this.prefix + sid, old === "" ? "" : this.prefix + old, users],
            [json, String(ttl), sid, old],
          );
        }
        session.sid = sid;
        session.regenerated = false;
        // The cookie holds only the id: same id, no expiry to renew, nothing to send.
        if (!fresh && !session.permanent) return;
      } else if (c.sessionRefreshEachRequest && session.permanent) {
        await this.client.sendCommand(["EXPIRE", this.prefix + session.sid, String(ttl)]);
      } else {
        return;
      }
      if (session.permanent) {
        options.maxAge = ttl;
        options.expires = new Date(Date.now() + ttl * 1000);
      }
      res.setCookie(name, this.signerFor(app)!.sign(session.sid!), options);
    } catch (err) {
      if (!isRedisFailure(err)) throw err;
      this.failures.report((m) => app.logger.warn(m), err);
      throw storeUnavailable("session store", err);
    }
  }

  /** The user set the session was indexed under (from its stored data), or "". */
  private previousUserSet(session: RedisSession): string {
    const u = session.storedUser;
    return u === undefined || u === null ? "" : this.userSetKey(u);
  }

  private userSetKey(user: unknown): string {
    return `${this.prefix}user:${String(user)}`;
  }

  /**
   * Ends every session of a user on every instance ("log out everywhere"), e.g. after a password change.
   * Needs the `userKey` option. Resolves with the number of session ids the user had.
   */
  async logOutEverywhere(userId: string | number): Promise<number> {
    if (this.userKey === undefined) {
      throw new Error(
        "logOutEverywhere() needs the userKey option: new RedisSessionInterface({ client, userKey: 'userId' })",
      );
    }
    const n = await evalScript(this.client, REVOKE_USER, [this.userSetKey(userId)], [this.prefix]);
    return Number(n);
  }
}

function newId(): string {
  return randomBytes(32).toString("base64url");
}

function parseSession(text: string): Record<string, unknown> | undefined {
  try {
    const v = taggedJson.loads(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    return Object.assign(Object.create(null) as Record<string, unknown>, v as Record<string, unknown>);
  } catch {
    return undefined; // not ours: an empty session (the next save replaces it)
  }
}

/** A Redis error reply (a script bug) is a 500; anything else (connection, timeout) means Redis is away. */
function isRedisFailure(err: unknown): boolean {
  return !(err instanceof Error && err.constructor.name === "ErrorReply");
}
