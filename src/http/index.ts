// phial/http — the wire: a strict HTTP/1.1 parser, serializer and server on node:net / node:tls.

export { httpDateNow } from "./date.ts";
export { assertValidField, FIELD_VALUE, fieldValueProblem, isToken, TOKEN } from "./fields.ts";
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
  type CloseOptions,
  createServer,
  type Handler,
  type ListenOptions,
  type ResponseInfo,
  Server,
  type ServerOptions,
} from "./server.ts";
export { STATUS_TEXT } from "./status.ts";
