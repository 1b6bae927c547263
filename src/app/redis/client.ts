// The Redis client as the Redis-backed features see it, and what they share.
//
// Phial does not create connections: the app makes one with node-redis (`createClient` from the `redis`
// package) and passes it. Only `sendCommand` is used, so any client with that method fits (a node-redis
// client, a cluster client, or a small adapter over another library).

import { createHash } from "node:crypto";
import { ServiceUnavailable } from "../wrappers/exceptions.ts";

/**
 * The little of a Redis client Phial uses: node-redis's `client.sendCommand(["GET", key])`. Create the
 * client with `disableOfflineQueue: true` and a command timeout (see docs/deployment.md), so a request
 * fails fast with a 503 while Redis is away instead of waiting for it.
 */
export interface RedisLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/** A Lua script and its SHA1 digest (computed once). */
export interface RedisScript {
  readonly source: string;
  readonly sha: string;
}

/** Prepares a Lua script to run with `evalScript`. */
export function redisScript(source: string): RedisScript {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/**
 * Runs a script in one round trip: `EVALSHA` by digest, and `EVAL` with the source only when the server
 * does not know it yet (after a restart or `SCRIPT FLUSH`). Keys and arguments are strings.
 */
export async function evalScript(
  client: RedisLike,
  script: RedisScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await client.sendCommand(["EVALSHA", script.sha, ...tail]);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    return client.sendCommand(["EVAL", script.source, ...tail]);
  }
}

/**
 * The 503 for a request whose shared state (sessions, rate limits) is in a Redis that did not answer:
 * it names the store and the cause, and asks the client to come back in a few seconds.
 */
export function storeUnavailable(what: string, cause: unknown): ServiceUnavailable {
  // The client sees what is missing, not the store's address; the cause goes to the log.
  const e = new ServiceUnavailable(
    `The ${what} is temporarily unavailable. Please try again in a few seconds.`,
    5,
  );
  (e as Error & { cause?: unknown }).cause = cause;
  return e;
}

/** What to log about a store that failed: the cause's message, once per `everyMs` per store. */
export class FailureLog {
  private last = 0;
  constructor(
    private readonly what: string,
    private readonly everyMs = 10_000,
  ) {}

  report(log: (message: string) => void, cause: unknown): void {
    const now = Date.now();
    if (now - this.last < this.everyMs) return;
    this.last = now;
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    log(
      `The ${this.what} (Redis) did not answer (${why}); requests that need it get 503 until it is back. ` +
        "Check that Redis is running and reachable from this instance.",
    );
  }
}
