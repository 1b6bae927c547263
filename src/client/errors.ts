// Typed errors of phial/client. Each says what went wrong and what to try; each has a stable `code`
// so callers can branch without matching messages.

/** Base class of every error the client raises on purpose. */
export class ClientError extends Error {
  /** Stable machine-readable code, e.g. `PHIAL_CONNECT_TIMEOUT`. */
  readonly code: string;
  /** The URL being requested when the error happened, when known. */
  url: string | undefined;
  constructor(code: string, message: string, options?: { cause?: unknown; url?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.url = options?.url;
  }
}

/** The TCP connection (and TLS handshake) did not complete within `connectTimeout`. */
export class ConnectTimeoutError extends ClientError {
  constructor(origin: string, ms: number) {
    super(
      "PHIAL_CONNECT_TIMEOUT",
      `Connecting to ${origin} took longer than ${ms} ms (connectTimeout); is the host reachable?`,
    );
  }
}

/** No bytes arrived from the server for `readTimeout` while a response was awaited or read. */
export class ReadTimeoutError extends ClientError {
  constructor(origin: string, ms: number) {
    super(
      "PHIAL_READ_TIMEOUT",
      `${origin} sent nothing for ${ms} ms (readTimeout); the server is slow or stuck — raise readTimeout if it is expected`,
    );
  }
}

/** The response head did not arrive within `headersTimeout`, however slowly bytes trickled in. */
export class HeadersTimeoutError extends ClientError {
  constructor(origin: string, ms: number) {
    super(
      "PHIAL_HEADERS_TIMEOUT",
      `${origin} did not send a complete response head within ${ms} ms (headersTimeout)`,
    );
  }
}

/** The whole request, redirects and body included, took longer than `timeout`. */
export class RequestTimeoutError extends ClientError {
  constructor(ms: number) {
    super("PHIAL_TIMEOUT", `The request did not complete within ${ms} ms (timeout)`);
  }
}

/** The request was cancelled through its `AbortSignal`. `cause` holds the signal's reason. */
export class RequestAbortedError extends ClientError {
  constructor(reason: unknown) {
    super("PHIAL_ABORTED", "The request was aborted", { cause: reason });
  }
}

/** The server's bytes are not a valid HTTP/1.1 response (bad status line, CL+TE, bad chunk, …). */
export class MalformedResponseError extends ClientError {
  /** The parser's code, e.g. `HPE_INVALID_STATUS`. */
  readonly parserCode: string;
  constructor(origin: string, parserCode: string, detail: string) {
    super("PHIAL_MALFORMED_RESPONSE", `Malformed response from ${origin}: ${detail} (${parserCode})`);
    this.parserCode = parserCode;
  }
}

/** The connection closed (or reset) before the response was complete. */
export class ConnectionClosedError extends ClientError {
  constructor(origin: string, detail: string, cause?: unknown) {
    super("PHIAL_CONNECTION_CLOSED", `${detail} (${origin})`, { cause });
  }
}

/** The connection could not be opened (refused, DNS failure, TLS verification, …). `cause` has the system error. */
export class ConnectError extends ClientError {
  constructor(origin: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super("PHIAL_CONNECT", `Could not connect to ${origin}: ${why}`, { cause });
  }
}

/** The response body (raw or decoded) is larger than `maxResponseBytes`. */
export class ResponseTooLargeError extends ClientError {
  constructor(limit: number) {
    super(
      "PHIAL_RESPONSE_TOO_LARGE",
      `The response body is larger than maxResponseBytes (${limit} bytes); raise the limit or stream it`,
    );
  }
}

/** More redirects than `maxRedirects`, or a redirect that can't be followed safely. */
export class RedirectError extends ClientError {
  constructor(message: string) {
    super("PHIAL_REDIRECT", message);
  }
}

/** More redirects than `maxRedirects` (a loop, most likely). */
export class TooManyRedirectsError extends RedirectError {}

/** The response body could not be decoded (bad gzip/deflate/br data, or JSON that does not parse). */
export class DecodeError extends ClientError {
  constructor(message: string, cause?: unknown) {
    super("PHIAL_DECODE", message, { cause });
  }
}
