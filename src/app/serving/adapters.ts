// The same app behind other servers: fetch-style runtimes (`app.fetch(request)`) and node:http
// (`http.createServer(app.nodeHandler())`). Both only build a RequestSource and copy a Response out.

import type { IncomingMessage, ServerResponse as NodeServerResponse } from "node:http";
import { RequestAbortedError } from "../../http/index.ts";
import type { RequestSource } from "../wrappers/request.ts";
import type { Response, ResponseBody } from "../wrappers/response.ts";
import {
  badChunk,
  type Chunk,
  closeBody,
  closeIterator,
  openStream,
  pumpStream,
  type StoppableIterator,
  type StreamBody,
  stopIterator,
} from "./streams.ts";

/** The little of an app the adapters need. */
export interface Handles {
  handle(source: RequestSource): Response | Promise<Response>;
}

export interface FetchOptions {
  /** The client's address, when the runtime tells it. */
  remoteAddress?: string;
}

/**
 * The body side of an adapter's request source: a small body read before dispatch (see
 * preloadSmallBody) is handed out by bodyNow() once, or first by the iterator; `rest()` gives the rest.
 */
abstract class EarlyBody {
  protected early: Buffer | undefined;
  protected earlyError: unknown;

  /** @internal reads ahead before dispatch, so that bodyNow() has a small body, as on the wire. */
  abstract preload(): Promise<void>;
  /** The body's chunks not read ahead. */
  protected abstract rest(): AsyncIterable<Buffer>;

  bodyNow(): Buffer | undefined {
    const b = this.early;
    this.early = undefined;
    return b;
  }

  async body(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this) parts.push(c);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.earlyError !== undefined) throw this.earlyError;
    const early = this.bodyNow();
    if (early !== undefined) {
      yield early;
      return;
    }
    yield* this.rest();
  }
}

/** A web `Request` as the framework reads it. */
class FetchSource extends EarlyBody implements RequestSource {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly host: string;
  readonly remoteAddress: string;
  readonly encrypted: boolean;
  readonly contentLength: number;
  readonly bodyComplete: boolean;
  private readonly request: globalThis.Request;
  /** Made when `signal` is first read, or when the response body is cancelled. */
  private abort: AbortController | undefined;

  constructor(request: globalThis.Request, options: FetchOptions) {
    super();
    const u = new URL(request.url);
    this.request = request;
    this.method = request.method;
    this.url = `${u.pathname}${u.search}`;
    const raw: string[] = [];
    request.headers.forEach((v, k) => {
      raw.push(k, v);
    });
    this.rawHeaders = raw;
    this.host = request.headers.get("host") ?? u.host;
    this.remoteAddress = options.remoteAddress ?? "";
    this.encrypted = u.protocol === "https:";
    const cl = request.headers.get("content-length");
    this.contentLength = cl === null || !/^\d+$/.test(cl) ? -1 : Number(cl);
    this.bodyComplete = request.body === null;
  }

  /**
   * Aborts when the request's own signal does (a runtime telling that the client left) or when the
   * consumer cancels the response body: either way nobody reads what the app still has to send.
   */
  get signal(): AbortSignal {
    if (this.abort === undefined) {
      const a = new AbortController();
      this.abort = a;
      const theirs = this.request.signal;
      if (theirs.aborted) a.abort(theirs.reason);
      else theirs.addEventListener("abort", () => a.abort(theirs.reason), { once: true });
    }
    return this.abort.signal;
  }

  /** @internal the response body was cancelled. */
  cancelled(reason: unknown): void {
    if (this.abort === undefined) this.abort = new AbortController();
    if (!this.abort.signal.aborted) {
      this.abort.abort(
        reason instanceof Error ? reason : new RequestAbortedError("The response body was cancelled"),
      );
    }
  }

  /** Chunks read ahead of a body longer than the preload limit, and the reader of the rest. */
  private ahead: Buffer[] | undefined;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  /**
   * @internal reads up to PRELOAD_LIMIT bytes before dispatch (a web Request made in process often
   * has no Content-Length): a body that ends within it is there for bodyNow(), as on the wire; the
   * chunks of a longer one are kept and come first when it is read.
   */
  async preload(): Promise<void> {
    const stream = this.request.body;
    if (stream === null) return;
    const reader = stream.getReader();
    const parts: Buffer[] = [];
    let total = 0;
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          this.early = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
          return;
        }
        const c = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
        parts.push(c);
        total += c.length;
        if (total > PRELOAD_LIMIT) {
          this.ahead = parts;
          this.reader = reader;
          return;
        }
      }
    } catch (err) {
      this.earlyError = err;
    }
  }

  protected async *rest(): AsyncIterable<Buffer> {
    const reader = this.reader;
    if (reader !== undefined) {
      this.reader = undefined;
      const ahead = this.ahead!;
      this.ahead = undefined;
      yield* ahead;
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      }
    }
    const b = this.request.body;
    if (b === null) return;
    for await (const chunk of b as unknown as AsyncIterable<Uint8Array>) yield Buffer.from(chunk);
  }
}

/**
 * Bodies declared this small are read before the app sees the request, as the wire holds them: a
 * before-request hook then reads `req.form` or `req.json` synchronously (Flask's way) instead of being
 * run again once the body is in.
 */
const PRELOAD_LIMIT = 64 * 1024;

function preloadSmallBody(source: FetchSource | NodeSource): Promise<void> | undefined {
  const n = source.contentLength;
  if (n > 0 && n <= PRELOAD_LIMIT) return source.preload();
  if (n === -1 && source instanceof FetchSource && !source.bodyComplete) return source.preload();
  return undefined;
}

function isBytes(b: ResponseBody): b is string | Uint8Array {
  return typeof b === "string" || b instanceof Uint8Array;
}

/**
 * A streamed body as a web ReadableStream (pull-based: backpressure comes from the consumer). When its
 * reader goes away the source is stopped at once, even while it waits for its next value: a cancel
 * aborts the request's signal and resolves once the request's callOnClose functions have run (not
 * waiting for the source itself); the web Request's own signal aborting (a runtime saying that the
 * client left) errors the stream with its reason.
 */
function toWebStream(
  body: StreamBody | ReadableStream<Chunk>,
  source: FetchSource,
  gone: AbortSignal,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const it = openStream(body);
  let stopped = false;
  let onGone: (() => void) | undefined;
  const over = (): void => {
    stopped = true;
    if (onGone !== undefined) gone.removeEventListener("abort", onGone);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      onGone = () => {
        if (stopped) return;
        over();
        void stopIterator(it);
        controller.error(gone.reason);
      };
      if (gone.aborted) onGone();
      else gone.addEventListener("abort", onGone);
    },
    async pull(controller) {
      let r: IteratorResult<Chunk>;
      try {
        r = await it.next();
      } catch (err) {
        if (stopped) return; // the source failing as it stops (an AbortError from a wait on req.signal)
        over();
        throw err;
      }
      if (stopped) return; // after a stop: the last value of a generator that ran on to a yield
      if (r.done) {
        over();
        controller.close();
        return;
      }
      const chunk = r.value;
      if (typeof chunk === "string") controller.enqueue(enc.encode(chunk));
      else if (chunk instanceof Uint8Array) controller.enqueue(chunk);
      else {
        over();
        closeIterator(it);
        throw badChunk(chunk);
      }
    },
    cancel(reason) {
      if (stopped) return;
      over();
      source.cancelled(reason);
      return stopIterator(it);
    },
  });
}

/** Handles a web `Request` and resolves with a web `Response`. */
export async function handleFetch(
  app: Handles,
  request: globalThis.Request,
  options: FetchOptions = {},
): Promise<globalThis.Response> {
  const source = new FetchSource(request, options);
  const early = preloadSmallBody(source);
  if (early !== undefined) await early;
  const res = await app.handle(source);
  const headers = new globalThis.Headers();
  const f = res.headers.raw();
  for (let i = 0; i < f.length; i += 2) headers.append(f[i]!, f[i + 1]!);
  const noBody = request.method === "HEAD" || res.status === 204 || res.status === 304 || res.status < 200;
  let body: ConstructorParameters<typeof globalThis.Response>[0] = null;
  if (!noBody && res.body !== null) {
    body = isBytes(res.body)
      ? (res.body as string)
      : toWebStream(res.body as StreamBody, source, request.signal);
  } else {
    closeBody(res.body); // never read: still release it (and run the request's callOnClose functions)
  }
  return new globalThis.Response(body, {
    status: res.status,
    statusText: res.statusText || undefined,
    headers,
  });
}

/** A node:http request as the framework reads it. */
class NodeSource extends EarlyBody implements RequestSource {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly host: string;
  readonly remoteAddress: string;
  readonly encrypted: boolean;
  readonly contentLength: number;
  readonly bodyComplete: boolean;
  private readonly req: IncomingMessage;
  private readonly out: NodeServerResponse;
  private abort: AbortController | undefined;

  constructor(req: IncomingMessage, out: NodeServerResponse) {
    super();
    this.req = req;
    this.out = out;
    this.method = req.method ?? "GET";
    this.url = req.url ?? "/";
    this.rawHeaders = req.rawHeaders;
    this.host = req.headers.host ?? "";
    this.remoteAddress = req.socket.remoteAddress ?? "";
    this.encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
    const cl = req.headers["content-length"];
    this.contentLength = cl === undefined || !/^\d+$/.test(cl) ? -1 : Number(cl);
    this.bodyComplete = this.contentLength <= 0 && req.headers["transfer-encoding"] === undefined;
  }

  /**
   * Aborts when the connection closes before the response is done: the client left (node:http also
   * ends the connection when the client closes its sending side). The response's own 'close', not the
   * socket's: one listener per request, gone with it, however many requests a connection carries.
   */
  get signal(): AbortSignal {
    if (this.abort === undefined) {
      const a = new AbortController();
      this.abort = a;
      const out = this.out;
      if (out.closed) {
        if (!out.writableFinished) a.abort(clientGone());
      } else {
        out.once("close", () => {
          if (!out.writableFinished) a.abort(clientGone());
        });
      }
    }
    return this.abort.signal;
  }

  /** @internal reads a small declared body before dispatch, so that bodyNow() has it, as on the wire. */
  async preload(): Promise<void> {
    try {
      const parts: Buffer[] = [];
      for await (const chunk of this.req as AsyncIterable<Buffer>) parts.push(chunk);
      this.early = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    } catch (err) {
      this.earlyError = err;
    }
  }

  protected async *rest(): AsyncIterable<Buffer> {
    for await (const chunk of this.req as AsyncIterable<Buffer>) yield chunk;
  }
}

function clientGone(): RequestAbortedError {
  return new RequestAbortedError("The client went away");
}

/** A node:http handler: `http.createServer(app.nodeHandler())`. */
export function nodeHandler(
  app: Handles,
  onError: (err: unknown) => void,
): (req: IncomingMessage, res: NodeServerResponse) => void {
  return (req, out) => {
    void serveNode(app, req, out).catch((err: unknown) => {
      onError(err);
      if (!out.headersSent) {
        out.statusCode = 500;
        out.setHeader("Content-Type", "text/plain; charset=utf-8");
        out.end("500 Internal Server Error\n");
      } else {
        out.destroy();
      }
    });
  };
}

async function serveNode(app: Handles, req: IncomingMessage, out: NodeServerResponse): Promise<void> {
  const source = new NodeSource(req, out);
  const early = preloadSmallBody(source);
  if (early !== undefined) await early;
  const res = await app.handle(source);
  const body = res.body;
  if (out.closed) {
    closeBody(body); // the client left while the app worked on it
    return;
  }
  out.statusCode = res.status;
  if (res.statusText !== "") out.statusMessage = res.statusText;
  const f = res.headers.raw();
  for (let i = 0; i < f.length; i += 2) out.appendHeader(f[i]!, f[i + 1]!);
  if (body === null) {
    out.end();
    return;
  }
  if (isBytes(body)) {
    out.end(body);
    return;
  }
  if (req.method === "HEAD" || res.status === 204 || res.status === 304) {
    closeBody(body); // node:http sends no body for these: don't run the stream for nothing
    out.end();
    return;
  }
  await pipeNode(openStream(body as StreamBody), source.signal, out);
}

/**
 * Streams a body to node:http with backpressure. When the client leaves the source is stopped at once,
 * even while it waits for its next value (an SSE loop awaiting an event), and the request's cleanups
 * run; what the source throws as it stops goes nowhere (nobody to tell).
 */
async function pipeNode(it: StoppableIterator, signal: AbortSignal, out: NodeServerResponse): Promise<void> {
  const stopped = await pumpStream(it, signal, (chunk) => (out.write(chunk) ? undefined : drained(out)));
  if (!stopped && !out.writableEnded) out.end();
}

/** Resolves on 'drain', or on 'close' (the client gone: the signal stops the stream). */
function drained(out: NodeServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
  });
}
