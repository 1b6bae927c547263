// Where rate limit counters live: `MemoryStore` (one process) and the contract a store keeps.

/** How hits are counted. */
export type Strategy = "fixed-window" | "sliding-window";

/** What one counted hit tells. */
export interface LimitResult {
  /** Within the limit (the hit was counted). */
  allowed: boolean;
  /** Hits left in the window after this one. */
  remaining: number;
  /** Milliseconds until the counter frees up (the window ends). */
  resetMs: number;
  /** When refused: milliseconds until a hit of the same cost would be allowed. */
  retryMs: number;
}

/**
 * A counter store. `hit` counts `cost` hits on `key` against `amount` per `windowMs` in one atomic step
 * and says whether they fit. A store may answer synchronously (memory) or with a promise (Redis).
 */
export interface LimitStore {
  hit(
    key: string,
    amount: number,
    windowMs: number,
    strategy: Strategy,
    cost: number,
  ): LimitResult | Promise<LimitResult>;
  /** Forgets every counter of this store (tests, or after an incident). */
  clear(): void | Promise<void>;
}

interface FixedEntry {
  count: number;
  expiresAt: number;
}

interface SlidingEntry {
  /** The index of the current window (now / windowMs). */
  index: number;
  curr: number;
  prev: number;
}

/**
 * Counters in this process's memory: right for one process (`phial run` without `--workers`), wrong for
 * several (each would count on its own): use `RedisStore` there. Holds at most `maxKeys` counters (the
 * oldest go first once full; expired ones are swept as it fills).
 */
export class MemoryStore implements LimitStore {
  private readonly fixed = new Map<string, FixedEntry>();
  private readonly sliding = new Map<string, SlidingEntry>();
  readonly maxKeys: number;
  /** The clock, in milliseconds (tests). */
  now: () => number = Date.now;

  constructor(options: { maxKeys?: number } = {}) {
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  hit(key: string, amount: number, windowMs: number, strategy: Strategy, cost: number): LimitResult {
    return strategy === "sliding-window"
      ? this.hitSliding(key, amount, windowMs, cost)
      : this.hitFixed(key, amount, windowMs, cost);
  }

  /** The window starts at the first hit and lasts `windowMs`; hits past the limit still count (as in `limits`). */
  private hitFixed(key: string, amount: number, windowMs: number, cost: number): LimitResult {
    const now = this.now();
    let e = this.fixed.get(key);
    if (e === undefined || e.expiresAt <= now) {
      if (e !== undefined) this.fixed.delete(key);
      this.makeRoom(this.fixed, now);
      e = { count: 0, expiresAt: now + windowMs };
      this.fixed.set(key, e);
    }
    e.count += cost;
    const resetMs = e.expiresAt - now;
    const allowed = e.count <= amount;
    return { allowed, remaining: Math.max(0, amount - e.count), resetMs, retryMs: allowed ? 0 : resetMs };
  }

  private hitSliding(key: string, amount: number, windowMs: number, cost: number): LimitResult {
    const now = this.now();
    const index = Math.floor(now / windowMs);
    let e = this.sliding.get(key);
    if (e === undefined) {
      this.makeRoom(this.sliding, now);
      e = { index, curr: 0, prev: 0 };
      this.sliding.set(key, e);
    } else if (e.index !== index) {
      e.prev = e.index === index - 1 ? e.curr : 0;
      e.curr = 0;
      e.index = index;
    }
    const r = slidingDecision(e.prev, e.curr, amount, windowMs, now - index * windowMs, cost);
    if (r.allowed) e.curr += cost;
    return r;
  }

  /** Sweeps expired counters when the map is full, then drops the oldest if still full. */
  private makeRoom(map: Map<string, FixedEntry> | Map<string, SlidingEntry>, now: number): void {
    if (map.size < this.maxKeys) return;
    if (map === this.fixed) {
      for (const [k, v] of this.fixed) if (v.expiresAt <= now) this.fixed.delete(k);
    }
    const it = map.keys();
    while (map.size >= this.maxKeys) map.delete(it.next().value as string);
  }

  clear(): void {
    this.fixed.clear();
    this.sliding.clear();
  }
}

/**
 * The sliding window counter (Flask-Limiter's "sliding-window-counter"): the previous window's count,
 * weighted by how much of it still overlaps the last `windowMs`, plus the current window's. Shared by
 * the memory store and mirrored by the Redis store's script.
 */
export function slidingDecision(
  prev: number,
  curr: number,
  amount: number,
  windowMs: number,
  elapsed: number,
  cost: number,
): LimitResult {
  const weighted = (prev * (windowMs - elapsed)) / windowMs + curr;
  const resetMs = windowMs - elapsed;
  if (weighted + cost <= amount) {
    return {
      allowed: true,
      remaining: Math.max(0, Math.floor(amount - weighted - cost)),
      resetMs,
      retryMs: 0,
    };
  }
  let retryMs: number;
  if (curr + cost > amount) {
    // Not before the next window, and then only once this window's hits weigh little enough.
    retryMs = resetMs + (curr > 0 ? Math.max(0, windowMs * (1 - (amount - cost) / curr)) : 0);
  } else {
    // Later in this window, once the previous window's share has slid out enough.
    retryMs = Math.max(0, windowMs - ((amount - curr - cost) * windowMs) / prev - elapsed);
  }
  return { allowed: false, remaining: 0, resetMs, retryMs: Math.ceil(retryMs) };
}
