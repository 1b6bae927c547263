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
  /** Uploaded files up to this many bytes stay in memory; larger ones are spooled to a temp file. */
  uploadMemorySize: number;
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
   * `x-forwarded-prefix` (list or comma-separated string). Default (undefined): all four.
   */
  forwardedHeaders: string | readonly string[] | undefined;
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
  uploadMemorySize: 500 * 1024,
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
  fileCacheTtl: undefined,
  templatesAutoReload: undefined,
  provideAutomaticOptions: true,
  logRequests: undefined,
  trustProxy: false,
  forwardedHeaders: undefined,
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
const NUMBER_KEYS = new Set(["sendFileMaxAgeDefault", "fileCacheTtl", "maxFormFiles", "maxFileSize"]);

const BOOLEAN_KEYS = new Set([
  "debug",
  "testing",
  "propagateExceptions",
  "templatesAutoReload",
  "logRequests",
]);

function coerceEnv(key: string, raw: string, current: unknown): unknown {
  if (STRING_KEYS.has(key)) return raw;
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
