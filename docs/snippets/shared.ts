// Snippets of docs/deployment.md ("Many machines"): Redis sessions, rate limits and fan-out. The app is
// made by a function, so the docs test can give it a redis-server of its own.

import {
  Limiter,
  LocalBroker,
  Phial,
  RedisBroker,
  RedisSessionInterface,
  RedisStore,
  type Request,
  Response,
} from "phial";
// #region client
import { createClient } from "redis";

export async function connectRedis(url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379") {
  const client = createClient({
    url,
    disableOfflineQueue: true, // while Redis is away, fail at once (a 503) instead of queueing
    commandOptions: { timeout: 1000, rejectInFlight: true }, // and never wait more than a second
    socket: { reconnectStrategy: (n: number) => Math.min(50 * 2 ** n, 2000) }, // reconnect by itself
  });
  client.on("error", (err: Error) => console.error(`Redis: ${err.message}`));
  await client.connect();
  return client;
}
// #endregion

export async function createApp(client: Awaited<ReturnType<typeof connectRedis>>) {
  const app = new Phial(import.meta.url);
  app.config.secretKey = "the same on every instance"; // hide
  app.config.trustProxy = "loopback"; // hide
  // #region sessions
  const sessions = new RedisSessionInterface({ client, userKey: "user" });
  app.sessionInterface = sessions;

  app.post("/login", (req) => {
    // …check the password…
    req.session.regenerate(); // a new id at sign-in: one planted before is worth nothing
    req.session.set("user", req.form.require("user"));
    return "signed in";
  });
  app.get("/me", (req) => ({ user: req.session.get("user") ?? null }));
  app.post("/logout", (req) => {
    req.session.clear(); // deleted in Redis: a copy of the cookie opens nothing
    return "signed out";
  });
  app.post("/logout-everywhere", async (req) => {
    const n = await sessions.logOutEverywhere(req.session.get("user") as string); // every device
    return `${n} sessions ended`;
  });
  // #endregion

  // #region limits
  const limiter = new Limiter(app, {
    store: new RedisStore(client), // new MemoryStore() for a single process
    strategy: "sliding-window", // or "fixed-window" (the default)
    defaultLimits: "200 per minute", // each route without limits of its own
  });
  function signin() {
    return "checked";
  }
  const byAccount = (req: Request) => `account:${req.form.get("username")}`;
  // 5 a minute per client address (behind trustProxy: the forwarded one), 10 an hour per account
  const limited = limiter.limit("5 per minute")(limiter.limit("10 per hour", { key: byAccount })(signin));
  app.post("/signin", limited);
  app.get(
    "/healthz",
    limiter.exempt(() => "ok"),
  );
  // #endregion

  // #region fanout
  const subscriber = client.duplicate(); // pub/sub needs a connection of its own
  await subscriber.connect();
  const broker = new RedisBroker({ publisher: client, subscriber }); // new LocalBroker() for one process

  app.get("/rooms/<room>/events", (req) => {
    const room = req.params.room as string;
    async function* events() {
      for await (const message of broker.events(`room:${room}`, { signal: req.signal })) {
        yield `data: ${message}\n\n`;
      }
    }
    return new Response(events(), {
      mimetype: "text/event-stream",
      headers: { "Cache-Control": "no-cache" },
    });
  });
  app.post("/rooms/<room>/say", async (req) => {
    await broker.publish(`room:${req.params.room as string}`, req.form.require("text"));
    return "sent";
  });
  // #endregion
  return { app, broker, subscriber, local: new LocalBroker() };
}
