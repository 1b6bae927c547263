// Snippets of docs/realtime.md.

import { eventStream, Phial, type PubSub, type RoomMessage } from "phial";

export function chatApp() {
  // #region websocket
  const app = new Phial(import.meta.url);

  app.websocket("/chat/<room>", async (ws, req) => {
    const room = req.params.room; // typed by the rule, as for any route
    ws.join(room);
    await ws.send(`welcome to ${room}`);
    for await (const msg of ws) {
      // text arrives as a string, binary as a Buffer
      await ws.publish(room, `${req.args.get("name") ?? "someone"}: ${String(msg)}`);
    }
  }); // returning closes with 1000; a throw closes with 1011 and is logged

  app.post("/rooms/<room>/announce", (req) => {
    app.websockets.publish(req.params.room, "The room closes in 5 minutes");
    return "sent";
  });
  // #endregion
  return app;
}

export function options(app: Phial) {
  // #region options
  app.websocket(
    "/feed",
    {
      maxMessageSize: 64 * 1024, // larger messages close the connection with 1009
      perMessageDeflate: true, // offered to clients that ask (off by default)
      protocols: ["feed.v2", "feed.v1"], // the first the client also offers is chosen
      pingInterval: 20, // seconds; a client that misses a ping is dropped
    },
    async (ws) => {
      const hello = await ws.receiveJson<{ since: number }>(); // invalid JSON closes with 1007
      if (hello === undefined) return;
      await ws.sendJson({ since: hello.since, items: [] });
      await ws.closed; // until the client leaves
    },
  );
  // #endregion
}

// #region pubsub
/** A bus shared by processes, e.g. on Redis (any client with publish/subscribe). */
interface RedisLike {
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

class RedisPubSub implements PubSub {
  constructor(
    private readonly pub: RedisLike,
    private readonly sub: RedisLike,
  ) {}

  async publish(channel: string, m: RoomMessage): Promise<void> {
    const data = typeof m.data === "string" ? { t: m.data } : { b: Buffer.from(m.data).toString("base64") };
    await this.pub.publish(`room:${channel}`, JSON.stringify({ ...data, x: m.except }));
  }

  subscribe(channel: string, deliver: (m: RoomMessage) => void): () => Promise<void> {
    void this.sub.subscribe(`room:${channel}`, (raw) => {
      const o = JSON.parse(raw) as { t?: string; b?: string; x?: string };
      deliver({ data: o.t ?? Buffer.from(o.b ?? "", "base64"), except: o.x });
    });
    return async () => {
      await this.sub.unsubscribe(`room:${channel}`);
    };
  }
}
// #endregion

export function useRedis(app: Phial, pub: RedisLike, sub: RedisLike) {
  // #region use-pubsub
  app.websockets.rooms.pubsub = new RedisPubSub(pub, sub); // before the first connection joins a room
  // #endregion
}

export function sseApp() {
  // #region sse
  const app = new Phial(import.meta.url);

  app.get("/prices", () =>
    eventStream(
      async function* (lastEventId) {
        // lastEventId: what the browser saw last before it reconnected (undefined the first time)
        let n = lastEventId === undefined ? 0 : Number(lastEventId) + 1;
        for (;;) {
          yield { event: "price", id: n, data: { n, price: 100 + (n % 7) } }; // data as JSON
          n++;
          await new Promise((r) => setTimeout(r, 1000));
        }
      },
      { retry: 2000, heartbeat: 15 }, // reconnect after 2 s; a comment after 15 s of silence
    ),
  );
  // #endregion
  return app;
}
