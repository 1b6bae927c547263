// Fan-out: LocalBroker in one process; RedisBroker on a real redis-server, with two brokers (each with its
// own connections) standing for two instances; and Server-Sent Events across two apps on real sockets: a
// message POSTed to one app reaches an SSE client of the other, and the subscription ends when that client
// leaves. Skipped (the Redis part) when redis-server is missing.

import assert from "node:assert/strict";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { type Broker, LocalBroker, Phial, RedisBroker, Response, roomsBus } from "../../src/index.ts";
import { connectClient, RedisServer, redisSkip } from "../redis-support.ts";

type Client = Awaited<ReturnType<typeof connectClient>>;

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("LocalBroker: listeners of a channel get its messages until they unsubscribe", async () => {
  const b = new LocalBroker();
  const got: string[] = [];
  const stop = await b.subscribe("room:1", (m, ch) => got.push(`${ch} ${m}`));
  await b.subscribe("room:2", (m) => got.push(`other ${m}`));
  await b.publish("room:1", "hello");
  await stop();
  await b.publish("room:1", "unheard");
  assert.deepEqual(got, ["room:1 hello"]);
  const ac = new AbortController();
  const it = b.events("room:2", { signal: ac.signal });
  const first = it.next();
  await b.publish("room:2", "one");
  assert.deepEqual(await first, { value: "one", done: false });
  ac.abort();
  assert.deepEqual(await it.next(), { value: undefined, done: true });
  await assert.rejects(
    b.subscribe("", () => {}),
    /non-empty string/,
  );
});

const skip = redisSkip("the Redis fan-out tests");

describe("RedisBroker", { skip, timeout: 30_000 }, () => {
  let redis: RedisServer;
  const clients: Client[] = [];
  let admin: Client;

  async function instance(): Promise<RedisBroker> {
    const publisher = await connectClient(redis.url);
    const subscriber = publisher.duplicate();
    subscriber.on("error", () => {});
    await subscriber.connect();
    clients.push(publisher, subscriber);
    return new RedisBroker({ publisher, subscriber });
  }

  async function subscribers(channel: string): Promise<number> {
    const r = (await admin.sendCommand(["PUBSUB", "NUMSUB", `phial:${channel}`])) as [string, number];
    return Number(r[1]);
  }

  before(async () => {
    redis = await RedisServer.start();
    admin = await connectClient(redis.url);
    clients.push(admin);
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await redis?.close();
  });

  test("a message published on one instance reaches every instance's listeners, each once", async () => {
    const a = await instance();
    const b = await instance();
    const gotA: string[] = [];
    const gotB: string[] = [];
    const gotB2: string[] = [];
    await a.subscribe("chat", (m) => gotA.push(m));
    const stopB = await b.subscribe("chat", (m) => gotB.push(m));
    await b.subscribe("chat", (m) => gotB2.push(m));
    await b.subscribe("elsewhere", (m) => gotB.push(`wrong channel: ${m}`));
    assert.equal(await subscribers("chat"), 2, "one Redis subscription per instance, not per listener");
    for (let i = 0; i < 50; i++) await (i % 2 ? a : b).publish("chat", `message ${i}`);
    const all = Array.from({ length: 50 }, (_, i) => `message ${i}`);
    await until("every message on both instances", () => gotA.length === 50 && gotB.length === 50);
    // Every message once (an instance's own are delivered locally, not again from Redis), and each
    // publisher's messages in the order it sent them; the two publishers' interleave may differ per instance.
    const byPublisher = (list: string[], odd: number) =>
      list.filter((m) => Number(m.split(" ")[1]) % 2 === odd);
    for (const got of [gotA, gotB, gotB2]) {
      assert.deepEqual([...got].sort(), [...all].sort());
      assert.deepEqual(byPublisher(got, 0), byPublisher(all, 0));
      assert.deepEqual(byPublisher(got, 1), byPublisher(all, 1));
    }
    await stopB();
    await a.publish("chat", "after");
    await until("the last message", () => gotB2.length === 51);
    assert.equal(gotB.length, 50, "an unsubscribed listener gets nothing more");
    await a.close();
    await b.close();
    assert.equal(await subscribers("chat"), 0);
  });

  test("after Redis comes back, subscriptions are renewed and messages flow again", async () => {
    const a = await instance();
    const b = await instance();
    const got: string[] = [];
    await b.subscribe("news", (m) => got.push(m));
    await redis.stop();
    await assert.rejects(a.publish("news", "lost"), "publishing while Redis is away rejects");
    await redis.restart();
    await until("the clients reconnected", () => clients.every((c) => c.isReady), 10_000);
    await until("b subscribed again", async () => (await subscribers("news")) === 1, 10_000);
    await a.publish("news", "back");
    await until("the message after the restart", () => got.includes("back"));
    assert.deepEqual(got, ["back"]);
    await a.close();
    await b.close();
  });

  test("WebSocket rooms across instances: roomsBus carries text and bytes, and skips the sender", async () => {
    const apps: Phial[] = [];
    const servers: { close(o?: { deadline?: number }): Promise<void> }[] = [];
    const sockets: WebSocket[] = [];
    async function serve(broker: Broker): Promise<number> {
      const app = new Phial(import.meta.url);
      app.logger = { info: () => {}, warn: () => {}, error: () => {} };
      app.websockets.rooms.pubsub = roomsBus(broker);
      app.websocket("/chat/<room>", async (ws, req) => {
        ws.join(req.params.room);
        await ws.send("joined");
        for await (const m of ws) await ws.publish(req.params.room, m);
      });
      apps.push(app);
      const server = app.listen();
      servers.push(server);
      return (await server.listen(0, "127.0.0.1")).port;
    }
    function open(port: number, room: string): Promise<{ ws: WebSocket; got: (string | Buffer)[] }> {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/${room}`);
      sockets.push(ws);
      const got: (string | Buffer)[] = [];
      return new Promise((resolve, reject) => {
        ws.on("message", (data, isBinary) => {
          const m = isBinary ? (data as Buffer) : String(data);
          if (m === "joined") resolve({ ws, got });
          else got.push(m);
        });
        ws.once("error", reject);
      });
    }
    try {
      const portA = await serve(await instance());
      const portB = await serve(await instance());
      const sender = await open(portA, "lobby");
      const sameInstance = await open(portA, "lobby");
      const otherInstance = await open(portB, "lobby");
      const otherRoom = await open(portB, "kitchen");
      await until("both instances subscribed", async () => (await subscribers("room:lobby")) === 2);
      sender.ws.send("hello from A");
      sender.ws.send(Buffer.from([0, 1, 2, 255]), { binary: true });
      await until("both messages on both instances", () =>
        [sameInstance, otherInstance].every((c) => c.got.length === 2),
      );
      for (const c of [sameInstance, otherInstance]) {
        assert.equal(c.got[0], "hello from A", "text arrives as text");
        assert.deepEqual(c.got[1], Buffer.from([0, 1, 2, 255]), "bytes arrive as bytes");
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(sender.got, [], "the sender is skipped, on every instance");
      assert.deepEqual(otherRoom.got, [], "another room hears nothing");
      assert.equal(sameInstance.got.length, 2, "each message once (not again from Redis)");
    } finally {
      for (const ws of sockets) ws.terminate();
      for (const s of servers) await s.close({ deadline: 1000 });
    }
  });

  test("SSE across instances: a message posted to one app reaches a stream on the other", async () => {
    function makeApp(broker: Broker): Phial {
      const app = new Phial(import.meta.url);
      app.logger = { info: () => {}, warn: () => {}, error: () => {} };
      app.get("/events/<room>", (req) => {
        const room = req.params.room as string;
        async function* sse() {
          yield ": connected\n\n";
          for await (const m of broker.events(`room:${room}`, { signal: req.signal })) yield `data: ${m}\n\n`;
        }
        return new Response(sse(), {
          mimetype: "text/event-stream",
          headers: { "Cache-Control": "no-cache" },
        });
      });
      app.post("/say/<room>", async (req) => {
        await broker.publish(`room:${req.params.room as string}`, req.form.get("text") ?? "");
        return "sent";
      });
      return app;
    }
    const one = makeApp(await instance()).listen({}, false);
    const two = makeApp(await instance()).listen({}, false);
    const p1 = (await one.listen(0, "127.0.0.1")).port;
    const p2 = (await two.listen(0, "127.0.0.1")).port;
    try {
      let received = "";
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(`http://127.0.0.1:${p2}/events/lobby`, resolve);
        req.on("error", reject);
        req.end();
      });
      assert.equal(res.headers["content-type"], "text/event-stream; charset=utf-8");
      res.setEncoding("utf8").on("data", (c: string) => {
        received += c;
      });
      await until("the stream's first bytes", () => received.includes(": connected"));
      await until("the subscription", async () => (await subscribers("room:lobby")) === 1);
      const said = await fetch(`http://127.0.0.1:${p1}/say/lobby`, {
        method: "POST",
        body: new URLSearchParams({ text: "hello from one" }),
      });
      assert.equal(await said.text(), "sent");
      await until("the message on the other instance's stream", () =>
        received.includes("data: hello from one\n\n"),
      );
      res.destroy(); // the browser tab closes
      await until(
        "the subscription to end with the client",
        async () => (await subscribers("room:lobby")) === 0,
      );
    } finally {
      await one.close({ deadline: 100 }).catch(() => {});
      await two.close({ deadline: 100 }).catch(() => {});
    }
  });
});
