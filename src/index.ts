// phial — a Flask-style web framework on phial's own HTTP/1.1 engine.

export { type AccessLogEntry, formatAccessLine } from "./app/access-log.ts";
export {
  type BodyLoader,
  type Logger,
  Phial,
  type PhialOptions,
  type RunOptions,
  type SessionInterface,
  type UrlRule,
} from "./app/app.ts";
export { CookieSessionInterface, flash, getFlashedMessages } from "./app/app-sessions.ts";
export { renderTemplate, renderTemplateString } from "./app/app-templates.ts";
export { Blueprint, type BlueprintOptions, type RegisterOptions } from "./app/blueprint.ts";
export { type Config, type ConfigValues, DEFAULT_CONFIG } from "./app/config.ts";
export { type G, g, request, session } from "./app/context.ts";
export { type GetOptions, MultiDict } from "./app/datastructures.ts";
export * from "./app/exceptions.ts";
export { type SendFileOptions, sendFile, sendFromDirectory } from "./app/files.ts";
export { Headers, type HeadersInit } from "./app/headers.ts";
export { escapeHtml } from "./app/html.ts";
export {
  encodeMultipart,
  MultipartError,
  type MultipartFile,
  type MultipartLimits,
  parseMultipart,
} from "./app/multipart.ts";
export type { ForwardedView, TrustProxy } from "./app/proxy.ts";
export {
  Accept,
  type Authorization,
  type FileStorage,
  Request,
  type RequestSource,
  type SessionLike,
} from "./app/request.ts";
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
} from "./app/response.ts";
export {
  BuildError,
  type Converter,
  type ConverterFactory,
  type ConverterTypes,
  type ParamsOf,
  patternConverter,
  RuleSyntaxError,
} from "./app/routing/index.ts";
export { safeJoin } from "./app/safe-join.ts";
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
export { secureFilename } from "./app/secure-filename.ts";
export {
  type Flash,
  type FlashedOptions,
  SecureCookieSession,
  SecureCookieSessionInterface,
  type Session,
  type SessionConfig,
  type SessionData,
} from "./app/sessions.ts";
export { BadSignature, SignatureExpired, TimedSerializer, TimestampSigner } from "./app/signing.ts";
export {
  htmlSafeJson,
  markSafe,
  type SafeString,
  selectAutoescape,
  type TemplateContext,
  TemplateEnvironment,
  TemplateNotFound,
} from "./app/templating.ts";
export {
  type Endpoints,
  type UrlForArgs,
  type UrlForExtras,
  type UrlForValues,
  urlFor,
} from "./app/url-for.ts";
