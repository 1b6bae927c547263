// The app's side of sessions: the signed-cookie `app.sessionInterface`, and `flash`/`getFlashedMessages`.

import type { Phial, SessionInterface } from "../app.ts";
import { currentRequest } from "../context.ts";
import { messageFlashed, signalReceivers } from "../signals.ts";
import type { Request } from "../wrappers/request.ts";
import type { Response } from "../wrappers/response.ts";
import {
  addFlash,
  type Flash,
  type FlashedOptions,
  mayHaveCookie,
  SecureCookieSession,
  SecureCookieSessionInterface,
  type Session,
  selectFlashes,
  takeFlashes,
} from "./secure-cookie.ts";

/**
 * Sessions in a signed cookie (the default `app.sessionInterface`). The cookie is verified on first
 * use of `req.session`; after the afterRequest hooks, a touched session adds `Vary: Cookie` (and
 * `Cache-Control: private` unless the response set its own), and a changed one sets the cookie (a
 * permanent one is sent again on every request that carried it, untouched or not, unless
 * `config.sessionRefreshEachRequest` is false).
 */
export class CookieSessionInterface implements SessionInterface {
  /** The framework-independent part (signing, cookie decisions); its `salt` can be changed. */
  readonly cookies = new SecureCookieSessionInterface();

  open(app: Phial, req: Request): Session {
    const values = req.cookies.getAll(app.config.sessionCookieName);
    return this.cookies.open(values, app.config);
  }

  /**
   * Permanent sessions are refreshed on every request (`config.sessionRefreshEachRequest`, Flask's
   * SESSION_REFRESH_EACH_REQUEST): true when the request may carry a session cookie, so that its
   * session is saved even if the app never touched it. A scan of the header names for requests
   * without cookies; nothing at all without a secret key (no session can be read then).
   */
  refreshes(app: Phial, req: Request): boolean {
    const c = app.config;
    if (c.sessionRefreshEachRequest !== true || !c.secretKey) return false;
    return mayHaveCookie(req.source.rawHeaders, c.sessionCookieName);
  }

  save(app: Phial, session: Session, _req: Request, res: Response): void {
    if (!(session instanceof SecureCookieSession)) {
      throw new TypeError("CookieSessionInterface.save() got a session it did not open");
    }
    const r = this.cookies.save(session, app.config);
    if (r.vary) {
      addVary(res, "Cookie");
      // A response that depends on the session must not be stored by shared caches.
      if (!res.headers.has("Cache-Control")) res.headers.set("Cache-Control", "private");
    }
    const c = r.cookie;
    if (c !== undefined) {
      if (c.action === "set") res.setCookie(c.name, c.value, c.options);
      else res.deleteCookie(c.name, c.options);
    }
    if (r.warning !== undefined) app.logger.warn(r.warning);
  }
}

/** Adds a token to `Vary` once (nothing to add when it is `*`). */
export function addVary(res: Response, token: string): void {
  const all = res.headers.getAll("Vary");
  const lower = token.toLowerCase();
  for (const v of all) {
    for (const part of v.split(",")) {
      const p = part.trim().toLowerCase();
      if (p === "*" || p === lower) return;
    }
  }
  if (all.length === 0) res.headers.set("Vary", token);
  else res.headers.set("Vary", `${all.join(", ")}, ${token}`);
}

function need(what: string): Request {
  const req = currentRequest();
  if (req === undefined) {
    throw new Error(
      `${what}() is only available while a request is handled (it uses the session). ` +
        "Call it from a handler, hook or template.",
    );
  }
  return req;
}

/**
 * Stores a message for the next page that shows flashed messages (Flask's `flash`). Needs
 * `app.config.secretKey`. `category` is free text; Flask's convention is message/error/info/warning.
 */
export function flash(message: string, category = "message"): void {
  const req = need("flash");
  addFlash(req.session, message, category);
  if (signalReceivers.count > 0) messageFlashed.send(req.app, { message, category });
}

/** Flashes taken from the session in this request (so every call in a request sees the same list). */
const taken = new WeakMap<Request, Flash[]>();

/**
 * The flashed messages, removed from the session (Flask's `get_flashed_messages`): the first call in a
 * request takes them, later calls in that request return the same ones.
 */
export function getFlashedMessages(options: FlashedOptions & { withCategories: true }): Flash[];
export function getFlashedMessages(options?: FlashedOptions & { withCategories?: false }): string[];
export function getFlashedMessages(options?: FlashedOptions): string[] | Flash[];
export function getFlashedMessages(options: FlashedOptions = {}): string[] | Flash[] {
  return flashesOf(need("getFlashedMessages"), options);
}

/** @internal `getFlashedMessages` for a given request (templates). */
export function flashesOf(req: Request, options: FlashedOptions = {}): string[] | Flash[] {
  let list = taken.get(req);
  if (list === undefined) {
    list = takeFlashes(req.session);
    taken.set(req, list);
  }
  return selectFlashes(list, options);
}

/** The little of the test client `sessionTransaction` needs. */
interface CookieJarClient {
  readonly app: Phial;
  getCookie(name: string): string | undefined;
  setCookie(name: string, value: string, path?: string): void;
  deleteCookie(name: string): void;
}

/**
 * Reads and changes the test client's session outside a request (Flask's `session_transaction`):
 * `await sessionTransaction(client, (s) => s.set("userId", 1))`. Needs the cookie session interface.
 */
export async function sessionTransaction(
  client: CookieJarClient,
  fn: (session: Session) => void | Promise<void>,
): Promise<void> {
  const app = client.app;
  const si = app.sessionInterface;
  if (!(si instanceof CookieSessionInterface)) {
    throw new TypeError("sessionTransaction() works with the signed-cookie session interface only");
  }
  const name = app.config.sessionCookieName;
  const value = client.getCookie(name);
  const session = si.cookies.open(value, app.config);
  await fn(session);
  const r = si.cookies.save(session, app.config);
  if (r.cookie?.action === "set") client.setCookie(name, r.cookie.value, r.cookie.options.path);
  else if (r.cookie?.action === "delete") client.deleteCookie(name);
}
