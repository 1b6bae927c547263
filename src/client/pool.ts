// Connections and the keep-alive pool. One request at a time per connection (no pipelining: a
// stalled response would hold up the others). A pool per origin keeps idle sockets (most recently
// used first), expires them before the server's advertised `Keep-Alive: timeout`, queues requests
// beyond `connections`, and retries an idempotent request once when a reused socket turns out to be
// dead before any byte of the response arrived.

import { connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import {
  type HttpParseError,
  HttpParser,
  type MessageHead,
  type ParserHandler,
  type ParserLimits,
} from "../http/parser.ts";
import type { PreparedBody } from "./body.ts";
import {
  type ClientError,
  ConnectError,
  ConnectionClosedError,
  ConnectTimeoutError,
  HeadersTimeoutError,
  MalformedResponseError,
  ReadTimeoutError,
  ResponseTooLargeError,
} from "./errors.ts";
import { Tunnel } from "./proxy.ts";
import { type BodyControl, ClientResponse } from "./response.ts";

/** TLS settings for https origins. */
export interface TlsSettings {
  /** Extra CA certificates (PEM) to trust, e.g. a private CA. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate and key for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Verify the server's certificate. Default true; turn off only for local testing. */
  rejectUnauthorized?: boolean;
  /** SNI name and the name the certificate is checked against; defaults to the URL's host. */
  servername?: string;
}

/** @internal Settings shared by every pool of a client. */
export interface PoolSettings {
  connections: number;
  idleTimeout: number;
  connectTimeout: number;
  readTimeout: number;
  headersTimeout: number;
  expectContinueTimeout: number;
  tls: TlsSettings | undefined;
  limits: Partial<ParserLimits>;
}

const ONE_WRITE_MAX = 64 * 1024;
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

/** @internal One request on the wire: the serialized head, the body, and the promise of a response. */
export class Exchange {
  readonly method: string;
  readonly url: URL;
  readonly head: string;
  readonly body: PreparedBody | undefined;
  readonly maxBytes: number;
  readonly decode: boolean;
  /** Sent with `Connection: close`: don't reuse the socket. */
  readonly closeAfter: boolean;
  /** Sent with `Expect: 100-continue`: hold the body until `100 Continue` (or a short wait). */
  expectContinue = false;
  /** May be sent again after a stale-socket failure. */
  readonly retriable: boolean;
  retried = false;
  conn: Conn | undefined;
  response: ClientResponse | undefined;
  settled = false;
  private resolveFn: ((r: ClientResponse) => void) | undefined;
  private rejectFn: ((e: Error) => void) | undefined;
  readonly promise: Promise<ClientResponse>;

  constructor(
    method: string,
    url: URL,
    head: string,
    body: PreparedBody | undefined,
    maxBytes: number,
    decode: boolean,
    closeAfter: boolean,
  ) {
    this.method = method;
    this.url = url;
    this.head = head;
    this.body = body;
    this.maxBytes = maxBytes;
    this.decode = decode;
    this.closeAfter = closeAfter;
    this.retriable = IDEMPOTENT.has(method) && (body === undefined || body.replayable);
    this.promise = new Promise<ClientResponse>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /** @internal */
  resolve(res: ClientResponse): void {
    this.response = res;
    this.resolveFn!(res);
  }

  /** Fails the exchange: before the head, the promise rejects; after it, the body does. */
  fail(error: ClientError | Error): void {
    if (this.settled) return;
    this.settled = true;
    if (error instanceof Error && "url" in error && (error as ClientError).url === undefined)
      (error as ClientError).url = this.url.href;
    const res = this.response;
    if (res === undefined) this.rejectFn!(error);
    else res.fail(error);
    const c = this.conn;
    this.conn = undefined;
    c?.destroy();
  }

  /** Aborts from outside (timeout, AbortSignal). */
  abort(error: Error): void {
    this.fail(error);
  }
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** Parses `timeout=N` and `max=N` out of a Keep-Alive value, without regexes. */
function keepAliveParam(value: string, key: string): number {
  const v = value.toLowerCase();
  const at = v.indexOf(key);
  if (at === -1) return -1;
  let i = at + key.length;
  while (v.charCodeAt(i) === 0x20) i++;
  if (v.charCodeAt(i) !== 0x3d) return -1;
  i++;
  while (v.charCodeAt(i) === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (let c = v.charCodeAt(i); c >= 0x30 && c <= 0x39; c = v.charCodeAt(++i)) {
    n = n * 10 + (c - 0x30);
    if (++digits > 9) return -1;
  }
  return digits === 0 ? -1 : n;
}

enum ConnState {
  Connecting = 0,
  Busy = 1,
  Idle = 2,
  Closed = 3,
}

/** @internal A socket to one origin with its response parser. */
export class Conn implements ParserHandler, BodyControl {
  readonly pool: Pool;
  readonly socket: Socket;
  private readonly parser: HttpParser;
  state: ConnState = ConnState.Connecting;
  ex: Exchange | undefined;
  /** Requests completed on this socket. */
  served = 0;
  /** Bytes of the current response have arrived. */
  private gotBytes = false;
  /** When the current request was sent (for headersTimeout), 0 once its head arrived. */
  private sentAt = 0;
  private keepAlive = true;
  private requestDone = false;
  private connected = false;
  private lastError: Error | undefined;
  /** Waiting for `100 Continue` before sending the body. */
  private continueTimer: NodeJS.Timeout | undefined;
  /** A streamed body is being written. */
  private pumping = false;
  /** Server's Keep-Alive hints. */
  private kaTimeoutMs = -1;
  private kaMax = -1;
  /** The CONNECT tunnel under the TLS socket, when an https origin is reached through a proxy. */
  private tunnel: Tunnel | undefined;
  expiresAt = Number.POSITIVE_INFINITY;

  constructor(pool: Pool) {
    this.pool = pool;
    const s = pool.settings;
    this.parser = new HttpParser("response", this, s.limits);
    const onConnect = () => {
      this.connected = true;
      if (this.state === ConnState.Busy) this.socket.setTimeout(s.readTimeout);
    };
    if (pool.secure) {
      const t = s.tls;
      const opts: ConnectionOptions = {
        host: pool.hostname,
        port: pool.port,
        ALPNProtocols: ["http/1.1"],
        rejectUnauthorized: t?.rejectUnauthorized ?? true,
      };
      const sni = t?.servername ?? pool.hostname;
      // SNI may not be an IP address (RFC 6066 §3).
      if (!/^[0-9.]+$|:/.test(sni)) opts.servername = sni;
      else if (t?.servername !== undefined) opts.servername = t.servername;
      if (t?.ca !== undefined) opts.ca = t.ca;
      if (t?.cert !== undefined) opts.cert = t.cert;
      if (t?.key !== undefined) opts.key = t.key;
      // Resume the last TLS session with this origin: a new socket skips the full handshake.
      if (pool.tlsSession !== undefined) opts.session = pool.tlsSession;
      if (pool.proxy !== undefined) {
        this.tunnel = new Tunnel(pool.proxy, pool.hostname, pool.port);
        opts.socket = this.tunnel;
      }
      this.socket = tlsConnect(opts, onConnect);
      this.socket.on("session", (session: Buffer) => {
        pool.tlsSession = session;
      });
    } else if (pool.proxy !== undefined) {
      // Plain http through a proxy: the request goes to the proxy, with the absolute URL as its target.
      const px = pool.proxy;
      this.socket = netConnect(
        { host: px.hostname.replace(/^\[|\]$/g, ""), port: Number(px.port || 80), noDelay: true },
        onConnect,
      );
    } else {
      this.socket = netConnect({ host: pool.hostname, port: pool.port, noDelay: true }, onConnect);
    }
    const sock = this.socket;
    sock.setNoDelay(true);
    sock.setTimeout(s.connectTimeout);
    sock.on("data", (d: Buffer) => this.onData(d));
    sock.on("end", () => this.onEnd());
    sock.on("error", (e: Error) => {
      this.lastError = e;
    });
    sock.on("close", () => this.onClose());
    sock.on("timeout", () => this.onTimeout());
  }

  /** Sends `ex` on this connection. */
  start(ex: Exchange): void {
    this.ex = ex;
    ex.conn = this;
    this.gotBytes = false;
    this.requestDone = false;
    this.keepAlive = !ex.closeAfter;
    this.sentAt = Date.now();
    if (this.state === ConnState.Idle) {
      this.socket.ref();
      this.socket.setTimeout(this.pool.settings.readTimeout);
    }
    this.state = ConnState.Busy;
    this.parser.expectNoBody(ex.method === "HEAD");
    this.write(ex);
  }

  private write(ex: Exchange): void {
    const sock = this.socket;
    const b = ex.body;
    const head = ex.head;
    if (b === undefined) {
      sock.write(head, "latin1");
      this.requestDone = true;
      return;
    }
    if (ex.expectContinue) {
      sock.write(head, "latin1");
      // RFC 9110 §10.1.1: don't wait for 100 Continue indefinitely; servers may not send it.
      this.continueTimer = setTimeout(() => this.sendBody(ex), this.pool.settings.expectContinueTimeout);
      return;
    }
    if (b.text !== undefined || b.bytes !== undefined) {
      const n = b.length;
      if (n <= ONE_WRITE_MAX) {
        const buf = Buffer.allocUnsafe(head.length + n);
        buf.write(head, 0, "latin1");
        if (b.text !== undefined) buf.write(b.text, head.length, "utf8");
        else b.bytes!.copy(buf, head.length);
        sock.write(buf);
      } else {
        sock.cork();
        sock.write(head, "latin1");
        if (b.text !== undefined) sock.write(b.text, "utf8");
        else sock.write(b.bytes!);
        sock.uncork();
      }
      this.requestDone = true;
      return;
    }
    sock.write(head, "latin1");
    this.startPump(ex, b);
  }

  private startPump(ex: Exchange, b: PreparedBody): void {
    this.pumping = true;
    this.pump(ex, b)
      .catch((e: unknown) => {
        if (this.ex === ex && !ex.settled) ex.fail(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        this.pumping = false;
      });
  }

  /** Sends the held body of an `Expect: 100-continue` request. */
  private sendBody(ex: Exchange): void {
    if (this.continueTimer !== undefined) clearTimeout(this.continueTimer);
    this.continueTimer = undefined;
    const b = ex.body;
    if (this.ex !== ex || b === undefined || this.socket.destroyed) return;
    if (b.text !== undefined) this.socket.write(b.text, "utf8");
    else if (b.bytes !== undefined) this.socket.write(b.bytes);
    else {
      this.startPump(ex, b);
      return;
    }
    this.requestDone = true;
  }

  /** Streams a body that is not in memory: chunked when its length is unknown, with backpressure. */
  private async pump(ex: Exchange, b: PreparedBody): Promise<void> {
    const sock = this.socket;
    const chunked = b.length < 0;
    let sent = 0;
    for await (const piece of b.stream!()) {
      if (this.ex !== ex || sock.destroyed) return;
      const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
      if (chunk.length === 0) continue;
      sent += chunk.length;
      let ok: boolean;
      if (chunked) {
        sock.cork();
        sock.write(`${chunk.length.toString(16)}\r\n`, "latin1");
        sock.write(chunk);
        ok = sock.write("\r\n", "latin1");
        sock.uncork();
      } else {
        if (sent > b.length)
          throw new TypeError(`The request body is longer than its declared ${b.length} bytes`);
        ok = sock.write(chunk);
      }
      if (!ok) await this.drained();
    }
    if (this.ex !== ex || sock.destroyed) return;
    if (chunked) sock.write(LAST_CHUNK);
    else if (sent !== b.length)
      throw new TypeError(`The request body ended after ${sent} of its declared ${b.length} bytes`);
    this.requestDone = true;
    if (this.ex === undefined && this.state === ConnState.Busy) this.afterResponse();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const sock = this.socket;
      const done = () => {
        sock.off("drain", done);
        sock.off("close", done);
        resolve();
      };
      sock.on("drain", done);
      sock.on("close", done);
    });
  }

  // --- socket events ---------------------------------------------------------------------------

  private onData(d: Buffer): void {
    this.gotBytes = true;
    // Silence is readTimeout's; a head trickling in forever is this check's (slowloris in reverse).
    if (
      this.sentAt !== 0 &&
      this.ex !== undefined &&
      Date.now() - this.sentAt > this.pool.settings.headersTimeout
    ) {
      this.ex.fail(new HeadersTimeoutError(this.pool.origin, this.pool.settings.headersTimeout));
      return;
    }
    if (this.ex === undefined && !this.parser.inMessage) {
      // Bytes nobody asked for (on an idle socket): the stream is out of step; drop the socket.
      this.destroy();
      return;
    }
    this.parser.execute(d);
  }

  private onEnd(): void {
    // Completes a body delimited by the close, or reports a truncated one.
    if (this.ex !== undefined) this.parser.finish();
    this.destroy();
  }

  private onClose(): void {
    if (this.continueTimer !== undefined) clearTimeout(this.continueTimer);
    this.continueTimer = undefined;
    const wasConnected = this.connected;
    this.state = ConnState.Closed;
    this.pool.forget(this);
    const ex = this.ex;
    if (ex === undefined) return;
    this.ex = undefined;
    ex.conn = undefined;
    if (ex.settled) return;
    const origin = this.pool.origin;
    if (ex.response === undefined && !this.gotBytes && this.served > 0 && ex.retriable && !ex.retried) {
      // A reused socket the server had already closed: send once more on a fresh one.
      ex.retried = true;
      this.pool.dispatch(ex, true);
      return;
    }
    if (!wasConnected) {
      const px = this.pool.proxy;
      ex.fail(
        new ConnectError(
          px === undefined ? origin : `${origin} through the proxy ${px.host}`,
          this.tunnel?.failure ?? this.lastError ?? new Error("the connection closed during the handshake"),
        ),
      );
      return;
    }
    const why = this.lastError === undefined ? "" : `: ${this.lastError.message}`;
    ex.fail(
      new ConnectionClosedError(
        origin,
        ex.response === undefined
          ? `The server closed the connection before sending a response${why}`
          : `The server closed the connection before the response body was complete${why}`,
        this.lastError,
      ),
    );
  }

  private onTimeout(): void {
    const ex = this.ex;
    const s = this.pool.settings;
    if (ex === undefined) {
      this.destroy(); // idle expiry
      return;
    }
    if (!this.connected) {
      const px = this.pool.proxy;
      const where = px === undefined ? this.pool.origin : `${this.pool.origin} through the proxy ${px.host}`;
      ex.fail(new ConnectTimeoutError(where, s.connectTimeout));
    } else ex.fail(new ReadTimeoutError(this.pool.origin, s.readTimeout));
  }

  // --- parser events ---------------------------------------------------------------------------

  onHead(head: MessageHead): void {
    const ex = this.ex;
    if (ex === undefined) {
      this.destroy();
      return;
    }
    const st = head.status;
    if (this.continueTimer !== undefined) {
      if (st === 100) {
        this.sendBody(ex);
        return;
      }
      if (st >= 200) {
        // A final answer before the body: it is never sent, so the socket can't be reused.
        clearTimeout(this.continueTimer);
        this.continueTimer = undefined;
        this.keepAlive = false;
      }
    }
    if (st < 200) {
      if (st === 101)
        ex.fail(
          new MalformedResponseError(
            this.pool.origin,
            "UNEXPECTED_101",
            "the server switched protocols unasked",
          ),
        );
      return; // 1xx interim responses are skipped
    }
    if (head.contentLength > ex.maxBytes) {
      ex.fail(new ResponseTooLargeError(ex.maxBytes));
      return;
    }
    if (!head.keepAlive) this.keepAlive = false;
    const ka = head.get("keep-alive");
    if (ka !== undefined) {
      const t = keepAliveParam(ka, "timeout");
      if (t >= 0) this.kaTimeoutMs = t * 1000;
      const m = keepAliveParam(ka, "max");
      if (m >= 0) this.kaMax = m;
    }
    this.sentAt = 0;
    const res = new ClientResponse(head, ex.url.href, this, ex.maxBytes, ex.decode);
    ex.resolve(res);
  }

  onBody(chunk: Buffer): void {
    const res = this.ex?.response;
    if (res !== undefined) res.push(chunk);
  }

  onComplete(trailers: string[] | undefined): boolean | undefined {
    const ex = this.ex;
    if (ex === undefined) return undefined;
    this.ex = undefined;
    ex.conn = undefined;
    ex.settled = true;
    this.served++;
    ex.response?.end(trailers);
    if (this.requestDone) this.afterResponse();
    else if (this.pumping)
      this.keepAlive = false; // answered mid-upload: the pump closes the socket when done
    else this.destroy(); // answered before a held (100-continue) body was sent
    return undefined;
  }

  onError(error: HttpParseError): void {
    const ex = this.ex;
    this.destroy();
    if (ex === undefined) return;
    if (error.code === "HPE_BODY_TOO_LARGE") ex.fail(new ResponseTooLargeError(ex.maxBytes));
    else if (error.code === "HPE_INCOMPLETE")
      ex.fail(
        new ConnectionClosedError(
          this.pool.origin,
          ex.response === undefined
            ? "The server closed the connection in the middle of the response head"
            : "The server closed the connection before the response body was complete",
        ),
      );
    else ex.fail(new MalformedResponseError(this.pool.origin, error.code, error.message));
  }

  // --- body control ----------------------------------------------------------------------------

  pause(): void {
    // The reader is behind, not the server: no read timeout while we don't read.
    this.socket.pause();
    this.socket.setTimeout(0);
  }

  resume(): void {
    this.socket.setTimeout(this.pool.settings.readTimeout);
    this.socket.resume();
  }

  cancel(): void {
    const ex = this.ex;
    if (ex !== undefined) {
      ex.settled = true;
      this.ex = undefined;
      ex.conn = undefined;
    }
    this.destroy();
  }

  // --- lifecycle -------------------------------------------------------------------------------

  private afterResponse(): void {
    if (this.state !== ConnState.Busy) return;
    if (!this.keepAlive || (this.kaMax > 0 && this.served >= this.kaMax) || this.socket.destroyed) {
      this.destroy();
      return;
    }
    const s = this.pool.settings;
    let idle = s.idleTimeout;
    if (this.kaTimeoutMs >= 0) {
      // Leave before the server does: a margin of 1 s (or half a short timeout).
      const hint = this.kaTimeoutMs >= 2000 ? this.kaTimeoutMs - 1000 : this.kaTimeoutMs / 2;
      if (hint < idle) idle = hint;
    }
    if (idle <= 0) {
      this.destroy();
      return;
    }
    this.expiresAt = Date.now() + idle;
    this.socket.setTimeout(idle);
    this.state = ConnState.Idle;
    this.pool.release(this);
  }

  destroy(): void {
    if (this.continueTimer !== undefined) clearTimeout(this.continueTimer);
    this.continueTimer = undefined;
    if (this.state === ConnState.Closed) return;
    this.state = ConnState.Closed;
    this.socket.destroy();
    this.pool.forget(this);
  }

  /** @internal for the pool: park as idle. */
  park(): void {
    this.socket.unref();
  }
}

/** @internal The connections to one origin. */
export class Pool {
  readonly origin: string;
  readonly hostname: string;
  readonly port: number;
  readonly secure: boolean;
  readonly settings: PoolSettings;
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();
  private readonly queue: Exchange[] = [];
  private queueHead = 0;
  closed = false;
  /** The latest TLS session ticket from this origin. */
  tlsSession: Buffer | undefined;
  /** The http proxy this origin is reached through, if any. */
  readonly proxy: URL | undefined;

  constructor(url: URL, settings: PoolSettings, proxy?: URL) {
    this.proxy = proxy;
    this.secure = url.protocol === "https:";
    this.origin = `${url.protocol}//${url.host}`;
    const h = url.hostname;
    this.hostname = h.charCodeAt(0) === 0x5b ? h.slice(1, -1) : h;
    this.port = url.port === "" ? (this.secure ? 443 : 80) : Number(url.port);
    this.settings = settings;
  }

  /** Open sockets. */
  get size(): number {
    return this.all.size;
  }

  /** Idle sockets. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Sends `ex` on an idle socket, a new one, or after a socket frees up. */
  dispatch(ex: Exchange, fresh = false): void {
    if (!fresh) {
      const idle = this.idle;
      while (idle.length > 0) {
        const c = idle.pop()!;
        if (c.expiresAt <= Date.now() || c.socket.destroyed) {
          c.destroy();
          continue;
        }
        c.start(ex);
        return;
      }
    }
    if (this.all.size < this.settings.connections || fresh) {
      const c = new Conn(this);
      this.all.add(c);
      c.start(ex);
      return;
    }
    this.queue.push(ex);
  }

  /** A socket finished its exchange and may be reused. */
  release(c: Conn): void {
    if (this.closed) {
      c.destroy();
      return;
    }
    const next = this.takeQueued();
    if (next !== undefined) {
      c.start(next);
      return;
    }
    c.park();
    this.idle.push(c);
  }

  /** A socket closed. */
  forget(c: Conn): void {
    if (!this.all.delete(c)) return;
    const i = this.idle.indexOf(c);
    if (i !== -1) this.idle.splice(i, 1);
    if (this.all.size < this.settings.connections) {
      const next = this.takeQueued();
      if (next !== undefined) {
        const nc = new Conn(this);
        this.all.add(nc);
        nc.start(next);
      }
    }
  }

  private takeQueued(): Exchange | undefined {
    while (this.queueHead < this.queue.length) {
      const ex = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as unknown as Exchange;
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      }
      if (!ex.settled) return ex;
    }
    return undefined;
  }

  /** Closes idle sockets now and the others once their exchange is done. */
  close(): void {
    this.closed = true;
    for (const c of [...this.idle]) c.destroy();
    this.idle.length = 0;
  }

  /** Destroys every socket; requests in flight fail. */
  destroy(): void {
    this.closed = true;
    for (const c of [...this.all]) c.destroy();
    for (const ex of this.queue.splice(0))
      ex?.fail(new ConnectionClosedError(this.origin, "The client was destroyed"));
  }
}
