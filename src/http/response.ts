// A response on the wire: status line and fields written with a small body in one write,
// Content-Length when the body is known, chunked when it is streamed, backpressure on streams.

import { httpDateLine } from "./date.ts";
import { assertValidField, sameFieldName } from "./fields.ts";
import type { IncomingRequest } from "./request.ts";
import { STATUS_TEXT } from "./status.ts";

/** What a response needs from its connection. */
export interface ResponseSink {
  /** Bytes for the socket, in this response's turn. Returns false while the socket is congested. */
  send(res: ServerResponse, data: Buffer | string, last: boolean): boolean;
  /** A head and a whole body that is too big to copy next to it: both at once (one writev), then done. */
  sendHeadAndBody(res: ServerResponse, head: string, body: Buffer): void;
  /** Resolves when `res` may write again (its turn came and the socket drained, or it was closed). */
  drain(res: ServerResponse): Promise<void>;
  /** Decides, as the head is written, whether the connection stays open after this response. */
  keepAliveAfter(res: ServerResponse): boolean;
  /** The fields that end a kept-alive head: `Connection: keep-alive` (and the `Keep-Alive` hint), CRLF. */
  readonly keepAliveFields: string;
}

/** A header value an app may give: numbers are written in decimal; arrays repeat the field. */
export type HeaderValue = string | number | readonly string[];
/** Fields for `writeHead`: a record, a list of pairs, or a flat list name, value, name, value … */
export type OutgoingHeaders =
  | Readonly<Record<string, HeaderValue>>
  | readonly (readonly [string, string])[]
  | readonly string[];

enum Phase {
  Idle = 0,
  Streaming = 1,
  Done = 2,
}

const RESOLVED: Promise<void> = Promise.resolve();
const CRLF = "\r\n";
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");
/** ASCII string bodies up to this size go out with the head as one string (the socket encodes it). */
const ONE_WRITE_MAX = 64 * 1024;
/** Byte bodies up to this size are copied next to the head; larger ones go with it in one writev. */
const COPY_MAX = 16 * 1024;
/** Streamed pieces up to this size are copied into one buffer with their chunk framing (and a held head). */
const COALESCE_MAX = 16 * 1024;

/** Status lines with the standard reason, built once per status code. */
const STATUS_LINE: (string | undefined)[] = [];
function statusLine(status: number): string {
  const line = `HTTP/1.1 ${status} ${STATUS_TEXT[status] || "Unknown"}\r\n`;
  STATUS_LINE[status] = line;
  return line;
}

/** The fields of a response that has none yet: shared and frozen (the first field replaces it). */
const NO_FIELDS: string[] = Object.freeze([]) as unknown as string[];

/** A recent head: what made it, and the head itself with and without its connection fields. */
class HeadMemo {
  status = 0;
  len = -1;
  date = "";
  fields: string[] = [];
  conn = "";
  head = "";
  start = "";
}

/**
 * Recent heads by body length and field count. A server sends the same head again and again (the same
 * route's fields, within the same second): comparing the parts costs less than writing the head anew.
 */
const HEAD_MEMO: HeadMemo[] = Array.from({ length: 8 }, () => new HeadMemo());

/** Set by `startHead`: the head had no reason phrase and no fields the wire acts on (framing, Date). */
let plainHead = false;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ServerResponse {
  statusCode = 200;
  /** Reason phrase; the standard one for the status when empty. */
  statusMessage = "";
  readonly request: IncomingRequest;
  /** @internal */ readonly sink: ResponseSink;
  /** Fields, flattened: name, value, name, value … */
  private fields: string[] = NO_FIELDS;
  private phase: Phase = Phase.Idle;
  private chunkedOut = false;
  private declaredLength = -1;
  private written = 0;
  /** The head of a streamed response, held back to go out with the first body bytes. */
  private pendingHead: string | undefined;
  /** @internal the connection closes after this response. */ closeAfter = false;
  /** @internal the client went away; writes are dropped. */ gone = false;
  /** @internal bytes waiting for this response's turn. */ queued: (Buffer | string)[] | undefined;
  /** @internal the last queued piece ends the response. */ queuedLast = false;
  /** @internal when the head was parsed (performance.now()), only with an `onResponse` hook. */ startedAt = 0;
  /** @internal `onResponse` was told about this response. */ reported = false;
  /** @internal resolves a writer waiting for its turn or for the socket to drain. */ drainWaiter:
    | ((v: undefined) => void)
    | undefined;

  constructor(request: IncomingRequest, sink: ResponseSink) {
    this.request = request;
    this.sink = sink;
  }

  /** True once the status line and fields were written. */
  get headersSent(): boolean {
    return this.phase !== Phase.Idle;
  }

  /** True once `end()` was called. */
  get finished(): boolean {
    return this.phase === Phase.Done;
  }

  /** Body bytes written so far (without the head or chunk framing). */
  get bodyBytes(): number {
    return this.written;
  }

  /** True when the client went away before the response was complete. */
  get closed(): boolean {
    return this.gone;
  }

  /** Sets a field, replacing any of the same name (case-insensitive). Throws on CR/LF and other bad bytes. */
  setHeader(name: string, value: HeaderValue): this {
    if (this.fields.length > 0) this.removeHeader(name);
    return this.appendHeader(name, value);
  }

  /** Adds a field, keeping any of the same name. */
  appendHeader(name: string, value: HeaderValue): this {
    if (this.phase !== Phase.Idle)
      throw new Error(`Can't set header "${name}": the headers were already sent`);
    if (typeof value === "string") {
      assertValidField(name, value);
      this.push(name, value);
    } else if (typeof value === "number") {
      const v = String(value);
      assertValidField(name, v);
      this.push(name, v);
    } else {
      for (const v of value) {
        assertValidField(name, v);
        this.push(name, v);
      }
    }
    return this;
  }

  /** Adds a checked field; the first one makes the list (of its size: most responses have few fields). */
  private push(name: string, value: string): void {
    if (this.fields === NO_FIELDS) this.fields = [name, value];
    else this.fields.push(name, value);
  }

  /**
   * @internal Adds a field whose name and value were already checked (the framework's `Headers`
   * validates every field as it is set), so the writer doesn't check each one twice.
   */
  appendCheckedHeader(name: string, value: string): void {
    if (this.phase !== Phase.Idle)
      throw new Error(`Can't set header "${name}": the headers were already sent`);
    this.push(name, value);
  }

  /**
   * @internal Takes a list of checked fields (name, value, …) as this response's fields, without a copy,
   * when none were set yet (else appends them). The framework hands over its Response's fields as it
   * writes them; the list must not change afterwards.
   */
  adoptCheckedHeaders(fields: string[]): void {
    if (this.phase !== Phase.Idle) throw new Error("Can't set headers: the headers were already sent");
    if (this.fields.length === 0) this.fields = fields;
    else for (let i = 0; i < fields.length; i += 2) this.push(fields[i]!, fields[i + 1]!);
  }

  getHeader(name: string): string | undefined {
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) if (sameFieldName(f[i]!, name)) return f[i + 1];
    return undefined;
  }

  hasHeader(name: string): boolean {
    return this.getHeader(name) !== undefined;
  }

  removeHeader(name: string): this {
    const f = this.fields;
    for (let i = f.length - 2; i >= 0; i -= 2) if (sameFieldName(f[i]!, name)) f.splice(i, 2);
    return this;
  }

  /** The fields set so far, flattened. */
  getRawHeaders(): readonly string[] {
    return this.fields === NO_FIELDS ? [] : this.fields;
  }

  /** Sets the status and adds fields. The head itself goes out with the first body bytes or `end()`. */
  writeHead(status: number, headers?: OutgoingHeaders): this {
    if (this.phase !== Phase.Idle) throw new Error("writeHead() after the headers were sent");
    this.statusCode = status;
    if (headers !== undefined) {
      if (Array.isArray(headers)) {
        if (headers.length > 0 && typeof headers[0] === "string") {
          const flat = headers as readonly string[];
          if (flat.length % 2 !== 0) {
            throw new TypeError("writeHead(): a flat header list needs name, value pairs (odd length given)");
          }
          for (let i = 0; i < flat.length; i += 2) this.appendHeader(flat[i]!, flat[i + 1]!);
        } else {
          for (const pair of headers as readonly (readonly [string, string])[])
            this.appendHeader(pair[0], pair[1]);
        }
      } else {
        const rec = headers as Readonly<Record<string, HeaderValue>>;
        for (const k in rec) this.appendHeader(k, rec[k]!);
      }
    }
    return this;
  }

  /**
   * Sends the whole response: status, fields and body in one write when small.
   * A string body is UTF-8. Without a body, `Content-Length: 0` (unless the status forbids a body).
   */
  end(body?: string | Uint8Array): void {
    if (this.phase === Phase.Done) return;
    if (this.phase === Phase.Streaming) {
      if (body !== undefined && body.length > 0) this.writeChunk(body);
      this.finishStream();
      return;
    }
    if (this.gone) {
      this.phase = Phase.Done;
      return;
    }
    const req = this.request;
    const status = this.statusCode;
    const bodyless = req.method === "HEAD" || status === 204 || status === 304 || status < 200;
    let data: Buffer | undefined;
    let len = 0;
    if (body !== undefined) {
      if (typeof body === "string") {
        len = Buffer.byteLength(body, "utf8");
      } else {
        len = body.byteLength;
      }
    }
    let head: string;
    // The common head (a body, no framing fields of the app's): the same as a recent one when its
    // status, fields, length, date and connection fields are.
    const memo = body !== undefined && !bodyless && this.statusMessage === "";
    const m = HEAD_MEMO[(len + this.fields.length) & (HEAD_MEMO.length - 1)]!;
    const date = httpDateLine();
    if (memo && m.status === status && m.len === len && m.date === date && sameList(m.fields, this.fields)) {
      const conn = this.connectionFields();
      head = conn === m.conn ? m.head : m.start + conn;
      this.phase = Phase.Done;
    } else {
      // May throw (a bad status or reason): the response is then still open for an error page.
      head = this.startHead();
      this.phase = Phase.Done;
      if (status !== 204 && status >= 200 && !(status === 304 && body === undefined)) {
        if (body === undefined && req.method === "HEAD" && this.declaredLength >= 0) {
          head += `Content-Length: ${this.declaredLength}\r\n`;
        } else if (!(status === 304 && len === 0)) {
          head += `Content-Length: ${len}\r\n`;
        }
      }
      const conn = this.connectionFields();
      if (memo && plainHead) {
        m.status = status;
        m.len = len;
        m.date = date;
        m.fields = this.fields.slice();
        m.conn = conn;
        m.start = head;
        m.head = head + conn;
      }
      head += conn;
    }
    if (!bodyless) this.written = len;
    if (bodyless || len === 0) {
      this.sink.send(this, head, true);
      return;
    }
    if (typeof body === "string" && len === body.length && len <= ONE_WRITE_MAX) {
      // An ASCII body is the same bytes in Latin-1 and UTF-8, so head and body go as one Latin-1
      // string, which the socket encodes straight into its write (no Buffer allocated and filled here).
      this.sink.send(this, head + body, true);
      return;
    }
    if (len <= COPY_MAX) {
      const hlen = head.length;
      data = Buffer.allocUnsafe(hlen + len);
      data.write(head, 0, hlen, "latin1");
      if (typeof body === "string") data.write(body, hlen, len, "utf8");
      else data.set(body!, hlen);
      this.sink.send(this, data, true);
      return;
    }
    this.sink.sendHeadAndBody(
      this,
      head,
      typeof body === "string" ? Buffer.from(body, "utf8") : toBuffer(body!),
    );
  }

  /**
   * Streams a piece of the body; the head goes first. Without a Content-Length field the body is
   * chunked (HTTP/1.1) or delimited by closing the connection (HTTP/1.0).
   * Resolves when more may be written (backpressure); never rejects — check `closed`.
   */
  write(chunk: string | Uint8Array): Promise<void> {
    if (this.phase === Phase.Done) throw new Error("write() after end()");
    if (this.phase === Phase.Idle) this.startStream();
    if (this.gone) return RESOLVED;
    if (chunk.length === 0) {
      // An empty write sends the head now (e.g. to open an event stream before the first event).
      const head = this.pendingHead;
      if (head === undefined) return RESOLVED;
      this.pendingHead = undefined;
      return this.sink.send(this, head, false) ? RESOLVED : this.sink.drain(this);
    }
    return this.writeChunk(chunk) ? RESOLVED : this.sink.drain(this);
  }

  /** Writes `100 Continue`-style interim responses is the connection's job; this sends 103 Early Hints. */
  writeEarlyHints(links: readonly string[]): void {
    if (this.phase !== Phase.Idle || this.gone || this.request.httpVersion === "1.0") return;
    let s = "HTTP/1.1 103 Early Hints\r\n";
    for (const l of links) {
      assertValidField("Link", l);
      s += `Link: ${l}\r\n`;
    }
    this.sink.send(this, `${s}\r\n`, false);
  }

  /** @internal forgets the fields and status so that an error response can take this one's place. */
  reset(status: number): void {
    this.fields = NO_FIELDS;
    this.statusCode = status;
    this.statusMessage = "";
    this.declaredLength = -1;
  }

  private startHead(): string {
    const status = this.statusCode;
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new RangeError(`Invalid status code ${status}: use an integer from 100 to 999`);
    }
    let head: string;
    if (this.statusMessage) {
      assertValidField("Reason-Phrase", this.statusMessage);
      head = `HTTP/1.1 ${status} ${this.statusMessage}\r\n`;
    } else {
      head = STATUS_LINE[status] ?? statusLine(status);
    }
    const f = this.fields;
    let hasDate = false;
    plainHead = !this.statusMessage;
    for (let i = 0; i < f.length; i += 2) {
      const name = f[i]!;
      const n = name.length;
      // Framing fields are ours to write: an app's Content-Length is kept only as a declaration.
      if (n === 14 && name.toLowerCase() === "content-length") {
        const v = f[i + 1]!;
        const len = Number(v);
        if (v.length === 0 || !Number.isSafeInteger(len) || len < 0 || v.charCodeAt(0) > 0x39) {
          throw new TypeError(`Invalid Content-Length ${JSON.stringify(v)}: use a non-negative integer`);
        }
        this.declaredLength = len;
        plainHead = false;
        continue;
      }
      if (n === 17 && name.toLowerCase() === "transfer-encoding") {
        plainHead = false;
        continue;
      }
      if (n === 10 && name.toLowerCase() === "connection") {
        if (f[i + 1]!.toLowerCase().includes("close")) this.closeAfter = true;
        plainHead = false;
        continue;
      }
      if (n === 10 && name.toLowerCase() === "keep-alive") {
        plainHead = false;
        continue;
      }
      if (n === 4 && name.toLowerCase() === "date") {
        hasDate = true;
        plainHead = false;
      }
      head += `${name}: ${f[i + 1]}\r\n`;
    }
    if (!hasDate) head += httpDateLine();
    return head;
  }

  private connectionFields(): string {
    const keep = this.sink.keepAliveAfter(this);
    if (!keep) {
      this.closeAfter = true;
      return "Connection: close\r\n\r\n";
    }
    return this.sink.keepAliveFields;
  }

  private startStream(): void {
    if (this.gone) {
      this.phase = Phase.Streaming;
      return;
    }
    const req = this.request;
    const status = this.statusCode;
    let head = this.startHead();
    this.phase = Phase.Streaming;
    const bodyless = req.method === "HEAD" || status === 204 || status === 304 || status < 200;
    if (!bodyless) {
      if (this.declaredLength >= 0) {
        head += `Content-Length: ${this.declaredLength}\r\n`;
      } else if (req.httpVersion === "1.1") {
        head += "Transfer-Encoding: chunked\r\n";
        this.chunkedOut = true;
      } else {
        // HTTP/1.0 without a length: the body ends when the connection closes.
        this.closeAfter = true;
      }
    } else if (this.declaredLength >= 0 && req.method === "HEAD") {
      head += `Content-Length: ${this.declaredLength}\r\n`;
    }
    head += this.closeAfter ? "Connection: close\r\n\r\n" : this.connectionFields();
    // Held back to leave with the first body bytes, in one write.
    this.pendingHead = head;
  }

  private writeChunk(chunk: string | Uint8Array): boolean {
    if (this.gone) return true;
    const req = this.request;
    const status = this.statusCode;
    if (req.method === "HEAD" || status === 204 || status === 304) return true;
    const data = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : toBuffer(chunk);
    if (this.declaredLength >= 0 && this.written + data.length > this.declaredLength) {
      throw new Error(
        `The response body is longer than its Content-Length (${this.declaredLength}); remove the field or fix it`,
      );
    }
    const n = data.length;
    this.written += n;
    const head = this.pendingHead;
    this.pendingHead = undefined;
    if (this.chunkedOut) {
      const size = n.toString(16);
      if (n <= COALESCE_MAX) {
        // One buffer: [head] size CRLF data CRLF.
        const hl = head === undefined ? 0 : head.length;
        const out = Buffer.allocUnsafe(hl + size.length + n + 4);
        let o = hl === 0 ? 0 : out.write(head!, 0, hl, "latin1");
        o += out.write(size, o, size.length, "latin1");
        out[o++] = 13;
        out[o++] = 10;
        o += data.copy(out, o);
        out[o++] = 13;
        out[o] = 10;
        return this.sink.send(this, out, false);
      }
      this.sink.send(this, head === undefined ? `${size}${CRLF}` : `${head}${size}${CRLF}`, false);
      this.sink.send(this, data, false);
      return this.sink.send(this, CRLF, false);
    }
    if (head === undefined) return this.sink.send(this, data, false);
    if (n <= COALESCE_MAX) {
      const hl = head.length;
      const out = Buffer.allocUnsafe(hl + n);
      out.write(head, 0, hl, "latin1");
      data.copy(out, hl);
      return this.sink.send(this, out, false);
    }
    this.sink.send(this, head, false);
    return this.sink.send(this, data, false);
  }

  private finishStream(): void {
    this.phase = Phase.Done;
    if (this.gone) return;
    const head = this.pendingHead;
    this.pendingHead = undefined;
    if (this.chunkedOut) {
      this.sink.send(this, head === undefined ? LAST_CHUNK : `${head}0\r\n\r\n`, true);
      return;
    }
    if (
      this.declaredLength >= 0 &&
      this.written !== this.declaredLength &&
      this.request.method !== "HEAD" &&
      this.statusCode !== 304 &&
      this.statusCode !== 204
    ) {
      // The body is shorter than announced: the framing is broken, so the connection must go.
      this.closeAfter = true;
    }
    this.sink.send(this, head ?? "", true);
  }
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
