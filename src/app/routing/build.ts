// Building URLs (Werkzeug's `MapAdapter.build`, Flask's `url_for`): the first rule of the endpoint that
// can be built from the values, formatted by the rule's own converters; the rest as the query string.

import type { Converter } from "./converters.ts";
import { FRAGMENT_SAFE, PATH_SAFE, percentEncode, queryEncode, SEGMENT_SAFE } from "./encoding.ts";
import { type Entry, has, sameValue } from "./entry.ts";

/**
 * Builds the URL of an endpoint from its rules (kept in build order); see `Router.build`.
 * @internal
 */
export function buildUrl<T>(
  byEndpoint: ReadonlyMap<string, readonly Entry<T>[]>,
  endpoint: string,
  params: Readonly<Record<string, unknown>>,
  opts: BuildOptions,
): string {
  const list = byEndpoint.get(endpoint);
  const values = withoutNulls(params);
  if (list === undefined) {
    const near = closeNames(endpoint, [...byEndpoint.keys()]);
    const known = [...byEndpoint.keys()];
    throw new BuildError(
      endpoint,
      values,
      opts.method,
      `Could not build a URL for endpoint ${JSON.stringify(endpoint)}: no such endpoint.` +
        (near.length > 0 ? ` Did you mean ${near.map((s) => JSON.stringify(s)).join(" or ")}?` : "") +
        (known.length === 0
          ? " No endpoints are registered."
          : ` Endpoints: ${known.slice(0, 20).join(", ")}${known.length > 20 ? ", …" : ""}.`),
    );
  }
  const method = opts.method === undefined ? undefined : opts.method.toUpperCase();
  let built = method === undefined ? firstBuildable(list, values, "GET") : undefined;
  built ??= firstBuildable(list, values, method);
  if (built === undefined) {
    const reasons: string[] = [];
    for (const r of list) {
      if (!r.suitableFor(values, method)) reasons.push(unsuitableReason(r, values, method));
      else {
        const b = buildPath(r, values);
        if (typeof b !== "string") reasons.push(b.reason);
        else if (r.parsedDomain !== undefined) {
          const d = buildDomain(r, values);
          if (typeof d !== "string") reasons.push(d.reason);
        }
      }
    }
    throw new BuildError(
      endpoint,
      values,
      method,
      `Could not build a URL for endpoint ${JSON.stringify(endpoint)}` +
        (method === undefined ? "" : ` with method ${method}`) +
        ` from ${describeValues(values)}: ${reasons.join("; ")}.`,
    );
  }
  const chosen = built.rule;
  const path = built.path;
  const rule: Entry<T> = chosen;
  let url = path;
  let query = "";
  for (const k of Object.keys(values)) {
    if (rule.argSet.has(k)) continue;
    const v = values[k];
    const items = Array.isArray(v) ? v : [v];
    const ek = queryEncode(k);
    for (const item of items) {
      if (item === undefined || item === null) continue;
      const s = queryText(item);
      if (s === undefined) {
        throw new BuildError(
          endpoint,
          values,
          method,
          `Could not build a URL for endpoint ${JSON.stringify(endpoint)}: the query value "${k}" is ` +
            `${item === null ? "null" : typeof item}; pass a string, number, boolean, or an array of them`,
        );
      }
      query += `${query === "" ? "?" : "&"}${ek}=${queryEncode(s)}`;
    }
  }
  url += query;
  if (opts.anchor !== undefined) url += `#${percentEncode(opts.anchor, FRAGMENT_SAFE)}`;
  if (opts.scriptRoot !== undefined && opts.scriptRoot !== "" && opts.scriptRoot !== "/") {
    const root = opts.scriptRoot.endsWith("/") ? opts.scriptRoot.slice(0, -1) : opts.scriptRoot;
    url = `${root.startsWith("/") ? "" : "/"}${root}${url}`;
  }
  const d = opts.domain;
  // Under host matching a rule without a host (`""`) is built on the current host, as any rule is without.
  if (d !== undefined && built.domain !== undefined && !(d.hostMatching && built.domain === "")) {
    // Werkzeug's MapAdapter.build: relative when the rule's host or subdomain is the current one (and
    // no external URL was asked for), else absolute on the rule's host.
    if (opts.external === undefined && built.domain === d.current) return url;
    let host: string | undefined;
    if (d.hostMatching) host = built.domain;
    else if (d.serverName !== undefined && d.serverName !== "")
      host = built.domain === "" ? d.serverName : `${built.domain}.${d.serverName}`;
    if (host === undefined) {
      throw new BuildError(
        endpoint,
        values,
        method,
        `Could not build a URL for endpoint ${JSON.stringify(endpoint)}: its rule is on ` +
          (`the subdomain ${JSON.stringify(built.domain)}, and without app.config.serverName there is no host ` +
            'to put it on; set app.config.serverName (e.g. "example.com")'),
      );
    }
    return `${opts.external?.scheme ?? d.scheme}://${host}${url}`;
  }
  if (opts.external !== undefined) url = `${opts.external.scheme}://${opts.external.host}${url}`;
  return url;
}

/** What building needs to know of the current host under host or subdomain matching. */
export interface DomainBuildOptions {
  /** Host matching (the rule's domain is a whole host), else subdomain matching. */
  hostMatching: boolean;
  /** The current subdomain (`""` for the bare server name) or host, lower-case, default port left out. */
  current: string | undefined;
  /** Subdomain matching: the server name the subdomains are under (`config.serverName`). */
  serverName: string | undefined;
  /** The scheme of an absolute URL when the host differs and none was asked for. */
  scheme: string;
}

export interface BuildOptions {
  /** Choose among the endpoint's rules by method. */
  method?: string;
  /** Appended as `#anchor`, percent-encoded. */
  anchor?: string;
  /** Build `scheme://host/...`. */
  external?: { scheme: string; host: string };
  /** A prefix for the path (the app's mount point), without a trailing slash, e.g. `/app`. */
  scriptRoot?: string;
  /** Host or subdomain matching: builds the rule's host, and an absolute URL when it is not the current one. */
  domain?: DomainBuildOptions;
}

/** `urlFor` could not build a URL; the message says which endpoint or parameter and what exists. */
export class BuildError extends Error {
  readonly endpoint: string;
  readonly values: Readonly<Record<string, unknown>>;
  readonly method: string | undefined;
  constructor(
    endpoint: string,
    values: Readonly<Record<string, unknown>>,
    method: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "BuildError";
    this.endpoint = endpoint;
    this.values = values;
    this.method = method;
  }
}

interface Unbuildable {
  reason: string;
}

/** The rule's path for the values, or why it can't be built. */
export function buildPath<T>(r: Entry<T>, values: Readonly<Record<string, unknown>>): string | Unbuildable {
  const parts = r.buildParts;
  if (parts.length === 1 && typeof parts[0] === "string") return parts[0];
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (typeof p === "string") {
      out += p;
      continue;
    }
    const v = valueFor(r, p.name, values);
    let text = roundTrip(p.converter, v);
    // A `/` only from the string converter (Werkzeug's default): custom converters round-trip.
    if (
      text !== undefined &&
      !p.converter.slashes &&
      text.indexOf("/") !== -1 &&
      !isStringConverter(p.converterName)
    )
      text = undefined;
    if (text === undefined) {
      const conv = p.converterName === "default" ? "string" : p.converterName;
      const hint =
        typeof v === "string" && v.indexOf("/") !== -1 && !p.converter.slashes
          ? isStringConverter(p.converterName)
            ? "; a `.` or `..` segment would send the link elsewhere"
            : `; it contains "/", which only <path:${p.name}> matches`
          : "";
      return {
        reason:
          v === undefined
            ? `rule ${JSON.stringify(r.rule)} needs "${p.name}"`
            : `rule ${JSON.stringify(r.rule)} can't take ${p.name}=${describeValue(v)} (not accepted by the ${conv} converter${hint})`,
      };
    }
    out += percentEncode(
      text,
      p.converter.slashes || isStringConverter(p.converterName) ? PATH_SAFE : SEGMENT_SAFE,
    );
  }
  return out;
}

/** A variable's value for building: the one given, else the rule's default. */
function valueFor<T>(r: Entry<T>, name: string, values: Readonly<Record<string, unknown>>): unknown {
  if (has(values, name)) return values[name];
  return r.defaults !== undefined && has(r.defaults, name) ? r.defaults[name] : undefined;
}

/**
 * The converter's text for `v`, only when the converter matches it back (the URL round-trips);
 * `undefined` for a value it refuses, formats to nothing or throws on.
 */
function roundTrip(converter: Converter, v: unknown): string | undefined {
  try {
    const text = converter.format(v);
    return text !== undefined && text !== "" && converter.parse(text) !== undefined ? text : undefined;
  } catch {
    return undefined;
  }
}

function isStringConverter(name: string): boolean {
  return name === "default" || name === "string";
}

/** The first rule of the list that is suitable and builds, with its path. */
function firstBuildable<T>(
  list: readonly Entry<T>[],
  values: Readonly<Record<string, unknown>>,
  method: string | undefined,
): { rule: Entry<T>; path: string; domain: string | undefined } | undefined {
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    if (!r.suitableFor(values, method)) continue;
    const b = buildPath(r, values);
    if (typeof b !== "string") continue;
    if (r.parsedDomain === undefined) return { rule: r, path: b, domain: undefined };
    const d = buildDomain(r, values);
    if (typeof d === "string") return { rule: r, path: b, domain: d };
  }
  return undefined;
}

/**
 * The host or subdomain of a rule for the values, or why it can't be built. A value goes into a host
 * only when its converter matches it back and it holds nothing but letters, digits, `-`, `_`, `.` and
 * `:` (Werkzeug would percent-encode the rest, which no client reads as a host; here it is a BuildError,
 * so a value can never move the link to another host or path).
 */
export function buildDomain<T>(r: Entry<T>, values: Readonly<Record<string, unknown>>): string | Unbuildable {
  const pd = r.parsedDomain!;
  let out = "";
  for (const p of pd.segment.pieces) {
    if (typeof p === "string") {
      out += p;
      continue;
    }
    const v = valueFor(r, p.name, values);
    const text = roundTrip(p.converter, v);
    if (text === undefined || !HOST_TEXT.test(text)) {
      return {
        reason:
          v === undefined
            ? `rule ${JSON.stringify(r.rule)} needs "${p.name}" for its host ${JSON.stringify(pd.text)}`
            : `rule ${JSON.stringify(r.rule)} can't put ${p.name}=${describeValue(v)} in its host ` +
              `${JSON.stringify(pd.text)} (letters, digits, "-", "_", "." and ":" only)`,
      };
    }
    out += text.toLowerCase();
  }
  return out;
}

const HOST_TEXT = /^[A-Za-z0-9._:-]+$/;

/** The values without `undefined` and `null` entries (the same object when there are none). */
function withoutNulls(params: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const keys = Object.keys(params);
  for (let i = 0; i < keys.length; i++) {
    const v = params[keys[i]!];
    if (v === undefined || v === null) {
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const x = params[k];
        if (x !== undefined && x !== null) out[k] = x;
      }
      return out;
    }
  }
  return params;
}

/** The location of a `redirectTo` rule for the matched params. */
export function redirectLocation<T>(r: Entry<T>, params: Readonly<Record<string, unknown>>): string {
  const to = r.redirectTo!;
  if (typeof to === "function") return to(params);
  let out = "";
  let i = 0;
  for (;;) {
    const open = to.indexOf("<", i);
    const close = open === -1 ? -1 : to.indexOf(">", open);
    if (close === -1) return out + to.slice(i);
    out += to.slice(i, open);
    const inner = to.slice(open + 1, close);
    const name = inner.slice(inner.lastIndexOf(":") + 1).trim();
    const part = r.parsed.segments
      .flatMap((s) => s.pieces)
      .find((p) => typeof p !== "string" && p.name === name);
    const v = params[name];
    let text: string | undefined;
    if (part !== undefined && typeof part !== "string") text = part.converter.format(v);
    text ??= v === undefined || v === null ? "" : String(v);
    out += percentEncode(
      text,
      part !== undefined && typeof part !== "string" && part.converter.slashes ? PATH_SAFE : SEGMENT_SAFE,
    );
    i = close + 1;
  }
}

function unsuitableReason<T>(
  r: Entry<T>,
  values: Readonly<Record<string, unknown>>,
  method: string | undefined,
): string {
  if (method !== undefined && !r.allows(method)) {
    return `rule ${JSON.stringify(r.rule)} takes ${[...r.methods].join(", ")}, not ${method}`;
  }
  const missing = r.arguments.filter(
    (k) => !has(values, k) && !(r.defaults !== undefined && has(r.defaults, k)),
  );
  if (missing.length > 0) {
    return `rule ${JSON.stringify(r.rule)} needs ${missing.map((m) => JSON.stringify(m)).join(", ")}`;
  }
  const d = r.defaults ?? {};
  const clash = Object.keys(d).filter((k) => has(values, k) && !sameValue(values[k], d[k]));
  return `rule ${JSON.stringify(r.rule)} has defaults ${clash.map((k) => `${k}=${describeValue(d[k])}`).join(", ")}`;
}

function queryText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v instanceof Date) return v.toISOString();
  return undefined;
}

function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === undefined) return "undefined";
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "object" && v !== null) return Array.isArray(v) ? "[array]" : "[object]";
  return String(v);
}

function describeValues(values: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(values);
  if (keys.length === 0) return "no values";
  return `{${keys.map((k) => `${k}: ${describeValue(values[k])}`).join(", ")}}`;
}

/** Endpoint names close to a mistyped one: edit distance ≤ 1/3 of the length (at least 1), or the same last part. */
function closeNames(name: string, names: string[]): string[] {
  const lower = name.toLowerCase();
  const scored: [number, string][] = [];
  for (const k of names) {
    const kl = k.toLowerCase();
    let d = editDistance(lower, kl, 3);
    if (d > 2 && (kl.endsWith(`.${lower}`) || lower.endsWith(`.${kl}`))) d = 2;
    if (d <= Math.max(1, Math.floor(name.length / 3))) scored.push([d, k]);
  }
  scored.sort((a, b) => a[0] - b[0]);
  return scored.slice(0, 3).map((s) => s[1]);
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  if (a.length > 100 || b.length > 100) return a === b ? 0 : cap + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
