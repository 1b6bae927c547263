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
export {
  type Command,
  type CommandContext,
  type CommandFunction,
  CommandGroup,
  type CommandOptions,
} from "./app/commands.ts";
export { type Config, type ConfigValues, DEFAULT_CONFIG } from "./app/config.ts";
export { type G, g, request, session } from "./app/context.ts";
export {
  encodeMultipart,
  MultipartError,
  type MultipartFile,
  type MultipartLimits,
  parseMultipart,
  type SendFileOptions,
  safeJoin,
  secureFilename,
  sendFile,
  sendFromDirectory,
} from "./app/files/index.ts";
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
  TeardownAppcontextHook,
  TeardownHook,
  UrlDefaultsFunction,
  UrlValuePreprocessor,
} from "./app/scaffold.ts";
export { type AccessLogEntry, formatAccessLine } from "./app/serving/index.ts";
export {
  BadSignature,
  CookieSessionInterface,
  type Flash,
  type FlashedOptions,
  flash,
  getFlashedMessages,
  SecureCookieSession,
  SecureCookieSessionInterface,
  type Session,
  type SessionConfig,
  type SessionData,
  SignatureExpired,
  TimedSerializer,
  TimestampSigner,
} from "./app/sessions/index.ts";
export {
  appcontextTearingDown,
  beforeRenderTemplate,
  gotRequestException,
  messageFlashed,
  type Receiver,
  requestFinished,
  requestStarted,
  requestTearingDown,
  Signal,
  templateRendered,
} from "./app/signals.ts";
export {
  getTemplateAttribute,
  htmlSafeJson,
  markSafe,
  renderTemplate,
  renderTemplateString,
  type SafeString,
  selectAutoescape,
  type TemplateContext,
  TemplateEnvironment,
  TemplateNotFound,
} from "./app/templates/index.ts";
export {
  type Endpoints,
  type UrlForArgs,
  type UrlForExtras,
  type UrlForValues,
  urlFor,
} from "./app/url-for.ts";
export { MethodView, View, type ViewFunction } from "./app/views.ts";
export type { ForwardedView, TrustProxy } from "./app/wrappers/index.ts";
export * from "./app/wrappers/index.ts";
export {
  Accept,
  type Authorization,
  checkRedirectTarget,
  DefaultJsonProvider,
  defaultJson,
  escapeHtml,
  type FileStorage,
  type GetOptions,
  Headers,
  type HeadersInit,
  type JsonProvider,
  type JsonProviderOptions,
  jsonify,
  MultiDict,
  makeResponse,
  Request,
  type RequestSource,
  Response,
  type ResponseBody,
  type ResponseInit,
  redirect,
  type SafeRedirectOptions,
  type SessionLike,
  type StatusInit,
  safeRedirect,
} from "./app/wrappers/index.ts";
