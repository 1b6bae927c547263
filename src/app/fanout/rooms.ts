// WebSocket rooms over a Broker: `app.websockets.rooms.pubsub = roomsBus(broker)`, so a message published
// to a room on one instance reaches that room's members on every instance (with a RedisBroker), as
// Flask-SocketIO's message queue does. Text stays text and bytes stay bytes; "everyone but the sender"
// (`except`) holds across instances. Delivery is the broker's: at most once, in each publisher's order.

import type { PubSub, RoomMessage } from "../realtime/index.ts";
import type { Broker } from "./broker.ts";

/** How a room message travels on the broker: text as is, bytes in base64, and whom to skip. */
interface Wire {
  t?: string;
  b?: string;
  x?: string;
}

/** Channel names on the broker: `room:<name>`, apart from the app's own channels. */
const PREFIX = "room:";

function encode(m: RoomMessage): string {
  const w: Wire = typeof m.data === "string" ? { t: m.data } : { b: Buffer.from(m.data).toString("base64") };
  if (m.except !== undefined) w.x = m.except;
  return JSON.stringify(w);
}

function decode(raw: string): RoomMessage | undefined {
  let w: Wire;
  try {
    w = JSON.parse(raw) as Wire;
  } catch {
    return undefined; // not ours: someone else published on the channel
  }
  if (w === null || typeof w !== "object") return undefined;
  const data =
    typeof w.t === "string" ? w.t : typeof w.b === "string" ? Buffer.from(w.b, "base64") : undefined;
  if (data === undefined) return undefined;
  return { data, except: typeof w.x === "string" ? w.x : undefined };
}

/**
 * A rooms bus on a broker (`LocalBroker` for one process, `RedisBroker` for many). Set it before the
 * first connection joins a room. A message published in the moment a process subscribes to a room may
 * miss that process (the subscription is asynchronous; Redis pub/sub keeps no history).
 */
export function roomsBus(broker: Broker, onError?: (err: unknown) => void): PubSub {
  const report = onError ?? ((err: unknown) => console.error("rooms bus:", err));
  return {
    publish(channel: string, message: RoomMessage): Promise<void> {
      return broker.publish(PREFIX + channel, encode(message));
    },
    subscribe(channel: string, deliver: (message: RoomMessage) => void): () => Promise<void> {
      const pending = broker.subscribe(PREFIX + channel, (raw) => {
        const m = decode(raw);
        if (m !== undefined) deliver(m);
      });
      pending.catch(report);
      return async () => {
        const stop = await pending.catch(() => undefined);
        if (stop !== undefined) await stop();
      };
    },
  };
}
