// An incremental, strict HTTP/1.1 message parser over Buffers (RFC 9112), for requests (the server)
// and responses (the client). It never throws on input: bad bytes become one `onError` call with the
// status a server should answer, after which the parser is dead.
//
// Heads are read by scanning for LF with Buffer#indexOf (native), checking that every LF follows a
// CR and counting bytes against the limits as they arrive; each line is parsed as soon as its CRLF is
// there (so bad bytes are refused at once), straight from the input unless it arrived in pieces, when
// only that line's pieces are joined. The answer never depends on how the bytes were split: the tests
// feed every case whole, byte by byte and at random points. Body bytes are handed on as zero-copy views
// of the input.

import { FIELD_VALUE, isToken, sameFieldName, TOKEN } from "./fields.ts";

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
    for (let i = 0; i < h.length; i += 2) if (sameFieldName(h[i]!, name)) return h[i + 1];
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
   * The parser also pauses by itself after a request that asks to switch protocols (`upgrade`) or a
   * CONNECT: what follows may not be HTTP. Take `pending` to switch, or `resume()` to go on with HTTP.
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
  /** A message that ends the connection is complete; later bytes are ignored. */
  Closed = 13,
}

/** Buffer#latin1Slice: the fast path under Buffer#toString("latin1"), without its argument checks. */
type Latin1 = { latin1Slice(start: number, end: number): string };
function latin1(b: Buffer, start: number, end: number): string {
  return (b as unknown as Latin1).latin1Slice(start, end);
}

/** True when the bytes at b[s] are the Latin-1 string `str` (the caller checked that they fit). */
function sameBytes(b: Buffer, s: number, str: string): boolean {
  const n = str.length;
  for (let i = 0; i < n; i++) if (b[s + i] !== str.charCodeAt(i)) return false;
  return true;
}

/** True when the bytes at b[s] are those of `r` (a byte loop: for short ranges, cheaper than a call). */
function sameRange(b: Buffer, s: number, r: Buffer): boolean {
  const n = r.length;
  for (let i = 0; i < n; i++) if (b[s + i] !== r[i]) return false;
  return true;
}

/** A copy of b[s, e), from Buffer's pool for short ones. */
function copyRange(b: Buffer, s: number, e: number): Buffer {
  const n = e - s;
  const c = Buffer.allocUnsafe(n);
  if (n > 64) b.copy(c, 0, s, e);
  else for (let i = 0; i < n; i++) c[i] = b[s + i]!;
  return c;
}

/**
 * True when the field name at b[s] (a token, its length already checked) is `lower` in any case,
 * compared on the bytes (no lowercased copy). `lower` holds the bytes of lowercase letters and "-": OR-ing 0x20
 * maps only A-Z onto a-z here, since the CR it would map onto "-" can't be in a token.
 */
function nameIs(b: Buffer, s: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) if ((b[s + i]! | 0x20) !== lower[i]) return false;
  return true;
}

// The names the parser acts on, as bytes (a typed array reads faster than a string's charCodeAt).
const N_HOST = Buffer.from("host", "latin1");
const N_EXPECT = Buffer.from("expect", "latin1");
const N_UPGRADE = Buffer.from("upgrade", "latin1");
const N_CONNECTION = Buffer.from("connection", "latin1");
const N_CONTENT_LENGTH = Buffer.from("content-length", "latin1");
const N_TRANSFER_ENCODING = Buffer.from("transfer-encoding", "latin1");

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

const CRLF_BYTES = Buffer.from("\r\n", "latin1");

export class HttpParser {
  readonly kind: "request" | "response";
  readonly limits: ParserLimits;
  private readonly handler: ParserHandler;

  private state: State = State.Head;
  /** Pieces of the current line when it spans several inputs (only ever one line). */
  private parts: Buffer[] = [];
  /** Bytes held in `parts`. */
  private partBytes = 0;
  /** Bytes of the current head (or trailer section) seen so far, across inputs. */
  private seen = 0;
  /** Lines completed in the current head (the start line included) or trailer section. */
  private lines = 0;
  /** The last byte of the previous input was CR. */
  private lastWasCr = false;
  /** Empty lines skipped before a request line (RFC 9112 §2.2 allows some). */
  private leadingEmpty = 0;
  /** The partial request line held so far has its method's space (what follows needn't be a token). */
  private startSp = false;

  // The head being read, and what its fields said so far.
  private head: MessageHead | undefined;
  private hosts = 0;
  private hostField = "";
  /** The request target was in absolute-form: its authority is the host. */
  private targetHost: string | undefined;
  private te: string | undefined;
  private closeToken = false;
  private keepAliveToken = false;
  private upgradeToken = false;
  private hasUpgrade = false;
  private trailers: string[] | undefined;
  /** The current message is the last one on the connection. */
  private lastMessage = false;
  /** The current request asks to switch protocols (Upgrade or CONNECT): pause after it. */
  private switchAfter = false;
  /** Responses: an interim (1xx) response was read; the final one is still to come. */
  private awaitingFinal = false;

  private remaining = 0;
  private bodyBytes = 0;
  private chunkLine = 0;
  private chunkDigits = 0;
  private chunkExtSpace = false;
  private extState = 0;
  private paused: Buffer = EMPTY;
  /** Inputs that arrived while paused, joined only when needed (joining on every input is quadratic). */
  private pausedMore: Buffer[] | undefined;
  /** For responses: the request was HEAD (or otherwise expects no body). */
  private noBody = false;
  /**
   * The previous head's field lines by position, and its target: a client sends much the same head on
   * every request of a connection (Host, User-Agent, Accept…), so a line whose bytes match the
   * previous one at its position reuses its strings, already checked, instead of making and checking
   * new ones. For position k: [3k] the line's bytes (without CRLF), [3k+1] its name, [3k+2] its
   * value; one list rather than three, since an idle kept-alive connection holds it. Bounded by
   * maxHeaderCount.
   */
  private prev: (Buffer | string)[] = [];
  private prevTarget = "";
  private prevTargetBytes: Buffer = EMPTY;
  /** The last Host value that passed isValidHost. */
  private validHost = "";

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
    return this.state === State.Head
      ? this.seen > 0 || this.partBytes > 0 || this.awaitingFinal
      : this.state < State.Paused;
  }

  /** True while paused after a complete message (see `ParserHandler.onComplete`). */
  get isPaused(): boolean {
    return this.state === State.Paused;
  }

  /**
   * True once a message that ends the connection (`Connection: close`, HTTP/1.0 without keep-alive, a
   * response read until close) is complete: any later bytes are ignored, never parsed as a message.
   */
  get closed(): boolean {
    return this.state === State.Closed;
  }

  /** Bytes kept back while paused or after a 101 response. */
  get pending(): Buffer {
    this.joinPaused();
    return this.paused;
  }

  /** For the client: the next response answers a HEAD request, so it has no body whatever it says. */
  expectNoBody(value: boolean): void {
    this.noBody = value;
  }

  /** Feeds bytes. Never throws because of their content. */
  execute(data: Buffer): void {
    const st = this.state;
    if (st === State.Dead || st === State.Closed) return;
    if (st === State.Paused || st === State.Upgraded) {
      if (this.paused.length === 0) this.paused = data;
      else if (this.pausedMore === undefined) this.pausedMore = [data];
      else this.pausedMore.push(data);
      return;
    }
    this.run(data, 0);
  }

  /** Continues after a pause, with the bytes kept back. */
  resume(): void {
    if (this.state !== State.Paused) return;
    this.state = State.Head;
    this.joinPaused();
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
      this.lastMessage = true;
      this.complete(EMPTY, 0, undefined);
      return;
    }
    if (st === State.Head && this.seen === 0 && this.partBytes === 0 && !this.awaitingFinal) return;
    if (st >= State.Paused) return;
    this.fail(
      400,
      "HPE_INCOMPLETE",
      st !== State.Head
        ? "The connection closed before the whole body arrived"
        : this.seen === 0 && this.partBytes === 0
          ? "The connection closed after an interim (1xx) response, before the final response"
          : "The connection closed in the middle of a message head",
    );
  }

  private joinPaused(): void {
    const more = this.pausedMore;
    if (more !== undefined) {
      this.pausedMore = undefined;
      more.unshift(this.paused);
      this.paused = Buffer.concat(more);
    }
  }

  private fail(status: number, code: string, message: string): void {
    this.state = State.Dead;
    this.parts = [];
    this.partBytes = 0;
    this.head = undefined;
    this.trailers = undefined;
    this.paused = EMPTY;
    this.pausedMore = undefined;
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
        case State.BodyUntilClose: {
          // Hand on what fits the limit, then refuse the rest: the same bytes however they arrive.
          const room = this.limits.maxBodyBytes - this.bodyBytes;
          const n = len - pos;
          if (n > room) {
            if (room > 0) this.handler.onBody(buf.subarray(pos, pos + room));
            if ((this.state as State) === State.BodyUntilClose)
              this.fail(
                413,
                "HPE_BODY_TOO_LARGE",
                `The body is larger than the limit of ${this.limits.maxBodyBytes} bytes (maxBodyBytes)`,
              );
            return;
          }
          this.bodyBytes += n;
          this.handler.onBody(pos === 0 ? buf : buf.subarray(pos));
          return;
        }
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
   * Reads a head (or a trailer section) line by line, each line parsed as soon as its CRLF arrives, and
   * counts bytes against the limits as they come. Returns the position after what it consumed.
   */
  private scanHead(buf: Buffer, pos: number, trailers: boolean): number {
    const lim = this.limits;
    const maxBytes = trailers ? lim.maxTrailerBytes : lim.maxHeaderBytes;
    let i = pos; // where the unread part of the current line starts in buf
    for (;;) {
      const lf = buf.indexOf(LF, i);
      if (lf === -1) {
        // The line goes on in the next input: keep its bytes (only this line's).
        const end = buf.length;
        const n = end - i;
        if (
          n > 0 &&
          !trailers &&
          this.lines === 0 &&
          this.kind === "request" &&
          !this.requestLinePrefix(buf, i, buf.length, false)
        ) {
          return end;
        }
        if (n > 0) {
          this.parts.push(i === 0 ? buf : buf.subarray(i));
          this.partBytes += n;
          this.seen += n;
          this.lastWasCr = buf[end - 1] === CR;
        }
        // The start line is bounded by its own limit only (so that the answer doesn't depend on how
        // the bytes were split); a CR at the end may begin its CRLF, which the limit doesn't count.
        if (!trailers && this.lines === 0) {
          if (this.partBytes - (this.lastWasCr ? 1 : 0) > this.maxStartLine()) this.failLongStartLine();
        } else if (this.seen > maxBytes) {
          this.failOverflow(trailers);
        }
        return end;
      }
      const held = this.partBytes;
      const crlf = lf > i ? buf[lf - 1] === CR : held > 0 && this.lastWasCr;
      const next = lf + 1;
      const lineLen = held + next - i; // line end included
      this.seen += next - i;
      // Limits first, as a feeding that stopped before this LF would have seen them; and before any
      // error, a byte no request line may hold (within the limit), which such a feeding fails on.
      const tooLong = !trailers && this.lines === 0 && lineLen - (crlf ? 2 : 1) > this.maxStartLine();
      if (
        (tooLong || !crlf || this.seen > maxBytes) &&
        !trailers &&
        this.lines === 0 &&
        this.kind === "request" &&
        !this.requestLinePrefix(buf, i, crlf ? lf - 1 : lf, true)
      ) {
        return buf.length;
      }
      if (tooLong) {
        this.failLongStartLine();
        return buf.length;
      }
      if (this.seen > maxBytes) {
        this.failOverflow(trailers);
        return buf.length;
      }
      if (!crlf) {
        this.fail(400, "HPE_LF_EXPECTED", "A line ended with a bare LF; HTTP/1.1 lines end with CRLF");
        return buf.length;
      }
      // The line, contiguous: a view of the input, or (rarely) the pieces it arrived in, joined.
      let lb = buf;
      let ls = i;
      if (held > 0) {
        this.parts.push(buf.subarray(i, next));
        lb = Buffer.concat(this.parts, lineLen);
        ls = 0;
        this.parts = [];
        this.partBytes = 0;
      }
      i = next;
      this.startSp = false;
      if (lineLen === 2) {
        if (!trailers && this.lines === 0) {
          // Empty lines before a request line: RFC 9112 §2.2 lets a server skip a few.
          if (this.kind === "response" || ++this.leadingEmpty > 4) {
            this.fail(
              400,
              "HPE_INVALID_CONSTANT",
              this.kind === "response"
                ? "A response must start with its status line, not an empty line"
                : "Too many empty lines before the request line",
            );
            return buf.length;
          }
          continue;
        }
        // The empty line ends the head.
        this.seen = 0;
        this.lines = 0;
        this.lastWasCr = false;
        this.leadingEmpty = 0;
        return trailers ? this.endTrailers(buf, next) : this.endHead(buf, next);
      }
      if (!trailers && this.lines === 0) {
        if (!this.startLine(lb, ls)) return buf.length;
      } else {
        if ((trailers ? this.lines : this.lines - 1) >= lim.maxHeaderCount) {
          this.failOverflow(trailers, true);
          return buf.length;
        }
        if (!this.fieldLine(lb, ls, ls + lineLen - 2, trailers)) return buf.length;
      }
      this.lines++;
    }
  }

  /**
   * Checks the part of a request line that arrived without its line end (b[s..]): a byte no request
   * line can hold (a control, a non-ASCII byte, a CR not at the end, a method character that is not a
   * token's) fails at once, rather than holding the connection until the head times out. False after
   * failing.
   */
  private requestLinePrefix(b: Buffer, s: number, stop: number, lineEnded: boolean): boolean {
    // Only the bytes within the limit count: past it, the line is too long (414), however it goes on.
    const end = Math.min(stop, s + this.maxStartLine() - this.partBytes);
    let sp = this.startSp;
    let bad = this.lastWasCr && this.partBytes > 0 && s < end ? s : -1; // a held CR not followed by LF
    for (let k = s; k < end && bad === -1; k++) {
      const c = b[k]!;
      if (c === CR) {
        // A CR must be followed by LF: one at the end of what arrived may still be.
        if (lineEnded || k !== b.length - 1) bad = k;
      } else if (c < 0x20 || c >= 0x7f) bad = k;
      else if (!sp) {
        if (c === SP) {
          if (k === s && this.partBytes === 0) bad = k; // no method
          sp = true;
        } else if (TOKEN[c] !== 1) bad = k;
      }
    }
    if (bad === -1) {
      this.startSp = sp;
      return true;
    }
    // The answer is the one the whole line would get (it must not depend on how the bytes were split):
    // the line so far, up to the bad byte, ended here, goes through the start-line parser.
    const line = Buffer.concat([...this.parts, b.subarray(s, bad + 1), CRLF_BYTES]);
    if (this.startLine(line, 0)) {
      this.fail(400, "HPE_INVALID_CONSTANT", "The request line holds a byte no request line may hold");
    }
    return false;
  }

  /** The start line's limit: maxRequestLineBytes, but never more than the whole head may take. */
  private maxStartLine(): number {
    const lim = this.limits;
    return Math.min(lim.maxRequestLineBytes, lim.maxHeaderBytes);
  }

  private failLongStartLine(): void {
    if (this.kind === "request")
      this.fail(
        414,
        "HPE_URI_TOO_LONG",
        "The request line is longer than the limit (maxRequestLineBytes); send long data in the body",
      );
    else
      this.fail(400, "HPE_HEADER_OVERFLOW", "The status line is longer than the limit (maxRequestLineBytes)");
  }

  private failOverflow(trailers: boolean, count = false): void {
    const what = trailers ? "trailer" : "header";
    this.fail(
      431,
      "HPE_HEADER_OVERFLOW",
      count
        ? `There are more ${what} fields than the limit (maxHeaderCount)`
        : trailers
          ? "The trailer section is larger than the limit (maxTrailerBytes)"
          : "The header section is larger than the limit (maxHeaderBytes)",
    );
  }

  /** Parses the start line at b[s], which ends with the first CRLF after s. False after failing. */
  private startLine(b: Buffer, s: number): boolean {
    const head = new MessageHead();
    this.head = head;
    this.hosts = 0;
    this.hostField = "";
    this.targetHost = undefined;
    this.te = undefined;
    this.closeToken = false;
    this.keepAliveToken = false;
    this.upgradeToken = false;
    this.hasUpgrade = false;
    let p = s;
    if (this.kind === "request") {
      // method SP request-target SP HTTP-version CRLF
      while (TOKEN[b[p]!] === 1) p++;
      if (p === s || b[p] !== SP) {
        this.fail(
          400,
          "HPE_INVALID_METHOD",
          p === s
            ? "The request line must start with a method (a token such as GET)"
            : "The method has invalid characters or is not followed by a single space",
        );
        return false;
      }
      // The common methods as constants: no string made per request, and comparisons with them are cheap.
      const ml = p - s;
      head.method =
        ml === 3 && b[s] === 71 && b[s + 1] === 69 && b[s + 2] === 84
          ? "GET"
          : ml === 4 && b[s] === 80 && b[s + 1] === 79 && b[s + 2] === 83 && b[s + 3] === 84
            ? "POST"
            : latin1(b, s, p);
      const ts = ++p;
      for (let c = b[p]!; c > 0x20 && c < 0x7f; c = b[++p]!);
      if (p === ts || b[p] !== SP) {
        const c = b[p];
        this.fail(
          400,
          c === CR && p > ts ? "HPE_INVALID_VERSION" : "HPE_INVALID_URL",
          p === ts
            ? "The request target is missing (or preceded by more than one space)"
            : c === CR
              ? "The request line has no HTTP version (HTTP/0.9 is not supported)"
              : `The request target contains the byte 0x${c!.toString(16).padStart(2, "0")}; controls, spaces and non-ASCII bytes must be percent-encoded`,
        );
        return false;
      }
      const prev = this.prevTargetBytes;
      if (p - ts === prev.length && sameRange(b, ts, prev)) head.target = this.prevTarget;
      else {
        this.prevTarget = head.target = latin1(b, ts, p);
        this.prevTargetBytes = copyRange(b, ts, p);
      }
      p++;
      const v = this.version(b, p, true);
      if (v < 0) return false;
      head.versionMinor = v;
      return this.checkTarget(head);
    }
    // HTTP-version SP status-code SP [reason-phrase] CRLF
    const v = this.version(b, p, false);
    if (v < 0) return false;
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
      this.fail(
        400,
        "HPE_INVALID_STATUS",
        "The status line must be 'HTTP/1.x NNN reason' with NNN from 100 to 599",
      );
      return false;
    }
    head.status = d0 * 100 + d1 * 10 + d2;
    p += 4;
    if (b[p] === SP) {
      const rs = ++p;
      while (FIELD_VALUE[b[p]!] === 1) p++;
      head.statusText = latin1(b, rs, p);
    }
    if (b[p] !== CR || b[p + 1] !== LF) {
      this.fail(400, "HPE_INVALID_STATUS", "The reason phrase has invalid characters");
      return false;
    }
    return true;
  }

  /**
   * Parses one field line at b[s] into the head or the trailers; `cr` is the index of its CR (the first
   * CRLF after s).
   */
  private fieldLine(b: Buffer, s: number, cr: number, trailers: boolean): boolean {
    // This line's position among the head's fields, for reusing the previous head's strings.
    const k = trailers ? -1 : this.lines - 1;
    const prev = this.prev;
    const at = 3 * k;
    if (k >= 0 && at < prev.length) {
      const pl = prev[at] as Buffer;
      // The same bytes as the line that passed here last time: its name and value, already checked.
      if (pl.length === cr - s && sameRange(b, s, pl))
        return this.field(b, s, prev[at + 1] as string, prev[at + 2] as string, false);
    }
    const prevName = k >= 0 && at < prev.length ? (prev[at + 1] as string) : "";
    let p = s;
    let name: string;
    if (prevName.length > 0 && b[s + prevName.length] === 58 && sameBytes(b, s, prevName)) {
      name = prevName;
      p = s + prevName.length;
    } else {
      name = "";
      while (TOKEN[b[p]!] === 1) p++;
    }
    if (name === "" && (p === s || b[p] !== 58)) {
      const c = b[s];
      this.fail(
        400,
        "HPE_INVALID_HEADER_TOKEN",
        c === SP || c === HTAB
          ? "Obsolete line folding (a field line starting with whitespace) is not accepted"
          : b[p] === SP || b[p] === HTAB
            ? "Whitespace between a field name and the colon is not allowed"
            : b[p] === CR && b[p + 1] !== LF
              ? "A bare CR is not a line end; HTTP/1.1 lines end with CRLF"
              : p === s && b[p] === 58
                ? `A ${trailers ? "trailer" : "header"} field has an empty name`
                : `A ${trailers ? "trailer" : "header"} field name has invalid characters or no colon`,
      );
      return false;
    }
    if (name === "") name = latin1(b, s, p);
    p++;
    while (b[p] === SP || b[p] === HTAB) p++;
    const vs = p;
    let ve = cr;
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
    while (FIELD_VALUE[b[p]!] === 1) p++;
    if (p !== cr) {
      const c = b[p]!;
      this.fail(
        400,
        "HPE_INVALID_HEADER_TOKEN",
        c === CR
          ? `The "${name}" field contains a bare CR; HTTP/1.1 lines end with CRLF`
          : `The value of the "${name}" field contains the control byte 0x${c.toString(16).padStart(2, "0")} (NUL, CR, LF and other controls are not allowed)`,
      );
      return false;
    }
    const value = latin1(b, vs, ve);
    if (k >= 0) {
      prev[at] = copyRange(b, s, cr);
      prev[at + 1] = name;
      prev[at + 2] = value;
    }
    return this.field(b, s, name, value, trailers);
  }

  /** A checked field line whose name starts at b[s]: into the trailers, or the head and what it means. */
  private field(b: Buffer, s: number, name: string, value: string, trailers: boolean): boolean {
    if (trailers) {
      if (this.trailers === undefined) this.trailers = [];
      this.trailers.push(name, value);
      return true;
    }
    const head = this.head!;
    head.rawHeaders.push(name, value);

    switch (name.length) {
      case 4:
        if (nameIs(b, s, N_HOST)) {
          this.hosts++;
          this.hostField = value;
        }
        break;
      case 6:
        if (this.kind === "request" && nameIs(b, s, N_EXPECT)) {
          if (value.toLowerCase() === "100-continue") {
            // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
            if (head.versionMinor === 1) head.expectContinue = true;
          } else head.unsupportedExpectation = true;
        }
        break;
      case 7:
        if (nameIs(b, s, N_UPGRADE)) this.hasUpgrade = true;
        break;
      case 10:
        if (nameIs(b, s, N_CONNECTION)) this.connectionTokens(value);
        break;
      case 14:
        if (nameIs(b, s, N_CONTENT_LENGTH)) {
          const n = parseContentLength(value);
          if (n < 0) {
            this.fail(
              400,
              "HPE_INVALID_CONTENT_LENGTH",
              `Content-Length must be a decimal number of bytes, not ${JSON.stringify(value.slice(0, 40))}`,
            );
            return false;
          }
          if (head.contentLength >= 0 && (this.kind === "request" || head.contentLength !== n)) {
            this.fail(
              400,
              "HPE_INVALID_CONTENT_LENGTH",
              "Content-Length is sent more than once; send a single Content-Length field",
            );
            return false;
          }
          if (this.kind === "request" && value.indexOf(",") !== -1) {
            this.fail(
              400,
              "HPE_INVALID_CONTENT_LENGTH",
              "Content-Length must be a single number, not a list",
            );
            return false;
          }
          head.contentLength = n;
        }
        break;
      case 17:
        if (nameIs(b, s, N_TRANSFER_ENCODING)) {
          this.te = this.te === undefined ? value : `${this.te}, ${value}`;
        }
        break;
    }
    return true;
  }

  /** Reads the close / keep-alive / upgrade options of a Connection field value. */
  private connectionTokens(value: string): void {
    const v = value.toLowerCase();
    if (v === "close") this.closeToken = true;
    else if (v === "keep-alive") this.keepAliveToken = true;
    else if (v === "upgrade") this.upgradeToken = true;
    else
      for (const t of v.split(",")) {
        const k = trimOws(t);
        if (k === "close") this.closeToken = true;
        else if (k === "keep-alive") this.keepAliveToken = true;
        else if (k === "upgrade") this.upgradeToken = true;
      }
  }

  /** The head's empty line arrived (it ends just before `next`): check the framing and hand it on. */
  private endHead(input: Buffer, next: number): number {
    const head = this.head!;
    this.head = undefined;
    const minor = head.versionMinor;
    head.keepAlive = minor === 1 ? !this.closeToken : this.keepAliveToken && !this.closeToken;
    head.upgrade = this.hasUpgrade && this.upgradeToken;

    if (this.kind === "request") {
      if (this.hosts > 1) {
        this.fail(400, "HPE_DUPLICATE_HOST", "The request has more than one Host field");
        return input.length;
      }
      if (this.hosts === 0 && minor === 1) {
        this.fail(400, "HPE_MISSING_HOST", "HTTP/1.1 requests must have a Host field");
        return input.length;
      }
      if (this.hosts === 1 && this.hostField !== this.validHost) {
        if (!isValidHost(this.hostField)) {
          this.fail(
            400,
            "HPE_INVALID_HOST",
            `The Host field ${JSON.stringify(this.hostField.slice(0, 60))} is not a valid host[:port]`,
          );
          return input.length;
        }
        this.validHost = this.hostField;
      }
      // RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host.
      head.host = this.targetHost ?? this.hostField;
    }

    const te = this.te;
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
      const chunked = transferCodings(te);
      if (this.kind === "request") {
        // The server decodes no transfer coding but chunked, so that is the only one it takes.
        if (chunked === CODINGS_CHUNKED_LAST) {
          // RFC 9112 §6.1: well-formed (chunked is last, so the framing is clear) but with a coding the
          // server doesn't decode, e.g. `gzip, chunked`: 501, not a client error. Anything that leaves
          // the framing in doubt (no final chunked, malformed lists: smuggling material) stays 400.
          this.fail(
            501,
            "HPE_INVALID_TRANSFER_ENCODING",
            `Transfer-Encoding ${JSON.stringify(te.slice(0, 60))} is not supported; only "chunked" alone is`,
          );
          return input.length;
        }
        if (chunked !== CODINGS_CHUNKED_ONLY) {
          this.fail(
            400,
            "HPE_INVALID_TRANSFER_ENCODING",
            chunked === CODINGS_MALFORMED
              ? `Transfer-Encoding ${JSON.stringify(te.slice(0, 60))} is malformed`
              : `Transfer-Encoding ${JSON.stringify(te.slice(0, 60))} doesn't end with "chunked", so the body's length is unknown`,
          );
          return input.length;
        }
        head.chunked = true;
      } else if (chunked === CODINGS_MALFORMED || chunked === CODINGS_CHUNKED_NOT_LAST) {
        this.fail(
          400,
          "HPE_INVALID_TRANSFER_ENCODING",
          `Transfer-Encoding ${JSON.stringify(te.slice(0, 60))} is malformed or has chunked before another coding`,
        );
        return input.length;
      } else if (chunked === CODINGS_NOT_CHUNKED) {
        // A response whose final coding is not chunked is read until the connection closes.
        head.keepAlive = false;
      } else {
        head.chunked = true;
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; close after this message.
        if (minor === 0) head.keepAlive = false;
      }
    }

    const lim = this.limits;
    if (head.contentLength > lim.maxBodyBytes) {
      this.fail(
        413,
        "HPE_BODY_TOO_LARGE",
        `The body (Content-Length: ${head.contentLength}) is larger than the limit of ${lim.maxBodyBytes} bytes (maxBodyBytes)`,
      );
      return input.length;
    }

    // What the body of a response is, decided before the head is handed on so that it tells the truth.
    let bodyless = false;
    let untilClose = false;
    const st = head.status;
    if (this.kind === "response" && st >= 200) {
      if (this.noBody || st === 204 || st === 304) {
        bodyless = true;
        head.chunked = false;
      } else if (!head.chunked && head.contentLength < 0) {
        untilClose = true;
        head.keepAlive = false;
      }
    }

    this.lastMessage = !head.keepAlive;
    this.switchAfter = this.kind === "request" && (head.upgrade || head.method === "CONNECT");
    this.handler.onHead(head);
    if (this.state === State.Dead) return input.length;

    if (this.kind === "response") {
      this.awaitingFinal = false;
      if (st < 200) {
        if (st === 101) {
          this.state = State.Upgraded;
          this.paused = input.subarray(next);
          return input.length;
        }
        // Interim response: the real one follows.
        this.awaitingFinal = true;
        return next;
      }
      if (bodyless) return this.complete(input, next, undefined);
      if (untilClose) {
        this.bodyBytes = 0;
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

  /** Reads "HTTP/x.y" at b[p]; returns the minor version as read (0 or 1; 1.2+ is 1) or -1 after failing. */
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
      this.fail(
        400,
        "HPE_INVALID_VERSION",
        request
          ? "The request line must end with an HTTP version such as HTTP/1.1"
          : "The response does not start with an HTTP version such as HTTP/1.1",
      );
      return -1;
    }
    if (request && b[p + 9] !== LF) {
      this.fail(400, "HPE_INVALID_VERSION", "The request line must end with CRLF");
      return -1;
    }
    // RFC 9112 §2.3 (and RFC 9110 §2.5): a higher minor version of HTTP/1 is read as the highest we
    // implement, HTTP/1.1 (its framing, keep-alive and Host rules; our answers say HTTP/1.1).
    if (major === 1) return minor === 0 ? 0 : 1;
    if (major === 0 || major === 2) {
      this.fail(400, "HPE_INVALID_VERSION", `HTTP/${major}.${minor} does not use HTTP/1 message syntax`);
      return -1;
    }
    this.fail(505, "HPE_VERSION_NOT_SUPPORTED", `HTTP/${major}.${minor} is not supported; use HTTP/1.1`);
    return -1;
  }

  /** Checks the request-target form (RFC 9112 §3.2) and takes the authority of absolute-form. */
  private checkTarget(head: MessageHead): boolean {
    const t = head.target;
    if (head.method === "CONNECT") {
      // authority-form = uri-host ":" port
      const colon = t.lastIndexOf(":");
      if (colon > 0 && colon < t.length - 1 && t.charCodeAt(0) !== 0x2f && isValidHost(t)) return true;
      this.fail(400, "HPE_INVALID_URL", "CONNECT needs an authority-form target (host:port)");
      return false;
    }
    const c = t.charCodeAt(0);
    if (c === 0x2f) return true; // origin-form
    if (t === "*") {
      if (head.method === "OPTIONS") return true;
      this.fail(400, "HPE_INVALID_URL", "The asterisk-form target (*) is only for OPTIONS");
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
          this.targetHost = authority;
          return true;
        }
      }
    }
    this.fail(
      400,
      "HPE_INVALID_URL",
      "The request target must be a path (/…), an http(s) URL without userinfo, or * for OPTIONS",
    );
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
            // Leading zeros don't count: 13 significant hex digits stay below 2^53.
            if (this.remaining >= 0x1000000000000) {
              this.fail(400, "HPE_INVALID_CHUNK_SIZE", "The chunk size is too large (over 13 hex digits)");
              return len;
            }
            this.remaining = this.remaining * 16 + d;
            this.chunkDigits++;
          } else if (this.chunkDigits === 0) {
            this.fail(400, "HPE_INVALID_CHUNK_SIZE", "A chunk size must start with a hex digit");
            return len;
          } else if (c === CR) {
            if (this.chunkExtSpace) {
              this.fail(
                400,
                "HPE_INVALID_CHUNK_SIZE",
                "Whitespace after a chunk size must lead to an extension (;)",
              );
              return len;
            }
            this.state = State.ChunkSizeLf;
          } else if (c === SP || c === HTAB) {
            this.chunkExtSpace = true;
          } else if (c === 0x3b) {
            this.state = State.ChunkExt;
            this.extState = EXT_BEFORE_NAME;
          } else {
            this.fail(
              400,
              "HPE_INVALID_CHUNK_SIZE",
              "The chunk size has invalid characters (hex digits only)",
            );
            return len;
          }
          break;
        }
        case State.ChunkExt: {
          // Extensions are ignored, but they must follow the grammar (RFC 9112 §7.1.1) and are bounded.
          const s = chunkExtStep(this.extState, c);
          if (s === EXT_END) this.state = State.ChunkSizeLf;
          else if (s === EXT_BAD) {
            this.fail(400, "HPE_INVALID_CHUNK_EXTENSIONS", "A chunk extension is malformed");
            return len;
          } else this.extState = s;
          break;
        }
        case State.ChunkSizeLf: {
          if (c !== LF) {
            this.fail(400, "HPE_STRICT", "A chunk-size line must end with CRLF");
            return len;
          }
          pos++;
          const size = this.remaining;
          this.bodyBytes += size;
          if (this.bodyBytes > this.limits.maxBodyBytes) {
            this.fail(
              413,
              "HPE_BODY_TOO_LARGE",
              `The chunked body is larger than the limit of ${this.limits.maxBodyBytes} bytes (maxBodyBytes)`,
            );
            return len;
          }
          if (size === 0) {
            this.state = State.Trailers;
            this.seen = 0;
            this.lines = 0;
            this.lastWasCr = false;
            this.trailers = undefined;
          } else {
            this.state = State.ChunkData;
          }
          return pos;
        }
        case State.ChunkDataCr:
          if (c !== CR) {
            this.fail(
              400,
              "HPE_STRICT",
              "Chunk data must be followed by CRLF (the chunk is longer than its size)",
            );
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
        this.fail(
          400,
          "HPE_CHUNK_EXTENSIONS_OVERFLOW",
          "A chunk-size line (with its extensions) is longer than the limit (maxChunkLineBytes)",
        );
        return len;
      }
    }
    return pos;
  }

  /** The trailer section ended just before `next`: complete the message. */
  private endTrailers(input: Buffer, next: number): number {
    const trailers = this.trailers;
    this.trailers = undefined;
    return this.complete(input, next, trailers);
  }

  private complete(input: Buffer, next: number, trailers: string[] | undefined): number {
    this.state = State.Head;
    this.noBody = false;
    const pause = this.handler.onComplete(trailers);
    if ((this.state as State) === State.Dead) return input.length;
    if (this.lastMessage) {
      // Nothing after a message that ends the connection is read (RFC 9112 §9.6).
      this.lastMessage = false;
      this.state = State.Closed;
      return input.length;
    }
    if (pause === true || this.switchAfter) {
      this.switchAfter = false;
      this.state = State.Paused;
      this.paused = next < input.length ? input.subarray(next) : EMPTY;
      return input.length;
    }
    return next;
  }
}

// Chunk-extension states: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
const EXT_BEFORE_NAME = 0;
const EXT_NAME = 1;
const EXT_AFTER_NAME = 2;
const EXT_BEFORE_VALUE = 3;
const EXT_TOKEN = 4;
const EXT_QUOTED = 5;
const EXT_QUOTED_PAIR = 6;
const EXT_AFTER_VALUE_WS = 7;
const EXT_AFTER_QUOTE = 8;
const EXT_END = -1;
const EXT_BAD = -2;

/** One byte of a chunk extension: the next state, EXT_END at the CR, EXT_BAD when malformed. */
function chunkExtStep(s: number, c: number): number {
  const ws = c === SP || c === HTAB;
  switch (s) {
    case EXT_BEFORE_NAME:
      return ws ? s : TOKEN[c] === 1 ? EXT_NAME : EXT_BAD;
    case EXT_NAME:
      if (TOKEN[c] === 1) return s;
      if (c === CR) return EXT_END;
      if (c === 0x3b) return EXT_BEFORE_NAME;
      if (c === 0x3d) return EXT_BEFORE_VALUE;
      return ws ? EXT_AFTER_NAME : EXT_BAD;
    case EXT_AFTER_NAME:
      if (ws) return s;
      if (c === 0x3b) return EXT_BEFORE_NAME;
      return c === 0x3d ? EXT_BEFORE_VALUE : EXT_BAD;
    case EXT_BEFORE_VALUE:
      if (ws) return s;
      if (c === 0x22) return EXT_QUOTED;
      return TOKEN[c] === 1 ? EXT_TOKEN : EXT_BAD;
    case EXT_TOKEN:
      if (TOKEN[c] === 1) return s;
      if (c === CR) return EXT_END;
      if (c === 0x3b) return EXT_BEFORE_NAME;
      return ws ? EXT_AFTER_VALUE_WS : EXT_BAD;
    case EXT_QUOTED:
      if (c === 0x22) return EXT_AFTER_QUOTE;
      if (c === 0x5c) return EXT_QUOTED_PAIR;
      return FIELD_VALUE[c] === 1 ? s : EXT_BAD; // qdtext: HTAB, SP, VCHAR but DQUOTE and \, obs-text
    case EXT_QUOTED_PAIR:
      return FIELD_VALUE[c] === 1 ? EXT_QUOTED : EXT_BAD;
    case EXT_AFTER_QUOTE:
      if (c === CR) return EXT_END;
      if (c === 0x3b) return EXT_BEFORE_NAME;
      return ws ? EXT_AFTER_VALUE_WS : EXT_BAD;
    case EXT_AFTER_VALUE_WS:
      if (ws) return s;
      return c === 0x3b ? EXT_BEFORE_NAME : EXT_BAD;
    default:
      return EXT_BAD;
  }
}

/** Trims optional whitespace (SP and HTAB only: String#trim would also eat NBSP and other Unicode). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === SP || s.charCodeAt(a) === HTAB)) a++;
  while (b > a && (s.charCodeAt(b - 1) === SP || s.charCodeAt(b - 1) === HTAB)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
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

const CODINGS_CHUNKED_ONLY = 0;
const CODINGS_CHUNKED_LAST = 1;
const CODINGS_NOT_CHUNKED = 2;
const CODINGS_CHUNKED_NOT_LAST = 3;
const CODINGS_MALFORMED = 4;

/**
 * Classifies a Transfer-Encoding list: exactly `chunked`, other codings then `chunked`, no `chunked`,
 * `chunked` before another coding (or twice), or malformed (empty elements, non-token codings,
 * parameters on chunked). Only SP and HTAB count as whitespace.
 */
function transferCodings(te: string): number {
  const list = te.split(",");
  const n = list.length;
  let chunkedAt = -1;
  for (let i = 0; i < n; i++) {
    const raw = trimOws(list[i]!);
    const semi = raw.indexOf(";");
    const coding = (semi === -1 ? raw : trimOws(raw.slice(0, semi))).toLowerCase();
    if (!isToken(coding)) return CODINGS_MALFORMED;
    if (coding === "chunked") {
      if (chunkedAt >= 0 || semi !== -1) return CODINGS_MALFORMED;
      chunkedAt = i;
    }
  }
  if (chunkedAt < 0) return CODINGS_NOT_CHUNKED;
  if (chunkedAt !== n - 1) return CODINGS_CHUNKED_NOT_LAST;
  return n === 1 ? CODINGS_CHUNKED_ONLY : CODINGS_CHUNKED_LAST;
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
