// The HTTP objects as a Flask user meets them (Werkzeug's `wrappers`, `datastructures`, `exceptions`):
// `Request`, `Response` and its helpers (`jsonify`, `redirect`, `makeResponse`), `Headers`, `MultiDict`,
// the HTTP exceptions, HTML escaping, and what a request may believe of forwarded headers (proxy.ts).
//
// Second layer of src/app: may import src/http and, as types only, the modules above it (`req.app` is a
// `Phial`, `req.session` a `Session`). No values from context, dispatch, app or the feature folders:
// the wrappers work without an app (tests build them directly).

export { float, type GetOptions, int, MultiDict } from "./datastructures.ts";
export * from "./exceptions.ts";
export { Headers, type HeadersInit } from "./headers.ts";
export { escapeHtml } from "./html.ts";
export { ETags, Range, RequestCacheControl, ResponseCacheControl } from "./http-values.ts";
export type { ForwardedView, TrustProxy } from "./proxy.ts";
export {
  Accept,
  type Authorization,
  type FileStorage,
  Request,
  type RequestSource,
  type SessionLike,
} from "./request.ts";
export {
  checkRedirectTarget,
  DefaultJsonProvider,
  defaultJson,
  type JsonProvider,
  type JsonProviderOptions,
  jsonify,
  makeResponse,
  Response,
  type ResponseBody,
  type ResponseInit,
  redirect,
  type SafeRedirectOptions,
  type StatusInit,
  safeRedirect,
} from "./response.ts";
