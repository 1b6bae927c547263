// phial — a Flask-style web framework on phial's own HTTP/1.1 engine.

export {
  type BodyLoader,
  type Logger,
  Phial,
  type PhialOptions,
  type RunOptions,
  type SessionInterface,
  type UrlRule,
} from "./app/app.ts";
export { Blueprint, type BlueprintOptions, type RegisterOptions } from "./app/blueprint.ts";
export { type Config, type ConfigValues, DEFAULT_CONFIG } from "./app/config.ts";
export { type G, g, request, session } from "./app/context.ts";
export {
  encodeMultipart,
  MultipartError,
  type MultipartFile,
  type MultipartLimits,
  parseMultipart,
} from "./app/files/multipart.ts";
export { safeJoin } from "./app/files/safe-join.ts";
export { secureFilename } from "./app/files/secure-filename.ts";
export { type SendFileOptions, sendFile, sendFromDirectory } from "./app/files/send-file.ts";
export {
  BuildError,
  type Converter,
  type ConverterFactory,
  type ConverterTypes,
  type ParamsOf,
  patternConverter,
  RuleSyntaxError,
} from "./app/routing/index.ts";
export type {
  AfterRequestHook,
  BeforeRequestHook,
  ErrorHandler,
  Handler,
  HandlerResult,
  JsonObject,
  RouteOptions,
  TeardownHook,
} from "./app/scaffold.ts";
export { type AccessLogEntry, formatAccessLine } from "./app/serving/access-log.ts";
export { CookieSessionInterface, flash, getFlashedMessages } from "./app/sessions/app-sessions.ts";
export {
  type Flash,
  type FlashedOptions,
  SecureCookieSession,
  SecureCookieSessionInterface,
  type Session,
  type SessionConfig,
  type SessionData,
} from "./app/sessions/secure-cookie.ts";
export { BadSignature, SignatureExpired, TimedSerializer, TimestampSigner } from "./app/sessions/signing.ts";
export { renderTemplate, renderTemplateString } from "./app/templates/app-templates.ts";
export {
  htmlSafeJson,
  markSafe,
  type SafeString,
  selectAutoescape,
  type TemplateContext,
  TemplateEnvironment,
  TemplateNotFound,
} from "./app/templates/environment.ts";
export {
  type Endpoints,
  type UrlForArgs,
  type UrlForExtras,
  type UrlForValues,
  urlFor,
} from "./app/url-for.ts";
export { type GetOptions, MultiDict } from "./app/wrappers/datastructures.ts";
export * from "./app/wrappers/exceptions.ts";
export { Headers, type HeadersInit } from "./app/wrappers/headers.ts";
export { escapeHtml } from "./app/wrappers/html.ts";
export type { ForwardedView, TrustProxy } from "./app/wrappers/proxy.ts";
export {
  Accept,
  type Authorization,
  type FileStorage,
  Request,
  type RequestSource,
  type SessionLike,
} from "./app/wrappers/request.ts";
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
} from "./app/wrappers/response.ts";
