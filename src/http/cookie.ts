// Cookies (RFC 6265): the `Cookie` request field parsed into pairs, and `Set-Cookie` values built strictly.
// Shared by the framework and the client. Names are tokens; values are percent-encoded where a cookie
// can't carry them and decoded back by the parser, so any string round-trips.

import { isToken } from "./fields.ts";

export interface SetCookieOptions {
  /** Lifetime in **seconds** (the attribute's unit, not milliseconds). 0 or less expires it now. */
  maxAge?: number;
  /** Expiry date. */
  expires?: Date;
  /** Path the cookie applies to. */
  path?: string;
  /** Domain the cookie applies to (and its subdomains); omit for this host only. */
  domain?: string;
  /** Only over HTTPS. */
  secure?: boolean;
  /** Hidden from JavaScript. */
  httpOnly?: boolean;
  /** Cross-site sending: `Strict`, `Lax` or `None` (case-insensitive). `None` needs `secure`. */
  sameSite?: "Strict" | "Lax" | "None" | "strict" | "lax" | "none";
  /** CHIPS partitioned cookie (needs `secure`). */
  partitioned?: boolean;
  /** Cookie priority (Chrome): `Low`, `Medium` or `High`. */
  priority?: "Low" | "Medium" | "High";
}

/**
 * cookie-octet (RFC 6265 §4.1.1): %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E, less `%`, which starts
 * our escapes. Everything else in a value is percent-encoded (UTF-8).
 */
const VALUE_OK: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (let c = 0x21; c <= 0x7e; c++) t[c] = 1;
  for (const c of '",;\\%') t[c.charCodeAt(0)] = 0;
  return t;
})();

const HEX = "0123456789ABCDEF";

function isCtl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}

/**
 * Encodes a cookie value so that only cookie-octets are sent (`decodeCookieValue` reverses it). Throws a
 * TypeError for control characters or `;`; `name` is only for that message.
 */
export function encodeCookieValue(value: string, name = "?"): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isCtl(c)) {
      throw new TypeError(
        `Invalid value for cookie "${name}": it contains the control character 0x${c.toString(16).padStart(2, "0")}` +
          (c === 0x0d || c === 0x0a ? " (CR/LF: header injection)" : ""),
      );
    }
    if (c === 0x3b) {
      throw new TypeError(
        `Invalid value for cookie "${name}": it contains ";", which ends a cookie; encode the value first ` +
          "(e.g. base64url or encodeURIComponent)",
      );
    }
    if (c >= 0x80 || VALUE_OK[c] !== 1) plain = false;
  }
  if (plain) return value;
  let out = "";
  const bytes = Buffer.from(value, "utf8");
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x80 && VALUE_OK[b] === 1) out += String.fromCharCode(b);
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Decodes `%XX` escapes as UTF-8; malformed escapes stay as they are. The input is a field value as the
 * wire gives it (one character per byte), so raw UTF-8 bytes a browser sent are decoded too.
 */
export function decodeCookieValue(value: string): string {
  const n = value.length;
  let i = 0;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 || c >= 0x80) break;
  }
  if (i === n) return value;
  const bytes = Buffer.allocUnsafe(n);
  let len = 0;
  for (i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < n) {
      const h = hexVal(value.charCodeAt(i + 1));
      const l = hexVal(value.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        bytes[len++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    if (c > 0xff) return value; // not a wire string: leave it alone
    bytes[len++] = c;
  }
  return bytes.toString("utf8", 0, len);
}

/**
 * Parses a `Cookie` field into [name, value] pairs, in order, repeats kept.
 * Pairs without a name (`=x`, `x`) are ignored (Werkzeug CVE-2023-23934); only SP and HTAB are trimmed,
 * never other whitespace (prefix-bypass tricks); quoted values lose their quotes; `%XX` is decoded.
 */
export function parseCookieHeader(header: string): [string, string][] {
  const out: [string, string][] = [];
  const n = header.length;
  let i = 0;
  while (i < n) {
    let end = header.indexOf(";", i);
    if (end === -1) end = n;
    const eq = header.indexOf("=", i);
    if (eq !== -1 && eq < end) {
      let ks = i;
      let ke = eq;
      while (ks < ke && isSpace(header.charCodeAt(ks))) ks++;
      while (ke > ks && isSpace(header.charCodeAt(ke - 1))) ke--;
      if (ke > ks) {
        const name = header.slice(ks, ke);
        if (validName(name)) {
          let vs = eq + 1;
          let ve = end;
          while (vs < ve && isSpace(header.charCodeAt(vs))) vs++;
          while (ve > vs && isSpace(header.charCodeAt(ve - 1))) ve--;
          if (ve - vs >= 2 && header.charCodeAt(vs) === 0x22 && header.charCodeAt(ve - 1) === 0x22) {
            vs++;
            ve--;
          }
          out.push([name, decodeCookieValue(header.slice(vs, ve))]);
        }
      }
    }
    i = end + 1;
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Browsers send names that are not strict tokens; keep anything visible without separators we rely on. */
function validName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3b || c === 0x2c || c === 0x3d) return false;
  }
  return true;
}

function checkAttr(what: string, name: string, v: string): void {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (isCtl(c) || c === 0x3b || c > 0x7e) {
      throw new TypeError(
        `Invalid ${what} for cookie "${name}": ${JSON.stringify(v)} contains ";", a control or non-ASCII character`,
      );
    }
  }
}

const DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * Builds a `Set-Cookie` value. Throws a TypeError when the name is not a token, when the value has
 * control characters or `;`, or when path/domain could inject attributes; enforces the `__Secure-` and
 * `__Host-` prefix rules.
 */
export function serializeSetCookie(name: string, value: string, options: SetCookieOptions = {}): string {
  if (!isToken(name)) {
    throw new TypeError(`Invalid cookie name ${JSON.stringify(name)}: names must be RFC 9110 tokens`);
  }
  let s = `${name}=${encodeCookieValue(value, name)}`;
  const o = options;
  if (o.maxAge !== undefined) {
    if (typeof o.maxAge !== "number" || Number.isNaN(o.maxAge)) {
      throw new TypeError(`Invalid maxAge for cookie "${name}": give a number of seconds`);
    }
    s += `; Max-Age=${Number.isFinite(o.maxAge) ? Math.max(0, Math.floor(o.maxAge)) : 2147483647}`;
  }
  if (o.expires !== undefined) {
    if (!(o.expires instanceof Date) || Number.isNaN(o.expires.getTime())) {
      throw new TypeError(`Invalid expires for cookie "${name}": give a valid Date`);
    }
    s += `; Expires=${o.expires.toUTCString()}`;
  }
  if (o.domain !== undefined && o.domain !== "") {
    checkAttr("domain", name, o.domain);
    if (!DOMAIN.test(o.domain)) {
      throw new TypeError(
        `Invalid domain for cookie "${name}": ${JSON.stringify(o.domain)} is not a host name`,
      );
    }
    s += `; Domain=${o.domain}`;
  }
  if (o.path !== undefined) {
    checkAttr("path", name, o.path);
    s += `; Path=${o.path}`;
  }
  if (o.secure) s += "; Secure";
  if (o.httpOnly) s += "; HttpOnly";
  if (o.partitioned) s += "; Partitioned";
  if (o.priority !== undefined) {
    if (o.priority !== "Low" && o.priority !== "Medium" && o.priority !== "High") {
      throw new TypeError(`Invalid priority for cookie "${name}": use "Low", "Medium" or "High"`);
    }
    s += `; Priority=${o.priority}`;
  }
  if (o.sameSite !== undefined) {
    const ss = String(o.sameSite).toLowerCase();
    if (ss === "strict") s += "; SameSite=Strict";
    else if (ss === "lax") s += "; SameSite=Lax";
    else if (ss === "none") s += "; SameSite=None";
    else throw new TypeError(`Invalid sameSite for cookie "${name}": use "Strict", "Lax" or "None"`);
  }
  if (name.startsWith("__Secure-") && !o.secure) {
    throw new TypeError(`The cookie "${name}" has the __Secure- prefix, so it needs \`secure: true\``);
  }
  if (
    name.startsWith("__Host-") &&
    (!o.secure || o.path !== "/" || (o.domain !== undefined && o.domain !== ""))
  ) {
    throw new TypeError(
      `The cookie "${name}" has the __Host- prefix: it needs \`secure: true\`, path "/" and no domain`,
    );
  }
  return s;
}
