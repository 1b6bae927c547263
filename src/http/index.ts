// phial/http — the wire: a strict HTTP/1.1 parser, serializer and server on node:net / node:tls, an
// adapter serving fetch-style handlers on it (`serve(app.fetch)`), and the field helpers a raw handler
// needs (cookies, query strings and forms, media types), the same ones the framework and the client use.

export {
  decodeCookieValue,
  encodeCookieValue,
  parseCookieHeader,
  type SetCookieOptions,
  serializeSetCookie,
} from "./cookie.ts";
export { httpDateNow } from "./date.ts";
export { assertValidField, FIELD_VALUE, fieldValueProblem, isToken, TOKEN } from "./fields.ts";
export {
  type AcceptItem,
  isJsonMediaType,
  type MediaType,
  mediaTypeEssence,
  parseAccept,
  parseMediaType,
} from "./media-type.ts";
export {
  DEFAULT_LIMITS,
  HttpParseError,
  HttpParser,
  MessageHead,
  type ParserHandler,
  type ParserLimits,
} from "./parser.ts";
export { IncomingRequest, RequestAbortedError } from "./request.ts";
export { type HeaderValue, type OutgoingHeaders, ServerResponse } from "./response.ts";
export {
  createFetchServer,
  type FetchApp,
  type FetchHandler,
  ServeInfo,
  type ServeOptions,
  serve,
} from "./serve.ts";
export {
  type CloseOptions,
  createServer,
  type Handler,
  type ListenOptions,
  type ResponseInfo,
  Server,
  type ServerOptions,
} from "./server.ts";
export { STATUS_TEXT } from "./status.ts";
export {
  encodeQuery,
  type ParseQueryOptions,
  parseQuery,
  percentDecode,
  type QueryValue,
  TooManyFieldsError,
} from "./urlencoded.ts";
export {
  CLOSED,
  CLOSING,
  isValidCloseCode,
  OPEN,
  ServerWebSocket,
  type ServerWebSocketOptions,
  type WebSocketListener,
} from "./websocket.ts";
export {
  type AcceptedHandshake,
  type DeflateParams,
  type HandshakeOptions,
  negotiateWebSocket,
  type RefusedHandshake,
  switchingProtocols,
  webSocketAccept,
} from "./websocket-handshake.ts";
