// An incremental, strict HTTP/1.1 message parser over Buffers (RFC 9112), for requests (the server)
// and responses (the client). It never throws on input: bad bytes become one `onError` call with the
// status a server should answer, after which the parser is dead.
//
// Heads are collected by scanning for LF with Buffer#indexOf (native), checking that every LF follows a
// CR, counting lines and bytes against the limits as they arrive, and parsed once, in one pass, when the
// empty line is seen. Body bytes are handed on as zero-copy views of the input.

import { FIELD_VALUE, TOKEN } from "./fields.ts";

/** Limits the parser enforces; every one is an option of the server and the client. */
export interface ParserLimits {
  /** Longest request line (method, target, version) in bytes; longer gets 414. */
  maxRequestLineBytes: number;
  /** Largest head (start line and all fields) in bytes; larger gets 431. */
  maxHeaderBytes: number;
  /** Most header fields; more gets 431. */
  maxHeaderCount: number;
  /** Largest body in bytes; larger gets 413 before the body is read. `Infinity` for none. */
  maxBodyBytes: number;
  /** Longest chunk-size line, extensions included; longer gets 400. */
  maxChunkLineBytes: number;
  /** Largest trailer section in bytes; larger gets 431. */
  maxTrailerBytes: number;
}

export const DEFAULT_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxRequestLineBytes: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxBodyBytes: 100 * 1024 * 1024,
  maxChunkLineBytes: 1024,
  maxTrailerBytes: 16 * 1024,
});

/** Why a message was refused, with the status a server answers and a stable machine-readable code. */
export class HttpParseError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "HttpParseError";
    this.status = status;
    this.code = code;
  }
}

/** What the parser learned from a head: the start line, the fields in order, and the body framing. */
export class MessageHead {
  /** Request method as sent (methods are case-sensitive). Empty for responses. */
  method = "";
  /** Request target exactly as sent (origin-form, absolute-form, authority-form or `*`). */
  target = "";
  /** Response status code; 0 for requests. */
  status = 0;
  /** Response reason phrase. */
  statusText = "";
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor = 1;
  /** Header fields in order, flattened: name, value, name, value … Names keep their case; values are trimmed. */
  rawHeaders: string[] = [];
  /** Declared body length; -1 when there is no Content-Length. */
  contentLength = -1;
  /** The body uses the chunked transfer coding. */
  chunked = false;
  /** The connection may carry another message after this one (HTTP/1.0 and 1.1 rules and `Connection`). */
  keepAlive = true;
  /** The request carries `Expect: 100-continue`. */
  expectContinue = false;
  /** The request carries an expectation other than 100-continue: answer 417. */
  unsupportedExpectation = false;
  /** The request asks to switch protocols (`Connection: upgrade` with `Upgrade`). */
  upgrade = false;
  /** The value of the single Host field, or of the authority of an absolute-form target. */
  host = "";

  /** First value of a field by case-insensitive name, or undefined. */
  get(name: string): string | undefined {
    const h = this.rawHeaders;
    const n = name.length;
    for (let i = 0; i < h.length; i += 2) {
      const k = h[i]!;
      if (k.length === n && (k === name || k.toLowerCase() === name.toLowerCase())) return h[i + 1];
    }
    return undefined;
  }
}

/** Receives what the parser reads. Methods, not closures: one shape for every message. */
export interface ParserHandler {
  /** A head is complete. For 1xx responses no body or completion follows; the next head does. */
  onHead(head: MessageHead): void;
  /** Body bytes (after chunked decoding). The view is only valid until the handler returns unless kept. */
  onBody(chunk: Buffer): void;
  /**
   * The message is complete. `trailers` holds the trailer fields of a chunked body (name, value, …).
   * Returning true pauses the parser: bytes after this message are kept until `resume()`.
   */
  onComplete(trailers: string[] | undefined): boolean | undefined;
  /** The input is malformed or over a limit. The parser is dead afterwards. */
  onError(error: HttpParseError): void;
}

enum State {
  Head = 0,
  Body = 1,
  ChunkSize = 2,
  ChunkExt = 3,
  ChunkSizeLf = 4,
  ChunkData = 5,
  ChunkDataCr = 6,
  ChunkDataLf = 7,
  Trailers = 8,
  BodyUntilClose = 9,
  Paused = 10,
  Dead = 11,
  Upgraded = 12,
}

/** Buffer#latin1Slice: the fast path under Buffer#toString("latin1"), without its argument checks. */
type Latin1 = { latin1Slice(start: number, end: number): string };
function latin1(b: Buffer, start: number, end: number): string {
  return (b as unknown as Latin1).latin1Slice(start, end);
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const EMPTY = Buffer.alloc(0);

/** Hex digit values, -1 for anything else. */
const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) {
    t[0x41 + c] = 10 + c;
    t[0x61 + c] = 10 + c;
  }
  return t;
})();

/** Bytes allowed in a Host value: reg-name, IPv4, IP-literal and port characters. */
const HOST_CHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "-._~!$&'()*+,;=:[]%") t[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  return t;
})();

export class HttpParser {
  readonly kind: "request" | "response";
  readonly limits: ParserLimits;
  private readonly handler: ParserHandler;

  private state: State = State.Head;
  /** Parts of a head (or trailer section) that spans several inputs. */
  private parts: Buffer[] = [];
  /** Bytes of the current head seen so far, across inputs. */
  private seen = 0;
  /** Offset, within the current head, where the current line starts. */
  private lineStart = 0;
  /** Lines completed in the current head (the start line included). */
  private lines = 0;
  /** The last byte of the previous input was CR. */
  private lastWasCr = false;
  /** Empty lines skipped before a request line (RFC 9112 §2.2 allows some). */
  private leadingEmpty = 0;

  private remaining = 0;
  private bodyBytes = 0;
  private chunkLine = 0;
  private chunkDigits = 0;
  private chunkExtSpace = false;
  private paused: Buffer = EMPTY;
  /** For responses: the request was HEAD (or otherwise expects no body). */
  private noBody = false;

  constructor(kind: "request" | "response", handler: ParserHandler, limits?: Partial<ParserLimits>) {
    this.kind = kind;
    this.handler = handler;
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** True once an error was reported (or, for responses, a 101 switched protocols). */
  get dead(): boolean {
    return this.state === State.Dead || this.state === State.Upgraded;
  }

  /** True while a message has started but not completed. */
  get inMessage(): boolean {
    return this.state === State.Head ? this.seen > 0 || this.parts.length > 0 : this.state < State.Paused;
  }

  /** True while paused after a complete message (see `ParserHandler.onComplete`). */
  get isPaused(): boolean {
    return this.state === State.Paused;
  }

  /** Bytes kept back while paused or after a 101 response. */
  get pending(): Buffer {
    return this.paused;
  }

  /** For the client: the next response answers a HEAD request, so it has no body whatever it says. */
  expectNoBody(value: boolean): void {
    this.noBody = value;
  }

  /** Feeds bytes. Never throws because of their content. */
  execute(data: Buffer): void {
    const st = this.state;
    if (st === State.Dead) return;
    if (st === State.Paused || st === State.Upgraded) {
      this.paused = this.paused.length === 0 ? data : Buffer.concat([this.paused, data]);
      return;
    }
    this.run(data, 0);
  }

  /** Continues after a pause, with the bytes kept back. */
  resume(): void {
    if (this.state !== State.Paused) return;
    this.state = State.Head;
    const data = this.paused;
    this.paused = EMPTY;
    if (data.length > 0) this.run(data, 0);
  }

  /**
   * The peer closed its side. Completes a response read until close; anything else that is cut short
   * is an error (a truncated body must never pass for a whole one).
   */
  finish(): void {
    const st = this.state;
    if (st === State.BodyUntilClose) {
      this.state = State.Head;
      this.handler.onComplete(undefined);
      return;
    }
    if (st === State.Head && this.seen === 0 && this.parts.length === 0) return;
    if (st === State.Paused || st === State.Dead || st === State.Upgraded) return;
    this.fail(400, "HPE_INCOMPLETE", "The connection closed before the message was complete");
  }

  private fail(status: number, code: string, message: string): void {
    this.state = State.Dead;
    this.parts = [];
    this.handler.onError(new HttpParseError(status, code, message));
  }

  private run(buf: Buffer, pos: number): void {
    const len = buf.length;
    while (pos < len) {
      switch (this.state) {
        case State.Head:
          pos = this.scanHead(buf, pos, false);
          break;
        case State.Body: {
          const n = Math.min(this.remaining, len - pos);
          this.remaining -= n;
          const chunk = buf.subarray(pos, pos + n);
          pos += n;
          this.handler.onBody(chunk);
          if (this.remaining === 0 && this.state === State.Body) pos = this.complete(buf, pos, undefined);
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, len - pos);
          this.remaining -= n;
          const chunk = buf.subarray(pos, pos + n);
          pos += n;
          if (this.remaining === 0) this.state = State.ChunkDataCr;
          this.handler.onBody(chunk);
          break;
        }
        case State.ChunkSize:
        case State.ChunkExt:
        case State.ChunkSizeLf:
        case State.ChunkDataCr:
        case State.ChunkDataLf:
          pos = this.scanChunkLine(buf, pos);
          break;
        case State.Trailers:
          pos = this.scanHead(buf, pos, true);
          break;
        case State.BodyUntilClose:
          this.handler.onBody(pos === 0 ? buf : buf.subarray(pos));
          return;
        case State.Paused:
        case State.Upgraded:
          this.paused = pos === 0 ? buf : buf.subarray(pos);
          return;
        default:
          return;
      }
    }
  }

  /**
   * Collects a head (or a trailer section) up to its empty line, counting against the limits as the
   * bytes come. Returns the position after what it consumed.
   */
  private scanHead(buf: Buffer, pos: number, trailers: boolean): number {
    const lim = this.limits;
    const maxBytes = trailers ? lim.maxTrailerBytes : lim.maxHeaderBytes;
    // Bytes before `pos` that belong to this head are kept in `parts` (`seen` of them), so the offset
    // of buf[k] within the head is base + k.
    const base = this.seen - pos;
    let i = pos;
    for (;;) {
      const lf = buf.indexOf(LF, i);
      if (lf === -1) {
        const end = buf.length;
        if (end > pos) {
          this.seen = base + end;
          this.lastWasCr = buf[end - 1] === CR;
          this.parts.push(pos === 0 ? buf : buf.subarray(pos));
        }
        if (!trailers && this.lines === 0 && this.seen - this.lineStart > lim.maxRequestLineBytes) {
          this.failLongStartLine();
        } else if (this.seen > maxBytes) {
          this.failOverflow(trailers);
        }
        return end;
      }
      if (lf > pos ? buf[lf - 1] !== CR : !this.lastWasCr) {
        this.fail(400, "HPE_LF_EXPECTED", "A line ended with a bare LF; HTTP/1.1 lines end with CRLF");
        return buf.length;
      }
      const lineEnd = base + lf + 1; // offset just after the LF, within the head
      const lineLen = lineEnd - this.lineStart; // CRLF included
      if (lineEnd > maxBytes) {
        this.failOverflow(trailers);
        return buf.length;
      }
      if (lineLen === 2) {
        if (!trailers && this.lines === 0) {
          // Empty lines before a request line: RFC 9112 §2.2 lets a server skip a few.
          if (this.kind === "response" || ++this.leadingEmpty > 4) {
            this.fail(400, "HPE_INVALID_CONSTANT", "Unexpected empty lines before the start line");
            return buf.length;
          }
          this.lineStart = lineEnd;
          i = lf + 1;
          continue;
        }
        // The empty line ends the head.
        const next = lf + 1;
        let whole = buf;
        let start = pos;
        if (this.parts.length > 0) {
          this.parts.push(buf.subarray(pos, next));
          whole = Buffer.concat(this.parts);
          start = 0;
        }
        const skip = this.leadingEmpty * 2;
        this.parts = [];
        this.seen = 0;
        this.lineStart = 0;
        this.lines = 0;
        this.lastWasCr = false;
        this.leadingEmpty = 0;
        if (trailers) return this.finishTrailers(whole, start, start + lineEnd, buf, next);
        return this.parseHead(whole, start + skip, start + lineEnd, buf, next);
      }
      if (!trailers && this.lines === 0) {
        if (lineLen - 2 > lim.maxRequestLineBytes) {
          this.failLongStartLine();
          return buf.length;
        }
      } else if (this.lines > lim.maxHeaderCount) {
        this.failOverflow(trailers, "There are more header fields than the limit");
        return buf.length;
      }
      this.lines++;
      this.lineStart = lineEnd;
      i = lf + 1;
    }
  }

  private failLongStartLine(): void {
    if (this.kind === "request")
      this.fail(414, "HPE_URI_TOO_LONG", "The request line is longer than the limit");
    else this.fail(400, "HPE_HEADER_OVERFLOW", "The status line is longer than the limit");
  }

  private failOverflow(trailers: boolean, message?: string): void {
    this.fail(
      431,
      "HPE_HEADER_OVERFLOW",
      message ??
        (trailers
          ? "The trailer section is larger than the limit"
          : "The header section is larger than the limit"),
    );
  }

  /** Parses a complete head held in `b[s, e)` (e is just after the final CRLF). */
  private parseHead(b: Buffer, s: number, e: number, input: Buffer, next: number): number {
    const head = new MessageHead();
    let p = s;
    if (this.kind === "request") {
      // method SP request-target SP HTTP-version CRLF
      while (TOKEN[b[p]!] === 1) p++;
      if (p === s || b[p] !== SP) {
        this.fail(400, "HPE_INVALID_METHOD", "The request line has no valid method");
        return input.length;
      }
      head.method = latin1(b, s, p);
      const ts = ++p;
      for (let c = b[p]!; c > 0x20 && c < 0x7f; c = b[++p]!);
      if (p === ts || b[p] !== SP) {
        this.fail(400, "HPE_INVALID_URL", "The request target is missing or has invalid characters");
        return input.length;
      }
      head.target = latin1(b, ts, p);
      p++;
      const v = this.version(b, p, true);
      if (v < 0) return input.length;
      head.versionMinor = v;
      p += 10;
    } else {
      // HTTP-version SP status-code SP [reason-phrase] CRLF
      const v = this.version(b, p, false);
      if (v < 0) return input.length;
      head.versionMinor = v;
      p += 8;
      const d0 = b[p + 1]! - 48;
      const d1 = b[p + 2]! - 48;
      const d2 = b[p + 3]! - 48;
      if (
        b[p] !== SP ||
        d0 < 1 ||
        d0 > 5 ||
        d1 < 0 ||
        d1 > 9 ||
        d2 < 0 ||
        d2 > 9 ||
        (b[p + 4] !== SP && b[p + 4] !== CR)
      ) {
        this.fail(400, "HPE_INVALID_STATUS", "The status line is malformed");
        return input.length;
      }
      head.status = d0 * 100 + d1 * 10 + d2;
      p += 4;
      if (b[p] === SP) {
        const rs = ++p;
        while (FIELD_VALUE[b[p]!] === 1) p++;
        head.statusText = latin1(b, rs, p);
      }
      if (b[p] !== CR || b[p + 1] !== LF) {
        this.fail(400, "HPE_INVALID_STATUS", "The status line is malformed");
        return input.length;
      }
      p += 2;
    }

    // Fields.
    const raw = head.rawHeaders;
    const minor = head.versionMinor;
    let hosts = 0;
    let te: string | undefined;
    let closeToken = false;
    let keepAliveToken = false;
    let upgradeToken = false;
    let hasUpgrade = false;
    const end = e - 2;
    while (p < end) {
      const ns = p;
      while (TOKEN[b[p]!] === 1) p++;
      if (p === ns || b[p] !== 58) {
        const c = b[ns];
        this.fail(
          400,
          "HPE_INVALID_HEADER_TOKEN",
          c === SP || c === HTAB
            ? "Obsolete line folding (a field line starting with whitespace) is not accepted"
            : b[p] === SP || b[p] === HTAB
              ? "Whitespace between a field name and the colon is not allowed"
              : "A header field name has invalid characters",
        );
        return input.length;
      }
      const name = latin1(b, ns, p);
      p++;
      while (b[p] === SP || b[p] === HTAB) p++;
      const vs = p;
      while (FIELD_VALUE[b[p]!] === 1) p++;
      if (b[p] !== CR || b[p + 1] !== LF) {
        this.fail(400, "HPE_INVALID_HEADER_TOKEN", `The value of the "${name}" field has invalid characters`);
        return input.length;
      }
      let ve = p;
      while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
      const value = latin1(b, vs, ve);
      p += 2;
      raw.push(name, value);

      switch (name.length) {
        case 4:
          if (name.toLowerCase() === "host") {
            hosts++;
            head.host = value;
          }
          break;
        case 6:
          if (this.kind === "request" && name.toLowerCase() === "expect") {
            if (value.toLowerCase() === "100-continue") head.expectContinue = true;
            else head.unsupportedExpectation = true;
          }
          break;
        case 7:
          if (name.toLowerCase() === "upgrade") hasUpgrade = true;
          break;
        case 10:
          if (name.toLowerCase() === "connection") {
            const tokens = value.toLowerCase();
            if (tokens === "close") closeToken = true;
            else if (tokens === "keep-alive") keepAliveToken = true;
            else
              for (const t of tokens.split(",")) {
                const k = t.trim();
                if (k === "close") closeToken = true;
                else if (k === "keep-alive") keepAliveToken = true;
                else if (k === "upgrade") upgradeToken = true;
              }
          }
          break;
        case 14:
          if (name.toLowerCase() === "content-length") {
            const n = parseContentLength(value);
            if (n < 0 || (head.contentLength >= 0 && head.contentLength !== n)) {
              this.fail(
                400,
                "HPE_INVALID_CONTENT_LENGTH",
                "Content-Length is malformed or differs between fields",
              );
              return input.length;
            }
            head.contentLength = n;
          }
          break;
        case 17:
          if (name.toLowerCase() === "transfer-encoding") te = te === undefined ? value : `${te}, ${value}`;
          break;
      }
    }

    head.keepAlive = minor === 1 ? !closeToken : keepAliveToken && !closeToken;
    head.upgrade = hasUpgrade && upgradeToken;

    if (this.kind === "request") {
      if (hosts > 1) {
        this.fail(400, "HPE_DUPLICATE_HOST", "The request has more than one Host field");
        return input.length;
      }
      if (hosts === 0 && minor === 1) {
        this.fail(400, "HPE_MISSING_HOST", "HTTP/1.1 requests must have a Host field");
        return input.length;
      }
      if (hosts === 1 && !isValidHost(head.host)) {
        this.fail(400, "HPE_INVALID_HOST", "The Host field is malformed");
        return input.length;
      }
      if (!this.checkTarget(head)) return input.length;
    }

    if (te !== undefined) {
      if (head.contentLength >= 0) {
        this.fail(
          400,
          "HPE_UNEXPECTED_CONTENT_LENGTH",
          "Content-Length and Transfer-Encoding together are ambiguous framing (request smuggling)",
        );
        return input.length;
      }
      if (this.kind === "request" && minor === 0) {
        this.fail(400, "HPE_INVALID_TRANSFER_ENCODING", "Transfer-Encoding is not allowed in HTTP/1.0");
        return input.length;
      }
      const chunked = chunkedIsFinal(te);
      if (chunked !== 1) {
        if (this.kind === "request" || chunked === -1) {
          this.fail(
            400,
            "HPE_INVALID_TRANSFER_ENCODING",
            "Transfer-Encoding must end with a single 'chunked'; other codings are not supported",
          );
          return input.length;
        }
        // A response whose final coding is not chunked is read until the connection closes.
        head.keepAlive = false;
      } else {
        head.chunked = true;
      }
    }

    const lim = this.limits;
    if (head.contentLength > lim.maxBodyBytes) {
      this.fail(413, "HPE_BODY_TOO_LARGE", "The body is larger than the limit");
      return input.length;
    }

    this.handler.onHead(head);
    if (this.state === State.Dead) return input.length;

    if (this.kind === "response") {
      const st = head.status;
      if (st < 200) {
        if (st === 101) {
          this.state = State.Upgraded;
          this.paused = input.subarray(next);
          return input.length;
        }
        // Interim response: the real one follows.
        return next;
      }
      if (this.noBody || st === 204 || st === 304) {
        head.chunked = false;
        return this.complete(input, next, undefined);
      }
      if (!head.chunked && head.contentLength < 0) {
        head.keepAlive = false;
        this.state = State.BodyUntilClose;
        return next;
      }
    }

    this.bodyBytes = 0;
    if (head.chunked) {
      this.startChunk();
      return next;
    }
    if (head.contentLength > 0) {
      this.remaining = head.contentLength;
      this.state = State.Body;
      return next;
    }
    return this.complete(input, next, undefined);
  }

  /** Reads "HTTP/x.y" at b[p]; returns the minor version (0 or 1) or -1 after failing. */
  private version(b: Buffer, p: number, request: boolean): number {
    const ok =
      b[p] === 0x48 &&
      b[p + 1] === 0x54 &&
      b[p + 2] === 0x54 &&
      b[p + 3] === 0x50 &&
      b[p + 4] === 0x2f &&
      b[p + 6] === 0x2e;
    const major = b[p + 5]! - 48;
    const minor = b[p + 7]! - 48;
    if (!ok || major < 0 || major > 9 || minor < 0 || minor > 9 || (request && b[p + 8] !== CR)) {
      this.fail(400, "HPE_INVALID_VERSION", "The message does not use HTTP/1.x syntax");
      return -1;
    }
    if (request && b[p + 9] !== LF) {
      this.fail(400, "HPE_INVALID_VERSION", "The request line must end with CRLF");
      return -1;
    }
    if (major === 1 && minor <= 1) return minor;
    if (major === 0 || major === 2) {
      this.fail(400, "HPE_INVALID_VERSION", `HTTP/${major}.${minor} does not use this syntax`);
      return -1;
    }
    this.fail(505, "HPE_VERSION_NOT_SUPPORTED", `HTTP/${major}.${minor} is not supported; use HTTP/1.1`);
    return -1;
  }

  /** Checks the request-target form (RFC 9112 §3.2) and takes the authority of absolute-form. */
  private checkTarget(head: MessageHead): boolean {
    const t = head.target;
    const c = t.charCodeAt(0);
    if (c === 0x2f) return true; // origin-form
    if (t === "*") {
      if (head.method === "OPTIONS") return true;
      this.fail(400, "HPE_INVALID_URL", "The asterisk-form target is only for OPTIONS");
      return false;
    }
    if (head.method === "CONNECT") {
      if (isValidHost(t) && t.length > 0) return true;
      this.fail(400, "HPE_INVALID_URL", "CONNECT needs an authority-form target (host:port)");
      return false;
    }
    // absolute-form: scheme "://" authority path-abempty [ "?" query ]
    const sep = t.indexOf("://");
    if (sep > 0) {
      const scheme = t.slice(0, sep).toLowerCase();
      if (scheme === "http" || scheme === "https") {
        let stop = t.length;
        for (let i = sep + 3; i < t.length; i++) {
          const ch = t.charCodeAt(i);
          if (ch === 0x2f || ch === 0x3f || ch === 0x23) {
            stop = i;
            break;
          }
        }
        const authority = t.slice(sep + 3, stop);
        if (authority.length > 0 && authority.indexOf("@") === -1 && isValidHost(authority)) {
          // RFC 9112 §3.2.2: the target's authority replaces Host.
          head.host = authority;
          return true;
        }
      }
    }
    this.fail(400, "HPE_INVALID_URL", "The request target is not in origin-form or absolute-form");
    return false;
  }

  private startChunk(): void {
    this.state = State.ChunkSize;
    this.remaining = 0;
    this.chunkLine = 0;
    this.chunkDigits = 0;
    this.chunkExtSpace = false;
  }

  /** Chunk-size lines and the CRLF after chunk data, a byte at a time (they are short). */
  private scanChunkLine(b: Buffer, pos: number): number {
    const len = b.length;
    const max = this.limits.maxChunkLineBytes;
    while (pos < len) {
      const c = b[pos]!;
      switch (this.state) {
        case State.ChunkSize: {
          const d = HEX[c]!;
          if (d >= 0 && !this.chunkExtSpace) {
            if (++this.chunkDigits > 13) {
              this.fail(400, "HPE_INVALID_CHUNK_SIZE", "The chunk size is too large");
              return len;
            }
            this.remaining = this.remaining * 16 + d;
          } else if (this.chunkDigits === 0) {
            this.fail(400, "HPE_INVALID_CHUNK_SIZE", "A chunk size must start with a hex digit");
            return len;
          } else if (c === CR) {
            if (this.chunkExtSpace) {
              this.fail(400, "HPE_INVALID_CHUNK_SIZE", "Whitespace after a chunk size needs an extension");
              return len;
            }
            this.state = State.ChunkSizeLf;
          } else if (c === SP || c === HTAB) {
            this.chunkExtSpace = true;
          } else if (c === 0x3b) {
            this.state = State.ChunkExt;
          } else {
            this.fail(400, "HPE_INVALID_CHUNK_SIZE", "The chunk size has invalid characters");
            return len;
          }
          break;
        }
        case State.ChunkExt:
          // Extensions are ignored, but their bytes must be field-value bytes and bounded.
          if (c === CR) this.state = State.ChunkSizeLf;
          else if (FIELD_VALUE[c] !== 1) {
            this.fail(400, "HPE_INVALID_CHUNK_EXTENSIONS", "A chunk extension has invalid characters");
            return len;
          }
          break;
        case State.ChunkSizeLf: {
          if (c !== LF) {
            this.fail(400, "HPE_STRICT", "A chunk-size line must end with CRLF");
            return len;
          }
          pos++;
          const size = this.remaining;
          this.bodyBytes += size;
          if (this.bodyBytes > this.limits.maxBodyBytes) {
            this.fail(413, "HPE_BODY_TOO_LARGE", "The body is larger than the limit");
            return len;
          }
          if (size === 0) {
            this.state = State.Trailers;
            this.seen = 0;
            this.lineStart = 0;
            this.lines = 0;
            this.lastWasCr = false;
          } else {
            this.state = State.ChunkData;
          }
          return pos;
        }
        case State.ChunkDataCr:
          if (c !== CR) {
            this.fail(400, "HPE_STRICT", "Chunk data must be followed by CRLF");
            return len;
          }
          this.state = State.ChunkDataLf;
          break;
        case State.ChunkDataLf:
          if (c !== LF) {
            this.fail(400, "HPE_STRICT", "Chunk data must be followed by CRLF");
            return len;
          }
          this.startChunk();
          return pos + 1;
        default:
          return pos;
      }
      pos++;
      if (++this.chunkLine > max) {
        this.fail(400, "HPE_CHUNK_EXTENSIONS_OVERFLOW", "A chunk-size line is longer than the limit");
        return len;
      }
    }
    return pos;
  }

  /** Parses the trailer fields in `b[s, e)` and completes the message. */
  private finishTrailers(b: Buffer, s: number, e: number, input: Buffer, next: number): number {
    let trailers: string[] | undefined;
    let p = s;
    const end = e - 2;
    while (p < end) {
      const ns = p;
      while (TOKEN[b[p]!] === 1) p++;
      if (p === ns || b[p] !== 58) {
        this.fail(400, "HPE_INVALID_HEADER_TOKEN", "A trailer field is malformed");
        return input.length;
      }
      const name = latin1(b, ns, p);
      p++;
      while (b[p] === SP || b[p] === HTAB) p++;
      const vs = p;
      while (FIELD_VALUE[b[p]!] === 1) p++;
      if (b[p] !== CR || b[p + 1] !== LF) {
        this.fail(400, "HPE_INVALID_HEADER_TOKEN", "A trailer field value has invalid characters");
        return input.length;
      }
      let ve = p;
      while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
      if (trailers === undefined) trailers = [];
      trailers.push(name, latin1(b, vs, ve));
      p += 2;
    }
    return this.complete(input, next, trailers);
  }

  private complete(input: Buffer, next: number, trailers: string[] | undefined): number {
    this.state = State.Head;
    this.noBody = false;
    const pause = this.handler.onComplete(trailers);
    if ((this.state as State) === State.Dead) return input.length;
    if (pause === true) {
      this.state = State.Paused;
      this.paused = next < input.length ? input.subarray(next) : EMPTY;
      return input.length;
    }
    return next;
  }
}

/** Parses a Content-Length value: 1*DIGIT, or a list of identical ones. -1 when malformed. */
function parseContentLength(v: string): number {
  const n = v.length;
  if (n === 0) return -1;
  let value = -1;
  let cur = 0;
  let digits = 0;
  let i = 0;
  for (;;) {
    const c = i < n ? v.charCodeAt(i) : 0x2c;
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > 15) return -1;
      cur = cur * 10 + (c - 0x30);
    } else if (c === 0x2c) {
      if (digits === 0) return -1;
      if (value >= 0 && value !== cur) return -1;
      value = cur;
      cur = 0;
      digits = 0;
      if (i >= n) return value;
      i++;
      while (i < n && (v.charCodeAt(i) === SP || v.charCodeAt(i) === HTAB)) i++;
      continue;
    } else if (c === SP || c === HTAB) {
      // OWS before a comma only.
      let j = i;
      while (j < n && (v.charCodeAt(j) === SP || v.charCodeAt(j) === HTAB)) j++;
      if (j < n && v.charCodeAt(j) !== 0x2c) return -1;
      i = j;
      continue;
    } else {
      return -1;
    }
    i++;
  }
}

/**
 * 1 when the transfer codings end with a single `chunked`, 0 when they are valid but do not,
 * -1 when malformed (empty elements, non-token codings, `chunked` twice).
 */
function chunkedIsFinal(te: string): number {
  const list = te.split(",");
  let chunkedAt = -1;
  for (let i = 0; i < list.length; i++) {
    const raw = list[i]!.trim();
    const semi = raw.indexOf(";");
    const coding = (semi === -1 ? raw : raw.slice(0, semi).trimEnd()).toLowerCase();
    if (coding.length === 0) return -1;
    for (let j = 0; j < coding.length; j++) {
      const c = coding.charCodeAt(j);
      if (c > 0x7f || TOKEN[c] !== 1) return -1;
    }
    if (coding === "chunked") {
      if (chunkedAt >= 0 || semi !== -1) return -1;
      chunkedAt = i;
    }
  }
  return chunkedAt === list.length - 1 ? 1 : chunkedAt >= 0 ? -1 : 0;
}

/** uri-host [ ":" port ], loosely: allowed characters, brackets only around an IP literal, digits in the port. */
function isValidHost(h: string): boolean {
  const n = h.length;
  if (n === 0) return true; // RFC 9112 §3.2: empty when the target has no authority
  let i = 0;
  if (h.charCodeAt(0) === 0x5b) {
    const close = h.indexOf("]");
    if (close < 2) return false;
    for (let j = 1; j < close; j++) {
      const c = h.charCodeAt(j);
      if (!(HEX[c]! >= 0 || c === 0x3a || c === 0x2e || c === 0x76 || c === 0x56)) return false;
    }
    i = close + 1;
    if (i === n) return true;
    if (h.charCodeAt(i) !== 0x3a) return false;
  } else {
    for (; i < n; i++) {
      const c = h.charCodeAt(i);
      if (c === 0x3a) break;
      if (c > 0x7f || HOST_CHAR[c] !== 1 || c === 0x5b || c === 0x5d) return false;
    }
    if (i === n) return true;
  }
  // port
  for (let j = i + 1; j < n; j++) {
    const c = h.charCodeAt(j);
    if (c < 0x30 || c > 0x39) return false;
  }
  return n - i - 1 <= 5;
}
