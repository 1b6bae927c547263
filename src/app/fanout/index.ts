// Fan-out: messages published on one instance reach the listeners of every instance (Flask-SocketIO's
// message queue). `LocalBroker` for one process, `RedisBroker` (Redis pub/sub) for many; both can feed a
// Server-Sent-Events response through `broker.events(channel, { signal })`, and WebSocket rooms through
// `roomsBus(broker)`.
//
// Fourth layer of src/app (a feature): may import the redis helpers and realtime's types; nothing of the
// request pipeline.

export {
  type Broker,
  type BrokerListener,
  LocalBroker,
  RedisBroker,
  type RedisBrokerOptions,
  type RedisSubscriber,
} from "./broker.ts";
export { roomsBus } from "./rooms.ts";
