// A registered rule: its options, methods, defaults, and the parts building needs.

import { percentEncode, SEGMENT_SAFE } from "./encoding.ts";
import type { ParsedRule, Segment, VariablePart } from "./rule.ts";

/** A registered rule, as the matcher returns it. */
export interface Rule<T> {
  readonly endpoint: string;
  /** The rule string as registered, e.g. `/user/<int:id>`. */
  readonly rule: string;
  /** The methods given, upper-case, plus HEAD when GET is there. OPTIONS only when given explicitly. */
  readonly methods: ReadonlySet<string>;
  readonly defaults: Readonly<Record<string, unknown>> | undefined;
  readonly strictSlashes: boolean;
  /** Parameter names: the host's or subdomain's first, then the path's in order of appearance. */
  readonly arguments: readonly string[];
  /**
   * Under host or subdomain matching: the rule's host (`"<user>.example.com"`) or subdomain (`"<user>"`,
   * `""` for the bare server name); else undefined.
   */
  readonly domain: string | undefined;
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
  /**
   * Werkzeug's `redirect_to`: a match redirects (308) instead. A string in rule syntax
   * (`/new/<id>`, `<name>` filled from the matched params, formatted by this rule's converters;
   * relative references stay relative), or a function of the params returning the location.
   */
  redirectTo?: string | ((params: Readonly<Record<string, unknown>>) => string) | undefined;
  /** Only for building URLs, never matched (Werkzeug's `build_only`). */
  buildOnly?: boolean | undefined;
  /**
   * The host (host matching) or subdomain (subdomain matching) this rule answers on, in rule syntax
   * (`"<user>"`, `"api"`, `"<name>.example.com"`). Only for a router created with `domainMatching`; there
   * a rule without one has `""` (the bare server name, or an empty Host).
   */
  domain?: string | undefined;
  data: T;
}

/** A rule's parsed domain: its text and its one segment (static text and variables, no `/`). */
export interface ParsedDomain {
  readonly text: string;
  readonly segment: Segment;
  readonly names: readonly string[];
}

/** @internal a registered rule with what matching and building need. */
export class Entry<T> implements Rule<T> {
  readonly endpoint: string;
  readonly rule: string;
  readonly methods: Set<string>;
  readonly defaults: Readonly<Record<string, unknown>> | undefined;
  readonly strictSlashes: boolean;
  readonly arguments: readonly string[];
  readonly domain: string | undefined;
  readonly data: T;
  /** @internal the parsed domain (domain matching only) */ readonly parsedDomain: ParsedDomain | undefined;
  /** @internal */ readonly explicit: ReadonlySet<string>;
  /** @internal the method when the rule has exactly one (most do): a comparison instead of a Set lookup. */
  readonly onlyMethod: string | undefined;
  /** @internal */ readonly autoOptions: boolean;
  /** @internal */ readonly redirectTo: AddOptions<unknown>["redirectTo"];
  /** @internal */ readonly buildOnly: boolean;
  /** @internal */ readonly parsed: ParsedRule;
  /** @internal names of the parameters plus the keys of the defaults */ readonly argSet: ReadonlySet<string>;
  /** @internal registration order */ readonly order: number;
  /** @internal the path to build: encoded static text (slashes included) and variables. */
  readonly buildParts: readonly (string | VariablePart)[];
  /** @internal the params object of a match, from the converted values in rule order. */
  readonly makeParams: (values: readonly unknown[]) => Record<string, unknown>;
  /** @internal rules of the same endpoint that provide defaults for this one (redirect targets). */
  aliasTargets: Entry<T>[] = [];

  constructor(
    parsed: ParsedRule,
    options: AddOptions<T>,
    strict: boolean,
    order: number,
    domain?: ParsedDomain | undefined,
  ) {
    this.parsed = parsed;
    this.parsedDomain = domain;
    this.domain = domain?.text;
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
    this.onlyMethod = explicit.size === 1 ? [...explicit][0] : undefined;
    this.methods = new Set(explicit);
    if (explicit.has("GET")) this.methods.add("HEAD");
    this.autoOptions = options.automaticOptions !== false;
    this.redirectTo = options.redirectTo;
    this.buildOnly = options.buildOnly === true;
    if (
      this.redirectTo !== undefined &&
      typeof this.redirectTo !== "string" &&
      typeof this.redirectTo !== "function"
    ) {
      throw new TypeError(`Rule ${JSON.stringify(parsed.rule)}: redirectTo must be a string or a function`);
    }
    const defaults = options.defaults;
    this.defaults =
      defaults === undefined || Object.keys(defaults).length === 0 ? undefined : { ...defaults };
    this.strictSlashes = strict;
    // The domain's values come first in a match (its segment is matched before the path's).
    const names = domain === undefined ? parsed.names : [...domain.names, ...parsed.names];
    for (const n of domain?.names ?? []) {
      if (parsed.names.includes(n)) {
        throw new TypeError(
          `Rule ${JSON.stringify(parsed.rule)}: the parameter "${n}" is in both the path and the host ` +
            `or subdomain ${JSON.stringify(domain!.text)}; rename one`,
        );
      }
    }
    this.arguments = names;
    this.makeParams = paramsMaker(names);
    const argSet = new Set(names);
    if (this.defaults !== undefined) for (const k of Object.keys(this.defaults)) argSet.add(k);
    this.argSet = argSet;
    this.data = options.data;
    this.order = order;
    const parts: (string | VariablePart)[] = [];
    let text = "";
    for (const seg of parsed.segments) {
      text += "/";
      for (const p of seg.pieces) {
        if (typeof p === "string") text += percentEncode(p, SEGMENT_SAFE);
        else {
          parts.push(text, p);
          text = "";
        }
      }
    }
    if (text !== "") parts.push(text);
    this.buildParts = parts;
  }

  /** Werkzeug's `suitable_for`: every argument given or defaulted, and given defaults agree. */
  suitableFor(values: Readonly<Record<string, unknown>>, method: string | undefined): boolean {
    if (method !== undefined && !this.allows(method)) return false;
    const d = this.defaults;
    for (const k of this.arguments) if (!has(values, k) && (d === undefined || !has(d, k))) return false;
    if (d !== undefined) {
      for (const k of Object.keys(d)) if (has(values, k) && !sameValue(values[k], d[k])) return false;
    }
    return true;
  }

  allows(method: string): boolean {
    return this.methods.has(method) || (method === "OPTIONS" && this.autoOptions);
  }
}

/** @internal An own key: `"constructor" in {}` is true, so `in` would see parameters nobody gave. */
export function has(o: object, k: string): boolean {
  return Object.hasOwn(o, k);
}

export function sameValue(a: unknown, b: unknown): boolean {
  return (
    a === b || (a !== null && b !== null && a !== undefined && b !== undefined && String(a) === String(b))
  );
}

/**
 * Builds a rule's params objects. Where code generation is allowed, a function with an object literal
 * of the rule's names: every match of the rule then makes an object of one shape without a keyed store
 * per name (a loop of `params[name] = value` costs three times as much). The names are identifiers
 * (checked by the rule parser, `__proto__` refused), so the source holds nothing but them.
 */
function paramsMaker(names: readonly string[]): (values: readonly unknown[]) => Record<string, unknown> {
  if (names.length === 0) return () => ({});
  if (names.every((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n) && n !== "__proto__")) {
    try {
      return new Function("v", `return { ${names.map((n, i) => `${n}: v[${i}]`).join(", ")} };`) as (
        values: readonly unknown[],
      ) => Record<string, unknown>;
    } catch {
      // Code generation from strings is disallowed (--disallow-code-generation-from-strings): the loop.
    }
  }
  return (values) => {
    const params: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) params[names[i]!] = values[i];
    return params;
  };
}
