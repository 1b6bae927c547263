// The shared-state bench's server (bench/shared-state.ts): one Phial app, GET /count, in the variant
// BENCH_VARIANT names. Session variants read and write the session on every request (a counter);
// limiter variants count every request against a limit too high to be reached.
//
//   none           no session, no limiter: the baseline
//   cookie         the signed-cookie session (the default)
//   redis          RedisSessionInterface (REDIS_URL)
//   limit-memory   no session; Limiter with the MemoryStore, fixed window
//   limit-redis    no session; Limiter with the RedisStore, fixed window (one script per request)
//   limit-redis-sliding   the same, sliding window

import { Limiter, MemoryStore, Phial, RedisSessionInterface, RedisStore } from "phial";
import { createClient } from "redis";
import { requestedPort, serve } from "./common.ts";

const variant = process.env.BENCH_VARIANT ?? "none";

serve(async () => {
  const app = new Phial(import.meta.url);
  app.config.secretKey = "bench-secret-key-bench-secret-key";
  let close = async () => {};
  let client: ReturnType<typeof createClient> | undefined;
  if (variant === "redis" || variant.startsWith("limit-redis")) {
    client = createClient({
      url: process.env.REDIS_URL,
      disableOfflineQueue: true,
      commandOptions: { timeout: 1000, rejectInFlight: true },
    });
    client.on("error", () => {});
    await client.connect();
    close = async () => void (await client!.close());
  }
  if (variant === "redis") app.sessionInterface = new RedisSessionInterface({ client: client! });
  if (variant.startsWith("limit-")) {
    const limiter = new Limiter(app, {
      store: variant === "limit-memory" ? new MemoryStore() : new RedisStore(client!),
      strategy: variant.endsWith("sliding") ? "sliding-window" : "fixed-window",
    });
    app.get(
      "/count",
      limiter.limit("999999999 per hour")(function count() {
        return "counted";
      }),
    );
  } else if (variant === "none") {
    app.get("/count", () => "counted");
  } else {
    app.get("/count", (req) => {
      const n = ((req.session.get("n") as number | undefined) ?? 0) + 1;
      req.session.set("n", n);
      return `count ${n}`;
    });
  }
  const server = app.listen({});
  const addr = await server.listen(requestedPort(), "127.0.0.1");
  return {
    port: addr.port,
    close: async () => {
      await server.close({ deadline: 200 });
      await close();
    },
  };
});
