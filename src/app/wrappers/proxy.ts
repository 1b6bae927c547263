// Trusting reverse proxies, and only them. Behind nginx the peer of every connection is nginx, and the
// client's address, scheme and host arrive in X-Forwarded-* fields — which any client can also send.
// So proxy trust is off by default, names the proxies by address (a bare hop count can't check the
// immediate peer: LESSONS 14), and X-Forwarded-For is walked right to left, stopping at the first
// address that is not a trusted proxy: that one is the client.

import { BlockList, isIP } from "node:net";

/** Which peers are proxies: addresses, CIDR ranges, or the names below; or a function of the address. */
export type TrustProxy = false | string | readonly string[] | ((address: string, hop: number) => boolean);

/** Named ranges, as Express's proxy-addr names them. */
const NAMED: Readonly<Record<string, readonly string[]>> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  linklocal: ["169.254.0.0/16", "fe80::/10"],
  uniquelocal: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
};

/** What to take from trusted proxies. */
export interface ForwardedFields {
  for: boolean;
  proto: boolean;
  host: boolean;
  prefix: boolean;
}

/** A compiled trust decision: `trusts(addr, hop)`. */
export interface ProxyTrust {
  trusts(address: string, hop: number): boolean;
}

/** Turns a `trustProxy` setting into a check. Throws, with the fix, on what it can't use. */
export function compileTrust(setting: TrustProxy | number | true): ProxyTrust | undefined {
  if (setting === false) return undefined;
  if (typeof setting === "function") return { trusts: setting };
  if (
    setting === true ||
    typeof setting === "number" ||
    (typeof setting === "string" && /^\s*(true|\*|\d+)\s*$/i.test(setting))
  ) {
    throw new TypeError(
      "trustProxy must name the proxies (addresses, CIDR ranges or 'loopback'), not " +
        `${String(setting)}: trusting every peer or a hop count lets any client forge X-Forwarded-For. ` +
        "For a local nginx use trustProxy: 'loopback'.",
    );
  }
  const list = new BlockList();
  const items = typeof setting === "string" ? setting.split(",") : setting;
  for (const raw of items) {
    const item = raw.trim();
    if (item === "") continue;
    const named = NAMED[item];
    for (const entry of named ?? [item]) addEntry(list, entry);
  }
  return { trusts: (address) => checkAddress(list, address) };
}

function addEntry(list: BlockList, entry: string): void {
  const slash = entry.indexOf("/");
  const addr = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(addr);
  if (family === 0) {
    throw new TypeError(
      `trustProxy: "${entry}" is not an IP address, a CIDR range (e.g. 10.0.0.0/8) or one of ` +
        `${Object.keys(NAMED).join(", ")}`,
    );
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  if (slash === -1) {
    list.addAddress(addr, type);
    return;
  }
  const bits = Number(entry.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) {
    throw new TypeError(`trustProxy: "${entry}" has an invalid prefix length`);
  }
  list.addSubnet(addr, bits, type);
}

/** IPv4-mapped IPv6 (`::ffff:127.0.0.1`, how dual-stack sockets report IPv4 peers) checks as IPv4. */
function unmap(address: string): string {
  return address.length > 7 && address.startsWith("::ffff:") && isIP(address.slice(7)) === 4
    ? address.slice(7)
    : address;
}

function checkAddress(list: BlockList, address: string): boolean {
  const a = unmap(address);
  const family = isIP(a);
  if (family === 0) return false;
  return list.check(a, family === 4 ? "ipv4" : "ipv6");
}

/** What a request looks like once trusted proxies are accounted for. */
export interface ForwardedView {
  /** The client's address: the first untrusted hop, right to left. */
  remoteAddr: string;
  /** The addresses from the client to the app (client first), as far as they can be trusted. */
  accessRoute: string[];
  /** `http` or `https`, when a trusted proxy said so. */
  scheme: string | undefined;
  /** The Host the client asked the proxy for, when a trusted proxy said so. */
  host: string | undefined;
  /** The path prefix the proxy mounts the app under (`X-Forwarded-Prefix`), when trusted. */
  prefix: string | undefined;
}

/** Splits a comma-separated field into trimmed, non-empty items. */
function items(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(",")) {
    const t = part.trim();
    if (t !== "") out.push(t);
  }
  return out;
}

/** Strips a port (`1.2.3.4:5678`, `[::1]:80`) and brackets from an X-Forwarded-For item. */
function bareAddress(item: string): string {
  if (item.startsWith("[")) {
    const close = item.indexOf("]");
    return close === -1 ? item : item.slice(1, close);
  }
  const colon = item.indexOf(":");
  if (colon !== -1 && item.indexOf(":", colon + 1) === -1) return item.slice(0, colon);
  return item;
}

const SCHEMES: Readonly<Record<string, string>> = { http: "http", https: "https" };

/**
 * Applies trust to one request. `get` reads a request field (first value or all joined with ", ").
 * With no trust, or an untrusted peer, nothing forwarded is believed.
 */
export function resolveForwarded(
  peer: string,
  get: (name: string) => string | undefined,
  trust: ProxyTrust | undefined,
  fields: ForwardedFields,
): ForwardedView {
  const view: ForwardedView = {
    remoteAddr: unmap(peer),
    accessRoute: [unmap(peer)],
    scheme: undefined,
    host: undefined,
    prefix: undefined,
  };
  if (trust === undefined || !trust.trusts(peer, 0)) return view;
  // The peer is a trusted proxy. Walk X-Forwarded-For right to left while the hops are trusted.
  let hops = 1;
  if (fields.for) {
    const chain = items(get("x-forwarded-for")).map(bareAddress);
    const route = [unmap(peer)];
    let client = unmap(peer);
    for (let i = chain.length - 1; i >= 0; i--) {
      const addr = chain[i]!;
      if (isIP(addr) === 0) break; // garbage ends what can be believed
      route.unshift(unmap(addr));
      client = unmap(addr);
      if (!trust.trusts(addr, hops)) break;
      hops++;
    }
    view.remoteAddr = client;
    view.accessRoute = route;
  }
  // Each trusted proxy may have appended a value; the one set by the outermost trusted proxy counts.
  const pick = (name: string): string | undefined => {
    const list = items(get(name));
    if (list.length === 0) return undefined;
    return list[Math.max(0, list.length - hops)];
  };
  if (fields.proto) {
    const p = pick("x-forwarded-proto");
    if (p !== undefined) view.scheme = SCHEMES[p.toLowerCase()];
  }
  if (fields.host) {
    const h = pick("x-forwarded-host");
    if (h !== undefined && isPlausibleHost(h)) view.host = h;
  }
  if (fields.prefix) {
    const p = pick("x-forwarded-prefix");
    if (p?.startsWith("/") && !p.startsWith("//") && !/[\s\\?#]/.test(p)) {
      view.prefix = p.endsWith("/") ? p.slice(0, -1) : p;
    }
  }
  return view;
}

/** A host[:port] without characters that could bend a URL built from it. */
function isPlausibleHost(h: string): boolean {
  if (h.length === 0 || h.length > 255) return false;
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c === 0x2d ||
      c === 0x2e ||
      c === 0x3a ||
      c === 0x5b ||
      c === 0x5d ||
      c === 0x5f;
    if (!ok) return false;
  }
  return true;
}

/** The forwarded fields by their header names, for `config.forwardedHeaders`. */
const FIELD_OF: Readonly<Record<string, keyof ForwardedFields>> = {
  "x-forwarded-for": "for",
  "x-forwarded-proto": "proto",
  "x-forwarded-host": "host",
  "x-forwarded-prefix": "prefix",
};

/** Believed unless told otherwise: the client's address and scheme (ProxyFix's x_for=1, x_proto=1). */
const DEFAULT_FIELDS: Readonly<ForwardedFields> = Object.freeze({
  for: true,
  proto: true,
  host: false,
  prefix: false,
});

/**
 * Turns `config.forwardedHeaders` (header names; undefined for X-Forwarded-For and -Proto) into the
 * fields to believe.
 * Throws, naming the valid ones, on a name it doesn't know.
 */
export function compileFields(setting: string | readonly string[] | undefined): ForwardedFields {
  if (setting === undefined) return DEFAULT_FIELDS;
  const out: ForwardedFields = { for: false, proto: false, host: false, prefix: false };
  for (const raw of typeof setting === "string" ? setting.split(",") : setting) {
    const name = raw.trim().toLowerCase();
    if (name === "") continue;
    const f = FIELD_OF[name];
    if (f === undefined) {
      throw new TypeError(`forwardedHeaders: "${raw}" is not one of ${Object.keys(FIELD_OF).join(", ")}`);
    }
    out[f] = true;
  }
  return out;
}

/**
 * The compiled `trustProxy` / `forwardedHeaders` of an app: compiled again only when either setting is
 * replaced (compared by identity), so a request pays one comparison, not a parse.
 */
export class ProxySettings {
  private setting: unknown = false;
  private fieldsSetting: unknown;
  private compiled: CompiledProxy | undefined;

  /** The trust and fields for these settings, or undefined when proxies are not trusted. */
  get(
    setting: TrustProxy | number | true | undefined,
    fieldsSetting: string | readonly string[] | undefined,
  ): CompiledProxy | undefined {
    if (setting === false || setting === undefined || setting === null || setting === "") return undefined;
    if (setting !== this.setting || fieldsSetting !== this.fieldsSetting) {
      // Compile first: a bad setting throws every time instead of being remembered as "no trust".
      const trust = compileTrust(setting);
      const fields = compileFields(fieldsSetting);
      this.compiled = trust === undefined ? undefined : { trust, fields };
      this.setting = setting;
      this.fieldsSetting = fieldsSetting;
    }
    return this.compiled;
  }
}

/** A compiled proxy setting. */
export interface CompiledProxy {
  readonly trust: ProxyTrust;
  readonly fields: ForwardedFields;
}

/** The host part of a Host value (`example.com:5000` → `example.com`, `[::1]:80` → `[::1]`), lowercased. */
export function hostName(host: string): string {
  let h = host;
  if (h.startsWith("[")) {
    const close = h.indexOf("]");
    h = close === -1 ? h : h.slice(0, close + 1);
  } else {
    const colon = h.indexOf(":");
    if (colon !== -1) h = h.slice(0, colon);
  }
  return h.toLowerCase();
}

/**
 * True when host name `h` (lowercased, no port) is one of `patterns`: an exact name, or `.example.com`
 * for that domain and its subdomains (Werkzeug's `host_is_trusted`).
 */
export function hostMatches(h: string, patterns: readonly string[]): boolean {
  for (const raw of patterns) {
    const p = hostName(raw);
    if (p.startsWith(".")) {
      if (h === p.slice(1) || h.endsWith(p)) return true;
    } else if (p === h) {
      return true;
    }
  }
  return false;
}
