// The router: rules in a segment trie (the model is Werkzeug's StateMachineMatcher), a Map on the whole
// path for fully static rules, and URL building from the same converters.
//
// Matching walks the trie one path segment per level. At each state the static transition is tried
// first (a Map lookup), then the dynamic ones in weight order (more static text first, then lighter
// converters: int before string before path), backtracking to the next one when a subtree fails. The
// trie is a tree and a path converter's span is fixed by the length of the rule's tail, so each state
// is visited at most once per request: the work is bounded by the path length and the few states a
// path can reach, never by the number of routes. The one exception, a rule with two path converters,
// searches the first one's span within a fixed budget. No regex runs per request.

import { percentDecode } from "../../http/urlencoded.ts";
import { type BuildOptions, buildPath, buildUrl, redirectLocation } from "./build.ts";
import { BUILTIN_CONVERTERS, type Converter, type ConverterFactory } from "./converters.ts";
import { hasDotSegment, locationFor, locationForRaw, mergeSlashes as merge, safeQuery } from "./encoding.ts";
import { type AddOptions, Entry, has, type ParsedDomain, type Rule } from "./entry.ts";
import { parseRule, type Segment, type VariablePart } from "./rule.ts";

export type MatchResult<T> =
  | { kind: "match"; rule: Rule<T>; params: Record<string, unknown> }
  | { kind: "redirect"; location: string }
  | { kind: "methodNotAllowed"; allowed: string[] }
  | { kind: "notFound" };

export interface RouterOptions {
  /** `//a///b` redirects to `/a/b` (default true). */
  mergeSlashes?: boolean;
  /** Default of each rule's `strictSlashes` (default true). */
  strictSlashes?: boolean;
  /** A URL given by a rule's defaults redirects to the rule that has them (default true). */
  redirectDefaults?: boolean;
  /**
   * Rules are matched on a domain too (Werkzeug's subdomain or host matching): each rule's `domain`
   * (`""` when it has none) against the `domain` given to `match` (the subdomain or the host). Default false.
   */
  domainMatching?: boolean;
}

// ---- internal structures ----------------------------------------------------------------------

interface Edge<T> {
  readonly seg: Segment;
  readonly node: Node<T>;
  /** For a slash-spanning segment: how many segments the rules below need after it (trailing `/` aside). */
  readonly tail: number;
  readonly order: number;
  /** Identity: the segment, and for a slash-spanning one the shape of the rest of the rule. */
  readonly key: string;
  /** Slash-spanning edges: Werkzeug's weighting of the rest of the rule (to order them among themselves). */
  readonly rest: readonly number[] | undefined;
  /** The converter when the segment is one converter alone (the fast case). */
  readonly single: Converter | undefined;
}

class Node<T> {
  static: Map<string, Node<T>> | undefined;
  /** The static texts and their states when there are only a few: compared in place, no substring. */
  few: string[] | undefined;
  fewNodes: Node<T>[] | undefined;
  /** `static.get("")`: the state of the same path with a trailing slash. */
  slash: Node<T> | undefined;
  dynamic: Edge<T>[] = [];
  rules: Entry<T>[] = [];
}

/** Up to this many static children are compared in place rather than looked up in a Map. */
const FEW_STATIC = 4;
/** `tail` of a slash-spanning edge followed by another one: its span is searched, not computed. */
const VARIABLE_TAIL = -1;
/** Span attempts per request for rules like `/<path:a>/x/<path:b>`. */
const SPLIT_BUDGET = 1024;

const SLASH = 1; // walk result: the path matches with a trailing slash added (strict rule → redirect)
const MERGE = 2; // walk result: the path has `//` and mergeSlashes is on: match the merged path instead
type WalkResult<T> = Entry<T> | typeof SLASH | typeof MERGE | null;

/** Per-request scratch state. */
interface Walk {
  path: string;
  method: string;
  /** Converted values so far, `n` of them (sized for the router's longest rule: no growing). */
  values: unknown[];
  n: number;
  /** Methods of rules whose path matched but not the method. */
  allowed: Set<string> | undefined;
  /** allowedMethods(): visit every matching rule, never stop. */
  collect: boolean;
  /** Span attempts left for rules with two slash-spanning parts (bounds the work per request). */
  budget: number;
  /** The path contains `//` (computed when first needed). */
  double: boolean | undefined;
  /** A `//` stops the walk (MERGE): mergeSlashes is on, this isn't a collect walk, nor the merged path. */
  merge: boolean;
}

/**
 * The rules of one domain pattern: their trie and their fully static paths. A router without domain
 * matching has one, for every rule; with it, one per distinct host or subdomain of its rules.
 */
interface Branch<T> {
  readonly root: Node<T>;
  readonly staticPaths: Map<string, Node<T>>;
  /** The domain pattern (domain matching only). */
  readonly domain: ParsedDomain | undefined;
  readonly order: number;
}

function newBranch<T>(domain: ParsedDomain | undefined, order: number): Branch<T> {
  return { root: new Node<T>(), staticPaths: new Map(), domain, order };
}

// ---- the router -------------------------------------------------------------------------------

export class Router<T> {
  /** Every rule when there is no domain matching. */
  private readonly main = newBranch<T>(undefined, 0);
  /** Domain matching: the branches of static domains by their text, and the others in match order. */
  private readonly staticDomains: Map<string, Branch<T>> | undefined;
  private readonly dynamicDomains: Branch<T>[] = [];
  /** Domain matching is on. */
  readonly domainMatching: boolean;
  private readonly byEndpoint = new Map<string, Entry<T>[]>();
  private readonly all: Entry<T>[] = [];
  private readonly converterFactories = new Map<string, ConverterFactory>(Object.entries(BUILTIN_CONVERTERS));
  private readonly mergeSlashes: boolean;
  private readonly strictDefault: boolean;
  private readonly redirectDefaults: boolean;
  private edgeCount = 0;
  /** The most parameters a rule has: the size of a walk's values. */
  private maxValues = 0;

  constructor(options: RouterOptions = {}) {
    this.mergeSlashes = options.mergeSlashes ?? true;
    this.strictDefault = options.strictSlashes ?? true;
    this.redirectDefaults = options.redirectDefaults ?? true;
    this.domainMatching = options.domainMatching === true;
    this.staticDomains = this.domainMatching ? new Map() : undefined;
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
    let domain: ParsedDomain | undefined;
    if (this.domainMatching) domain = this.parseDomain(rule, options.domain ?? "");
    else if (options.domain !== undefined) {
      throw new TypeError(
        `Rule ${JSON.stringify(rule)} has a host or subdomain, but this router has no domain matching`,
      );
    }
    const entry = new Entry(
      parsed,
      options,
      options.strictSlashes ?? this.strictDefault,
      this.all.length,
      domain,
    );
    for (const k of Object.keys(entry.defaults ?? {})) {
      if (k === "__proto__")
        throw new TypeError(`Rule ${JSON.stringify(rule)}: "__proto__" can't be a default`);
    }
    if (!entry.buildOnly) this.insert(entry, domain === undefined ? this.main : this.branchFor(domain));
    this.maxValues = Math.max(this.maxValues, entry.arguments.length);
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
   * A rule's host or subdomain in rule syntax: one segment of static text and variables, no `/`, static
   * text in lower case (it is compared with the lower-cased Host).
   */
  private parseDomain(rule: string, text: string): ParsedDomain {
    const fail = (why: string): never => {
      throw new TypeError(
        `Rule ${JSON.stringify(rule)}: the host or subdomain ${JSON.stringify(text)} ${why}`,
      );
    };
    if (typeof text !== "string") fail("must be a string");
    if (text.indexOf("/") !== -1) fail('can\'t contain "/"');
    let p: ReturnType<typeof parseRule>;
    try {
      p = parseRule(`/${text}`, this.converterFactories);
    } catch (err) {
      return fail(`is not valid rule syntax: ${err instanceof Error ? err.message : String(err)}`);
    }
    const seg = p.segments[0]!;
    if (seg.slashes) fail("can't use a converter that matches slashes (path)");
    for (const piece of seg.pieces) {
      if (typeof piece === "string" && (piece !== piece.toLowerCase() || !/^[a-z0-9._:-]+$/.test(piece))) {
        fail(
          `must be written in lower case with letters, digits, "-", "_", "." and ":" around its variables ` +
            "(hosts are compared in lower case)",
        );
      }
    }
    return { text, segment: seg, names: p.names };
  }

  /** The branch of a domain pattern, created on first use (dynamic ones kept in match order). */
  private branchFor(domain: ParsedDomain): Branch<T> {
    const seg = domain.segment;
    if (seg.text !== undefined) {
      let b = this.staticDomains!.get(seg.text);
      if (b === undefined) {
        b = newBranch(domain, this.staticDomains!.size + this.dynamicDomains.length);
        this.staticDomains!.set(seg.text, b);
      }
      return b;
    }
    let b = this.dynamicDomains.find((x) => x.domain!.segment.key === seg.key);
    if (b === undefined) {
      b = newBranch(domain, this.staticDomains!.size + this.dynamicDomains.length);
      this.dynamicDomains.push(b);
      this.dynamicDomains.sort(
        (x, y) => compareSegments(x.domain!.segment, y.domain!.segment) || x.order - y.order,
      );
    }
    return b;
  }

  /** Puts a rule into its branch's trie (and the static map when it has no converters). */
  private insert(entry: Entry<T>, branch: Branch<T>): void {
    const rule = entry.rule;
    const segs = entry.parsed.segments;
    let node = branch.root;
    let isStatic = true;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      if (seg.text !== undefined) {
        node.static ??= new Map();
        let next = node.static.get(seg.text);
        if (next === undefined) {
          next = new Node<T>();
          node.static.set(seg.text, next);
          if (seg.text === "") node.slash = next;
          const small = node.static.size <= FEW_STATIC;
          node.few = small ? [...node.static.keys()] : undefined;
          node.fewNodes = small ? [...node.static.values()] : undefined;
        }
        node = next;
        continue;
      }
      isStatic = false;
      let tail = 0;
      let key = seg.key;
      let rest: number[] | undefined;
      if (seg.slashes) {
        // The rest of the rule, without its trailing slash (handled by the state below).
        const after = segs.slice(i + 1, segs[segs.length - 1]!.text === "" ? -1 : undefined);
        tail = after.some((s) => s.slashes) ? VARIABLE_TAIL : after.length;
        key = `${seg.key}\u0001${after.map((s) => s.key).join("\u0001")}`;
        rest = restWeight(after);
      }
      let edge = node.dynamic.find((e) => e.key === key);
      if (edge === undefined) {
        const only =
          seg.pieces.length === 1 && !seg.slashes ? (seg.pieces[0] as VariablePart).converter : undefined;
        edge = { seg, node: new Node<T>(), tail, order: this.edgeCount++, single: only, key, rest };
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
    if (isStatic) branch.staticPaths.set(`/${segs.map((s) => s.text).join("/")}`, node);
  }

  /**
   * Matches a decoded path (`req.path`). `queryString` (raw, without `?`) is kept in the slash and
   * defaults redirects. `rawPath` is the path as sent (`req.rawPath`): give it, and mergeSlashes merges
   * only the `//` the client wrote (never a `/` that was `%2F`) and redirect locations keep the escapes
   * as sent; without it the path is taken as written. Never throws on any input (only a throwing
   * `redirectTo` function can).
   */
  match(path: string, method: string, queryString = "", rawPath?: string): MatchResult<T> {
    if (path.charCodeAt(0) !== 0x2f) return NOT_FOUND;
    return this.matchPath(path, method, queryString, rawPath, this.mergeSlashes, this.main, EMPTY_VALUES);
  }

  /**
   * Matches under domain matching: `domain` is the request's subdomain (`""` for the bare server name) or
   * its host (lower case, default port left out), as the app computed it. The rules of a static domain
   * equal to it are tried first, then those of variable domains that match it (more static text first),
   * as Werkzeug's matcher takes the domain as the first part of the path. A path that no branch matches
   * is a 405 when one of them had it for other methods, else a 404.
   */
  matchDomain(
    domain: string,
    path: string,
    method: string,
    queryString = "",
    rawPath?: string,
  ): MatchResult<T> {
    if (!this.domainMatching) return this.match(path, method, queryString, rawPath);
    if (path.charCodeAt(0) !== 0x2f) return NOT_FOUND;
    let allowed: Set<string> | undefined;
    const st = this.staticDomains!.get(domain);
    if (st !== undefined) {
      const r = this.matchPath(path, method, queryString, rawPath, this.mergeSlashes, st, EMPTY_VALUES);
      if (r.kind === "match" || r.kind === "redirect") return r;
      if (r.kind === "methodNotAllowed") allowed = new Set(r.allowed);
    }
    for (const b of this.dynamicDomains) {
      const values = domainValues(b.domain!, domain);
      if (values === undefined) continue;
      const r = this.matchPath(path, method, queryString, rawPath, this.mergeSlashes, b, values);
      if (r.kind === "match" || r.kind === "redirect") return r;
      if (r.kind === "methodNotAllowed") {
        allowed ??= new Set();
        for (const m of r.allowed) allowed.add(m);
      }
    }
    if (allowed !== undefined) return { kind: "methodNotAllowed", allowed: finishAllowed(allowed) };
    return NOT_FOUND;
  }

  /**
   * The path to match instead of one containing `//` under mergeSlashes, with its raw form, or
   * `undefined` when there is nothing to merge. Only literal `//` in the raw path count: a `/` decoded
   * from `%2F` is a character of the path, not a separator the client wrote, so merging it into a
   * redirect would turn escaped bytes into live path syntax. Nor is a merged path with a `.` or `..`
   * segment a target (a client would resolve it in the Location: `/static/%2F..%2Fx` must never
   * redirect to `/x`).
   */
  private mergedTarget(path: string, rawPath: string | undefined): [string, string | undefined] | undefined {
    let merged: string;
    let mergedRaw: string | undefined;
    if (rawPath === undefined) {
      merged = merge(path);
    } else {
      if (rawPath.indexOf("//") === -1) return undefined;
      mergedRaw = merge(rawPath);
      merged = percentDecode(mergedRaw);
    }
    return hasDotSegment(merged) ? undefined : [merged, mergedRaw];
  }

  /** A path with `//` under mergeSlashes: its merged form, as a redirect when that matches. */
  private matchMerged(
    path: string,
    method: string,
    queryString: string,
    rawPath: string | undefined,
    b: Branch<T>,
    pre: readonly unknown[],
  ): MatchResult<T> {
    const target = this.mergedTarget(path, rawPath);
    // Nothing the client wrote to merge: the path is matched as it is.
    if (target === undefined) return this.matchPath(path, method, queryString, rawPath, false, b, pre);
    const [merged, mergedRaw] = target;
    const r = this.matchPath(merged, method, queryString, mergedRaw, false, b, pre);
    // `//` (and `///`) is `/`, served as it is: the URL a Werkzeug development server serves.
    if (r.kind === "match" && merged !== "/") {
      const location =
        mergedRaw === undefined ? locationFor(merged, queryString) : locationForRaw(mergedRaw, queryString);
      return { kind: "redirect", location };
    }
    return r;
  }

  /**
   * The methods the rules matching this decoded path accept (HEAD with GET, OPTIONS), sorted. Under
   * domain matching, those of the rules whose domain matches `domain` (see `matchDomain`).
   */
  allowedMethods(path: string, rawPath?: string, domain?: string): string[] {
    if (path.charCodeAt(0) !== 0x2f) return [];
    if (!this.domainMatching)
      return finishAllowed(this.collectAllowed(path, rawPath, this.main, EMPTY_VALUES));
    const all = new Set<string>();
    const d = domain ?? "";
    const st = this.staticDomains!.get(d);
    if (st !== undefined) for (const m of this.collectAllowed(path, rawPath, st, EMPTY_VALUES)) all.add(m);
    for (const b of this.dynamicDomains) {
      const values = domainValues(b.domain!, d);
      if (values === undefined) continue;
      for (const m of this.collectAllowed(path, rawPath, b, values)) all.add(m);
    }
    return finishAllowed(all);
  }

  private collectAllowed(
    path: string,
    rawPath: string | undefined,
    b: Branch<T>,
    pre: readonly unknown[],
  ): Set<string> {
    const w: Walk = {
      path,
      method: "",
      values: new Array<unknown>(this.maxValues),
      n: pre.length,
      allowed: new Set(),
      collect: true,
      budget: SPLIT_BUDGET,
      double: undefined,
      merge: false,
    };
    this.walk(b.root, 1, w);
    // As Werkzeug: the path as sent first; merged only when that matches nothing.
    if (w.allowed!.size === 0 && this.mergeSlashes && path.indexOf("//") !== -1) {
      const target = this.mergedTarget(path, rawPath);
      if (target !== undefined) {
        w.path = target[0];
        w.budget = SPLIT_BUDGET;
        w.n = pre.length;
        this.walk(b.root, 1, w);
      }
    }
    return w.allowed!;
  }

  private matchPath(
    path: string,
    method: string,
    queryString: string,
    rawPath: string | undefined,
    merge: boolean,
    b: Branch<T>,
    pre: readonly unknown[],
  ): MatchResult<T> {
    // Fast path: a fully static rule for the whole path.
    const leaf = b.staticPaths.get(path);
    if (leaf !== undefined) {
      const r = pickRule(leaf.rules, method);
      if (r !== undefined) return this.found(r, pre, method, queryString);
    }
    const w: Walk = {
      path,
      method,
      values: new Array<unknown>(this.maxValues),
      n: pre.length,
      allowed: undefined,
      collect: false,
      budget: SPLIT_BUDGET,
      double: undefined,
      // As Werkzeug, the path is matched as sent first (`/proxy/<path:url>` takes `http://x`), and
      // merged (a redirect) only when that matches nothing: see the retry below.
      merge: false,
    };
    // The domain's values first (domain matching; none otherwise).
    for (let i = 0; i < pre.length; i++) w.values[i] = pre[i];
    const r = this.walk(b.root, 1, w);
    if (r === MERGE) return this.matchMerged(path, method, queryString, rawPath, b, pre);
    if (r === SLASH) {
      if (rawPath !== undefined)
        return { kind: "redirect", location: locationForRaw(`${rawPath}/`, queryString) };
      // Without the raw path a `..` may have been `%2E%2E` or next to a `%2F`: no Location a client resolves.
      if (hasDotSegment(path)) return NOT_FOUND;
      return { kind: "redirect", location: locationFor(`${path}/`, queryString) };
    }
    // The walk stops at `//` when it gets there; a failure before that point must look for it.
    if (r === null && merge && path.indexOf("//") !== -1)
      return this.matchMerged(path, method, queryString, rawPath, b, pre);
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
    const params = r.makeParams(values);
    const d = r.defaults;
    if (d !== undefined) for (const k of Object.keys(d)) if (!has(params, k)) params[k] = d[k];
    if (this.redirectDefaults && r.aliasTargets.length > 0) {
      for (const o of r.aliasTargets) {
        if (!o.suitableFor(params, method)) continue;
        const built = buildPath(o, params);
        if (typeof built === "string")
          return { kind: "redirect", location: locationForBuilt(built, queryString) };
      }
    }
    if (r.redirectTo !== undefined) return { kind: "redirect", location: redirectLocation(r, params) };
    return { kind: "match", rule: r, params };
  }

  /**
   * Matches the segment starting at offset `pos` (just after a `/`) and the rest below `node`;
   * `pos > path.length` means every segment is consumed. Segments are sliced as visited, not split
   * up front, and a path converter takes its span with one slice.
   */
  private walk(node: Node<T>, pos: number, w: Walk): WalkResult<T> {
    const path = w.path;
    const len = path.length;
    if (pos > len) {
      if (node.rules.length > 0) {
        const r = this.leaf(node.rules, w, false);
        if (r !== null) return r;
      }
      const slash = node.slash;
      if (slash !== undefined && !w.collect) {
        const r = pickRule(slash.rules, w.method);
        if (r !== undefined) return r.strictSlashes ? SLASH : r;
      } else if (slash !== undefined) {
        this.leaf(slash.rules, w, true); // non-strict rules match without their slash
      }
      return null;
    }
    let stop = path.indexOf("/", pos);
    if (stop === -1) stop = len;
    // An empty segment before the end is a `//`: checked here rather than by a scan of every path.
    if (stop === pos && stop < len && w.merge) return MERGE;
    let seg: string | undefined;
    const st = node.static;
    if (st !== undefined) {
      let next: Node<T> | undefined;
      const few = node.few;
      if (few !== undefined) {
        const n = stop - pos;
        for (let k = 0; k < few.length; k++) {
          const t = few[k]!;
          if (t.length === n && path.startsWith(t, pos)) {
            next = node.fewNodes![k];
            break;
          }
        }
      } else {
        seg = path.slice(pos, stop);
        next = st.get(seg);
      }
      if (next !== undefined) {
        const r = this.walk(next, stop + 1, w);
        if (r !== null) return r;
      }
    }
    const dyn = node.dynamic;
    if (dyn.length === 0) {
      if (pos === len && node.rules.length > 0) return this.leaf(node.rules, w, true);
      return null;
    }
    seg ??= pos === stop ? "" : path.slice(pos, stop);
    for (let k = 0; k < dyn.length; k++) {
      const edge = dyn[k]!;
      const mark = w.n;
      let end = stop;
      let ok: boolean;
      if (edge.tail === VARIABLE_TAIL) {
        // Another slash-spanning part follows: like Werkzeug's non-greedy `.*?`, the shortest span
        // first, within the request's split budget.
        if (pos === stop) continue;
        const r = this.walkSpans(edge, pos, stop, w);
        if (r !== null) return r;
        continue;
      }
      if (edge.seg.slashes) {
        // The span ends where exactly `tail` segments remain (plus the trailing empty one after a `/`).
        let remain = edge.tail + (path.charCodeAt(len - 1) === 0x2f ? 1 : 0);
        end = len;
        while (remain > 0 && end > pos) {
          end = path.lastIndexOf("/", end - 1);
          remain--;
        }
        if (remain > 0 || end <= pos) continue;
        // A `//` before `pos` would have stopped the walk already, and one in the tail will: any `//`
        // in the path means merging. Looked up once per request, and only for slash-spanning rules.
        if (w.merge) {
          w.double ??= path.indexOf("//") !== -1;
          if (w.double) return MERGE;
        }
        ok = matchPieces(edge.seg.pieces, end === stop ? seg : path.slice(pos, end), w);
        if (ok) {
          const r = this.walk(edge.node, end + 1, w);
          if (r !== null) return r;
          w.n = mark;
        }
        // A final path part keeps a trailing slash when nothing matched without it, as Werkzeug's
        // `[^/].*?` does: `/p/<path:x>` gives `a/b/` for `/p/a/b/`.
        if (edge.tail !== 0 || end === len || path.charCodeAt(len - 1) !== 0x2f) continue;
        end = len;
        ok = matchPieces(edge.seg.pieces, path.slice(pos, len), w);
      } else if (pos === stop) {
        continue; // converters never match an empty segment
      } else if (edge.single !== undefined) {
        // The common segment: one converter alone.
        let v: unknown;
        try {
          v = edge.single.parse(seg);
        } catch {
          v = undefined; // a custom converter that throws doesn't match (the server keeps serving)
        }
        ok = v !== undefined;
        if (ok) w.values[w.n++] = v;
      } else {
        ok = matchPieces(edge.seg.pieces, seg, w);
      }
      if (ok) {
        const r = this.walk(edge.node, end + 1, w);
        if (r !== null) return r;
      }
      w.n = mark;
    }
    if (pos === len && node.rules.length > 0) {
      // `/x/` for a leaf rule `/x`: only rules with strictSlashes=false accept it.
      return this.leaf(node.rules, w, true);
    }
    return null;
  }

  /** Tries the spans pos..end for each `/` from `end` on, shortest first. */
  private walkSpans(edge: Edge<T>, pos: number, end: number, w: Walk): WalkResult<T> {
    const path = w.path;
    const len = path.length;
    const mark = w.n;
    for (;;) {
      if (matchPieces(edge.seg.pieces, path.slice(pos, end), w)) {
        const r = this.walk(edge.node, end + 1, w);
        if (r !== null) return r;
      }
      w.n = mark;
      if (end >= len - 1 || --w.budget < 0) return null; // never take the trailing slash into the span
      let next = path.indexOf("/", end + 1);
      if (next === -1) next = len;
      if (next === end + 1 && w.merge) return MERGE;
      end = next;
    }
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
    return buildUrl(this.byEndpoint, endpoint, params, opts);
  }
}

const NOT_FOUND: MatchResult<never> = Object.freeze({ kind: "notFound" });
const EMPTY_VALUES: readonly unknown[] = [];

/** A state's rule for a method: explicit methods first, then HEAD by GET, then automatic OPTIONS. */
function pickRule<T>(rules: Entry<T>[], method: string, nonStrictOnly = false): Entry<T> | undefined {
  for (const r of rules)
    if (
      (r.onlyMethod !== undefined ? r.onlyMethod === method : r.explicit.has(method)) &&
      !(nonStrictOnly && r.strictSlashes)
    )
      return r;
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

/** Matches one segment (or a path span) against static text and converters; adds converted values. */
function matchPieces(pieces: readonly (string | VariablePart)[], s: string, w: Walk): boolean {
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
    let value: unknown;
    try {
      value = v.converter.parse(s.slice(pos, stop));
    } catch {
      return false; // a custom converter that throws doesn't match (the server keeps serving)
    }
    if (value === undefined) return false;
    w.values[w.n++] = value;
    if (k + 1 < last) {
      pos = stop + (pieces[k + 1] as string).length;
      k++;
    } else pos = stop;
  }
  return pos === end;
}

function locationForBuilt(encodedPath: string, queryString: string): string {
  return queryString === "" ? encodedPath : `${encodedPath}?${safeQuery(queryString)}`;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** The converted values of a domain pattern's variables for a domain, or undefined when it doesn't match. */
function domainValues(d: ParsedDomain, domain: string): unknown[] | undefined {
  if (domain === "") return undefined; // converters never match an empty string
  const w: Walk = {
    path: domain,
    method: "",
    values: new Array<unknown>(d.names.length),
    n: 0,
    allowed: undefined,
    collect: false,
    budget: 0,
    double: undefined,
    merge: false,
  };
  return matchPieces(d.segment.pieces, domain, w) ? w.values : undefined;
}

function compareSegments(a: Segment, b: Segment): number {
  const wa = edgeWeight(a);
  const wb = edgeWeight(b);
  for (let i = 0; i < wa.length || i < wb.length; i++) {
    const d = (wa[i] ?? 0) - (wb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function compareEdges<T>(a: Edge<T>, b: Edge<T>): number {
  const c = compareSegments(a.seg, b.seg);
  if (c !== 0) return c;
  if (a.rest !== undefined && b.rest !== undefined) {
    for (let i = 0; i < a.rest.length || i < b.rest.length; i++) {
      const d = (a.rest[i] ?? 0) - (b.rest[i] ?? 0);
      if (d !== 0) return d;
    }
  }
  return a.order - b.order;
}

/**
 * Werkzeug's weighting of what follows a slash-spanning converter (its "final part"), smaller first:
 * more runs of static text, longer runs, more converters, lighter converters. So `/<path:a>/silly/<path:b>/edit`
 * is tried before `/<path:a>/silly/<path:b>`, before `/<path:a>/edit`, before `/<path:a>`.
 */
function restWeight(after: readonly Segment[]): number[] {
  const runs: number[] = [];
  const conv: number[] = [];
  let run = 0;
  for (const seg of after) {
    run += 1; // the "/" before the segment
    for (const p of seg.pieces) {
      if (typeof p === "string") run += p.length;
      else {
        runs.push(run);
        run = 0;
        conv.push(p.converter.weight);
      }
    }
  }
  if (run > 0 && after.length > 0) runs.push(run);
  return [-runs.length, ...runs.map((r) => -r), -conv.length, ...conv];
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
