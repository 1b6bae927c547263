// The router: rules in a segment trie (the model is Werkzeug's StateMachineMatcher), a Map on the whole
// path for fully static rules, and URL building from the same converters.
//
// Matching walks the trie one path segment per level. At each state the static transition is tried
// first (a Map lookup), then the dynamic ones in weight order (more static text first, then lighter
// converters: int before string before path), backtracking to the next one when a subtree fails. Every
// trie state sits at a fixed depth and a path converter's span is fixed by the length of the rule's
// tail, so each state is visited at most once per request: the work is bounded by the path length and
// the few states a path can reach, never by the number of routes. No regex runs per request.

import { BUILTIN_CONVERTERS, type ConverterFactory } from "./converters.ts";
import {
  FRAGMENT_SAFE,
  locationFor,
  mergeSlashes as merge,
  PATH_SAFE,
  percentEncode,
  QUERY_SAFE,
  SEGMENT_SAFE,
  safeQuery,
} from "./encoding.ts";
import { type ParsedRule, parseRule, type Segment, type VariablePart } from "./rule.ts";

/** A registered rule, as the matcher returns it. */
export interface Rule<T> {
  readonly endpoint: string;
  /** The rule string as registered, e.g. `/user/<int:id>`. */
  readonly rule: string;
  /** The methods given, upper-case, plus HEAD when GET is there. OPTIONS only when given explicitly. */
  readonly methods: ReadonlySet<string>;
  readonly defaults: Readonly<Record<string, unknown>> | undefined;
  readonly strictSlashes: boolean;
  /** Parameter names, in order of appearance in the rule. */
  readonly arguments: readonly string[];
  readonly data: T;
}

export interface AddOptions<T> {
  endpoint: string;
  methods: Iterable<string>;
  /** Values for parameters the rule lacks (one endpoint under several rules). */
  defaults?: Readonly<Record<string, unknown>> | undefined;
  /** Werkzeug's trailing-slash policy; default: the router's (true). */
  strictSlashes?: boolean | undefined;
  /** Answer OPTIONS for this rule when OPTIONS isn't among its methods (default true). */
  automaticOptions?: boolean | undefined;
  data: T;
}

export type MatchResult<T> =
  | { kind: "match"; rule: Rule<T>; params: Record<string, unknown> }
  | { kind: "redirect"; location: string }
  | { kind: "methodNotAllowed"; allowed: string[] }
  | { kind: "notFound" };

export interface BuildOptions {
  /** Choose among the endpoint's rules by method. */
  method?: string;
  /** Appended as `#anchor`, percent-encoded. */
  anchor?: string;
  /** Build `scheme://host/...`. */
  external?: { scheme: string; host: string };
  /** A prefix for the path (the app's mount point), without a trailing slash, e.g. `/app`. */
  scriptRoot?: string;
}

export interface RouterOptions {
  /** `//a///b` redirects to `/a/b` (default true). */
  mergeSlashes?: boolean;
  /** Default of each rule's `strictSlashes` (default true). */
  strictSlashes?: boolean;
  /** A URL given by a rule's defaults redirects to the rule that has them (default true). */
  redirectDefaults?: boolean;
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

// ---- internal structures ----------------------------------------------------------------------

class Entry<T> implements Rule<T> {
  readonly endpoint: string;
  readonly rule: string;
  readonly methods: Set<string>;
  readonly defaults: Readonly<Record<string, unknown>> | undefined;
  readonly strictSlashes: boolean;
  readonly arguments: readonly string[];
  readonly data: T;
  /** @internal */ readonly explicit: ReadonlySet<string>;
  /** @internal */ readonly autoOptions: boolean;
  /** @internal */ readonly parsed: ParsedRule;
  /** @internal names of the parameters plus the keys of the defaults */ readonly argSet: ReadonlySet<string>;
  /** @internal registration order */ readonly order: number;
  /** @internal rules of the same endpoint that provide defaults for this one (redirect targets). */
  aliasTargets: Entry<T>[] = [];

  constructor(parsed: ParsedRule, options: AddOptions<T>, strict: boolean, order: number) {
    this.parsed = parsed;
    this.rule = parsed.rule;
    this.endpoint = options.endpoint;
    const explicit = new Set<string>();
    for (const m of options.methods) {
      const up = String(m).toUpperCase();
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Z]+$/.test(up)) {
        throw new TypeError(
          `Rule ${JSON.stringify(parsed.rule)}: ${JSON.stringify(m)} is not an HTTP method name`,
        );
      }
      explicit.add(up);
    }
    if (explicit.size === 0) {
      throw new TypeError(
        `Rule ${JSON.stringify(parsed.rule)} has no methods; give at least one, e.g. ["GET"]`,
      );
    }
    this.explicit = explicit;
    this.methods = new Set(explicit);
    if (explicit.has("GET")) this.methods.add("HEAD");
    this.autoOptions = options.automaticOptions !== false;
    const defaults = options.defaults;
    this.defaults =
      defaults === undefined || Object.keys(defaults).length === 0 ? undefined : { ...defaults };
    this.strictSlashes = strict;
    this.arguments = parsed.names;
    const argSet = new Set(parsed.names);
    if (this.defaults !== undefined) for (const k of Object.keys(this.defaults)) argSet.add(k);
    this.argSet = argSet;
    this.data = options.data;
    this.order = order;
  }

  /** Werkzeug's `suitable_for`: every argument given or defaulted, and given defaults agree. */
  suitableFor(values: Readonly<Record<string, unknown>>, method: string | undefined): boolean {
    if (method !== undefined && !this.allows(method)) return false;
    const d = this.defaults;
    for (const k of this.parsed.names) if (!(k in values) && (d === undefined || !(k in d))) return false;
    if (d !== undefined) {
      for (const k in d) if (k in values && !sameValue(values[k], d[k])) return false;
    }
    return true;
  }

  allows(method: string): boolean {
    return this.methods.has(method) || (method === "OPTIONS" && this.autoOptions);
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return (
    a === b || (a !== null && b !== null && a !== undefined && b !== undefined && String(a) === String(b))
  );
}

interface Edge<T> {
  readonly seg: Segment;
  readonly node: Node<T>;
  /** For a slash-spanning segment: how many segments the rules below need after it (trailing `/` aside). */
  readonly tail: number;
  readonly order: number;
}

class Node<T> {
  static: Map<string, Node<T>> | undefined;
  dynamic: Edge<T>[] = [];
  rules: Entry<T>[] = [];
}

const SLASH = 1; // walk result: the path matches with a trailing slash added (strict rule → redirect)
type WalkResult<T> = Entry<T> | typeof SLASH | null;

/** Per-request scratch state. */
interface Walk {
  segs: string[];
  method: string;
  values: unknown[];
  /** Methods of rules whose path matched but not the method. */
  allowed: Set<string> | undefined;
  /** allowedMethods(): visit every matching rule, never stop. */
  collect: boolean;
}

// ---- the router -------------------------------------------------------------------------------

export class Router<T> {
  private readonly root = new Node<T>();
  /** Fully static rules by their whole path: the fast path. */
  private readonly staticPaths = new Map<string, Node<T>>();
  private readonly byEndpoint = new Map<string, Entry<T>[]>();
  private readonly all: Entry<T>[] = [];
  private readonly converterFactories = new Map<string, ConverterFactory>(Object.entries(BUILTIN_CONVERTERS));
  private readonly mergeSlashes: boolean;
  private readonly strictDefault: boolean;
  private readonly redirectDefaults: boolean;
  private edgeCount = 0;

  constructor(options: RouterOptions = {}) {
    this.mergeSlashes = options.mergeSlashes ?? true;
    this.strictDefault = options.strictSlashes ?? true;
    this.redirectDefaults = options.redirectDefaults ?? true;
  }

  /**
   * Registers a converter usable as `<name:param>` or `<name(args):param>` in rules added afterwards.
   * For its type in `ParamsOf`, augment `ConverterTypes`.
   */
  addConverter(name: string, factory: ConverterFactory): this {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new TypeError(`Converter name ${JSON.stringify(name)} must be letters, digits and "_"`);
    }
    if (typeof factory !== "function")
      throw new TypeError(`addConverter("${name}", factory): factory must be a function`);
    this.converterFactories.set(name, factory);
    return this;
  }

  /** Every rule, in registration order. */
  get rules(): readonly Rule<T>[] {
    return this.all;
  }

  /** Registers a rule. Syntax errors throw here, naming the rule and the fix. */
  add(rule: string, options: AddOptions<T>): Rule<T> {
    const parsed = parseRule(rule, this.converterFactories);
    const entry = new Entry(parsed, options, options.strictSlashes ?? this.strictDefault, this.all.length);
    for (const k of Object.keys(entry.defaults ?? {})) {
      if (k === "__proto__")
        throw new TypeError(`Rule ${JSON.stringify(rule)}: "__proto__" can't be a default`);
    }
    const segs = parsed.segments;
    let node = this.root;
    let isStatic = true;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      if (seg.text !== undefined) {
        node.static ??= new Map();
        let next = node.static.get(seg.text);
        if (next === undefined) {
          next = new Node<T>();
          node.static.set(seg.text, next);
        }
        node = next;
        continue;
      }
      isStatic = false;
      let tail = 0;
      if (seg.slashes) {
        tail = segs.length - i - 1;
        if (segs[segs.length - 1]!.text === "") tail--; // the trailing slash is handled by the state below
      }
      let edge = node.dynamic.find((e) => e.seg.key === seg.key && e.tail === tail);
      if (edge === undefined) {
        edge = { seg, node: new Node<T>(), tail, order: this.edgeCount++ };
        node.dynamic.push(edge);
        node.dynamic.sort(compareEdges);
      }
      node = edge.node;
    }
    for (const other of node.rules) {
      for (const m of entry.explicit) {
        if (other.explicit.has(m)) {
          throw new Error(
            `Rule ${JSON.stringify(rule)} (${m}) for endpoint "${entry.endpoint}" duplicates rule ` +
              `${JSON.stringify(other.rule)} (${m}) of endpoint "${other.endpoint}", so it could never match. ` +
              "Remove one, or give them different methods.",
          );
        }
      }
    }
    node.rules.push(entry);
    if (isStatic) this.staticPaths.set(`/${segs.map((s) => s.text).join("/")}`, node);
    this.all.push(entry);
    let list = this.byEndpoint.get(entry.endpoint);
    if (list === undefined) {
      list = [];
      this.byEndpoint.set(entry.endpoint, list);
    }
    list.push(entry);
    // Werkzeug's build order: more arguments first, then more defaults, then registration order.
    list.sort(
      (a, b) =>
        b.argSet.size - a.argSet.size ||
        Object.keys(b.defaults ?? {}).length - Object.keys(a.defaults ?? {}).length ||
        a.order - b.order,
    );
    for (const r of list) {
      r.aliasTargets = [];
      for (const o of list) {
        if (o === r) break;
        if (o.defaults !== undefined && sameSet(o.argSet, r.argSet)) r.aliasTargets.push(o);
      }
    }
    return entry;
  }

  /**
   * Matches a decoded path (`req.path`). `queryString` (raw, without `?`) is kept in redirects.
   * Never throws on any input.
   */
  match(path: string, method: string, queryString = ""): MatchResult<T> {
    if (path.charCodeAt(0) !== 0x2f) return NOT_FOUND;
    if (this.mergeSlashes && path.length > 1 && path.indexOf("//") !== -1) {
      const merged = merge(path);
      const r = this.matchPath(merged, method, queryString);
      if (r.kind === "match") return { kind: "redirect", location: locationFor(merged, queryString) };
      return r;
    }
    return this.matchPath(path, method, queryString);
  }

  /** The methods the rules matching this decoded path accept (HEAD with GET, OPTIONS), sorted. */
  allowedMethods(path: string): string[] {
    if (path.charCodeAt(0) !== 0x2f) return [];
    if (this.mergeSlashes && path.indexOf("//") !== -1) path = merge(path);
    const w: Walk = { segs: path.split("/"), method: "", values: [], allowed: new Set(), collect: true };
    this.walk(this.root, 1, w);
    return finishAllowed(w.allowed!);
  }

  private matchPath(path: string, method: string, queryString: string): MatchResult<T> {
    // Fast path: a fully static rule for the whole path.
    const leaf = this.staticPaths.get(path);
    if (leaf !== undefined) {
      const r = pickRule(leaf.rules, method);
      if (r !== undefined) return this.found(r, EMPTY_VALUES, method, queryString);
    }
    const w: Walk = { segs: path.split("/"), method, values: [], allowed: undefined, collect: false };
    const r = this.walk(this.root, 1, w);
    if (r === SLASH) return { kind: "redirect", location: locationFor(`${path}/`, queryString) };
    if (r !== null) return this.found(r, w.values, method, queryString);
    if (w.allowed !== undefined && w.allowed.size > 0) {
      return { kind: "methodNotAllowed", allowed: finishAllowed(w.allowed) };
    }
    return NOT_FOUND;
  }

  private found(
    r: Entry<T>,
    values: readonly unknown[],
    method: string,
    queryString: string,
  ): MatchResult<T> {
    const names = r.parsed.names;
    const params: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) params[names[i]!] = values[i];
    const d = r.defaults;
    if (d !== undefined) for (const k in d) if (!(k in params)) params[k] = d[k];
    if (this.redirectDefaults && r.aliasTargets.length > 0) {
      for (const o of r.aliasTargets) {
        if (!o.suitableFor(params, method)) continue;
        const built = buildPath(o, params);
        if (typeof built === "string")
          return { kind: "redirect", location: locationForBuilt(built, queryString) };
      }
    }
    return { kind: "match", rule: r, params };
  }

  private walk(node: Node<T>, i: number, w: Walk): WalkResult<T> {
    const segs = w.segs;
    const n = segs.length;
    if (i === n) {
      if (node.rules.length > 0) {
        const r = this.leaf(node.rules, w, false);
        if (r !== null) return r;
      }
      const slash = node.static?.get("");
      if (slash !== undefined && !w.collect) {
        const r = pickRule(slash.rules, w.method);
        if (r !== undefined) return r.strictSlashes ? SLASH : r;
      } else if (slash !== undefined) {
        this.leaf(slash.rules, w, true); // non-strict rules match without their slash
      }
      return null;
    }
    const seg = segs[i]!;
    if (node.static !== undefined) {
      const next = node.static.get(seg);
      if (next !== undefined) {
        const r = this.walk(next, i + 1, w);
        if (r !== null) return r;
      }
    }
    const dyn = node.dynamic;
    for (let k = 0; k < dyn.length; k++) {
      const edge = dyn[k]!;
      const mark = w.values.length;
      let end = i + 1;
      let ok: boolean;
      if (edge.seg.slashes) {
        end = segs[n - 1] === "" ? n - 1 - edge.tail : n - edge.tail;
        if (end <= i) continue;
        ok = matchPieces(edge.seg.pieces, end === i + 1 ? seg : segs.slice(i, end).join("/"), w.values);
      } else {
        ok = seg !== "" && matchPieces(edge.seg.pieces, seg, w.values);
      }
      if (ok) {
        const r = this.walk(edge.node, end, w);
        if (r !== null) return r;
      }
      w.values.length = mark;
    }
    if (i === n - 1 && seg === "" && node.rules.length > 0) {
      // `/x/` for a leaf rule `/x`: only rules with strictSlashes=false accept it.
      return this.leaf(node.rules, w, true);
    }
    return null;
  }

  /** The rule of a state that takes the method; else records the methods for a 405. */
  private leaf(rules: Entry<T>[], w: Walk, nonStrictOnly: boolean): Entry<T> | null {
    if (!w.collect) {
      const r = pickRule(rules, w.method, nonStrictOnly);
      if (r !== undefined) return r;
    }
    for (const r of rules) {
      if (nonStrictOnly && r.strictSlashes) continue;
      w.allowed ??= new Set();
      for (const m of r.methods) w.allowed.add(m);
      if (r.autoOptions) w.allowed.add("OPTIONS");
    }
    return null;
  }

  /**
   * Builds the URL of an endpoint (Flask's `url_for`): the first of its rules that can be built from the
   * values, preferring the ones that use the most; unknown values become the query string (arrays repeat).
   * `undefined` and `null` values are dropped.
   */
  build(endpoint: string, params: Readonly<Record<string, unknown>> = {}, opts: BuildOptions = {}): string {
    const list = this.byEndpoint.get(endpoint);
    const values: Record<string, unknown> = {};
    for (const k of Object.keys(params)) {
      const v = params[k];
      if (v !== undefined && v !== null) values[k] = v;
    }
    if (list === undefined) {
      const near = closeNames(endpoint, [...this.byEndpoint.keys()]);
      const known = [...this.byEndpoint.keys()];
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
    let chosen: Entry<T> | undefined;
    let path: string | undefined;
    const reasons: string[] = [];
    const tryRules = (m: string | undefined, record: boolean) => {
      for (const r of list) {
        if (!r.suitableFor(values, m)) {
          if (record) reasons.push(unsuitableReason(r, values, m));
          continue;
        }
        const b = buildPath(r, values);
        if (typeof b === "string") {
          chosen = r;
          path = b;
          return;
        }
        if (record) reasons.push(b.reason);
      }
    };
    if (method === undefined) tryRules("GET", false);
    if (chosen === undefined) tryRules(method, true);
    if (chosen === undefined || path === undefined) {
      throw new BuildError(
        endpoint,
        values,
        method,
        `Could not build a URL for endpoint ${JSON.stringify(endpoint)}` +
          (method === undefined ? "" : ` with method ${method}`) +
          ` from ${describeValues(values)}: ${reasons.join("; ")}.`,
      );
    }
    const rule: Entry<T> = chosen;
    let url = path as string;
    let query = "";
    for (const k of Object.keys(values)) {
      if (rule.argSet.has(k)) continue;
      const v = values[k];
      const items = Array.isArray(v) ? v : [v];
      const ek = percentEncode(k, QUERY_SAFE);
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
        query += `${query === "" ? "?" : "&"}${ek}=${percentEncode(s, QUERY_SAFE)}`;
      }
    }
    url += query;
    if (opts.anchor !== undefined) url += `#${percentEncode(opts.anchor, FRAGMENT_SAFE)}`;
    if (opts.scriptRoot !== undefined && opts.scriptRoot !== "" && opts.scriptRoot !== "/") {
      const root = opts.scriptRoot.endsWith("/") ? opts.scriptRoot.slice(0, -1) : opts.scriptRoot;
      url = `${root.startsWith("/") ? "" : "/"}${root}${url}`;
    }
    if (opts.external !== undefined) url = `${opts.external.scheme}://${opts.external.host}${url}`;
    return url;
  }
}

const NOT_FOUND: MatchResult<never> = Object.freeze({ kind: "notFound" });
const EMPTY_VALUES: readonly unknown[] = [];

/** A state's rule for a method: explicit methods first, then HEAD by GET, then automatic OPTIONS. */
function pickRule<T>(rules: Entry<T>[], method: string, nonStrictOnly = false): Entry<T> | undefined {
  for (const r of rules) if (r.explicit.has(method) && !(nonStrictOnly && r.strictSlashes)) return r;
  if (method === "HEAD") {
    for (const r of rules) if (r.explicit.has("GET") && !(nonStrictOnly && r.strictSlashes)) return r;
  } else if (method === "OPTIONS") {
    for (const r of rules) if (r.autoOptions && !(nonStrictOnly && r.strictSlashes)) return r;
  }
  return undefined;
}

function finishAllowed(set: Set<string>): string[] {
  if (set.has("GET")) set.add("HEAD");
  return [...set].sort();
}

/** Matches one segment (or a path span) against static text and converters; pushes converted values. */
function matchPieces(pieces: readonly (string | VariablePart)[], s: string, out: unknown[]): boolean {
  const np = pieces.length;
  let pos = 0;
  let end = s.length;
  let first = 0;
  let last = np;
  const p0 = pieces[0]!;
  if (typeof p0 === "string") {
    if (!s.startsWith(p0)) return false;
    pos = p0.length;
    first = 1;
  }
  const pl = pieces[np - 1]!;
  if (typeof pl === "string" && np > 1) {
    if (end - pos < pl.length || !s.endsWith(pl)) return false;
    end -= pl.length;
    last = np - 1;
  }
  // Variables and their separators in between: split at the first occurrence of each separator.
  for (let k = first; k < last; k++) {
    const v = pieces[k] as VariablePart;
    let stop = end;
    if (k + 1 < last) {
      const sep = pieces[k + 1] as string;
      const at = s.indexOf(sep, pos + 1);
      if (at === -1 || at + sep.length > end) return false;
      stop = at;
    }
    if (stop <= pos) return false;
    const value = v.converter.parse(s.slice(pos, stop));
    if (value === undefined) return false;
    out.push(value);
    if (k + 1 < last) {
      pos = stop + (pieces[k + 1] as string).length;
      k++;
    } else pos = stop;
  }
  return pos === end;
}

interface Unbuildable {
  reason: string;
}

/** The rule's path for the values, or why it can't be built. */
function buildPath<T>(r: Entry<T>, values: Readonly<Record<string, unknown>>): string | Unbuildable {
  let out = "";
  for (const seg of r.parsed.segments) {
    out += "/";
    for (const p of seg.pieces) {
      if (typeof p === "string") {
        out += percentEncode(p, SEGMENT_SAFE);
        continue;
      }
      const v = p.name in values ? values[p.name] : r.defaults?.[p.name];
      let text: string | undefined;
      try {
        text = p.converter.format(v);
        if (text !== undefined && (text === "" || p.converter.parse(text) === undefined)) text = undefined;
        if (text !== undefined && !p.converter.slashes && text.indexOf("/") !== -1) text = undefined;
      } catch {
        text = undefined;
      }
      if (text === undefined) {
        return {
          reason:
            `rule ${JSON.stringify(r.rule)} can't take ${p.name}=${describeValue(v)}` +
            ` (not accepted by the ${p.converterName === "default" ? "string" : p.converterName} converter)`,
        };
      }
      out += percentEncode(text, p.converter.slashes ? PATH_SAFE : SEGMENT_SAFE);
    }
  }
  return out;
}

function locationForBuilt(encodedPath: string, queryString: string): string {
  return queryString === "" ? encodedPath : `${encodedPath}?${safeQuery(queryString)}`;
}

function unsuitableReason<T>(
  r: Entry<T>,
  values: Readonly<Record<string, unknown>>,
  method: string | undefined,
): string {
  if (method !== undefined && !r.allows(method)) {
    return `rule ${JSON.stringify(r.rule)} takes ${[...r.methods].join(", ")}, not ${method}`;
  }
  const missing = r.parsed.names.filter(
    (k) => !(k in values) && !(r.defaults !== undefined && k in r.defaults),
  );
  if (missing.length > 0) {
    return `rule ${JSON.stringify(r.rule)} needs ${missing.map((m) => JSON.stringify(m)).join(", ")}`;
  }
  const d = r.defaults ?? {};
  const clash = Object.keys(d).filter((k) => k in values && !sameValue(values[k], d[k]));
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

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function compareEdges<T>(a: Edge<T>, b: Edge<T>): number {
  const wa = edgeWeight(a.seg);
  const wb = edgeWeight(b.seg);
  for (let i = 0; i < wa.length || i < wb.length; i++) {
    const d = (wa[i] ?? 0) - (wb[i] ?? 0);
    if (d !== 0) return d;
  }
  return b.tail - a.tail || a.order - b.order;
}

/** Werkzeug's weighting, smaller first: more static pieces, longer static text, more converters, lighter converters. */
function edgeWeight(seg: Segment): number[] {
  let statics = 0;
  let staticLen = 0;
  const conv: number[] = [];
  for (const p of seg.pieces) {
    if (typeof p === "string") {
      statics++;
      staticLen += p.length;
    } else conv.push(p.converter.weight);
  }
  return [-statics, -staticLen, -conv.length, ...conv];
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
