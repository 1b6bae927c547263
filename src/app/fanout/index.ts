// Fan-out: messages published on one instance reach the listeners of every instance (Flask-SocketIO's
// message queue). `LocalBroker` for one process, `RedisBroker` (Redis pub/sub) for many; both can feed a
// Server-Sent-Events response through `broker.events(channel, { signal })`.
//
// Fourth layer of src/app (a feature): may import the redis helpers; nothing of the request pipeline.

export {
  type Broker,
  type BrokerListener,
  LocalBroker,
  RedisBroker,
  type RedisBrokerOptions,
  type RedisSubscriber,
} from "./broker.ts";
