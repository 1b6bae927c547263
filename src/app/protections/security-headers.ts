// Security headers with safe defaults (Talisman, helmet): `config.securityHeaders` (on by default).
// nosniff, framing refused to other sites, a strict-origin referrer, HSTS on HTTPS (the connection's, or
// a trusted proxy's X-Forwarded-Proto), and an optional Content-Security-Policy whose `{nonce}` becomes a
// fresh nonce per request (`cspNonce()` in templates, `req.cspNonce` ...).

import { randomBytes } from "node:crypto";
import { currentRequest } from "../context.ts";
import type { Request } from "../wrappers/request.ts";
import type { Response } from "../wrappers/response.ts";

export interface SecurityHeadersOptions {
  /** `X-Content-Type-Options: nosniff`. Default true. */
  nosniff?: boolean;
  /**
   * Who may frame the pages: "DENY" (nobody), "SAMEORIGIN" (this site; the default), or false to send
   * nothing. Sent as X-Frame-Options and, when there is no CSP, `Content-Security-Policy: frame-ancestors`.
   */
  frameOptions?: "DENY" | "SAMEORIGIN" | false;
  /** `Referrer-Policy`. Default `strict-origin-when-cross-origin`; false for none. */
  referrerPolicy?: string | false;
  /**
   * `Strict-Transport-Security` on HTTPS responses: max-age in seconds (default one year), false for none.
   */
  hsts?: number | false;
  /** Add `includeSubDomains` to HSTS. Default false. */
  hstsIncludeSubdomains?: boolean;
  /**
   * A Content-Security-Policy, e.g. `"default-src 'self'; script-src 'self' 'nonce-{nonce}'"`. `{nonce}`
   * is replaced with this response's nonce (`cspNonce()` in a template gives the same one).
   */
  csp?: string;
}

const NONCE = new WeakMap<Request, string>();

/** This request's CSP nonce (made on first use): `<script nonce="{{ cspNonce() }}">`. */
export function cspNonce(req?: Request): string {
  const r = req ?? currentRequest();
  if (r === undefined) throw new Error("cspNonce() outside a request: call it from a view or template");
  let n = NONCE.get(r);
  if (n === undefined) {
    n = randomBytes(16).toString("base64");
    NONCE.set(r, n);
  }
  return n;
}

/** Adds the headers the options ask for, leaving any the view set itself. */
export function applySecurityHeaders(res: Response, req: Request, o: SecurityHeadersOptions): void {
  const h = res.headers;
  if (o.nosniff !== false && !h.has("x-content-type-options")) h.set("X-Content-Type-Options", "nosniff");
  const frame = o.frameOptions ?? "SAMEORIGIN";
  if (frame !== false && !h.has("x-frame-options")) h.set("X-Frame-Options", frame);
  const ref = o.referrerPolicy ?? "strict-origin-when-cross-origin";
  if (ref !== false && !h.has("referrer-policy")) h.set("Referrer-Policy", ref);
  const hsts = o.hsts ?? 31_536_000;
  if (hsts !== false && req.isSecure && !h.has("strict-transport-security")) {
    h.set(
      "Strict-Transport-Security",
      `max-age=${hsts}${o.hstsIncludeSubdomains ? "; includeSubDomains" : ""}`,
    );
  }
  if (!h.has("content-security-policy")) {
    if (o.csp !== undefined) {
      const policy = o.csp.includes("{nonce}") ? o.csp.replaceAll("{nonce}", cspNonce(req)) : o.csp;
      h.set("Content-Security-Policy", policy);
    } else if (frame !== false) {
      h.set("Content-Security-Policy", `frame-ancestors ${frame === "DENY" ? "'none'" : "'self'"}`);
    }
  }
}
