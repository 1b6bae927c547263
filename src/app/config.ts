import type { SecurityHeadersOptions } from "./protections/security-headers.ts";
import type { CompressionOptions } from "./serving/compression.ts";
import type { TrustProxy } from "./wrappers/proxy.ts";

// `app.config`: Flask's settings in camelCase with Flask's defaults, from objects and PHIAL_* variables.

/** The settings the framework reads. Apps may add their own keys. */
export interface ConfigValues {
  /** Debug mode: detailed error pages, template reloading, request logging. Never in production. */
  debug: boolean;
  /**
   * Show the debug error page (source code!) to clients that are not on this machine too. Default false:
   * remote clients get the plain 500 page even in debug mode.
   */
  debugPageForRemote: boolean;
  /** Testing mode: unhandled exceptions propagate to the test client instead of answering 500. */
  testing: boolean;
  /** Set to false to answer 500 even in testing mode. Default: follows `testing`. */
  propagateExceptions: boolean | undefined;
  /** Signs session cookies. Required before the first session write. */
  secretKey: string | undefined;
  /** Older keys still accepted when reading sessions (key rotation); signing uses `secretKey`. */
  secretKeyFallbacks: string[];
  /** Largest request body read before the handler, in bytes (413 beyond). `Infinity` for no limit. */
  maxContentLength: number;
  /** Largest urlencoded or multipart form field kept in memory, in bytes (413 beyond). */
  maxFormMemorySize: number;
  /** Most form fields (and query arguments) parsed (413 / 400 beyond). */
  maxFormParts: number;
  /** Most files in one multipart body (413 beyond); undefined: only `maxFormParts`. */
  maxFormFiles: number | undefined;
  /** Largest uploaded file, in bytes (413 beyond); undefined: only `maxContentLength`. */
  maxFileSize: number | undefined;
  /**
   * Time a view gets to start its response, in ms, on the app's own server (`phial run`, `app.run()`,
   * `app.listen()`); past it the client gets a 503 and `req.signal` aborts. Undefined: no limit. A
   * route's `timeout` option sets its own.
   */
  handlerTimeout: number | undefined;
  /** Uploaded files up to this many bytes stay in memory; larger ones are spooled to a temp file. */
  uploadMemorySize: number;
  /**
   * Request bodies (not multipart: its files have `uploadMemorySize`) up to this many bytes are read
   * into memory; larger ones are spooled to a temp file in `uploadTempDir` as they arrive and read
   * from it only when `req.data`/`form`/`json` is touched.
   */
  bodyMemorySize: number;
  /** Folder for spooled uploads (removed after each request). Default `os.tmpdir()`. */
  uploadTempDir: string | undefined;
  /** Host (`example.com`, `localhost:5000`) for `urlFor(..., { _external: true })` outside a request; the scheme is `preferredUrlScheme`. */
  serverName: string | undefined;
  /** Scheme for external URLs outside a request. */
  preferredUrlScheme: string;
  /** Prefix the app is mounted under (Flask's APPLICATION_ROOT). */
  applicationRoot: string;
  sessionCookieName: string;
  sessionCookieDomain: string | undefined;
  sessionCookiePath: string | undefined;
  sessionCookieHttpOnly: boolean;
  sessionCookieSecure: boolean;
  sessionCookieSameSite: "Strict" | "Lax" | "None" | undefined;
  sessionCookiePartitioned: boolean;
  /** Lifetime of permanent sessions, in seconds (31 days). */
  permanentSessionLifetime: number;
  /** Refresh the session cookie on every request of a permanent session. */
  sessionRefreshEachRequest: boolean;
  /** Default `maxAge` (seconds) for `sendFile` and static files; undefined: `Cache-Control: no-cache`. */
  sendFileMaxAgeDefault: number | undefined;
  /**
   * Serve dotfiles and dot-folders (`.env`, `.git/`) from static folders and `sendFromDirectory`.
   * Default false: a 404 (`.well-known/` is always served). Flask serves them; see docs/flask.md.
   */
  allowDotfiles: boolean;
  /**
   * How long (ms) static files and `sendFile` believe what they learnt from the disk (the resolved path,
   * size, mtime, ETag, and the bytes of files up to 64 KiB) before asking again. A file changed on disk
   * is served new within this time. Default (undefined): 1000, or 0 (ask every time) in debug mode.
   */
  fileCacheTtl: number | undefined;
  /** Reload templates when their files change (default: follows `debug`). */
  templatesAutoReload: boolean | undefined;
  /** Answer OPTIONS automatically with `Allow`. */
  provideAutomaticOptions: boolean;
  /**
   * Log each request: `127.0.0.1 - "GET /path HTTP/1.1" 200 1234 3.2ms` to `app.logger.info`, with the
   * status and body bytes as sent. Default (undefined): on for `app.run()` and `phial run` (as Flask's
   * development server logs every request; `phial run --no-access-log` turns it off), and for
   * `app.listen()` only in debug mode. Read when the server is created.
   */
  logRequests: boolean | undefined;
  /**
   * Which peers are reverse proxies whose `X-Forwarded-*` fields are believed: an address, a CIDR range,
   * `loopback` / `linklocal` / `uniquelocal`, a list (or comma-separated string) of those, or a function
   * `(address, hop) => boolean`. Default false: nothing forwarded is believed. `true` and hop counts are
   * refused (any client can forge X-Forwarded-For). From the environment: `PHIAL_TRUST_PROXY=loopback`.
   */
  trustProxy: TrustProxy;
  /**
   * What to take from trusted proxies: some of `x-forwarded-for`, `x-forwarded-proto`, `x-forwarded-host`,
   * `x-forwarded-prefix` (list or comma-separated string). Default (undefined): `x-forwarded-for` and
   * `x-forwarded-proto` only, as Werkzeug's ProxyFix: a proxy that doesn't set X-Forwarded-Host or
   * X-Forwarded-Prefix itself passes the client's own on, so those are believed only when named here.
   */
  forwardedHeaders: string | readonly string[] | undefined;
  /**
   * CSRF checks on state-changing requests a cross-site form could send (docs/security.md): the
   * browser's `Sec-Fetch-Site` / `Origin`, and the session's token when `secretKey` is set. Default true.
   */
  csrfProtection: boolean;
  /**
   * Require the session's CSRF token (`csrfToken()`) on every checked request, as Flask-WTF does; a
   * token that is sent is verified either way. Default false.
   */
  csrfTokenRequired: boolean;
  /** Other origins whose forms may post here (`https://admin.example.com`). */
  csrfTrustedOrigins: readonly string[];
  /** The form field that carries the CSRF token (the `X-CSRF-Token` field works too). */
  csrfFieldName: string;
  /**
   * Security headers on every response: true for the defaults (nosniff, SAMEORIGIN framing,
   * strict-origin-when-cross-origin referrers, HSTS on HTTPS), or options (a CSP with nonces, …). Default
   * false.
   */
  securityHeaders: boolean | SecurityHeadersOptions;
  /**
   * Compress responses by `Accept-Encoding` (zstd where Node has it, br, gzip): true for the defaults
   * (1 KiB threshold, brotli quality 4), or options. Default false (a proxy in front often does it).
   */
  compression: boolean | CompressionOptions;
  /**
   * The host names requests may be for (Flask 3.1's `TRUSTED_HOSTS`): `example.com`, or `.example.com`
   * for it and its subdomains; ports are ignored. A request for any other Host (after a trusted
   * proxy's X-Forwarded-Host, when believed) is answered 400 before routing, so `urlFor(_external)`,
   * `req.url` and `safeRedirect` never build on a forged Host. Default undefined: any host.
   */
  trustedHosts: readonly string[] | undefined;
}

export const DEFAULT_CONFIG: Readonly<ConfigValues> = Object.freeze({
  debug: false,
  debugPageForRemote: false,
  testing: false,
  propagateExceptions: undefined,
  secretKey: undefined,
  secretKeyFallbacks: [],
  maxContentLength: 16 * 1024 * 1024,
  maxFormMemorySize: 500_000,
  maxFormParts: 1_000,
  maxFormFiles: undefined,
  maxFileSize: undefined,
  handlerTimeout: undefined,
  uploadMemorySize: 500 * 1024,
  bodyMemorySize: 512 * 1024,
  uploadTempDir: undefined,
  serverName: undefined,
  preferredUrlScheme: "http",
  applicationRoot: "/",
  sessionCookieName: "session",
  sessionCookieDomain: undefined,
  sessionCookiePath: undefined,
  sessionCookieHttpOnly: true,
  sessionCookieSecure: false,
  sessionCookieSameSite: "Lax",
  sessionCookiePartitioned: false,
  permanentSessionLifetime: 31 * 24 * 3600,
  sessionRefreshEachRequest: true,
  sendFileMaxAgeDefault: undefined,
  allowDotfiles: false,
  fileCacheTtl: undefined,
  templatesAutoReload: undefined,
  provideAutomaticOptions: true,
  logRequests: undefined,
  trustProxy: false,
  forwardedHeaders: undefined,
  csrfProtection: true,
  csrfTokenRequired: false,
  csrfTrustedOrigins: [],
  csrfFieldName: "csrf_token",
  securityHeaders: false,
  compression: false,
  trustedHosts: undefined,
});

export type Config = ConfigValues & Record<string, unknown> & ConfigMethods;

export interface ConfigMethods {
  /** Copies the keys of `obj` (camelCase, or Flask's UPPER_CASE which is converted). */
  fromObject(obj: Readonly<Record<string, unknown>>): Config;
  /**
   * Reads `PREFIX_*` environment variables: `PHIAL_SECRET_KEY` → `secretKey`. A value takes the type of
   * the setting it replaces: booleans accept `1/0/true/false/yes/no/on/off`, numbers must be numbers
   * (else a clear error), strings stay strings (a secret key of digits stays a string). Unknown keys
   * are parsed as JSON when they are valid JSON, else kept as strings.
   */
  fromEnv(prefix?: string, env?: NodeJS.ProcessEnv): Config;
}

/** `SECRET_KEY` or `secret_key` → `secretKey`. */
export function camelKey(key: string): string {
  if (!key.includes("_") && key !== key.toUpperCase()) return key;
  return key.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function createConfig(initial?: Readonly<Record<string, unknown>>): Config {
  const cfg = { ...DEFAULT_CONFIG, secretKeyFallbacks: [] as string[] } as unknown as Config;
  Object.defineProperties(cfg, {
    fromObject: {
      enumerable: false,
      value(this: Config, obj: Readonly<Record<string, unknown>>): Config {
        for (const k of Object.keys(obj)) {
          if (k === "__proto__" || k === "constructor" || k === "prototype") continue;
          (this as Record<string, unknown>)[camelKey(k)] = obj[k];
        }
        return this;
      },
    },
    fromEnv: {
      enumerable: false,
      value(this: Config, prefix = "PHIAL", env: NodeJS.ProcessEnv = process.env): Config {
        const p = `${prefix}_`;
        for (const [k, v] of Object.entries(env)) {
          if (!k.startsWith(p) || v === undefined) continue;
          const key = camelKey(k.slice(p.length));
          if (key === "__proto__" || key === "constructor" || key === "prototype") continue;
          const value = coerceEnv(key, v, (this as Record<string, unknown>)[key]);
          (this as Record<string, unknown>)[key] = value;
        }
        return this;
      },
    },
  });
  if (initial !== undefined) cfg.fromObject(initial);
  return cfg;
}

/** Keys whose values are strings even when they look like JSON. */
const STRING_KEYS = new Set([
  "secretKey",
  "serverName",
  "preferredUrlScheme",
  "applicationRoot",
  "sessionCookieName",
  "sessionCookieDomain",
  "sessionCookiePath",
  "sessionCookieSameSite",
  "uploadTempDir",
]);

/** Keys whose values are numbers even while unset. */
const NUMBER_KEYS = new Set([
  "sendFileMaxAgeDefault",
  "fileCacheTtl",
  "maxFormFiles",
  "maxFileSize",
  "handlerTimeout",
]);

const BOOLEAN_KEYS = new Set([
  "debug",
  "testing",
  "propagateExceptions",
  "templatesAutoReload",
  "logRequests",
]);

function coerceEnv(key: string, raw: string, current: unknown): unknown {
  if (STRING_KEYS.has(key)) return raw;
  if (key === "trustedHosts") {
    // A JSON array or a comma list: `example.com,.example.org`.
    try {
      const v: unknown = JSON.parse(raw);
      if (Array.isArray(v)) return v.map(String);
    } catch {
      // a comma list
    }
    return raw
      .split(",")
      .map((h) => h.trim())
      .filter((h) => h !== "");
  }
  if (key === "trustProxy") {
    // A comma list of proxies; "0"/"false"/"" mean none ("1"/"true" are kept, so the app refuses them).
    const v = raw.trim().toLowerCase();
    return v === "" || v === "0" || v === "false" || v === "no" || v === "off" ? false : raw;
  }
  if (BOOLEAN_KEYS.has(key) || typeof current === "boolean") {
    const v = raw.trim().toLowerCase();
    if (v === "1" || v === "true" || v === "yes" || v === "on") return true;
    if (v === "0" || v === "false" || v === "no" || v === "off" || v === "") return false;
    throw new TypeError(
      `The environment variable for "${key}" must be a boolean (1/0, true/false), not ${JSON.stringify(raw)}`,
    );
  }
  if (typeof current === "number" || NUMBER_KEYS.has(key)) {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) {
      throw new TypeError(
        `The environment variable for "${key}" must be a number, not ${JSON.stringify(raw)}`,
      );
    }
    return n;
  }
  if (Array.isArray(current)) {
    try {
      const v: unknown = JSON.parse(raw);
      if (Array.isArray(v)) return v;
    } catch {
      // a single value
    }
    return [raw];
  }
  if (typeof current === "string") return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
