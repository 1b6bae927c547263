// Cross-site request forgery, in the core (Flask-WTF's CSRFProtect, Go's CrossOriginProtection):
//
// A request that changes state (POST, PUT, PATCH, DELETE) with a body a cross-site HTML form or a
// no-preflight fetch can send (urlencoded, multipart, text/plain, no or an unparsable Content-Type) is
// checked, unless its route or blueprint is exempt:
// 1. the browser's word: `Sec-Fetch-Site` must be same-origin or none (typed by the user); without it,
//    an `Origin` must be the request's own origin or one of `config.csrfTrustedOrigins`;
// 2. a token bound to the session: the form field `csrf_token` or the `X-CSRF-Token` field, from
//    `csrfToken()` (a template global too). A token that is sent is always verified; one is required
//    when `config.csrfTokenRequired` is on (Flask-WTF's rule; needs sessions, `secretKey`). Off by
//    default: the browser's fields (step 1) already refuse cross-site posts in every browser since 2020,
//    and a required token would break every form without one (docs/flask.md).
// JSON and other non-simple media types pass: a browser sends them cross-site only after a CORS
// preflight, which only a CORS policy grants. A failed check is a 400 `CSRFError`, as in Flask-WTF.

import { randomBytes, timingSafeEqual } from "node:crypto";
import { currentRequest } from "../context.ts";
import { BadRequest } from "../wrappers/exceptions.ts";
import type { Request } from "../wrappers/request.ts";
import { originAllowed } from "./origin.ts";

/** The CSRF check failed (400, as Flask-WTF's CSRFError). `reason` says which part. */
export class CSRFError extends BadRequest {
  readonly reason: string;
  constructor(reason: string) {
    super(
      `The form expired or came from another site (CSRF check: ${reason}). Reload the page and send it again.`,
    );
    this.reason = reason;
  }
}

const SESSION_KEY = "_csrf_token";
const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const SIMPLE = new Set(["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]);

/** True for a method that changes state. */
export function unsafeMethod(method: string): boolean {
  return !SAFE.has(method);
}

/** True when a cross-site page could send this body without a preflight (so it must be checked). */
export function simpleBody(req: Request): boolean {
  // "" when absent or unparsable (a browser may still have sent it as text/plain); the request
  // remembers the last Content-Type it parsed, so a JSON API's requests cost a string compare.
  const mt = req.mimetype;
  return mt === "" || SIMPLE.has(mt);
}

/** Checks a request; throws `CSRFError`. The body must be loaded (the token may be a form field). */
export function checkCsrf(req: Request): void {
  checkCsrfOrigin(req);
  checkCsrfToken(req);
}

/** Step 1, from the header fields alone (before any body byte is read); throws `CSRFError`. */
export function checkCsrfOrigin(req: Request): void {
  const cfg = req.app.config;
  const trusted = (cfg.csrfTrustedOrigins as readonly string[] | undefined) ?? [];
  const site = req.header("sec-fetch-site");
  const origin = req.header("origin");
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    if (origin === undefined || !originAllowed(req, origin, trusted))
      throw new CSRFError(`Sec-Fetch-Site is ${site}`);
  } else if (site === undefined && origin !== undefined && !originAllowed(req, origin, trusted)) {
    throw new CSRFError(`the Origin ${origin} is not this site`);
  }
}

/** True when step 2 can't be done without the body: no `X-CSRF-Token` field (the token may be a form field). */
export function csrfTokenInBody(req: Request): boolean {
  return req.header("x-csrf-token") === undefined;
}

/** Step 2, the token (`X-CSRF-Token` or the form field: the body must be read); throws `CSRFError`. */
export function checkCsrfToken(req: Request): void {
  const cfg = req.app.config;
  const sent = req.header("x-csrf-token") ?? req.form.get(String(cfg.csrfFieldName ?? "csrf_token"));
  if (sent === undefined || sent === "") {
    if (cfg.csrfTokenRequired === true) throw new CSRFError("the CSRF token is missing");
    return;
  }
  if (cfg.secretKey === undefined || cfg.secretKey === "" || req.app.sessionInterface === undefined) {
    throw new CSRFError("a CSRF token was sent but the app has no sessions (set config.secretKey)");
  }
  const secret = req.session.get(SESSION_KEY);
  if (typeof secret !== "string" || !tokenMatches(sent, secret)) {
    throw new CSRFError("the CSRF token does not match this session");
  }
}

/**
 * The session's CSRF token for a form or a fetch header (`csrfToken()` in templates). Each call gives a
 * differently masked copy of the same secret (so compressed pages don't leak it, BREACH); all verify.
 */
export function csrfToken(req?: Request): string {
  const r = req ?? currentRequest();
  if (r === undefined) throw new Error("csrfToken() outside a request: call it from a view or template");
  let secret = r.session.get(SESSION_KEY);
  if (typeof secret !== "string") {
    secret = randomBytes(24).toString("base64url"); // 24 bytes: base64url with no spare bits
    r.session.set(SESSION_KEY, secret);
  }
  const s = Buffer.from(secret as string, "base64url");
  const mask = randomBytes(s.length);
  const out = Buffer.alloc(s.length * 2);
  mask.copy(out);
  for (let i = 0; i < s.length; i++) out[s.length + i] = s[i]! ^ mask[i]!;
  return out.toString("base64url");
}

function tokenMatches(sent: string, secret: string): boolean {
  if (sent.length > 200) return false;
  const s = Buffer.from(secret, "base64url");
  const t = Buffer.from(sent, "base64url");
  // Strict: Buffer ignores stray characters and a last character's spare bits; the token must be exact.
  if (t.length !== s.length * 2 || t.toString("base64url") !== sent) return false;
  const plain = Buffer.alloc(s.length);
  for (let i = 0; i < s.length; i++) plain[i] = t[i]! ^ t[s.length + i]!;
  return timingSafeEqual(plain, s);
}
