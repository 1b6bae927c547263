// Rate limit counters in Redis, shared by every process and instance: each hit is one script, so one
// round trip and atomic (no two instances can both take the last hit). The clock is Redis's (TIME), so
// instances whose clocks differ still agree on the windows.

import { evalScript, type RedisLike, redisScript } from "../redis/index.ts";
import { type LimitResult, type LimitStore, type Strategy, slidingDecision } from "./store.ts";

// KEYS[1] counter. ARGV: window ms, cost. Returns {count, ms to reset}. The window starts at the first hit.
const FIXED = redisScript(`
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`);

// KEYS[1] counter prefix. ARGV: window ms, amount, cost. Returns {allowed, prev, curr, elapsed ms}.
// The counters of the current and previous window are KEYS[1]..':'..index (one Redis: derived keys are fine).
const SLIDING = redisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local index = math.floor(now / w)
local ck = KEYS[1] .. ':' .. index
local curr = tonumber(redis.call('GET', ck) or '0')
local prev = tonumber(redis.call('GET', KEYS[1] .. ':' .. (index - 1)) or '0')
local elapsed = now - index * w
local weighted = prev * (w - elapsed) / w + curr
if weighted + cost <= amount then
  redis.call('INCRBY', ck, cost)
  redis.call('PEXPIRE', ck, 2 * w)
  return {1, prev, curr, elapsed}
end
return {0, prev, curr, elapsed}`);

/**
 * Counters in Redis, for limits that hold across workers and instances:
 * `new Limiter(app, { store: new RedisStore(client) })` with a connected node-redis client.
 */
export class RedisStore implements LimitStore {
  readonly client: RedisLike;
  readonly prefix: string;

  constructor(client: RedisLike, options: { prefix?: string } = {}) {
    if (typeof client?.sendCommand !== "function") {
      throw new TypeError(
        "RedisStore needs a connected Redis client: new RedisStore(client), with client = createClient({ url }) " +
          "from the `redis` package, after `await client.connect()`",
      );
    }
    this.client = client;
    this.prefix = options.prefix ?? "LIMITER/";
  }

  async hit(
    key: string,
    amount: number,
    windowMs: number,
    strategy: Strategy,
    cost: number,
  ): Promise<LimitResult> {
    const k = this.prefix + key;
    if (strategy === "sliding-window") {
      const r = (await evalScript(
        this.client,
        SLIDING,
        [k],
        [String(windowMs), String(amount), String(cost)],
      )) as number[];
      // The script decided (atomically); the numbers for the headers come from the same formula.
      const d = slidingDecision(Number(r[1]), Number(r[2]), amount, windowMs, Number(r[3]), cost);
      if (Number(r[0]) === 1) return d.allowed ? d : { ...d, allowed: true, retryMs: 0 };
      return d.allowed ? { ...d, allowed: false, remaining: 0, retryMs: 1 } : d;
    }
    const r = (await evalScript(this.client, FIXED, [k], [String(windowMs), String(cost)])) as number[];
    const count = Number(r[0]);
    const resetMs = Number(r[1]);
    const allowed = count <= amount;
    return { allowed, remaining: Math.max(0, amount - count), resetMs, retryMs: allowed ? 0 : resetMs };
  }

  /** Deletes this store's counters (SCAN + UNLINK by prefix). */
  async clear(): Promise<void> {
    let cursor = "0";
    do {
      const [next, keys] = (await this.client.sendCommand([
        "SCAN",
        cursor,
        "MATCH",
        `${this.prefix}*`,
        "COUNT",
        "500",
      ])) as [string, string[]];
      cursor = String(next);
      if (keys.length > 0) await this.client.sendCommand(["UNLINK", ...keys]);
    } while (cursor !== "0");
  }
}
