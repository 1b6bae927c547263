// A response: status, headers and a body that arrives as the connection reads it. The body can be
// read whole (`text()`, `json()`, `bytes()`) or streamed (`for await (const chunk of res)`), once.
// gzip, deflate and br bodies are decoded when the client's `decompress` is on.

import { pipeline, Readable } from "node:stream";
import {
  brotliDecompress,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createInflateRaw,
  gunzip,
  inflate,
  inflateRaw,
} from "node:zlib";
import type { MessageHead } from "../http/parser.ts";
import { ClientError, DecodeError, ResponseTooLargeError } from "./errors.ts";
import { ResponseHeaders } from "./headers.ts";

/** Unread bytes buffered for a streaming reader before the socket stops being read. */
const HIGH_WATER = 256 * 1024;
const EMPTY = Buffer.alloc(0);

/** How the body is being consumed. */
enum Mode {
  None = 0,
  Stream = 1,
  Collect = 2,
}

/** What a response needs from its connection. */
export interface BodyControl {
  /** The reader fell behind: stop reading the socket. */
  pause(): void;
  /** The reader caught up. */
  resume(): void;
  /** The reader gave up on the body: the connection can't be reused. */
  cancel(): void;
}

type Coding = "gzip" | "deflate" | "br" | undefined;

function codingOf(headers: ResponseHeaders): Coding {
  const v = headers.get("content-encoding");
  if (v === undefined) return undefined;
  const c = v.trim().toLowerCase();
  if (c === "gzip" || c === "x-gzip") return "gzip";
  if (c === "deflate") return "deflate";
  if (c === "br") return "br";
  return undefined;
}

export class ClientResponse implements AsyncIterable<Buffer> {
  /** Status code, e.g. 200. */
  readonly status: number;
  /** Reason phrase as sent (may be empty). */
  readonly statusText: string;
  /** "1.1" or "1.0". */
  readonly httpVersion: string;
  /** The URL that answered, after redirects. */
  readonly url: string;
  /** True when at least one redirect was followed. */
  redirected = false;
  /** Trailer fields of a chunked body, once it has been read. */
  trailers: ResponseHeaders | undefined;

  private readonly rawHeaders: string[];
  private headerView: ResponseHeaders | undefined;
  /** @internal */ chunks: Buffer[] = [];
  /** @internal */ buffered = 0;
  /** @internal */ received = 0;
  /** @internal */ done = false;
  /** @internal */ error: Error | undefined;
  private waiter: ((v: undefined) => void) | undefined;
  private mode: Mode = Mode.None;
  private paused = false;
  private used = false;
  private control: BodyControl | undefined;
  /** @internal */ readonly maxBytes: number;
  /** @internal called once when the body is complete, failed or cancelled. */ onSettled:
    | (() => void)
    | undefined;
  private readonly decode: boolean;

  /** @internal */
  constructor(
    head: MessageHead,
    url: string,
    control: BodyControl | undefined,
    maxBytes: number,
    decode: boolean,
  ) {
    this.status = head.status;
    this.statusText = head.statusText;
    this.httpVersion = head.versionMinor === 1 ? "1.1" : "1.0";
    this.rawHeaders = head.rawHeaders;
    this.url = url;
    this.control = control;
    this.maxBytes = maxBytes;
    this.decode = decode;
  }

  /** Response headers, read case-insensitively. */
  get headers(): ResponseHeaders {
    if (this.headerView === undefined) this.headerView = new ResponseHeaders(this.rawHeaders);
    return this.headerView;
  }

  /** True for 2xx statuses. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** True once the body has been read (or cancelled); it can be read only once. */
  get bodyUsed(): boolean {
    return this.used;
  }

  // --- fed by the connection -------------------------------------------------------------------

  /** @internal */
  push(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.received > this.maxBytes) {
      this.fail(new ResponseTooLargeError(this.maxBytes));
      this.control?.cancel();
      return;
    }
    if (this.mode === Mode.None && this.used) return; // cancelled: drop
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.mode !== Mode.Collect && this.buffered > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.control?.pause();
    }
    if (this.mode === Mode.Stream) this.wake();
  }

  /** @internal */
  end(trailers: string[] | undefined): void {
    if (this.done) return;
    this.done = true;
    this.control = undefined;
    if (trailers !== undefined) this.trailers = new ResponseHeaders(trailers);
    this.settle();
    this.wake();
  }

  /** @internal */
  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    this.control = undefined;
    this.settle();
    this.wake();
  }

  private settle(): void {
    const f = this.onSettled;
    if (f !== undefined) {
      this.onSettled = undefined;
      f();
    }
  }

  private wake(): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w(undefined);
    }
  }

  private wait(): Promise<undefined> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  private claim(mode: Mode): void {
    if (this.used) throw new TypeError("The response body was already read; it can be read only once");
    this.used = true;
    this.mode = mode;
  }

  // --- reading ---------------------------------------------------------------------------------

  /** The raw (still encoded) body, whole. */
  private async collect(): Promise<Buffer> {
    this.claim(Mode.Collect);
    if (this.paused) {
      this.paused = false;
      this.control?.resume();
    }
    while (!this.done) await this.wait();
    if (this.error !== undefined) throw this.error;
    const c = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    return c.length === 1 ? c[0]! : c.length === 0 ? EMPTY : Buffer.concat(c);
  }

  /** The body as bytes, decoded. */
  async bytes(): Promise<Buffer> {
    const raw = await this.collect();
    const coding = this.decode ? codingOf(this.headers) : undefined;
    if (coding === undefined || raw.length === 0) return raw;
    return decodeWhole(raw, coding, this.maxBytes);
  }

  /** The body as an ArrayBuffer (for fetch-style code). */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.bytes();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  /** The body as UTF-8 text (a leading BOM is dropped). */
  async text(): Promise<string> {
    const b = await this.bytes();
    const start = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    return b.toString("utf8", start);
  }

  /** The body parsed as JSON. A body that does not parse is a `DecodeError` quoting its start. */
  async json<T = unknown>(): Promise<T> {
    const t = await this.text();
    try {
      return JSON.parse(t) as T;
    } catch (e) {
      const snippet = t.length > 80 ? `${t.slice(0, 80)}…` : t;
      throw new DecodeError(
        `The response body of ${this.url} (status ${this.status}) is not valid JSON: ${JSON.stringify(snippet)}`,
        e,
      );
    }
  }

  /** Discards the body. If it is not complete yet the connection is closed rather than drained. */
  async cancel(): Promise<void> {
    if (this.used) return;
    this.used = true;
    this.mode = Mode.None;
    this.chunks = [];
    this.buffered = 0;
    if (!this.done) {
      const c = this.control;
      this.control = undefined;
      this.done = true;
      this.settle();
      c?.cancel();
    }
  }

  /** The body as an async iterable of decoded chunks (same as iterating the response). */
  get body(): AsyncIterable<Buffer> {
    return { [Symbol.asyncIterator]: () => this[Symbol.asyncIterator]() };
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.claim(Mode.Stream);
    const coding = this.decode ? codingOf(this.headers) : undefined;
    const raw = this.rawChunks();
    return coding === undefined ? raw : decodeStream(raw, coding, this.maxBytes);
  }

  private async *rawChunks(): AsyncGenerator<Buffer, void, undefined> {
    try {
      for (;;) {
        if (this.chunks.length > 0) {
          const c = this.chunks;
          this.chunks = [];
          this.buffered = 0;
          if (this.paused) {
            this.paused = false;
            this.control?.resume();
          }
          for (const chunk of c) yield chunk;
          continue;
        }
        if (this.error !== undefined) throw this.error;
        if (this.done) return;
        await this.wait();
      }
    } finally {
      if (!this.done) {
        // The reader stopped early (break or throw): the rest of the body is unwanted.
        this.mode = Mode.None;
        const c = this.control;
        this.control = undefined;
        this.done = true;
        this.settle();
        c?.cancel();
      }
    }
  }
}

function decodeWhole(raw: Buffer, coding: "gzip" | "deflate" | "br", max: number): Promise<Buffer> {
  const opts = {
    maxOutputLength: Number.isFinite(max) ? Math.max(1, Math.min(max, 2 ** 31 - 1)) : undefined,
  };
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer) => {
      if (err === null) resolve(out);
      else if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError)
        reject(new ResponseTooLargeError(max));
      else reject(new DecodeError(`The ${coding} response body could not be decoded: ${err.message}`, err));
    };
    if (coding === "gzip") gunzip(raw, opts, done);
    else if (coding === "br") brotliDecompress(raw, opts, done);
    else if (isZlibHeader(raw)) inflate(raw, opts, done);
    else inflateRaw(raw, opts, done);
  });
}

/** "deflate" should be zlib-wrapped (RFC 9110 §8.4.1.2) but some servers send raw deflate. */
function isZlibHeader(b: Buffer): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}

async function* decodeStream(
  raw: AsyncGenerator<Buffer, void, undefined>,
  coding: "gzip" | "deflate" | "br",
  max: number,
): AsyncGenerator<Buffer, void, undefined> {
  const first = await raw.next();
  if (first.done === true) return;
  const head = first.value;
  const z =
    coding === "gzip"
      ? createGunzip()
      : coding === "br"
        ? createBrotliDecompress()
        : isZlibHeader(head)
          ? createInflate()
          : createInflateRaw();
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const n = await raw.next();
      if (n.done === true) return;
      yield n.value;
    }
  }
  pipeline(Readable.from(all()), z, () => {});
  let total = 0;
  try {
    for await (const chunk of z as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > max) throw new ResponseTooLargeError(max);
      yield chunk;
    }
  } catch (e) {
    if (e instanceof ClientError) throw e;
    throw new DecodeError(`The ${coding} response body could not be decoded: ${(e as Error).message}`, e);
  } finally {
    z.destroy();
    await raw.return(undefined);
  }
}
