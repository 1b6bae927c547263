// A cookie jar after RFC 6265 §5: Set-Cookie parsing, domain and path matching, expiry (Max-Age
// over Expires), Secure, HttpOnly, SameSite kept, `__Secure-`/`__Host-` prefixes enforced.
// There is no public-suffix list: a Domain attribute must be a parent of the host with at least
// one dot, and never an IP address.

import { isIP } from "node:net";

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

/** Longest Set-Cookie line or Cookie pair the jar accepts (RFC 6265 §6.1 asks for at least 4096). */
const MAX_COOKIE_BYTES = 8192;
/** Cookies kept per domain before the oldest is evicted. */
const MAX_PER_DOMAIN = 100;

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
    if (name.length === 0) return undefined;
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
      if (!domainMatch(host, domain)) return undefined;
      // Without a public-suffix list, refuse a bare TLD ("com") and IP addresses as a Domain.
      if (domain !== host && (domain.indexOf(".") === -1 || isIP(domain) !== 0)) return undefined;
      hostOnly = false;
    } else {
      domain = host;
    }
    if (path === "") path = defaultPath(url.pathname);
    if (secure && !isSecureOrigin(url, host)) return undefined;
    if (name.startsWith("__Secure-") && !secure) return undefined;
    if (name.startsWith("__Host-") && (!secure || !hostOnly || path !== "/")) return undefined;
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
    this.evict(domain);
    return cookie;
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

  private evict(domain: string): void {
    let count = 0;
    let oldest: string | undefined;
    let oldestAt = Number.POSITIVE_INFINITY;
    for (const [k, c] of this.store) {
      if (c.domain !== domain) continue;
      count++;
      if (c.created < oldestAt) {
        oldestAt = c.created;
        oldest = k;
      }
    }
    if (count > MAX_PER_DOMAIN && oldest !== undefined) this.store.delete(oldest);
  }
}
