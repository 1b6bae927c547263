// HTTP errors as exceptions (Werkzeug's `werkzeug.exceptions`): `abort(404)`, `throw new NotFound()`,
// `errorHandler(404, ...)`. Each has a status, a description and a default HTML page.

import { STATUS_TEXT } from "../../http/status.ts";
import { escapeHtml } from "./html.ts";
import { Response, unsatisfiableRange } from "./response.ts";

/**
 * An HTTP error. Throwing one (or calling `abort`) ends the request with its status; returning one from a
 * handler sends its page too. Subclasses exist per status (`NotFound`, `MethodNotAllowed`, …).
 */
export class HTTPException extends Error {
  /** The status of this class (subclasses set it). */
  static code: number = 500;
  /** The text shown on the default page when none is given. */
  static defaultDescription = "The server could not handle the request.";

  /** The status code, e.g. 404. */
  readonly status: number;
  /** What went wrong, for the user (plain text; escaped on the default page). */
  description: string;
  /** A ready response to send instead of the default page (`abort(response)`). */
  response: Response | undefined;

  constructor(description?: string, response?: Response) {
    const cls = new.target as typeof HTTPException;
    const status = cls.code;
    const desc = description ?? cls.defaultDescription;
    super(`${status} ${STATUS_TEXT[status] ?? "Error"}: ${desc}`);
    this.status = status;
    this.description = desc;
    this.response = response;
    this.name = STATUS_TEXT[status] ?? "HTTP Error";
  }

  /** An exception with any status (for codes without a class of their own). */
  static of(status: number, description?: string): HTTPException {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`No HTTP error for status ${status}: use a status from 400 to 599`);
    }
    const cls = STATUS_CLASSES.get(status);
    if (cls === MethodNotAllowed) return new MethodNotAllowed([], description);
    if (cls === RequestedRangeNotSatisfiable)
      return new RequestedRangeNotSatisfiable(undefined, "bytes", description);
    if (cls !== undefined) return new (cls as new (d?: string) => HTTPException)(description);
    const e = new HTTPException(description ?? STATUS_TEXT[status] ?? "Error");
    Object.defineProperty(e, "status", { value: status });
    e.name = STATUS_TEXT[status] ?? "HTTP Error";
    e.message = `${status} ${e.name}: ${e.description}`;
    return e;
  }

  /** Flask's `e.code`. */
  get code(): number {
    return this.status;
  }

  /** The reason phrase, e.g. `Not Found`. */
  get title(): string {
    return STATUS_TEXT[this.status] ?? "Unknown Error";
  }

  /** Header fields the error's response carries (e.g. `Allow` on a 405). */
  get headers(): readonly (readonly [string, string])[] | undefined {
    return undefined;
  }

  /** The response sent for this error: `response` when given, else the default HTML page. */
  getResponse(): Response {
    if (this.response !== undefined) return this.response;
    const res = new Response(renderErrorPage(this), {
      status: this.status,
      contentType: "text/html; charset=utf-8",
    });
    const extra = this.headers;
    if (extra !== undefined) for (const [k, v] of extra) res.headers.set(k, v);
    return res;
  }
}

/** The default error page, in Werkzeug's short format. */
export function renderErrorPage(e: HTTPException): string {
  const title = `${e.status} ${escapeHtml(e.title)}`;
  return (
    `<!doctype html>\n<html lang=en>\n<title>${title}</title>\n` +
    `<h1>${escapeHtml(e.title)}</h1>\n<p>${escapeHtml(e.description)}</p>\n`
  );
}

let notFoundPage: string | undefined;

/** @internal NotFound's default page as a fresh Response, without making (and throwing) the exception. */
export function notFoundResponse(): Response {
  notFoundPage ??= renderErrorPage(new NotFound());
  return new Response(notFoundPage, { status: 404, contentType: "text/html; charset=utf-8" });
}

export class BadRequest extends HTTPException {
  static override code = 400;
  static override defaultDescription =
    "The browser (or proxy) sent a request that this server could not understand.";
}

/** `require(key)` on a MultiDict found no such key (Flask's `request.form[key]`). */
export class BadRequestKeyError extends BadRequest {
  /** The missing key. */
  readonly key: string;
  constructor(key: string, description?: string) {
    super(description ?? `The request is missing the field ${JSON.stringify(key)}.`);
    this.key = key;
  }
}

export class Unauthorized extends HTTPException {
  static override code = 401;
  static override defaultDescription =
    "The server could not verify that you are authorized to access the URL requested. You either supplied " +
    "the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the " +
    "credentials required.";
  /** `WWW-Authenticate` challenges, e.g. `Basic realm="admin"`. */
  readonly wwwAuthenticate: readonly string[];
  constructor(description?: string, wwwAuthenticate: string | readonly string[] = []) {
    super(description);
    this.wwwAuthenticate = typeof wwwAuthenticate === "string" ? [wwwAuthenticate] : wwwAuthenticate;
  }
  override get headers(): readonly (readonly [string, string])[] | undefined {
    return this.wwwAuthenticate.length === 0
      ? undefined
      : [["WWW-Authenticate", this.wwwAuthenticate.join(", ")]];
  }
}

export class Forbidden extends HTTPException {
  static override code = 403;
  static override defaultDescription =
    "You don't have the permission to access the requested resource. It is either read-protected or not " +
    "readable by the server.";
}

export class NotFound extends HTTPException {
  static override code = 404;
  static override defaultDescription =
    "The requested URL was not found on the server. If you entered the URL manually please check your " +
    "spelling and try again.";
}

export class MethodNotAllowed extends HTTPException {
  static override code = 405;
  static override defaultDescription = "The method is not allowed for the requested URL.";
  /** The methods the URL accepts (sent as `Allow`). */
  readonly validMethods: readonly string[];
  constructor(validMethods: readonly string[] = [], description?: string) {
    super(description);
    this.validMethods = validMethods;
  }
  override get headers(): readonly (readonly [string, string])[] | undefined {
    return this.validMethods.length === 0 ? undefined : [["Allow", this.validMethods.join(", ")]];
  }
}

export class NotAcceptable extends HTTPException {
  static override code = 406;
  static override defaultDescription =
    "The resource identified by the request is only capable of generating response entities which have " +
    "content characteristics not acceptable according to the accept headers sent in the request.";
}

export class RequestTimeout extends HTTPException {
  static override code = 408;
  static override defaultDescription =
    "The server closed the network connection because the browser didn't finish the request within the " +
    "specified time.";
}

export class Conflict extends HTTPException {
  static override code = 409;
  static override defaultDescription =
    "A conflict happened while processing the request. The resource might have been modified while the " +
    "request was being processed.";
}

export class Gone extends HTTPException {
  static override code = 410;
  static override defaultDescription =
    "The requested URL is no longer available on this server and there is no forwarding address. If you " +
    "followed a link from a foreign page, please contact the author of this page.";
}

export class LengthRequired extends HTTPException {
  static override code = 411;
  static override defaultDescription = "A request with this method requires a valid Content-Length header.";
}

export class PreconditionFailed extends HTTPException {
  static override code = 412;
  static override defaultDescription =
    "The precondition on the request for the URL failed positive evaluation.";
}

export class RequestEntityTooLarge extends HTTPException {
  static override code = 413;
  static override defaultDescription = "The data value transmitted exceeds the capacity limit.";
}

/** RFC 9110's name for 413. */
export const ContentTooLarge = RequestEntityTooLarge;

export class RequestURITooLarge extends HTTPException {
  static override code = 414;
  static override defaultDescription =
    "The length of the requested URL exceeds the capacity limit for this server. The request cannot be " +
    "processed.";
}

export class UnsupportedMediaType extends HTTPException {
  static override code = 415;
  static override defaultDescription =
    "The server does not support the media type transmitted in the request.";
}

export class RequestedRangeNotSatisfiable extends HTTPException {
  static override code = 416;
  static override defaultDescription = "The server cannot provide the requested range.";
  /** The full length of the resource, for `Content-Range: bytes *\/length`. */
  readonly length: number | undefined;
  readonly units: string;
  constructor(length?: number, units = "bytes", description?: string) {
    super(description);
    this.length = length;
    this.units = units;
  }
  override get headers(): readonly (readonly [string, string])[] | undefined {
    return this.length === undefined ? undefined : [["Content-Range", `${this.units} */${this.length}`]];
  }
}

unsatisfiableRange.make = (length) => new RequestedRangeNotSatisfiable(length);

export class ExpectationFailed extends HTTPException {
  static override code = 417;
  static override defaultDescription = "The server could not meet the requirements of the Expect header";
}

export class ImATeapot extends HTTPException {
  static override code = 418;
  static override defaultDescription = "This server is a teapot, not a coffee machine";
}

export class UnprocessableEntity extends HTTPException {
  static override code = 422;
  static override defaultDescription =
    "The request was well-formed but was unable to be followed due to semantic errors.";
}

export class Locked extends HTTPException {
  static override code = 423;
  static override defaultDescription = "The resource that is being accessed is locked.";
}

export class FailedDependency extends HTTPException {
  static override code = 424;
  static override defaultDescription =
    "The method could not be performed on the resource because the requested action depended on another " +
    "action and that action failed.";
}

export class PreconditionRequired extends HTTPException {
  static override code = 428;
  static override defaultDescription =
    'This request is required to be conditional; try using "If-Match" or "If-Unmodified-Since".';
}

/** Shared by 429 and 503: an optional `Retry-After` in seconds or as a date. */
abstract class RetryAfterException extends HTTPException {
  readonly retryAfter: number | Date | undefined;
  constructor(description?: string, retryAfter?: number | Date) {
    super(description);
    this.retryAfter = retryAfter;
  }
  override get headers(): readonly (readonly [string, string])[] | undefined {
    const r = this.retryAfter;
    if (r === undefined) return undefined;
    return [["Retry-After", r instanceof Date ? r.toUTCString() : String(Math.max(0, Math.ceil(r)))]];
  }
}

export class TooManyRequests extends RetryAfterException {
  static override code = 429;
  static override defaultDescription = "This user has exceeded an allotted request count. Try again later.";
}

export class RequestHeaderFieldsTooLarge extends HTTPException {
  static override code = 431;
  static override defaultDescription = "One or more header fields exceeds the maximum size.";
}

export class UnavailableForLegalReasons extends HTTPException {
  static override code = 451;
  static override defaultDescription = "Unavailable for legal reasons.";
}

export class InternalServerError extends HTTPException {
  static override code = 500;
  static override defaultDescription =
    "The server encountered an internal error and was unable to complete your request. Either the server " +
    "is overloaded or there is an error in the application.";
  /** The error that caused this 500, when there was one (for `errorHandler(500, ...)`). */
  originalError: unknown;
}

export class NotImplemented extends HTTPException {
  static override code = 501;
  static override defaultDescription = "The server does not support the action requested by the browser.";
}

export class BadGateway extends HTTPException {
  static override code = 502;
  static override defaultDescription =
    "The proxy server received an invalid response from an upstream server.";
}

export class ServiceUnavailable extends RetryAfterException {
  static override code = 503;
  static override defaultDescription =
    "The server is temporarily unable to service your request due to maintenance downtime or capacity " +
    "problems. Please try again later.";
}

export class GatewayTimeout extends HTTPException {
  static override code = 504;
  static override defaultDescription = "The connection to an upstream server timed out.";
}

export class HTTPVersionNotSupported extends HTTPException {
  static override code = 505;
  static override defaultDescription =
    "The server does not support the HTTP protocol version used in the request.";
}

const STATUS_CLASSES = new Map<number, typeof HTTPException>();
for (const cls of [
  BadRequest,
  Unauthorized,
  Forbidden,
  NotFound,
  MethodNotAllowed,
  NotAcceptable,
  RequestTimeout,
  Conflict,
  Gone,
  LengthRequired,
  PreconditionFailed,
  RequestEntityTooLarge,
  RequestURITooLarge,
  UnsupportedMediaType,
  RequestedRangeNotSatisfiable,
  ExpectationFailed,
  ImATeapot,
  UnprocessableEntity,
  Locked,
  FailedDependency,
  PreconditionRequired,
  TooManyRequests,
  RequestHeaderFieldsTooLarge,
  UnavailableForLegalReasons,
  InternalServerError,
  NotImplemented,
  BadGateway,
  ServiceUnavailable,
  GatewayTimeout,
  HTTPVersionNotSupported,
] as (typeof HTTPException)[]) {
  STATUS_CLASSES.set(cls.code, cls);
}

/**
 * Ends the request now: `abort(404)`, `abort(403, "Admins only")`, or `abort(response)` to send a
 * ready response. Never returns.
 */
export function abort(status: number, description?: string): never;
export function abort(response: Response): never;
export function abort(statusOrResponse: number | Response, description?: string): never {
  if (statusOrResponse instanceof Response) {
    const e = HTTPException.of(statusOrResponse.status >= 400 ? statusOrResponse.status : 500);
    e.response = statusOrResponse;
    throw e;
  }
  throw HTTPException.of(statusOrResponse, description);
}
