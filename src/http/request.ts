// A request as the wire hands it to a handler: the parsed head, plus a body that arrives as it is read.

import type { MessageHead } from "./parser.ts";

/** What a request needs from its connection (kept narrow so the request knows nothing else). */
export interface BodySource {
  /** The handler wants body bytes: send `100 Continue` if the client waits for it, resume reading. */
  wantBody(req: IncomingRequest): void;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  readonly encrypted: boolean;
}

/** The body was cut short: the client went away, or the request was refused while it was being read. */
export class RequestAbortedError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.name = "RequestAbortedError";
    this.status = status;
  }
}

type Waiter = (value: undefined) => void;

/** Highest number of unread body bytes buffered per request before the socket stops being read. */
export const BODY_HIGH_WATER = 64 * 1024;

/** @internal The chunks of a request with none buffered: shared and frozen (the first replaces it). */
export const NO_CHUNKS: Buffer[] = Object.freeze([]) as unknown as Buffer[];

export class IncomingRequest implements AsyncIterable<Buffer> {
  /** The method as sent, e.g. `GET`. */
  readonly method: string;
  /** The request-target as sent, e.g. `/search?q=1`. */
  readonly url: string;
  /** `1.1` or `1.0`. */
  readonly httpVersion: string;
  /** The header fields in order, flattened: name, value, name, value … (names keep their case). */
  readonly rawHeaders: string[];
  /** The Host (or the authority of an absolute-form target). */
  readonly host: string;
  /** Declared body length, or -1 (chunked or no body). */
  readonly contentLength: number;
  /** The connection will be kept open after this exchange unless the response says otherwise. */
  readonly keepAlive: boolean;
  /** @internal */ readonly head: MessageHead;
  /** Trailer fields of a chunked body, once the body is complete. */
  trailers: string[] | undefined;

  /** @internal */ readonly source: BodySource;
  /** @internal body chunks not yet read (NO_CHUNKS, shared, until the first arrives). */ chunks: Buffer[] =
    NO_CHUNKS;
  /** @internal */ buffered = 0;
  /** @internal */ received = 0;
  /** @internal */ complete: boolean;
  /** @internal */ error: Error | undefined;
  /** @internal */ waiter: Waiter | undefined;
  /** @internal body bytes are discarded (the response is done). */ discard = false;
  /** @internal */ wanted = false;
  /** @internal `100 Continue` was sent. */ continueSent = false;
  /** @internal why the signal aborted while the body itself is fine. */ cancelled: Error | undefined;
  /**
   * @internal when the handler must have started its response (ms, Date.now()), else 503: 0 for no
   * limit, -1 until the server's sweep stamps it with the server's `handlerTimeout`.
   */ handlerDeadline = 0;
  /** True once the server handed this request's socket to `onUpgrade` (it switches protocols). */
  upgraded = false;
  private headerMap: Record<string, string> | undefined;
  private abort: AbortController | undefined;

  constructor(head: MessageHead, source: BodySource) {
    this.head = head;
    this.source = source;
    this.method = head.method;
    this.url = head.target;
    this.httpVersion = head.versionMinor === 1 ? "1.1" : "1.0";
    this.rawHeaders = head.rawHeaders;
    this.host = head.host;
    this.contentLength = head.contentLength;
    this.keepAlive = head.keepAlive;
    this.complete = !head.chunked && head.contentLength <= 0;
  }

  /** Header fields by lowercased name; repeated fields joined with ", " (Set-Cookie-style fields aside). */
  get headers(): Readonly<Record<string, string>> {
    let m = this.headerMap;
    if (m === undefined) {
      m = Object.create(null) as Record<string, string>;
      const raw = this.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const k = raw[i]!.toLowerCase();
        const prev = m[k];
        m[k] = prev === undefined ? raw[i + 1]! : `${prev}${k === "cookie" ? "; " : ", "}${raw[i + 1]}`;
      }
      this.headerMap = m;
    }
    return m;
  }

  /** The first value of a header field (case-insensitive), without building the whole map. */
  header(name: string): string | undefined {
    return this.head.get(name);
  }

  get remoteAddress(): string {
    return this.source.remoteAddress;
  }
  get remotePort(): number {
    return this.source.remotePort;
  }
  get localPort(): number {
    return this.source.localPort;
  }
  /**
   * Gives the handler `ms` from now to start its response (a route's own limit, in place of the
   * server's `handlerTimeout`; 0 for none). Past it the client gets a 503 and `signal` aborts with a
   * `RequestAbortedError` (status 503); whatever the handler sends later is dropped. A response that has
   * started (a stream) is not cut. Checked by the server's sweep, so it fires up to ~1 s late.
   */
  setHandlerTimeout(ms: number): void {
    this.handlerDeadline = ms > 0 ? Date.now() + ms : 0;
  }

  /** True over TLS. */
  get encrypted(): boolean {
    return this.source.encrypted;
  }

  /**
   * Aborted when the client goes away before the response is complete: its connection closed, or it
   * closed its sending side (as Go's request context does; a response may still be written then).
   */
  get signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      const why = this.error ?? this.cancelled;
      if (why !== undefined) this.abort.abort(why);
    }
    return this.abort.signal;
  }

  /** True once every body byte has been received (always true without a body). */
  get bodyComplete(): boolean {
    return this.complete;
  }

  /** The whole body. Rejects with `RequestAbortedError` when the body can't be read in full. */
  async body(): Promise<Buffer> {
    // The async iterator's loop without its generator: every buffered chunk is taken at once.
    if (!this.wanted) {
      this.wanted = true;
      this.source.wantBody(this);
    }
    let parts: Buffer[] | undefined;
    let total = 0;
    for (;;) {
      const c = this.chunks;
      if (c.length > 0) {
        this.chunks = NO_CHUNKS;
        this.buffered = 0;
        if (parts === undefined) parts = c;
        else for (let i = 0; i < c.length; i++) parts.push(c[i]!);
        for (let i = 0; i < c.length; i++) total += c[i]!.length;
        this.source.wantBody(this); // nothing is buffered now: reading may resume
        continue;
      }
      if (this.error !== undefined) throw this.error;
      if (this.complete) break;
      await new Promise<undefined>((resolve) => {
        this.waiter = resolve;
      });
    }
    if (parts === undefined) return Buffer.alloc(0);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  }

  /**
   * The whole body if every byte of it has already arrived and none was read yet (a small body often
   * comes in the head's packet), else undefined and nothing is taken: a synchronous `body()`.
   */
  bodyNow(): Buffer | undefined {
    if (!this.complete || this.error !== undefined || this.wanted) return undefined;
    this.wanted = true;
    const c = this.chunks;
    this.chunks = NO_CHUNKS;
    this.buffered = 0;
    if (c.length === 0) return Buffer.alloc(0);
    return c.length === 1 ? c[0]! : Buffer.concat(c);
  }

  /** The body decoded as UTF-8. */
  async text(): Promise<string> {
    return (await this.body()).toString("utf8");
  }

  /** The body parsed as JSON (no content-type check: the framework does that). */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  /** Body chunks as they arrive, with backpressure. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    if (!this.wanted) {
      this.wanted = true;
      this.source.wantBody(this);
    }
    for (;;) {
      if (this.chunks.length > 0) {
        const chunk = this.chunks.shift()!;
        this.buffered -= chunk.length;
        if (this.buffered < BODY_HIGH_WATER) this.source.wantBody(this);
        yield chunk;
        continue;
      }
      if (this.error !== undefined) throw this.error;
      if (this.complete) return;
      await new Promise<undefined>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  /** @internal body bytes from the parser. */
  push(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.discard) return;
    if (this.chunks === NO_CHUNKS) this.chunks = [chunk];
    else this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.wake();
  }

  /** @internal the body is complete. */
  end(trailers: string[] | undefined): void {
    this.complete = true;
    this.trailers = trailers;
    this.wake();
  }

  /** @internal the client stopped sending (half-close): abort the signal, keep a complete body readable. */
  cancel(error: Error): void {
    if (this.cancelled !== undefined || this.error !== undefined) return;
    this.cancelled = error;
    this.abort?.abort(error);
  }

  /** @internal the body can't complete, or the client is gone. */
  fail(error: Error): void {
    if (this.error === undefined) this.error = error;
    this.abort?.abort(error);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w(undefined);
    }
  }
}
