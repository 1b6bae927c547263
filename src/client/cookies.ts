// A cookie jar as a browser keeps one (RFC 6265 §5 with the changes of RFC 6265bis): Set-Cookie
// parsing, domain and path matching, expiry (Max-Age over Expires), Secure, HttpOnly, SameSite kept,
// `__Secure-`/`__Host-` prefixes (case-insensitive), a plain-http response can't shadow a Secure
// cookie, size and count limits, and no cookie for a public suffix (`co.uk`, `github.io`): the list
// is the Public Suffix List as the `tldts` package ships it (ICANN and private sections).

import { createRequire } from "node:module";
import { isIP } from "node:net";
import type * as Tldts from "tldts";

/**
 * tldts, loaded the first time a cookie needs the Public Suffix List: its list is 0.7 MiB of JS heap
 * (6 MiB of RSS) and 13 ms to load, which a client without a cookie jar never needs.
 */
let tldts: typeof Tldts | undefined;
function psl(): typeof Tldts {
  tldts ??= createRequire(import.meta.url)("tldts") as typeof Tldts;
  return tldts;
}

/** A stored cookie. */
export interface Cookie {
  name: string;
  value: string;
  /** Lower-cased domain, without a leading dot. */
  domain: string;
  /** True when set without a Domain attribute: sent to exactly this host only. */
  hostOnly: boolean;
  path: string;
  /** Expiry in ms since the epoch; `Infinity` for a session cookie. */
  expires: number;
  secure: boolean;
  httpOnly: boolean;
  sameSite: "strict" | "lax" | "none" | undefined;
  /** Creation time in ms, for ordering. */
  created: number;
}

/** Longest Set-Cookie line the jar reads. */
const MAX_COOKIE_BYTES = 8192;
/** Longest name + value (RFC 6265bis §5.6: a longer cookie is ignored). */
const MAX_NAME_VALUE = 4096;
/** Longest attribute value (RFC 6265bis §5.6: a longer attribute is ignored). */
const MAX_ATTRIBUTE_VALUE = 1024;
/** Cookies kept per site (registrable domain, as browsers count: Chromium keeps 180) before the oldest goes. */
const MAX_PER_SITE = 180;
/** Cookies kept in all. */
const MAX_TOTAL = 3000;
const PSL = { allowPrivateDomains: true } as const;

const siteCache = new Map<string, string>();

/** The site a cookie domain belongs to (its registrable domain, or itself for IPs and single labels). */
function siteOf(domain: string): string {
  let site = siteCache.get(domain);
  if (site === undefined) {
    site = (isIP(domain) === 0 ? psl().getDomain(domain, PSL) : null) ?? domain;
    if (siteCache.size >= 10_000) siteCache.clear();
    siteCache.set(domain, site);
  }
  return site;
}

function defaultPath(pathname: string): string {
  if (pathname.charCodeAt(0) !== 0x2f) return "/";
  const last = pathname.lastIndexOf("/");
  return last <= 0 ? "/" : pathname.slice(0, last);
}

/** RFC 6265 §5.1.3 domain-match. */
export function domainMatch(host: string, domain: string): boolean {
  if (host === domain) return true;
  return (
    host.length > domain.length &&
    host.endsWith(domain) &&
    host.charCodeAt(host.length - domain.length - 1) === 0x2e &&
    isIP(host) === 0
  );
}

/** RFC 6265 §5.1.4 path-match. */
export function pathMatch(reqPath: string, cookiePath: string): boolean {
  if (reqPath === cookiePath) return true;
  if (!reqPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || reqPath.charCodeAt(cookiePath.length) === 0x2f;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return c !== 0x09;
  }
  return false;
}

/** Host of a URL as the jar compares it: lower-case, IPv6 brackets removed. */
function canonicalHost(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.charCodeAt(0) === 0x5b ? h.slice(1, -1) : h;
}

/** Secure-context test for setting Secure cookies: https, or a loopback host. */
function isSecureOrigin(url: URL, host: string): boolean {
  return url.protocol === "https:" || host === "localhost" || host === "127.0.0.1" || host === "::1";
}

export class CookieJar {
  private readonly store = new Map<string, Cookie>();

  /** Stores the cookies of a response's Set-Cookie values, as received from `url`. */
  setCookies(values: readonly string[], url: URL, now = Date.now()): void {
    for (const v of values) this.setCookie(v, url, now);
  }

  /** Parses one Set-Cookie value from `url`; returns the stored cookie, or undefined when it was ignored. */
  setCookie(header: string, url: URL, now = Date.now()): Cookie | undefined {
    if (header.length > MAX_COOKIE_BYTES || hasControl(header)) return undefined;
    const semi = header.indexOf(";");
    const pair = semi === -1 ? header : header.slice(0, semi);
    const eq = pair.indexOf("=");
    // RFC 6265bis: a nameless cookie is ignored (cf. Werkzeug CVE-2023-23934 prefix confusion).
    if (eq <= 0) return undefined;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name.length === 0 || name.length + value.length > MAX_NAME_VALUE) return undefined;
    const host = canonicalHost(url);
    let domain = "";
    let path = "";
    let maxAge: number | undefined;
    let expires: number | undefined;
    let secure = false;
    let httpOnly = false;
    let sameSite: Cookie["sameSite"];
    let rest = semi === -1 ? "" : header.slice(semi + 1);
    while (rest.length > 0) {
      const next = rest.indexOf(";");
      const av = next === -1 ? rest : rest.slice(0, next);
      rest = next === -1 ? "" : rest.slice(next + 1);
      const aeq = av.indexOf("=");
      const key = (aeq === -1 ? av : av.slice(0, aeq)).trim().toLowerCase();
      const val = aeq === -1 ? "" : av.slice(aeq + 1).trim();
      if (val.length > MAX_ATTRIBUTE_VALUE) continue;
      switch (key) {
        case "expires": {
          const t = Date.parse(val);
          if (!Number.isNaN(t)) expires = t;
          break;
        }
        case "max-age": {
          if (/^-?[0-9]+$/.test(val)) {
            const n = Number(val);
            maxAge = n <= 0 ? Number.NEGATIVE_INFINITY : n;
          }
          break;
        }
        case "domain": {
          let d = val.toLowerCase();
          if (d.charCodeAt(0) === 0x2e) d = d.slice(1);
          if (d.length > 0) domain = d;
          break;
        }
        case "path":
          path = val.charCodeAt(0) === 0x2f ? val : "";
          break;
        case "secure":
          secure = true;
          break;
        case "httponly":
          httpOnly = true;
          break;
        case "samesite": {
          const s = val.toLowerCase();
          sameSite = s === "strict" || s === "lax" || s === "none" ? s : undefined;
          break;
        }
      }
    }
    let hostOnly = true;
    if (domain !== "") {
      // RFC 6265 §5.3 step 5: a public suffix as the Domain is refused, unless it is the host itself
      // (then the cookie is host-only). An IP address is never a parent domain.
      if (isIP(domain) === 0 && psl().getPublicSuffix(domain, PSL) === domain) {
        if (domain !== host) return undefined;
      } else {
        if (!domainMatch(host, domain)) return undefined;
        if (domain !== host && isIP(domain) !== 0) return undefined;
        hostOnly = false;
      }
      if (hostOnly) domain = host;
    } else {
      domain = host;
    }
    if (path === "") path = defaultPath(url.pathname);
    const secureOrigin = isSecureOrigin(url, host);
    if (secure && !secureOrigin) return undefined;
    // RFC 6265bis §4.1.3: the prefixes are matched case-insensitively (`__host-` is no way around them).
    const lname = name.length >= 7 && name.charCodeAt(0) === 0x5f ? name.toLowerCase() : "";
    if (lname.startsWith("__secure-") && !secure) return undefined;
    if (lname.startsWith("__host-") && (!secure || !hostOnly || path !== "/")) return undefined;
    // RFC 6265bis §5.7 step 16: a non-secure response may not shadow or replace a Secure cookie.
    if (!secure && !secureOrigin && this.shadowsSecure(name, domain, path)) return undefined;
    let expiry = Number.POSITIVE_INFINITY;
    if (maxAge !== undefined) expiry = maxAge === Number.NEGATIVE_INFINITY ? 0 : now + maxAge * 1000;
    else if (expires !== undefined) expiry = expires;
    const key = `${domain};${path};${name}`;
    if (expiry <= now) {
      this.store.delete(key);
      return undefined;
    }
    const old = this.store.get(key);
    const cookie: Cookie = {
      name,
      value,
      domain,
      hostOnly,
      path,
      expires: expiry,
      secure,
      httpOnly,
      sameSite,
      created: old?.created ?? now,
    };
    this.store.set(key, cookie);
    this.evict(siteOf(domain), now);
    return cookie;
  }

  /** A Secure cookie of that name whose domain matches (either way) and whose path the new one path-matches. */
  private shadowsSecure(name: string, domain: string, path: string): boolean {
    for (const c of this.store.values()) {
      if (!c.secure || c.name !== name) continue;
      if (!(domainMatch(c.domain, domain) || domainMatch(domain, c.domain))) continue;
      if (pathMatch(path, c.path)) return true;
    }
    return false;
  }

  /** The cookies to send to `url`, most specific path first (RFC 6265 §5.4). Expired ones are dropped. */
  getCookies(url: URL, now = Date.now()): Cookie[] {
    if (this.store.size === 0) return [];
    const host = canonicalHost(url);
    const path = url.pathname === "" ? "/" : url.pathname;
    const secure = url.protocol === "https:";
    const out: Cookie[] = [];
    for (const [key, c] of this.store) {
      if (c.expires <= now) {
        this.store.delete(key);
        continue;
      }
      if (c.hostOnly ? host !== c.domain : !domainMatch(host, c.domain)) continue;
      if (!pathMatch(path, c.path)) continue;
      if (c.secure && !secure) continue;
      out.push(c);
    }
    out.sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    return out;
  }

  /** The Cookie header value for `url`, or undefined when no cookie applies. */
  cookieHeader(url: URL, now = Date.now()): string | undefined {
    const list = this.getCookies(url, now);
    if (list.length === 0) return undefined;
    let s = "";
    for (const c of list) s += s === "" ? `${c.name}=${c.value}` : `; ${c.name}=${c.value}`;
    return s;
  }

  /** Every stored cookie that has not expired. */
  all(now = Date.now()): Cookie[] {
    const out: Cookie[] = [];
    for (const c of this.store.values()) if (c.expires > now) out.push(c);
    return out;
  }

  /** Removes every cookie, or those of one domain. */
  clear(domain?: string): void {
    if (domain === undefined) {
      this.store.clear();
      return;
    }
    const d = domain.toLowerCase();
    for (const [k, c] of this.store) if (c.domain === d) this.store.delete(k);
  }

  get size(): number {
    return this.store.size;
  }

  /** Keeps at most MAX_PER_SITE cookies for `site` and MAX_TOTAL in all: expired ones go first, then the oldest. */
  private evict(site: string, now: number): void {
    let count = 0;
    let oldest: string | undefined;
    let oldestAt = Number.POSITIVE_INFINITY;
    let oldestAll: string | undefined;
    let oldestAllAt = Number.POSITIVE_INFINITY;
    for (const [k, c] of this.store) {
      if (c.expires <= now) {
        this.store.delete(k);
        continue;
      }
      if (c.created < oldestAllAt) {
        oldestAllAt = c.created;
        oldestAll = k;
      }
      if (siteOf(c.domain) !== site) continue;
      count++;
      if (c.created < oldestAt) {
        oldestAt = c.created;
        oldest = k;
      }
    }
    if (count > MAX_PER_SITE && oldest !== undefined) this.store.delete(oldest);
    else if (this.store.size > MAX_TOTAL && oldestAll !== undefined) this.store.delete(oldestAll);
  }
}
