// Forward proxies: which requests go through one (the proxy option, or HTTP_PROXY / HTTPS_PROXY /
// NO_PROXY as curl and Go read them), and CONNECT tunnels for https. Plain http goes to the proxy
// with the absolute URL as the request target (RFC 9112 §3.2.2); https goes through a tunnel
// (RFC 9110 §9.3.6) and TLS is spoken end to end with the origin, the proxy seeing only bytes.

import { BlockList, isIP, connect as netConnect, type Socket } from "node:net";
import { Duplex } from "node:stream";

/** Proxies per scheme, and hosts that are reached directly. */
export interface ProxySettings {
  /** Proxy for http: URLs, e.g. `http://proxy.internal:3128` (`user:pass@` becomes Proxy-Authorization). */
  http?: string | URL;
  /** Proxy for https: URLs (a CONNECT tunnel through it). */
  https?: string | URL;
  /** Hosts not proxied, as NO_PROXY: `localhost,.internal,10.0.0.0/8,example.com:8080`, or `*`. */
  noProxy?: string;
}

/**
 * The `proxy` option: one proxy URL for both schemes, per-scheme settings, `"env"` to read
 * `http_proxy`/`HTTP_PROXY`, `https_proxy`/`HTTPS_PROXY` and `no_proxy`/`NO_PROXY`, or false.
 */
export type ProxyInit = string | URL | ProxySettings | "env" | false;

/** The longest answer to CONNECT read before giving up. */
const MAX_CONNECT_HEAD = 16 * 1024;

function proxyUrl(v: string | URL, which: string): URL {
  const s = String(v).trim();
  let u: URL;
  try {
    u = new URL(s.includes("://") ? s : `http://${s}`);
  } catch {
    throw new TypeError(`Invalid ${which} proxy URL ${JSON.stringify(s)}: give http://host:port`);
  }
  if (u.protocol !== "http:")
    throw new TypeError(
      `Unsupported ${which} proxy ${JSON.stringify(s)}: only http:// proxies are supported (https goes through them with CONNECT)`,
    );
  return u;
}

/** Reads the proxy variables from an environment (lower case first, as curl). */
export function proxyFromEnv(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const get = (...names: string[]) => {
    for (const n of names) {
      const v = env[n];
      if (v !== undefined && v.trim() !== "") return v;
    }
    return undefined;
  };
  // Under CGI, HTTP_PROXY comes from the client's `Proxy:` header (httpoxy, CVE-2016-5385): ignore
  // the upper-case name there, as Go's net/http does.
  const cgi = env.REQUEST_METHOD !== undefined;
  const out: ProxySettings = {};
  const http = cgi ? get("http_proxy") : get("http_proxy", "HTTP_PROXY");
  const https = get("https_proxy", "HTTPS_PROXY");
  const no = get("no_proxy", "NO_PROXY");
  if (http !== undefined) out.http = http;
  if (https !== undefined) out.https = https;
  if (no !== undefined) out.noProxy = no;
  return out;
}

/** @internal Decides, per origin, which proxy (if any) to use. */
export class ProxyRules {
  private readonly http: URL | undefined;
  private readonly https: URL | undefined;
  private readonly all: boolean;
  private readonly hosts: { host: string; port: string; suffix: boolean }[] = [];
  private readonly nets = new BlockList();
  private nonets = true;

  private constructor(settings: ProxySettings) {
    this.http = settings.http === undefined ? undefined : proxyUrl(settings.http, "http");
    this.https = settings.https === undefined ? undefined : proxyUrl(settings.https, "https");
    let all = false;
    for (const raw of (settings.noProxy ?? "").split(/[,\s]+/)) {
      const e = raw.trim().toLowerCase();
      if (e === "") continue;
      if (e === "*") {
        all = true;
        continue;
      }
      const slash = e.indexOf("/");
      if (slash !== -1) {
        const ip = e.slice(0, slash);
        const bits = Number(e.slice(slash + 1));
        const family = isIP(ip);
        if (family !== 0 && Number.isInteger(bits)) {
          this.nets.addSubnet(ip, bits, family === 6 ? "ipv6" : "ipv4");
          this.nonets = false;
        }
        continue;
      }
      let host = e;
      let port = "";
      const bracket = host.startsWith("[");
      const colon = bracket ? host.indexOf("]:") + 1 : host.lastIndexOf(":");
      if (colon > 0 && (bracket || host.indexOf(":") === colon)) {
        port = host.slice(colon + 1);
        host = host.slice(0, colon);
      }
      if (bracket) host = host.replace(/^\[|\]$/g, "");
      const suffix = host.startsWith(".") || host.startsWith("*.");
      host = host.replace(/^\*?\./, "");
      this.hosts.push({ host, port, suffix });
    }
    this.all = all;
  }

  /** Rules from the option, or undefined when no request is proxied. */
  static from(init: ProxyInit | undefined): ProxyRules | undefined {
    if (init === undefined || init === false) return undefined;
    let s: ProxySettings;
    if (init === "env") s = proxyFromEnv(process.env);
    else if (typeof init === "string" || init instanceof URL) s = { http: init, https: init };
    else s = init;
    if (s.http === undefined && s.https === undefined) return undefined;
    return new ProxyRules(s);
  }

  /** The proxy for `url`, or undefined to connect directly. */
  proxyFor(url: URL): URL | undefined {
    const proxy = url.protocol === "https:" ? this.https : this.http;
    if (proxy === undefined || this.all) return undefined;
    let host = url.hostname.toLowerCase();
    if (host.startsWith("[")) host = host.slice(1, -1);
    const port = url.port === "" ? (url.protocol === "https:" ? "443" : "80") : url.port;
    for (const e of this.hosts) {
      if (e.port !== "" && e.port !== port) continue;
      if (host === e.host || (host.endsWith(`.${e.host}`) && (e.suffix || isIP(host) === 0)))
        return undefined;
    }
    if (!this.nonets) {
      const family = isIP(host);
      if (family !== 0 && this.nets.check(host, family === 6 ? "ipv6" : "ipv4")) return undefined;
    }
    return proxy;
  }
}

/** `Proxy-Authorization` for a proxy URL with credentials, or "". */
export function proxyAuthorization(proxy: URL): string {
  if (proxy.username === "" && proxy.password === "") return "";
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Proxy-Authorization: Basic ${Buffer.from(cred, "utf8").toString("base64")}\r\n`;
}

/**
 * @internal A byte stream to `host:port` through an http proxy's CONNECT tunnel. Writes wait until
 * the proxy said yes; a refusal destroys the stream with an error that says what the proxy said.
 */
export class Tunnel extends Duplex {
  /** Why the tunnel could not be opened, for the connect error. */
  failure: Error | undefined;
  private readonly raw: Socket;
  private up = false;
  private head = "";
  private pending: [Buffer, (e?: Error | null) => void][] = [];
  private readonly proxy: URL;

  constructor(proxy: URL, host: string, port: number) {
    super();
    this.proxy = proxy;
    const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const raw = netConnect({
      host: proxy.hostname.replace(/^\[|\]$/g, ""),
      port: Number(proxy.port || 80),
      noDelay: true,
    });
    this.raw = raw;
    raw.on("connect", () => {
      raw.write(
        `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${proxyAuthorization(proxy)}\r\n`,
        "latin1",
      );
    });
    raw.on("data", (d: Buffer) => this.onData(d, authority));
    raw.on("error", (e: Error) => this.fail(new Error(`the proxy ${proxy.host}: ${e.message}`)));
    raw.on("end", () => {
      if (this.up) this.push(null);
      else this.fail(new Error(`the proxy ${proxy.host} closed the connection before answering CONNECT`));
    });
    raw.on("close", () => {
      if (!this.destroyed) this.destroy();
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.destroy(this.failure);
  }

  private onData(d: Buffer, authority: string): void {
    if (this.up) {
      if (!this.push(d)) this.raw.pause();
      return;
    }
    this.head += d.toString("latin1");
    const end = this.head.indexOf("\r\n\r\n");
    if (end === -1) {
      if (this.head.length > MAX_CONNECT_HEAD)
        this.fail(new Error(`the proxy ${this.proxy.host} sent an over-long answer to CONNECT`));
      return;
    }
    const line = this.head.slice(0, this.head.indexOf("\r\n"));
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(line);
    if (status === null || status[1]!.charCodeAt(0) !== 0x32) {
      const what =
        status === null ? `a malformed answer ${JSON.stringify(line.slice(0, 80))}` : line.slice(9);
      const hint =
        status?.[1] === "407"
          ? "; give the proxy's credentials in its URL (http://user:password@proxy:port)"
          : "";
      this.fail(new Error(`the proxy ${this.proxy.host} refused the tunnel to ${authority}: ${what}${hint}`));
      return;
    }
    this.up = true;
    const rest = Buffer.from(this.head.slice(end + 4), "latin1");
    this.head = "";
    for (const [chunk, cb] of this.pending.splice(0)) this.raw.write(chunk, cb);
    if (rest.length > 0) this.push(rest);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.up) this.raw.write(chunk, cb);
    else this.pending.push([chunk, cb]);
  }

  override _read(): void {
    this.raw.resume();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.raw.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.raw.destroy();
    for (const [, wcb] of this.pending.splice(0)) wcb(err ?? new Error("the tunnel closed"));
    cb(err);
  }
}
