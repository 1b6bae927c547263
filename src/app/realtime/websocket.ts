// WebSocket routes: `app.websocket("/chat/<room>", handler)`. The upgrade request goes through the
// ordinary pipeline (routing, converters, before-request hooks, the session, after-request hooks), so a
// hook can refuse it with any HTTP answer; a route that accepts answers with a 101 marker, and the
// app's upgrade handler then checks the handshake fields and hands the socket to the wire's own
// framing (src/http/websocket.ts: masking, fragmentation, UTF-8 checks, permessage-deflate, close codes,
// limits).

import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { IncomingRequest } from "../../http/request.ts";
import { CLOSING, ServerWebSocket, type WebSocketListener } from "../../http/websocket.ts";
import { negotiateWebSocket, switchingProtocols } from "../../http/websocket-handshake.ts";
import { runWithRequest } from "../context.ts";
import { originAllowed } from "../protections/origin.ts";
import type { Request } from "../wrappers/request.ts";
import { Response } from "../wrappers/response.ts";
import { Rooms } from "./rooms.ts";

/** A WebSocket route's handler. When it returns (or its promise settles) the connection is closed. */
export type WebSocketHandler<P = Record<string, unknown>> = (
  ws: WebSocketConnection,
  req: Request<P>,
) => void | Promise<void>;

export interface WebSocketOptions {
  /** The endpoint name for `urlFor`; default: the handler's name. */
  endpoint?: string;
  /** Largest message accepted, in bytes; a larger one closes the connection with 1009. Default 1 MiB. */
  maxMessageSize?: number;
  /** Offer permessage-deflate (RFC 7692) to clients that ask. Default false (it costs memory and CPU). */
  perMessageDeflate?: boolean;
  /** Subprotocols this route speaks, preferred first; the first one the client also offers is chosen. */
  protocols?: readonly string[];
  /**
   * Seconds between pings; a connection that did not answer the previous ping by the next one is
   * dropped (close code 1006 on the client). Default 30; 0 for none.
   */
  pingInterval?: number;
  /**
   * Messages queued unread before the socket stops reading (backpressure on the sender). Default 64;
   * reading also stops while 1 MiB of messages waits, whatever their number.
   */
  receiveQueue?: number;
  /** The subdomain the route answers on, as a route's (the app needs `subdomainMatching`). */
  subdomain?: string;
  /** The host the route answers on, as a route's (the app needs `hostMatching`). */
  host?: string;
}

/** How a connection ended. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

const ACCEPT = Symbol("phial.websocketAccept");

interface Accept {
  handler: WebSocketHandler<never>;
  options: WebSocketOptions;
  req: Request;
}

type AcceptResponse = Response & { [ACCEPT]?: Accept };

/** @internal the view registered for a WebSocket rule: a 101 marker for an upgrade, else 426. */
export function webSocketView(
  handler: WebSocketHandler<never>,
  options: WebSocketOptions,
): (req: Request) => Response {
  return function webSocketRoute(req: Request): Response {
    // Only a request whose socket the wire handed over (not a plain GET with an Upgrade field).
    if (req.source.upgraded !== true || !isWebSocketUpgrade(req.header("upgrade"))) {
      const res = new Response("This URL is a WebSocket endpoint: connect with a WebSocket client.\n", {
        status: 426,
        headers: { "Content-Type": "text/plain; charset=utf-8", Upgrade: "websocket", Connection: "Upgrade" },
      });
      return res;
    }
    // Cross-site WebSocket hijacking: browsers send the page's Origin (and the cookies); another site's
    // page is refused unless trusted, as the CSRF checks refuse its form posts.
    const origin = req.header("origin");
    const cfg = req.app.config;
    if (
      origin !== undefined &&
      cfg.csrfProtection !== false &&
      !originAllowed(req, origin, cfg.csrfTrustedOrigins ?? [])
    ) {
      return new Response(`WebSocket refused: the page's origin ${origin} is not this site.\n`, {
        status: 403,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
    }
    const res = new Response(null, { status: 101 }) as AcceptResponse;
    res[ACCEPT] = { handler, options, req };
    return res;
  };
}

/** True for an `Upgrade` field that asks for websocket. */
export function isWebSocketUpgrade(upgrade: string | undefined): boolean {
  if (upgrade === undefined) return false;
  if (upgrade === "websocket" || upgrade === "WebSocket") return true; // what clients send
  return /(?:^|,)\s*websocket\s*(?:,|$)/i.test(upgrade);
}

/** Up to this many bytes waiting to be sent, send() resolves at once. */
const SEND_HIGH_WATER = 64 * 1024;
/** Reading stops while this much of unread messages waits (besides the count of receiveQueue). */
const QUEUE_BYTES = 1024 * 1024;
const SENT_TRUE = Promise.resolve(true);
const SENT_FALSE = Promise.resolve(false);
const DONE_RESULT: IteratorReturnResult<undefined> = { done: true, value: undefined };
const ITER_DONE: Promise<IteratorReturnResult<undefined>> = Promise.resolve(DONE_RESULT);

// One listener for every connection (no closures per connection): the wire's socket points back to
// its WebSocketConnection through `owner`.
const LISTENER: WebSocketListener = {
  message(raw, data, isBinary) {
    (raw.owner as WebSocketConnection).received(isBinary ? data : data.toString());
  },
  close(raw, code, reason) {
    (raw.owner as WebSocketConnection).onClosed(code, reason);
  },
  pong(raw) {
    (raw.owner as WebSocketConnection).alive = true;
  },
};

/** A WebSocket connection as a handler sees it. */
export class WebSocketConnection {
  /** The upgrade request (params, session, headers). */
  readonly request: Request;
  /** @internal */ readonly raw: ServerWebSocket;
  /** @internal answered the last ping */ alive = true;
  private readonly hub: WebSocketHub;
  private readonly queue: (string | Buffer)[] = [];
  private readonly highWater: number;
  /** Bytes (string: UTF-16 units) in `queue`. */
  private queuedBytes = 0;
  /** A pending receive() (given the message) or iterator next() (given an IteratorResult). */
  private waiter: ((m: never) => void) | undefined;
  private waiterWantsResult = false;
  private ended = false;
  private joined: Set<string> | undefined;
  private uuid: string | undefined;
  private closeInfo: CloseInfo | undefined;
  private closedPromise: Promise<CloseInfo> | undefined;
  private resolveClosed: ((info: CloseInfo) => void) | undefined;

  constructor(raw: ServerWebSocket, req: Request, hub: WebSocketHub, highWater: number) {
    this.raw = raw;
    this.request = req;
    this.hub = hub;
    this.highWater = highWater;
    raw.owner = this;
  }

  /** A UUID, unique across processes (rooms use it to skip the sender). */
  get id(): string {
    if (this.uuid === undefined) this.uuid = randomUUID();
    return this.uuid;
  }

  /** Resolves when the connection is closed, with its code and reason. */
  get closed(): Promise<CloseInfo> {
    if (this.closedPromise === undefined) {
      const info = this.closeInfo;
      this.closedPromise =
        info !== undefined
          ? Promise.resolve(info)
          : new Promise((resolve) => {
              this.resolveClosed = resolve;
            });
    }
    return this.closedPromise;
  }

  /** @internal the raw socket closed */
  onClosed(code: number, reason: string): void {
    this.ended = true;
    this.hub.connections.delete(this);
    const joined = this.joined;
    if (joined !== undefined) {
      for (const room of joined) this.hub.rooms.leave(room, this);
      joined.clear();
    }
    const w = this.waiter;
    this.waiter = undefined;
    if (w !== undefined) (w as (m: unknown) => void)(this.waiterWantsResult ? DONE_RESULT : undefined);
    const info = { code, reason };
    this.closeInfo = info;
    const r = this.resolveClosed;
    this.resolveClosed = undefined;
    if (r !== undefined) r(info);
  }

  /** @internal a message arrived */
  received(msg: string | Buffer): void {
    const w = this.waiter as ((m: unknown) => void) | undefined;
    if (w !== undefined) {
      this.waiter = undefined;
      w(this.waiterWantsResult ? { done: false, value: msg } : msg);
      return;
    }
    this.queue.push(msg);
    this.queuedBytes += msg.length;
    const raw = this.raw;
    if ((this.queue.length >= this.highWater || this.queuedBytes >= QUEUE_BYTES) && !raw.isPaused)
      raw.pause();
  }

  /** The subprotocol chosen in the handshake, or "". */
  get protocol(): string {
    return this.raw.protocol;
  }

  /** True once the connection is closing or closed. */
  get isClosed(): boolean {
    return this.ended || this.raw.readyState >= CLOSING;
  }

  /** Bytes queued to send but not yet handed to the socket. */
  get bufferedAmount(): number {
    return this.raw.bufferedAmount;
  }

  /**
   * Sends a message: a string as a text frame, bytes as a binary frame. Resolves true once it is handed
   * to the socket: at once while less than 64 KiB waits to be sent, else when this message is written
   * (await it to follow the client's pace); false when the connection closed first. It never rejects,
   * so a send that is not awaited can't become an unhandled rejection.
   */
  send(data: string | Uint8Array): Promise<boolean> {
    if (this.isClosed) return SENT_FALSE;
    const raw = this.raw;
    if (raw.bufferedAmount + (typeof data === "string" ? data.length : data.byteLength) <= SEND_HIGH_WATER) {
      // Room in the socket's buffer: handed over, and the sender may go on at once (no promise, no
      // callback per message: the common case of a client that keeps up).
      return raw.send(data) ? SENT_TRUE : SENT_FALSE;
    }
    // Backpressure: resolves once this message is written, so that an awaiting sender follows the client.
    return new Promise((resolve) => {
      if (!raw.send(data, (err) => resolve(err == null))) resolve(false);
    });
  }

  /** Sends a value as JSON text. */
  sendJson(value: unknown): Promise<boolean> {
    return this.send(JSON.stringify(value));
  }

  /** The next message (text as a string, binary as a Buffer), or undefined once the connection closed. */
  receive(): Promise<string | Buffer | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.take());
    if (this.ended) return Promise.resolve(undefined);
    if (this.waiter !== undefined) throw new Error("WebSocket receive(): another receive() is pending");
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.waiterWantsResult = false;
    });
  }

  /** The oldest queued message; reading resumes once the queue is half empty. */
  private take(): string | Buffer {
    const q = this.queue;
    const m = q.shift()!;
    this.queuedBytes -= m.length;
    if (
      q.length < this.highWater >> 1 &&
      this.queuedBytes < QUEUE_BYTES >> 1 &&
      this.raw.isPaused &&
      !this.ended
    )
      this.raw.resume();
    return m;
  }

  /**
   * The next text message parsed as JSON, or undefined once closed. A binary message or invalid JSON
   * closes the connection with 1007 (invalid payload) and gives undefined.
   */
  async receiveJson<T = unknown>(): Promise<T | undefined> {
    const m = await this.receive();
    if (m === undefined) return undefined;
    if (typeof m === "string") {
      try {
        return JSON.parse(m) as T;
      } catch {
        // falls through
      }
    }
    this.close(1007, "expected a JSON text message");
    return undefined;
  }

  /** `for await (const msg of ws)`: the messages until the connection closes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer> {
    // Hand-written rather than an async generator: one promise per message instead of several.
    return new MessageIterator(this);
  }

  /** @internal the iterator's next(): a queued message at once, else when one arrives. */
  nextResult(): Promise<IteratorResult<string | Buffer>> {
    const q = this.queue;
    if (q.length > 0) return Promise.resolve({ done: false, value: this.take() });
    if (this.ended) return ITER_DONE;
    if (this.waiter !== undefined) throw new Error("WebSocket receive(): another receive() is pending");
    return new Promise<IteratorResult<string | Buffer>>((resolve) => {
      this.waiter = resolve;
      this.waiterWantsResult = true;
    });
  }

  /** Closes with a code (1000 normal, 1001 going away, 1008 policy, 3000-4999 yours) and a reason. */
  close(code = 1000, reason = ""): void {
    if (this.raw.readyState >= CLOSING) return;
    this.raw.close(code, reason);
  }

  /** Joins a room: messages published to it reach this connection. */
  join(room: string): void {
    if (this.isClosed) return;
    if (this.joined === undefined) this.joined = new Set();
    else if (this.joined.has(room)) return;
    this.joined.add(room);
    this.hub.rooms.join(room, this);
  }

  /** Leaves a room. */
  leave(room: string): void {
    if (this.joined === undefined || !this.joined.delete(room)) return;
    this.hub.rooms.leave(room, this);
  }

  /** The rooms this connection is in. */
  get rooms(): readonly string[] {
    return this.joined === undefined ? [] : [...this.joined];
  }

  /** Publishes to a room's other members (not this connection), in every process on the bus. */
  publish(room: string, data: string | Uint8Array): void | Promise<void> {
    return this.hub.rooms.publish(room, data, this.id);
  }

  /** @internal a room delivering a message */
  deliver(data: string | Uint8Array): void {
    if (this.isClosed) return;
    this.raw.send(data);
  }
}

/** `for await (const m of ws)`: a class, not an object of closures made per connection. */
class MessageIterator implements AsyncIterableIterator<string | Buffer> {
  constructor(private readonly conn: WebSocketConnection) {}
  next(): Promise<IteratorResult<string | Buffer>> {
    return this.conn.nextResult();
  }
  return(): Promise<IteratorResult<string | Buffer>> {
    return ITER_DONE;
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer> {
    return this;
  }
}

/** The app's WebSocket connections (`app.websockets`): rooms, publishing, closing them all. */
export class WebSocketHub {
  /** Rooms and the bus they publish through (`app.websockets.rooms.pubsub = myRedisPubSub`). */
  readonly rooms = new Rooms();
  /** The open connections of this process. */
  readonly connections = new Set<WebSocketConnection>();
  private pingTimers = new Map<number, ReturnType<typeof setInterval>>();
  private readonly log: (message: string, err?: unknown) => void;

  constructor(log: (message: string, err?: unknown) => void) {
    this.log = log;
    this.rooms.onError = (what, err) => log(`WebSocket rooms: error ${what}`, err);
  }

  /** Publishes to every member of a room (e.g. from an HTTP view). */
  publish(room: string, data: string | Uint8Array): void | Promise<void> {
    return this.rooms.publish(room, data);
  }

  /**
   * Closes every connection with `code` (1001 going away by default), then drops those still open after
   * `deadline` ms. Resolves when all are closed.
   */
  async closeAll(code = 1001, reason = "server shutting down", deadline = 5_000): Promise<void> {
    for (const t of this.pingTimers.values()) clearInterval(t);
    this.pingTimers.clear();
    const all = [...this.connections];
    if (all.length === 0) return;
    for (const c of all) c.close(code, reason);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const c of all) c.raw.terminate();
        resolve();
      }, deadline);
    });
    await Promise.race([Promise.all(all.map((c) => c.closed)), late]);
    clearTimeout(timer);
  }

  /**
   * @internal Completes an upgrade after the pipeline answered. A 101 marker checks the handshake
   * fields (a bad key or version gets its 400/426 here) and hands the socket to the wire's framing; any
   * other response is written as an HTTP answer and the socket closed.
   */
  complete(res: Response, wireReq: IncomingRequest, socket: Socket, head: Buffer): Promise<void> | undefined {
    const accept = (res as AcceptResponse)[ACCEPT];
    if (accept === undefined || res.status !== 101) return writeRawResponse(res, socket);
    const { handler, options, req } = accept;
    const hs = negotiateWebSocket(wireReq, options);
    if (!hs.ok) {
      const refusal = new Response(`${hs.message}\n`, {
        status: hs.status,
        headers: { "Content-Type": "text/plain; charset=utf-8", ...hs.headers },
      });
      return writeRawResponse(refusal, socket);
    }
    if (socket.destroyed) return undefined;
    // The fields the after-request hooks and the session added (Set-Cookie, …) go on the 101; the
    // Headers object has refused CR/LF in them already.
    let extra: string[] | undefined;
    const raw = res.headers.raw();
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (name === "content-type" || name === "content-length" || name === "connection" || name === "upgrade")
        continue;
      if (extra === undefined) extra = [];
      extra.push(`${raw[i]}: ${raw[i + 1]}`);
    }
    socket.write(switchingProtocols(hs, extra));
    const ws = new ServerWebSocket(socket, LISTENER, hs, {
      maxMessageSize: options.maxMessageSize ?? 1024 * 1024,
      deflate: hs.deflate,
    });
    const conn = new WebSocketConnection(ws, req, this, options.receiveQueue ?? 64);
    this.connections.add(conn);
    ws.start(head);
    this.startPing(options.pingInterval ?? 30);
    let rv: void | Promise<void>;
    try {
      rv = runWithRequest(req, handler as WebSocketHandler, conn, req);
    } catch (err) {
      this.failed(conn, req, err);
      return undefined;
    }
    if (rv instanceof Promise) void this.settled(rv, conn, req);
    else conn.close(1000);
    return undefined;
  }

  /** Closes the connection when its handler's promise settles (1000, or 1011 when it threw). */
  private async settled(rv: Promise<void>, conn: WebSocketConnection, req: Request): Promise<void> {
    try {
      await rv;
    } catch (err) {
      this.failed(conn, req, err);
      return;
    }
    conn.close(1000);
  }

  private failed(conn: WebSocketConnection, req: Request, err: unknown): void {
    this.log(`Exception in the WebSocket handler of ${req.path} [${req.endpoint ?? "?"}]`, err);
    conn.close(1011, "internal error");
  }

  private startPing(seconds: number): void {
    if (seconds <= 0 || this.pingTimers.has(seconds)) return;
    const timer = setInterval(() => {
      let any = false;
      for (const c of this.connections) {
        any = true;
        if (c.isClosed) continue;
        if (!c.alive) {
          c.raw.terminate();
          continue;
        }
        c.alive = false;
        c.raw.ping();
      }
      if (!any) {
        clearInterval(timer);
        this.pingTimers.delete(seconds);
      }
    }, seconds * 1000);
    timer.unref();
    this.pingTimers.set(seconds, timer);
  }
}

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
};

/** Writes a Response as a plain HTTP/1.1 answer on a socket that left the wire, then closes it. */
export async function writeRawResponse(res: Response, socket: Duplex): Promise<void> {
  let body: Buffer;
  const b = res.body;
  if (b === null) body = Buffer.alloc(0);
  else if (typeof b === "string") body = Buffer.from(b);
  else if (b instanceof Uint8Array) body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  else {
    const parts: Buffer[] = [];
    let total = 0;
    const it = b as AsyncIterable<string | Uint8Array>;
    for await (const chunk of it) {
      const c = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk);
      total += c.length;
      if (total > 1024 * 1024) break; // a refusal is short; don't buffer an endless stream
      parts.push(c);
    }
    body = Buffer.concat(parts);
  }
  const status = res.status === 101 ? 500 : res.status;
  let head = `HTTP/1.1 ${status} ${res.statusText || REASONS[status] || "Error"}\r\n`;
  const raw = res.headers.raw();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === "content-length" || name === "connection" || name === "transfer-encoding") continue;
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  head += `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  if (socket.destroyed) return;
  socket.end(Buffer.concat([Buffer.from(head, "latin1"), body]));
}
