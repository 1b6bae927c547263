// What the Redis-backed features share (server-side sessions, the rate limiter's Redis store, the
// fan-out broker): the little of a Redis client they use (`RedisLike`: node-redis's `sendCommand`),
// Lua scripts sent by digest with a fallback to the script itself, and turning a Redis that does not
// answer into a 503 that says so.
//
// Third layer of src/app (with context and config): may import the wrappers (for ServiceUnavailable).
// Imports nothing from the `redis` package: the app passes its own connected client.

export {
  evalScript,
  FailureLog,
  type RedisLike,
  type RedisScript,
  redisScript,
  storeUnavailable,
} from "./client.ts";
