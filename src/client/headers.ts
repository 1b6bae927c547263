// Response headers (a case-insensitive view over the parser's flat list) and the header inputs a
// request accepts.

/** Header input of a request or a client: a record (arrays repeat the field), a list of pairs, or web `Headers`. */
export type HeadersInit =
  | Readonly<Record<string, string | number | readonly string[] | undefined>>
  | readonly (readonly [string, string])[]
  | Headers;

/** Flattens any `HeadersInit` to name, value, name, value … keeping order and repeats. */
export function flattenHeaders(init: HeadersInit | undefined, out: string[] = []): string[] {
  if (init === undefined) return out;
  if (Array.isArray(init)) {
    for (const pair of init as readonly (readonly [string, string])[]) out.push(pair[0], String(pair[1]));
  } else if (typeof Headers !== "undefined" && init instanceof Headers) {
    init.forEach((value, name) => {
      out.push(name, value);
    });
  } else {
    const rec = init as Readonly<Record<string, string | number | readonly string[] | undefined>>;
    for (const name in rec) {
      const v = rec[name];
      if (v === undefined) continue;
      if (typeof v === "object") for (const one of v) out.push(name, one);
      else out.push(name, typeof v === "string" ? v : String(v));
    }
  }
  return out;
}

function sameName(a: string, lowered: string): boolean {
  return a.length === lowered.length && (a === lowered || a.toLowerCase() === lowered);
}

/** Response header fields, read case-insensitively. Names keep the server's case in `raw`. */
export class ResponseHeaders implements Iterable<[string, string]> {
  /** The fields as received, flattened: name, value, name, value … */
  readonly raw: readonly string[];

  constructor(raw: readonly string[]) {
    this.raw = raw;
  }

  /** The field's value, repeats joined with ", " (as RFC 9110 allows), or `undefined`. Use `getSetCookie()` for cookies. */
  get(name: string): string | undefined {
    const h = this.raw;
    const lower = name.toLowerCase();
    let out: string | undefined;
    for (let i = 0; i < h.length; i += 2) {
      if (sameName(h[i]!, lower)) out = out === undefined ? h[i + 1]! : `${out}, ${h[i + 1]!}`;
    }
    return out;
  }

  /** Every value of the field, in order. */
  getAll(name: string): string[] {
    const h = this.raw;
    const lower = name.toLowerCase();
    const out: string[] = [];
    for (let i = 0; i < h.length; i += 2) if (sameName(h[i]!, lower)) out.push(h[i + 1]!);
    return out;
  }

  /** Every `Set-Cookie` value, unjoined (they can't be joined with commas). */
  getSetCookie(): string[] {
    return this.getAll("set-cookie");
  }

  has(name: string): boolean {
    const h = this.raw;
    const lower = name.toLowerCase();
    for (let i = 0; i < h.length; i += 2) if (sameName(h[i]!, lower)) return true;
    return false;
  }

  /** Pairs of lower-cased name and value, in order, repeats kept. */
  *entries(): IterableIterator<[string, string]> {
    const h = this.raw;
    for (let i = 0; i < h.length; i += 2) yield [h[i]!.toLowerCase(), h[i + 1]!];
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** Unique lower-cased names, in first-seen order. */
  keys(): string[] {
    const seen = new Set<string>();
    const h = this.raw;
    for (let i = 0; i < h.length; i += 2) seen.add(h[i]!.toLowerCase());
    return [...seen];
  }

  /** A plain record of lower-cased names to values (repeats joined; `set-cookie` as an array). */
  toJSON(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = Object.create(null);
    for (const k of this.keys()) out[k] = k === "set-cookie" ? this.getAll(k) : this.get(k)!;
    return out;
  }
}
