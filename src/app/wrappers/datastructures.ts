// MultiDict: Werkzeug's multi-valued mapping for query arguments, form fields, cookies and files.
// Flat by design (no `a[b][c]` expansion) and safe for any key (`__proto__` is just a key).

import { BadRequestKeyError } from "./exceptions.ts";

export interface GetOptions<T, U> {
  /** Converts the value; a conversion that throws or gives NaN makes `get` return the default. */
  type?: (value: T) => U;
  /** What to return when the key is missing or the conversion fails. */
  default?: U;
}

/** Converts to a number as `get(k, { type: Number })` should: "" and "abc" are failures, not 0 / NaN. */
function converted<U>(value: unknown, type: (v: never) => U): { ok: boolean; value: U | undefined } {
  if (type === (Number as unknown)) {
    const s = String(value).trim();
    const n = s === "" ? Number.NaN : Number(s);
    return Number.isNaN(n) ? { ok: false, value: undefined } : { ok: true, value: n as U };
  }
  try {
    const v = type(value as never);
    if (typeof v === "number" && Number.isNaN(v)) return { ok: false, value: undefined };
    return { ok: true, value: v };
  } catch {
    return { ok: false, value: undefined };
  }
}

/** Python's `str.strip()` whitespace that `int()` and `float()` skip around a number. */
const PY_SPACE = /^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/g;
/** A decimal integer as Python's `int()` reads it: a sign, digits (any script), `_` between digits. */
const PY_INT = /^[+-]?\p{Nd}+(?:_\p{Nd}+)*$/u;
/** A decimal number as Python's `float()` reads it (`inf`/`nan` aside). */
const PY_FLOAT = /^[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?$/;

/** The value of a decimal digit of any script (a `\p{Nd}` run of ten starts at its zero). */
function digitValue(cp: number): number {
  if (cp <= 0x39) return cp - 0x30;
  let n = 0;
  while (n < 60 && /\p{Nd}/u.test(String.fromCodePoint(cp - n - 1))) n++;
  return n % 10;
}

/**
 * Python's `int()` on a string, for `req.args.get("page", { type: int, default: 1 })`: decimal digits
 * with an optional sign, `_` between digits and whitespace around (`" 7 "`, `"+7"`, `"1_000"`, `"٣"`);
 * `"1.5"`, `"0x10"`, `"1e3"` and `""` are not integers (`Number` takes them). Throws a TypeError for
 * those, and for integers beyond `Number.MAX_SAFE_INTEGER`, so `get` gives its default.
 */
export function int(value: string): number {
  const s = String(value).replace(PY_SPACE, "");
  if (!PY_INT.test(s))
    throw new TypeError(`invalid literal for int() with base 10: ${JSON.stringify(value)}`);
  let n = 0;
  let sign = 1;
  for (const ch of s) {
    if (ch === "-") sign = -1;
    else if (ch !== "+" && ch !== "_") n = n * 10 + digitValue(ch.codePointAt(0)!);
  }
  if (!Number.isSafeInteger(n)) throw new TypeError(`int(): ${JSON.stringify(value)} is too large`);
  return sign * n + 0; // + 0: never -0
}

/**
 * Python's `float()` on a string: a decimal number with optional sign, fraction, exponent and `_`
 * between digits, or `inf`/`infinity` (any case); not `0x10` nor `""`. `nan` is refused (a NaN is a
 * failed conversion for `get`). Throws a TypeError otherwise.
 */
export function float(value: string): number {
  const s = String(value).replace(PY_SPACE, "");
  const l = s.toLowerCase().replace(/^[+-]/, "");
  if (l === "inf" || l === "infinity") return s.charCodeAt(0) === 0x2d ? -Infinity : Infinity;
  if (!PY_FLOAT.test(s)) throw new TypeError(`could not convert string to float: ${JSON.stringify(value)}`);
  return Number(s.replaceAll("_", ""));
}

/**
 * A mapping where a key may have several values, in the order they came.
 * `get` gives the first value, `getAll` every one; `entries()` every pair in order.
 */
export class MultiDict<T = string> implements Iterable<[string, T]> {
  /** Every pair, in order. */
  private pairs: [string, T][];
  /** key → values, built on first lookup. */
  private index: Map<string, T[]> | undefined;
  private frozen = false;

  constructor(
    init?: Iterable<readonly [string, T]> | Readonly<Record<string, T | readonly T[]>> | MultiDict<T>,
  ) {
    this.pairs = [];
    if (init === undefined) return;
    if (init instanceof MultiDict) {
      this.pairs = init.pairs.map((p) => [p[0], p[1]]);
      return;
    }
    if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
      for (const [k, v] of init as Iterable<readonly [string, T]>) this.pairs.push([k, v]);
      return;
    }
    const rec = init as Readonly<Record<string, T | readonly T[]>>;
    for (const k of Object.keys(rec)) {
      const v = rec[k]!;
      if (Array.isArray(v)) for (const x of v as readonly T[]) this.pairs.push([k, x]);
      else this.pairs.push([k, v as T]);
    }
  }

  /** @internal wraps pairs without copying (the parsers build them). */
  static fromPairs<T>(pairs: [string, T][]): MultiDict<T> {
    const m = new MultiDict<T>();
    m.pairs = pairs;
    return m;
  }

  /** Makes this dict read-only (request data): mutations throw. */
  freeze(): this {
    this.frozen = true;
    return this;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  /** Number of distinct keys. */
  get size(): number {
    return this.lookup().size;
  }

  /**
   * The first value for `key`, or `options.default` (undefined) when missing.
   * With `type`, the value is converted; a failed conversion counts as missing:
   * `req.args.get("page", { type: int, default: 1 })` (`int` and `float` read numbers as Python does;
   * `Number` also takes `1.5` and `0x10`).
   */
  get(key: string): T | undefined;
  get<U>(key: string, options: GetOptions<T, U> & { default: U }): U;
  get<U>(key: string, options: GetOptions<T, U>): U | undefined;
  get<U>(key: string, options?: GetOptions<T, U>): T | U | undefined {
    let first: T | undefined;
    let found = false;
    const idx = this.index;
    if (idx !== undefined) {
      const vs = idx.get(key);
      if (vs !== undefined) {
        first = vs[0];
        found = true;
      }
    } else {
      const p = this.pairs;
      for (let i = 0; i < p.length; i++) {
        if (p[i]![0] === key) {
          first = p[i]![1];
          found = true;
          break;
        }
      }
    }
    if (options === undefined) return first;
    if (!found) return options.default;
    if (options.type === undefined) return first;
    const c = converted(first, options.type as (v: never) => U);
    return c.ok ? c.value : options.default;
  }

  /** Every value for `key` (empty when missing); with `type`, values that fail to convert are left out. */
  getAll(key: string): T[];
  getAll<U>(key: string, options: { type: (value: T) => U }): U[];
  getAll<U>(key: string, options?: { type: (value: T) => U }): (T | U)[] {
    const vs = this.lookup().get(key);
    if (vs === undefined) return [];
    if (options === undefined) return vs.slice();
    const out: U[] = [];
    for (const v of vs) {
      const c = converted(v, options.type as (v: never) => U);
      if (c.ok) out.push(c.value as U);
    }
    return out;
  }

  /** The first value for `key`; a missing key is a 400 Bad Request (Flask's `request.form[key]`). */
  require(key: string): T {
    const vs = this.lookup().get(key);
    if (vs === undefined) throw new BadRequestKeyError(key);
    return vs[0]!;
  }

  has(key: string): boolean {
    return this.lookup().has(key);
  }

  /** Each key once, in the order first seen. */
  keys(): IterableIterator<string> {
    return this.lookup().keys();
  }

  /** The first value of each key. */
  *values(): IterableIterator<T> {
    for (const vs of this.lookup().values()) yield vs[0]!;
  }

  /** Every [key, value] pair, in order (repeated keys repeat). */
  *entries(): IterableIterator<[string, T]> {
    for (const p of this.pairs) yield [p[0], p[1]];
  }

  /** Each key with all its values. */
  lists(): IterableIterator<[string, T[]]> {
    return this.lookup().entries();
  }

  [Symbol.iterator](): IterableIterator<[string, T]> {
    return this.entries();
  }

  /** Adds a value, keeping the others. */
  append(key: string, value: T): this {
    this.check();
    this.pairs.push([key, value]);
    const idx = this.index;
    if (idx !== undefined) {
      const vs = idx.get(key);
      if (vs === undefined) idx.set(key, [value]);
      else vs.push(value);
    }
    return this;
  }

  /** Replaces every value of `key` by one (in the first one's place). */
  set(key: string, value: T): this {
    this.check();
    const p = this.pairs;
    let at = -1;
    for (let i = 0; i < p.length; i++) {
      if (p[i]![0] === key) {
        if (at === -1) {
          at = i;
          p[i] = [key, value];
        } else {
          p.splice(i, 1);
          i--;
        }
      }
    }
    if (at === -1) p.push([key, value]);
    this.index = undefined;
    return this;
  }

  /** Removes every value of `key`; true when there was one. */
  delete(key: string): boolean {
    this.check();
    const before = this.pairs.length;
    this.pairs = this.pairs.filter((p) => p[0] !== key);
    this.index = undefined;
    return this.pairs.length !== before;
  }

  clear(): void {
    this.check();
    this.pairs = [];
    this.index = undefined;
  }

  /**
   * A plain object (null prototype). `flat: true` (default) keeps the first value of each key;
   * `flat: false` gives arrays of every value.
   */
  toDict(options?: { flat?: true }): Record<string, T>;
  toDict(options: { flat: false }): Record<string, T[]>;
  toDict(options: { flat?: boolean } = {}): Record<string, T> | Record<string, T[]> {
    const flat = options.flat !== false;
    const out = Object.create(null) as Record<string, T | T[]>;
    for (const [k, vs] of this.lookup()) out[k] = flat ? vs[0]! : vs.slice();
    return out as Record<string, T> | Record<string, T[]>;
  }

  /** Same as `toDict()`: JSON of a MultiDict shows the first value of each key. */
  toJSON(): Record<string, T> {
    return this.toDict();
  }

  private lookup(): Map<string, T[]> {
    let idx = this.index;
    if (idx === undefined) {
      idx = new Map();
      for (const [k, v] of this.pairs) {
        const vs = idx.get(k);
        if (vs === undefined) idx.set(k, [v]);
        else vs.push(v);
      }
      this.index = idx;
    }
    return idx;
  }

  private check(): void {
    if (this.frozen) {
      throw new TypeError(
        "This MultiDict is read-only (request data); copy it first: new MultiDict(req.form)",
      );
    }
  }
}
