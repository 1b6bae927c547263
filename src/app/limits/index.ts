// Rate limiting (Flask-Limiter's idea): `Limiter` on an app, limits per route, blueprint or app, keyed by
// address, user or any function; fixed and sliding windows; counters in memory (one process) or Redis.
//
// Fourth layer of src/app (a feature): may import the wrappers, the redis helpers, and `Phial` and
// `Handler` as types only.

export {
  type KeyFunc,
  Limiter,
  type LimiterOptions,
  type LimitOptions,
  remoteAddress,
} from "./limiter.ts";
export { parseLimits, type RateLimitItem } from "./parse.ts";
export { RedisStore } from "./redis.ts";
export { type LimitResult, type LimitStore, MemoryStore, type Strategy } from "./store.ts";
