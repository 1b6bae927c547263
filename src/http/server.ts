// The server: accepts connections on node:net or node:tls and hands each to a Connection.

import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from "node:net";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import {
  Connection,
  type ConnectionHost,
  type ResolvedServerOptions,
  type ResponseInfo,
} from "./connection.ts";
import { keepStringPrototypeFast } from "./fast-prototypes.ts";
import { DEFAULT_LIMITS, type ParserLimits } from "./parser.ts";
import type { IncomingRequest } from "./request.ts";
import type { ServerResponse } from "./response.ts";

export type { ResponseInfo };

// Marked early, String.prototype stays fast even when a library later makes it a prototype (Nunjucks).
keepStringPrototypeFast();

/** A request handler. It may answer later (async); a throw or rejection becomes a 500. */
export type Handler = (req: IncomingRequest, res: ServerResponse) => unknown;

export interface ServerOptions extends Partial<ParserLimits> {
  /** TLS options (`key`, `cert`, `ca`, …) to serve HTTPS. */
  tls?: TlsOptions;
  /** Time allowed for a request's head, from its first byte (ms). Default 20 s. Slow heads get 408. */
  headersTimeout?: number;
  /** Time allowed for a whole request, head and body (ms). Default 300 s. */
  requestTimeout?: number;
  /**
   * Time a handler gets to start its response (ms); past it the client gets a 503 and `req.signal`
   * aborts. 0 (the default) for no limit; `req.setHandlerTimeout(ms)` sets one request's own.
   */
  handlerTimeout?: number;
  /**
   * How long a client that closed its sending side (FIN) while its requests were being handled still
   * gets answers (ms); their `req.signal` aborts at once, and past this the connection is closed.
   * Default 5 s (at most `requestTimeout`).
   */
  halfCloseTimeout?: number;
  /** How long an idle keep-alive connection stays open (ms). Default 5 s. */
  keepAliveTimeout?: number;
  /** Requests served on one connection before it closes; 0 for no limit. Default 0. */
  maxRequestsPerSocket?: number;
  /** Pipelined requests in progress per connection before reading pauses. Default 32. */
  maxPipelinedRequests?: number;
  /** Unread body bytes the server drains to keep a connection open after answering early. Default 64 KiB. */
  maxDrainBytes?: number;
  /** How long to keep reading after sending a final response on a closing connection (ms). Default 2 s. */
  lingerTimeout?: number;
  /**
   * Most connections open at once; more are closed as they arrive. Default 10,000 (an fd each: keep it
   * below the process's open-file limit); `Infinity` for no limit.
   */
  maxConnections?: number;
  /** Where handler errors go. Default: `console.error`. */
  onError?: (error: unknown, req: IncomingRequest | undefined) => void;
  /**
   * Called once per response, when its last byte was handed to the socket (`completed: true`) or when
   * the connection closed before that (`completed: false`): the place for an access log, with the
   * status and body bytes as sent. Costs nothing when unset. A throw goes to `onError`.
   */
  onResponse?: (req: IncomingRequest, res: ServerResponse, info: ResponseInfo) => void;
  /**
   * Takes the requests that ask to switch protocols (`Connection: upgrade` with an `Upgrade` field,
   * HTTP/1.1, no body) away from the handler, as node:http's `'upgrade'` event does: once the responses
   * to the requests before it are sent, the socket is yours, with `head`, the bytes the client sent
   * after the request (the new protocol's first ones; the socket holds any that come later until you
   * read it). Answer with `101 Switching Protocols`, or with an error status and close. The socket
   * leaves the server then: no timeouts, not counted in `connections`, not closed by `close()`. For
   * WebSockets, `ws`: `onUpgrade: (req, socket, head) => wss.handleUpgrade(req, socket, head, cb)`.
   * Without it, such requests go to the handler like any other. A throw goes to `onError`, and the
   * socket is destroyed.
   */
  onUpgrade?: (req: IncomingRequest, socket: Socket, head: Buffer) => void;
  /**
   * Which upgrade requests go to `onUpgrade`: those for which this returns true (e.g. only
   * `Upgrade: websocket`). The others are served by the handler as ordinary HTTP/1.1 requests, their
   * `Upgrade` ignored (RFC 9110 §7.8 lets a server do so), and the connection stays open: a client
   * that offers `h2c` (curl --http2 on http://) gets its answer over HTTP/1.1. Default: all of them.
   */
  upgradeFilter?: (req: IncomingRequest) => boolean;
}

export interface CloseOptions {
  /**
   * After this many ms (from the call), connections still open are destroyed and `close()` resolves.
   * Default 10 s. Until then the pending close keeps the process alive.
   */
  deadline?: number;
  /**
   * How long a connection with nothing in progress stays open while the server drains (ms), so a
   * request its client sent as the close began is answered (with `Connection: close`) rather than
   * met by a closed socket. Then it closes with a FIN. Default 1 s (at most `keepAliveTimeout`).
   */
  idleGrace?: number;
}

export interface ListenOptions {
  port?: number;
  host?: string;
  /** Listen queue length. */
  backlog?: number;
  /** IPv6 only (no dual-stack) when host is `::`. */
  ipv6Only?: boolean;
}

/** `maxConnections` unless set. */
const DEFAULT_MAX_CONNECTIONS = 10_000;

function defaultOnError(error: unknown, req: IncomingRequest | undefined): void {
  const where = req === undefined ? "" : ` while handling ${req.method} ${req.url}`;
  console.error(`phial/http: error${where}:`, error);
}

export class Server implements ConnectionHost {
  readonly handler: Handler;
  readonly opts: ResolvedServerOptions;
  readonly secure: boolean;
  private readonly net: NetServer;
  private readonly conns = new Set<Connection>();
  /** TLS: TCP sockets still in their handshake, by remote address and port, with when it began. */
  private readonly handshaking = new Map<string, { raw: Socket; since: number }>();
  private readonly onErrorOpt: (error: unknown, req: IncomingRequest | undefined) => void;
  private sweep: NodeJS.Timeout | undefined;
  private closingFlag = false;
  private acceptingStopped = false;
  private listenerClosed = false;
  private closePromise: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(handler: Handler, options: ServerOptions = {}) {
    this.handler = handler;
    const limits: ParserLimits = {
      maxRequestLineBytes: options.maxRequestLineBytes ?? DEFAULT_LIMITS.maxRequestLineBytes,
      maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_LIMITS.maxHeaderBytes,
      maxHeaderCount: options.maxHeaderCount ?? DEFAULT_LIMITS.maxHeaderCount,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_LIMITS.maxBodyBytes,
      maxChunkLineBytes: options.maxChunkLineBytes ?? DEFAULT_LIMITS.maxChunkLineBytes,
      maxTrailerBytes: options.maxTrailerBytes ?? DEFAULT_LIMITS.maxTrailerBytes,
    };
    const keepAliveTimeout = options.keepAliveTimeout ?? 5_000;
    // The hint is whole seconds, rounded down so clients give up on a socket before we close it; below
    // a second there's no honest hint to give.
    const hint = Math.floor(keepAliveTimeout / 1000);
    this.opts = {
      headersTimeout: options.headersTimeout ?? 20_000,
      requestTimeout: options.requestTimeout ?? 300_000,
      handlerTimeout: options.handlerTimeout ?? 0,
      halfCloseTimeout: Math.min(options.halfCloseTimeout ?? 5_000, options.requestTimeout ?? 300_000),
      keepAliveTimeout,
      keepAliveFields:
        hint >= 1
          ? `Connection: keep-alive\r\nKeep-Alive: timeout=${hint}\r\n\r\n`
          : "Connection: keep-alive\r\n\r\n",
      maxRequestsPerSocket: options.maxRequestsPerSocket ?? 0,
      maxPipelinedRequests: options.maxPipelinedRequests ?? 32,
      maxDrainBytes: options.maxDrainBytes ?? 64 * 1024,
      lingerTimeout: options.lingerTimeout ?? 2_000,
      limits,
      onResponse: options.onResponse,
      onUpgrade: options.onUpgrade,
      upgradeFilter: options.upgradeFilter,
    };
    this.onErrorOpt = options.onError ?? defaultOnError;
    this.secure = options.tls !== undefined;
    const netOpts = { allowHalfOpen: true, noDelay: true };
    if (options.tls !== undefined) {
      // A handshake gets no longer than a request head would.
      const tlsServer = createTlsServer({
        handshakeTimeout: this.opts.headersTimeout,
        ...netOpts,
        ...options.tls,
      });
      tlsServer.on("connection", (raw: Socket) => {
        // Until its handshake completes the socket isn't a Connection; close() must still reach it.
        const key = `${raw.remoteAddress}|${raw.remotePort}`;
        const entry = { raw, since: Date.now() };
        this.handshaking.set(key, entry);
        raw.once("close", () => {
          if (this.handshaking.get(key) === entry) this.handshaking.delete(key);
        });
      });
      tlsServer.on("secureConnection", (socket: Socket) => {
        this.handshaking.delete(`${socket.remoteAddress}|${socket.remotePort}`);
        this.accept(socket, true);
      });
      tlsServer.on("tlsClientError", (_err: Error, socket: Socket) => {
        // A failed handshake is the client's problem; make sure nothing of it stays open.
        socket.destroy();
      });
      this.net = tlsServer;
    } else {
      this.net = createNetServer(netOpts, (socket) => this.accept(socket, false));
    }
    const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (Number.isFinite(maxConnections)) this.net.maxConnections = maxConnections;
  }

  /** True once `close()` was called. */
  get closing(): boolean {
    return this.closingFlag;
  }

  /** Open connections. */
  get connections(): number {
    return this.conns.size;
  }

  /** Starts listening; resolves with the bound address. Port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  listen(options: ListenOptions): Promise<AddressInfo>;
  listen(portOrOptions?: number | ListenOptions, host?: string): Promise<AddressInfo> {
    const o: ListenOptions =
      typeof portOrOptions === "object"
        ? portOrOptions
        : { port: portOrOptions ?? 0, host: host ?? "127.0.0.1" };
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.net.once("error", onError);
      this.net.listen(
        { port: o.port ?? 0, host: o.host ?? "127.0.0.1", backlog: o.backlog, ipv6Only: o.ipv6Only },
        () => {
          this.net.off("error", onError);
          this.startSweep();
          resolve(this.net.address() as AddressInfo);
        },
      );
    });
  }

  /** The bound address, or null before `listen`. */
  address(): AddressInfo | null {
    const a = this.net.address();
    return a !== null && typeof a === "object" ? a : null;
  }

  /**
   * Stops accepting connections (new ones are refused); the open ones are served as before, keep-alive
   * included. `close()` does this itself; calling it first lets several processes sharing a port (a
   * cluster) all stop accepting before any of them starts closing connections, so that a client told
   * `Connection: close` by one cannot reconnect to a listener that is about to go away.
   */
  stopAccepting(): void {
    if (this.acceptingStopped) return;
    this.acceptingStopped = true;
    if (!this.net.listening) {
      this.listenerClosed = true;
      return;
    }
    this.net.close(() => {
      this.listenerClosed = true;
      this.drained?.();
    });
  }

  /**
   * Graceful close: stop accepting, let every request already read finish and be
   * answered (the last one on each connection with `Connection: close`, after which that connection
   * closes), close connections that stay idle for `idleGrace`, and destroy what is left at the
   * deadline. Resolves when the last connection is gone, and always by the deadline.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    this.closingFlag = true;
    const deadline = options.deadline ?? 10_000;
    const grace = Math.min(options.idleGrace ?? 1_000, this.opts.keepAliveTimeout);
    this.closePromise = new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let drainTick: NodeJS.Timeout | undefined;
      const done = () => {
        if (!this.listenerClosed || this.conns.size > 0) return;
        if (timer !== undefined) clearTimeout(timer);
        if (drainTick !== undefined) clearInterval(drainTick);
        if (this.sweep !== undefined) clearInterval(this.sweep);
        this.sweep = undefined;
        resolve();
      };
      this.drained = done;
      this.stopAccepting();
      const tick = () => {
        const now = Date.now();
        for (const c of this.conns) c.drainCheck(now, grace);
        // A TLS handshake still going after the grace (a client that gave up on our certificate
        // leaves one behind) has no request in flight: it goes.
        for (const [key, h] of this.handshaking) {
          if (now - h.since >= grace) {
            this.handshaking.delete(key);
            h.raw.destroy();
          }
        }
      };
      tick();
      drainTick = setInterval(tick, Math.max(5, Math.min(100, Math.floor(grace / 4))));
      drainTick.unref();
      // The deadline timer stays referenced: a pending close() is work, and an unref'd timer would let
      // the process exit with the promise never settled once nothing else holds the event loop. At the
      // deadline the promise resolves, whatever is left: every connection is destroyed, and a socket
      // the listener still counts (it would hold `net.close`'s callback) must not hold close() too.
      timer = setTimeout(() => {
        timer = undefined;
        this.stopAccepting();
        for (const h of this.handshaking.values()) h.raw.destroy();
        this.handshaking.clear();
        for (const c of this.conns) c.destroy();
        this.conns.clear();
        this.listenerClosed = true;
        done();
      }, deadline);
      done();
    });
    return this.closePromise;
  }

  /** Calls `close()` and, after `deadline`, destroys every connection. Same as close() today. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal */
  report(error: unknown, req: IncomingRequest | undefined): void {
    try {
      this.onErrorOpt(error, req);
    } catch {
      // A failing logger must not take the server down.
    }
  }

  /** @internal */
  forget(conn: Connection): void {
    this.conns.delete(conn);
    if (this.closingFlag && this.conns.size === 0) this.drained?.();
  }

  private accept(socket: Socket, encrypted: boolean): void {
    // A connection accepted while the server drains (a TLS handshake that began before the listener
    // closed) is served: its first response says Connection: close.
    const conn = new Connection(socket, this, encrypted);
    this.conns.add(conn);
  }

  private startSweep(): void {
    if (this.sweep !== undefined) return;
    const o = this.opts;
    const shortest = Math.min(
      o.headersTimeout,
      o.requestTimeout,
      o.keepAliveTimeout,
      o.lingerTimeout,
      o.halfCloseTimeout,
      o.handlerTimeout > 0 ? o.handlerTimeout : Number.POSITIVE_INFINITY,
    );
    const every = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const c of this.conns) c.check(now);
    }, every);
    this.sweep.unref();
  }
}

/** Creates a server; call `listen()` to start it. */
export function createServer(handler: Handler, options?: ServerOptions): Server {
  return new Server(handler, options);
}
