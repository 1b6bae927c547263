// Real time: WebSocket routes (`app.websocket`, on the `ws` library), rooms with a pluggable bus, and
// server-sent events (`eventStream`).
//
// May import the wrappers and the request context (and the `ws` library); nothing from dispatch or app
// (the Phial type only). scaffold.ts imports it to register WebSocket routes; app.ts hands it upgrades.

export {
  type EventSource,
  type EventStreamOptions,
  eventStream,
  formatEvent,
  type ServerEvent,
} from "./event-stream.ts";
export { LocalPubSub, type PubSub, type RoomMember, type RoomMessage, Rooms } from "./rooms.ts";
export {
  type CloseInfo,
  WebSocketConnection,
  type WebSocketHandler,
  WebSocketHub,
  type WebSocketOptions,
} from "./websocket.ts";
