// Cookies (RFC 6265): the `Cookie` request field parsed into pairs, and `Set-Cookie` values built strictly.
// Shared by the framework and the client. Names are tokens; values are quoted and escaped as Werkzeug
// does where a cookie can't carry them and decoded back by the parser, so any string round-trips.

import { isToken } from "./fields.ts";

export interface SetCookieOptions {
  /** Lifetime in **seconds** (the attribute's unit, not milliseconds). 0 or less expires it now. */
  maxAge?: number;
  /**
   * Expiry: a Date, or seconds since the epoch (as Werkzeug takes an int). Without it, `maxAge` also
   * writes the matching `Expires` (Werkzeug's `sync_expires`), for clients that only know `Expires`.
   */
  expires?: Date | number;
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
 * A value made only of these ASCII characters is sent as it is (Werkzeug's `_cookie_no_quote_re`:
 * letters, digits and ``_!#$%&'()*+-./:<=>?@[]^`{|}~``); any other value is sent quoted.
 */
const PLAIN: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (const c of "!#$%&'()*+-./:<=>?@[]^_`{|}~") t[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  return t;
})();

/**
 * Encodes a cookie value as Werkzeug does, so any string works and round-trips: a value of plain
 * characters is sent as it is; any other is put in double quotes, with `"` and `\` escaped by a
 * backslash and every byte of its UTF-8 that a cookie can't carry (controls, `,`, `;`, DEL and above)
 * as a backslash and three octal digits (`a;b` → `"a\073b"`, `深` → `"\346\267\261"`).
 * Unlike Werkzeug, every control character is escaped (Werkzeug leaves 0x1a-0x1f as they are), so no
 * value can break the header. `decodeCookieValue` reverses it.
 */
export function encodeCookieValue(value: string, _name = "?"): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80 || PLAIN[c] !== 1) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = '"';
  const bytes = Buffer.from(value, "utf8");
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b < 0x20 || b === 0x2c || b === 0x3b || b >= 0x7f) out += `\\${b.toString(8).padStart(3, "0")}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

function isCtl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}

function isOctal(c: number): boolean {
  return c >= 0x30 && c <= 0x37;
}

/**
 * Decodes a cookie value as Werkzeug's `parse_cookie` does: a value in double quotes loses them and
 * its backslash escapes (`\"` → `"`, `\346` → the byte 0o346); the bytes are then read as UTF-8
 * (the input is a field value as the wire gives it, one character per byte, so raw UTF-8 a browser
 * sent is decoded too; bytes that are not UTF-8 become U+FFFD, as in Werkzeug). `%XX` is **not**
 * decoded (Werkzeug doesn't either).
 */
export function decodeCookieValue(value: string): string {
  const n = value.length;
  const quoted = n >= 2 && value.charCodeAt(0) === 0x22 && value.charCodeAt(n - 1) === 0x22;
  if (!quoted) {
    let i = 0;
    for (; i < n; i++) if (value.charCodeAt(i) >= 0x80) break;
    if (i === n) return value;
    for (i = 0; i < n; i++) if (value.charCodeAt(i) > 0xff) return value; // not a wire string
    return Buffer.from(value, "latin1").toString("utf8");
  }
  const bytes = Buffer.allocUnsafe(n);
  let len = 0;
  const end = n - 1;
  for (let i = 1; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) return value.slice(1, end); // not a wire string: leave it alone
    if (c === 0x5c && i + 1 < end) {
      const d = value.charCodeAt(i + 1);
      if (
        d >= 0x30 &&
        d <= 0x33 &&
        i + 3 < end &&
        isOctal(value.charCodeAt(i + 2)) &&
        isOctal(value.charCodeAt(i + 3))
      ) {
        bytes[len++] =
          ((d - 0x30) << 6) | ((value.charCodeAt(i + 2) - 0x30) << 3) | (value.charCodeAt(i + 3) - 0x30);
        i += 3;
        continue;
      }
      if (d > 0xff) return value.slice(1, end);
      bytes[len++] = d;
      i++;
      continue;
    }
    bytes[len++] = c;
  }
  return bytes.toString("utf8", 0, len);
}

/**
 * Parses a `Cookie` field into [name, value] pairs, in order, repeats kept.
 * Pairs without a name (`=x`, `x`) are ignored (Werkzeug CVE-2023-23934); only SP and HTAB are trimmed,
 * never other whitespace (prefix-bypass tricks); quoted values lose their quotes and escapes (as
 * `decodeCookieValue`).
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
 * Builds a `Set-Cookie` value as Werkzeug's `dump_cookie` does (attribute order, quoting, `Expires`
 * from `maxAge`). Throws a TypeError when the name is not a token, or when path/domain could inject
 * attributes; enforces the `__Secure-` and
 * `__Host-` prefix rules.
 */
export function serializeSetCookie(name: string, value: string, options: SetCookieOptions = {}): string {
  if (!isToken(name)) {
    throw new TypeError(`Invalid cookie name ${JSON.stringify(name)}: names must be RFC 9110 tokens`);
  }
  let s = `${name}=${encodeCookieValue(value, name)}`;
  const o = options;
  // Werkzeug's order: Domain, Expires, Max-Age, Secure, HttpOnly, Path, SameSite, Partitioned.
  if (o.domain !== undefined && o.domain !== "") {
    checkAttr("domain", name, o.domain);
    if (!DOMAIN.test(o.domain)) {
      throw new TypeError(
        `Invalid domain for cookie "${name}": ${JSON.stringify(o.domain)} is not a host name`,
      );
    }
    s += `; Domain=${o.domain}`;
  }
  let maxAge: number | undefined;
  if (o.maxAge !== undefined) {
    if (typeof o.maxAge !== "number" || Number.isNaN(o.maxAge)) {
      throw new TypeError(`Invalid maxAge for cookie "${name}": give a number of seconds`);
    }
    maxAge = Number.isFinite(o.maxAge) ? Math.max(0, Math.floor(o.maxAge)) : 2147483647;
  }
  if (o.expires !== undefined) {
    const ms =
      typeof o.expires === "number"
        ? o.expires * 1000
        : o.expires instanceof Date
          ? o.expires.getTime()
          : Number.NaN;
    if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
      throw new TypeError(
        `Invalid expires for cookie "${name}": give a valid Date or seconds since the epoch`,
      );
    }
    s += `; Expires=${new Date(ms).toUTCString()}`;
  } else if (maxAge !== undefined) {
    s += `; Expires=${new Date(maxAge === 0 ? 0 : Date.now() + maxAge * 1000).toUTCString()}`;
  }
  if (maxAge !== undefined) s += `; Max-Age=${maxAge}`;
  if (o.secure) s += "; Secure";
  if (o.httpOnly) s += "; HttpOnly";
  if (o.path !== undefined) {
    checkAttr("path", name, o.path);
    s += `; Path=${o.path}`;
  }
  if (o.sameSite !== undefined) {
    const ss = String(o.sameSite).toLowerCase();
    if (ss === "strict") s += "; SameSite=Strict";
    else if (ss === "lax") s += "; SameSite=Lax";
    else if (ss === "none") s += "; SameSite=None";
    else throw new TypeError(`Invalid sameSite for cookie "${name}": use "Strict", "Lax" or "None"`);
  }
  if (o.partitioned) s += "; Partitioned";
  if (o.priority !== undefined) {
    if (o.priority !== "Low" && o.priority !== "Medium" && o.priority !== "High") {
      throw new TypeError(`Invalid priority for cookie "${name}": use "Low", "Medium" or "High"`);
    }
    s += `; Priority=${o.priority}`;
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
