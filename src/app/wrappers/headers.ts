// Header fields as an ordered multimap: names keep their case, lookups ignore it, repeats are kept.
// Values an app sets are checked here, so a bad one fails where it is set, naming the header.

import { assertValidField, sameFieldName } from "../../http/fields.ts";

/** A header value an app may give; numbers are written in decimal. */
export type HeaderInitValue = string | number | readonly (string | number)[];

/**
 * Headers for a response or a test request: a record (`{ token: "123" }`), a list of pairs (repeats kept,
 * `[["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]]`), a `Headers`, or a web `Headers`.
 */
export type HeadersInit =
  | Headers
  | Readonly<Record<string, HeaderInitValue | undefined>>
  | Iterable<readonly [string, string | number]>;

export class Headers implements Iterable<[string, string]> {
  /** Flattened fields: name, value, name, value … */
  private f: string[];
  private readonly immutable: boolean;

  constructor(init?: HeadersInit) {
    this.f = [];
    this.immutable = false;
    if (init !== undefined) this.extend(init);
  }

  /**
   * @internal Wraps fields already checked by the wire (name, value, … as parsed) without copying them.
   * The result is read-only: request headers describe what the client sent.
   */
  static fromRaw(raw: readonly string[]): Headers {
    const h = new Headers();
    h.f = raw as string[];
    (h as unknown as { immutable: boolean }).immutable = true;
    return h;
  }

  /** Adds every field of `init` (repeats kept). */
  extend(init: HeadersInit): this {
    if (init instanceof Headers) {
      const f = init.f;
      for (let i = 0; i < f.length; i += 2) this.append(f[i]!, f[i + 1]!);
      return this;
    }
    if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
      for (const pair of init as Iterable<readonly [string, string | number]>) {
        if (!Array.isArray(pair) || pair.length !== 2) {
          throw new TypeError("Headers given as a list must be [name, value] pairs");
        }
        this.append(pair[0], pair[1]);
      }
      return this;
    }
    const rec = init as Readonly<Record<string, HeaderInitValue | undefined>>;
    for (const k of Object.keys(rec)) {
      const v = rec[k];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v as readonly (string | number)[]) this.append(k, x);
      else this.append(k, v as string | number);
    }
    return this;
  }

  /** Number of fields (repeats counted). */
  get size(): number {
    return this.f.length >> 1;
  }

  /**
   * The value of a field (case-insensitive name), or undefined. A request's field sent more than once
   * gives its values joined with ", ", as Werkzeug's request headers do (`getAll` has the list); a
   * response's gives the first value.
   */
  get(name: string): string | undefined {
    const f = this.f;
    for (let i = 0; i < f.length; i += 2) {
      if (sameFieldName(f[i]!, name)) {
        if (!this.immutable) return f[i + 1];
        let v = f[i + 1]!;
        for (let j = i + 2; j < f.length; j += 2) if (sameFieldName(f[j]!, name)) v += `, ${f[j + 1]!}`;
        return v;
      }
    }
    return undefined;
  }

  /** Every value of a field, in order. */
  getAll(name: string): string[] {
    const f = this.f;
    const out: string[] = [];
    for (let i = 0; i < f.length; i += 2) if (sameFieldName(f[i]!, name)) out.push(f[i + 1]!);
    return out;
  }

  /** Every `Set-Cookie` value (as the web `Headers.getSetCookie`). */
  getSetCookie(): string[] {
    return this.getAll("set-cookie");
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replaces every field of this name by one. Throws a TypeError naming the header for a bad value. */
  set(name: string, value: string | number): this {
    this.check();
    const v = typeof value === "number" ? String(value) : value;
    assertValidField(name, v);
    const f = this.f;
    let at = -1;
    for (let i = 0; i < f.length; i += 2) {
      if (sameFieldName(f[i]!, name)) {
        if (at === -1) {
          at = i;
          f[i] = name;
          f[i + 1] = v;
        } else {
          f.splice(i, 2);
          i -= 2;
        }
      }
    }
    if (at === -1) this.add(name, v);
    return this;
  }

  /** Sets the field only when it is absent; returns its value. */
  setDefault(name: string, value: string | number): string {
    const cur = this.get(name);
    if (cur !== undefined) return cur;
    this.set(name, value);
    return typeof value === "number" ? String(value) : value;
  }

  /** Adds a field, keeping others of the same name. Throws a TypeError naming the header for a bad value. */
  append(name: string, value: string | number): this {
    this.check();
    const v = typeof value === "number" ? String(value) : value;
    if (typeof v !== "string") {
      throw new TypeError(`The value of header "${name}" must be a string or a number, not ${typeof v}`);
    }
    assertValidField(name, v);
    this.add(name, v);
    return this;
  }

  /** @internal adds a field the framework knows to be valid (a constant), without checking it. */
  pushUnchecked(name: string, value: string): void {
    this.add(name, value);
  }

  /** @internal replaces every field by one the framework knows to be valid (a fresh response's type). */
  resetUnchecked(name: string, value: string): void {
    const f = this.f;
    if (f.length === 2) {
      f[0] = name; // in place: no new list for a fresh response's one field
      f[1] = value;
    } else this.f = [name, value];
  }

  /** Appends a field; the first one makes a list of its size (most responses have one or two). */
  private add(name: string, value: string): void {
    if (this.f.length === 0) this.f = [name, value];
    else this.f.push(name, value);
  }

  /** Removes every field of this name. */
  delete(name: string): this {
    this.check();
    const f = this.f;
    for (let i = f.length - 2; i >= 0; i -= 2) if (sameFieldName(f[i]!, name)) f.splice(i, 2);
    return this;
  }

  clear(): this {
    this.check();
    this.f.length = 0;
    return this;
  }

  /** Every field as [name, value], in order, names as set. */
  *entries(): IterableIterator<[string, string]> {
    const f = this.f;
    for (let i = 0; i < f.length; i += 2) yield [f[i]!, f[i + 1]!];
  }

  /** Every field name (repeats included), as set. */
  *keys(): IterableIterator<string> {
    const f = this.f;
    for (let i = 0; i < f.length; i += 2) yield f[i]!;
  }

  *values(): IterableIterator<string> {
    const f = this.f;
    for (let i = 1; i < f.length; i += 2) yield f[i]!;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  forEach(fn: (value: string, name: string, headers: this) => void): void {
    const f = this.f;
    for (let i = 0; i < f.length; i += 2) fn(f[i + 1]!, f[i]!, this);
  }

  /** @internal the flattened fields (name, value, …) without a copy, for the writer. */
  raw(): readonly string[] {
    return this.f;
  }

  /** A plain object by lowercased name; repeated fields joined with ", " (Set-Cookie as an array is lost). */
  toJSON(): Record<string, string> {
    const out = Object.create(null) as Record<string, string>;
    const f = this.f;
    for (let i = 0; i < f.length; i += 2) {
      const k = f[i]!.toLowerCase();
      const prev = out[k];
      out[k] = prev === undefined ? f[i + 1]! : `${prev}, ${f[i + 1]}`;
    }
    return out;
  }

  toString(): string {
    let s = "";
    const f = this.f;
    for (let i = 0; i < f.length; i += 2) s += `${f[i]}: ${f[i + 1]}\r\n`;
    return s;
  }

  private check(): void {
    if (this.immutable) {
      throw new TypeError(
        "These headers are read-only (they are what the client sent); set response headers instead",
      );
    }
  }
}
