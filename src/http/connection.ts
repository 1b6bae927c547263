// One client connection: bytes in through the parser, requests out to the handler, responses back in
// request order (pipelining), keep-alive, 100-continue, timeouts, and a careful close.

import type { Socket } from "node:net";
import { HttpParseError, HttpParser, MessageHead, type ParserHandler, type ParserLimits } from "./parser.ts";
import {
  BODY_HIGH_WATER,
  type BodySource,
  IncomingRequest,
  NO_CHUNKS,
  RequestAbortedError,
} from "./request.ts";
import { type ResponseSink, ServerResponse } from "./response.ts";
import { STATUS_TEXT } from "./status.ts";

/** What `onResponse` reports about a response. */
export interface ResponseInfo {
  /** The status sent (a 500 or 408 the server put in the handler's place included). */
  readonly status: number;
  /** Body bytes written, without the head or chunk framing (0 for HEAD, 204, 304). */
  readonly bytes: number;
  /** From the request head being parsed to the last byte handed to the socket, in ms. */
  readonly durationMs: number;
  /** False when the connection closed before the whole response was written. */
  readonly completed: boolean;
}

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly handler: (req: IncomingRequest, res: ServerResponse) => unknown;
  readonly opts: ResolvedServerOptions;
  readonly closing: boolean;
  report(error: unknown, req: IncomingRequest | undefined): void;
  forget(conn: Connection): void;
}

export interface ResolvedServerOptions {
  headersTimeout: number;
  requestTimeout: number;
  /** 0: no limit. */
  handlerTimeout: number;
  halfCloseTimeout: number;
  keepAliveTimeout: number;
  maxRequestsPerSocket: number;
  maxPipelinedRequests: number;
  maxDrainBytes: number;
  lingerTimeout: number;
  limits: ParserLimits;
  /** End of a kept-alive head, computed once: `Connection: keep-alive`, the `Keep-Alive` hint, CRLF. */
  keepAliveFields: string;
  /** The access-log hook, or undefined (then nothing is timed or reported). */
  onResponse: ((req: IncomingRequest, res: ServerResponse, info: ResponseInfo) => void) | undefined;
  /** Takes sockets whose request switches protocols, or undefined (then such requests are requests). */
  onUpgrade: ((req: IncomingRequest, socket: Socket, head: Buffer) => void) | undefined;
  /** Which upgrade requests onUpgrade takes (the others are requests), or undefined for all. */
  upgradeFilter: ((req: IncomingRequest) => boolean) | undefined;
}

const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");

/**
 * A time field that has started but not been stamped yet: the server's sweep stamps it with its own
 * clock read when it first sees it, so no request reads the clock (Date.now() is ~40 ns, and more when
 * the cache is cold). A timeout then fires between its length and its length plus two sweep intervals
 * after the fact; never early.
 */
const UNSTAMPED = -1;

export class Connection implements ParserHandler, BodySource, ResponseSink {
  readonly socket: Socket;
  readonly encrypted: boolean;
  private readonly host: ConnectionHost;
  private readonly parser: HttpParser;
  /** Responses in request order; the first is the one writing. */
  private readonly queue: ServerResponse[] = [];
  /** The request whose body is arriving. */
  private rx: IncomingRequest | undefined;
  /** Inside a data event: writes are batched and go out in one go. */
  private inData = false;
  /**
   * A request with a small declared body whose handler waits for the rest of this data event: the body
   * most often came in the same packet, and the handler then gets it complete (a framework can read it
   * without a promise). Dispatched when the body is complete, else when the data event ends.
   */
  private held: ServerResponse | undefined;
  /** The first write of a data event, and the rest (rarely: pipelined requests, 100 Continue). */
  private batchFirst: Buffer | string | undefined;
  private batch: (Buffer | string)[] | undefined;
  /** Bytes in the batch (they count toward congestion before they reach the socket). */
  private batchBytes = 0;
  /** Parsing stopped because the client doesn't read what we send: it goes on at 'drain'. */
  private congestedPause = false;
  private needResume = false;
  /** No more requests are read; the connection closes once the queue is empty. */
  private closing = false;
  private ended = false;
  private endCalled = false;
  private destroyed = false;
  private peerEnded = false;
  private readPaused = false;
  /** Reading stopped because the pipeline is full (the parser is paused). */
  private queuePaused = false;
  private served = 0;
  /** A request switching protocols, waiting for the responses before it; then the socket goes to onUpgrade. */
  private upgrading: IncomingRequest | undefined;
  /** The socket went to onUpgrade: this connection no longer reads, writes or closes it. */
  private detached = false;
  private readonly dataListener: (chunk: Buffer) => void;
  /** The last request head asked to switch protocols (Upgrade or CONNECT): the parser pauses after it. */
  private switchAsked = false;
  /** @internal times (ms) for the server's sweep; 0 when not running, UNSTAMPED until the sweep sees them. */
  headStartedAt = 0;
  requestStartedAt = 0;
  idleSince: number;
  lingerUntil = 0;
  /** When the peer half-closed with responses still owed. */
  peerEndedAt = 0;

  constructor(socket: Socket, host: ConnectionHost, encrypted: boolean) {
    this.socket = socket;
    this.host = host;
    this.encrypted = encrypted;
    this.parser = new HttpParser("request", this, host.opts.limits);
    this.idleSince = Date.now();
    this.dataListener = (chunk: Buffer) => this.onData(chunk);
    socket.on("data", this.dataListener);
    socket.on("end", () => this.detached || this.onEnd());
    socket.on("drain", () => this.detached || this.onDrain());
    socket.on("close", () => this.detached || this.onClose());
    socket.on("error", () => {
      // A reset or a TLS failure: 'close' follows and cleans up.
    });
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }
  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }
  get keepAliveFields(): string {
    return this.host.opts.keepAliveFields;
  }

  /** True when no request is in progress (a graceful close may end it now). */
  get idle(): boolean {
    return this.queue.length === 0 && !this.parser.inMessage;
  }

  // ---- bytes in -------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.upgrading !== undefined) {
      this.parser.execute(chunk); // paused after the upgrade request: kept for the new protocol
      return;
    }
    if (this.ended || (this.closing && !this.parser.inMessage)) {
      // No more requests are read (the body of the last one is, above). Lingering close: read and
      // drop what the client still sends, so our last response isn't lost to a reset.
      return;
    }
    if (this.rx === undefined && this.headStartedAt === 0) this.headStartedAt = UNSTAMPED;
    this.idleSince = 0;
    this.inData = true;
    try {
      this.parser.execute(chunk);
      if (this.held !== undefined) this.releaseHeld();
    } catch (err) {
      // The parser doesn't throw on input; this is a bug, and the process keeps serving.
      this.host.report(err, undefined);
      this.closing = true;
      this.destroy();
    }
    this.inData = false;
    this.flushBatch();
    if (this.needResume) {
      this.needResume = false;
      this.maybeResumeParser();
    }
    if (this.rx === undefined && !this.parser.inMessage) this.headStartedAt = 0;
    if (this.upgrading !== undefined) {
      this.maybeUpgrade();
      return;
    }
    if (this.parser.isPaused && !this.closing && !this.queuePaused && !this.destroyed) {
      // Too many requests in progress: stop reading (the parser keeps what it has) until one is answered.
      this.queuePaused = true;
      this.socket.pause();
    }
  }

  onHead(head: MessageHead): void {
    this.requestStartedAt = this.headStartedAt || UNSTAMPED;
    this.headStartedAt = 0;
    const req = new IncomingRequest(head, this);
    if (this.host.opts.handlerTimeout > 0) req.handlerDeadline = UNSTAMPED;
    this.switchAsked = head.upgrade || head.method === "CONNECT";
    if (
      head.upgrade &&
      this.host.opts.onUpgrade !== undefined &&
      head.versionMinor === 1 &&
      req.complete &&
      !this.host.closing &&
      (this.host.opts.upgradeFilter === undefined || this.wantsUpgrade(req))
    ) {
      // Not for the handler: the parser pauses after it, and once the responses before it are sent
      // the socket goes to onUpgrade with what follows.
      this.upgrading = req;
      this.requestStartedAt = 0;
      return;
    }
    const res = new ServerResponse(req, this);
    if (this.host.opts.onResponse !== undefined) res.startedAt = performance.now();
    if (!req.complete) this.rx = req;
    this.queue.push(res);
    this.served++;
    const max = this.host.opts.maxRequestsPerSocket;
    if (!head.keepAlive || this.host.closing || (max > 0 && this.served >= max)) {
      // This is the last request read on this connection.
      this.closing = true;
      res.closeAfter = true;
    }
    if (head.unsupportedExpectation) {
      res.closeAfter = true;
      this.closing = true;
      this.endWithError(res, 417, "Only the 100-continue expectation is supported");
      return;
    }
    if (this.inData && !req.complete && head.contentLength > 0 && head.contentLength <= BODY_HIGH_WATER) {
      this.held = res;
      return;
    }
    this.dispatch(req, res);
  }

  /** Runs the handler of the request held for its body (see `held`). */
  private releaseHeld(): void {
    const res = this.held;
    if (res === undefined) return;
    this.held = undefined;
    this.dispatch(res.request, res);
  }

  onBody(chunk: Buffer): void {
    const rx = this.rx;
    if (rx === undefined) return;
    rx.push(chunk);
    if (rx.buffered > BODY_HIGH_WATER && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    }
  }

  onComplete(trailers: string[] | undefined): boolean | undefined {
    const rx = this.rx;
    if (rx !== undefined) {
      this.rx = undefined;
      rx.end(trailers);
      if (this.held !== undefined) this.releaseHeld();
    }
    if (this.switchAsked && this.upgrading === undefined && this.queue.length === 0) {
      // The parser pauses after a request that asked to switch protocols (or a CONNECT), in case the
      // socket changes hands; this one was answered (before the parser got to its end) and stays
      // HTTP, so nothing resumes the parser later: it goes on once this data event is done.
      this.needResume = true;
    }
    this.requestStartedAt = 0;
    if (this.closing || this.queue.length >= this.host.opts.maxPipelinedRequests) return true;
    // A client that sends requests and doesn't read the answers: a congested socket counts as a full
    // pipeline, else every pipelined request would run and its answer pile up in memory.
    if (this.congested()) {
      this.congestedPause = true;
      return true;
    }
    return false;
  }

  /** More output waits for the client than the socket's high-water mark. */
  private congested(): boolean {
    const s = this.socket;
    return s.writableLength + this.batchBytes > s.writableHighWaterMark;
  }

  onError(error: HttpParseError): void {
    this.closing = true;
    this.held = undefined; // its body went bad before its handler ran: the error below answers it
    const rx = this.rx;
    this.rx = undefined;
    this.headStartedAt = 0;
    this.requestStartedAt = 0;
    if (rx !== undefined) {
      rx.fail(new RequestAbortedError(error.message, error.status));
      const res = this.responseOf(rx);
      if (res !== undefined) res.closeAfter = true;
      if (res !== undefined && !res.headersSent) {
        this.endWithError(res, error.status, error.message);
        return;
      }
      // A response already streaming can't be replaced; the connection closes once it is done.
      if (res !== undefined) return;
      // The request was answered before its body went bad: that answer stands, and a second one
      // would be a response to no request. Just close.
      if (this.queue.length === 0) this.endSocket();
      return;
    }
    this.endWithError(this.syntheticResponse(), error.status, error.message);
  }

  /** The peer closed its side: finish what was asked, then close. */
  private onEnd(): void {
    this.peerEnded = true;
    // A client that half-closes before its protocol switch happened gets none: the connection closes.
    this.upgrading = undefined;
    if (this.lingerUntil !== 0 || this.ended) {
      if (this.lingerUntil !== 0) this.destroy();
      return;
    }
    if (this.parser.isPaused && this.parser.pending.length > 0 && !this.closing) {
      // Pipelined requests are still kept back: they are answered first (maybeResumeParser finishes).
      return;
    }
    this.parser.finish();
    this.closing = true;
    if (this.queue.length === 0) {
      this.endSocket();
      return;
    }
    this.owedAfterPeerEnd();
  }

  /**
   * The peer sent its last request and responses are still owed. Most often the client is gone (a
   * half-close looks the same as a closed socket): tell the handlers through req.signal, still send
   * what they answer, and give up after halfCloseTimeout.
   */
  private owedAfterPeerEnd(): void {
    this.peerEndedAt = Date.now();
    const gone = new RequestAbortedError("The client closed its side of the connection");
    for (const r of this.queue) r.request.cancel(gone);
  }

  // ---- the handler ----------------------------------------------------------------------------

  private dispatch(req: IncomingRequest, res: ServerResponse): void {
    let r: unknown;
    try {
      r = this.host.handler(req, res);
    } catch (err) {
      this.handlerFailed(res, err);
      return;
    }
    if (r !== undefined && r !== null && typeof (r as PromiseLike<unknown>).then === "function") {
      (r as PromiseLike<unknown>).then(undefined, (err: unknown) => this.handlerFailed(res, err));
    }
  }

  private handlerFailed(res: ServerResponse, err: unknown): void {
    if (res.closed) return; // the client left; whatever failed, nobody is waiting
    // A handler passing on its own request's abort (a body cut short) is the client's doing, not a bug.
    if (err !== res.request.error && err !== res.request.cancelled) this.host.report(err, res.request);
    if (res.finished) return;
    if (!res.headersSent) {
      this.endWithError(res, 500, "The server failed to answer this request");
      return;
    }
    // Part of the body went out: the only honest signal left is to cut the connection.
    this.destroy();
  }

  /** Answers with a short plain-text error in place of `res`. */
  private endWithError(res: ServerResponse, status: number, message: string): void {
    res.reset(status);
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.end(`${status} ${STATUS_TEXT[status] ?? "Error"}: ${message}\n`);
  }

  /** A response slot for an error that belongs to no parsed request (e.g. a malformed request line). */
  private syntheticResponse(): ServerResponse {
    const head = new MessageHead();
    head.method = "GET";
    head.keepAlive = false;
    const req = new IncomingRequest(head, this);
    const res = new ServerResponse(req, this);
    if (this.host.opts.onResponse !== undefined) res.startedAt = performance.now();
    res.closeAfter = true;
    this.queue.push(res);
    return res;
  }

  private responseOf(req: IncomingRequest): ServerResponse | undefined {
    for (const r of this.queue) if (r.request === req) return r;
    return undefined;
  }

  // ---- BodySource -----------------------------------------------------------------------------

  wantBody(req: IncomingRequest): void {
    // RFC 9110 §10.1.1: an HTTP/1.0 client's 100-continue is ignored (it can't parse a 100).
    if (
      req.head.expectContinue &&
      !req.continueSent &&
      !req.complete &&
      !this.destroyed &&
      req.head.versionMinor === 1
    ) {
      const res = this.queue[0];
      if (res !== undefined && res.request === req && !res.headersSent) {
        req.continueSent = true;
        this.out(CONTINUE);
      }
    }
    if (this.readPaused && (this.rx === undefined || this.rx.buffered < BODY_HIGH_WATER)) {
      this.readPaused = false;
      if (!this.queuePaused) this.socket.resume();
    }
  }

  // ---- ResponseSink ---------------------------------------------------------------------------

  keepAliveAfter(res: ServerResponse): boolean {
    if (res.closeAfter || this.ended) return false;
    if (this.host.closing && this.queue[this.queue.length - 1] === res) {
      // The server drains: every request read is answered, and the last one read says Connection:
      // close; no more are read after it (RFC 9112 §9.6). A response before it keeps the connection
      // open for the ones after.
      this.closing = true;
      return false;
    }
    const req = res.request;
    if (!req.keepAlive) return false;
    if (req.complete) return true;
    // The body is still coming. Keep the connection only when what is left can be drained cheaply.
    if (req.head.expectContinue && !req.continueSent && req.head.versionMinor === 1) return false;
    return req.contentLength >= 0 && req.contentLength - req.received <= this.host.opts.maxDrainBytes;
  }

  send(res: ServerResponse, data: Buffer | string, last: boolean): boolean {
    if (this.destroyed) return true;
    if (this.queue[0] !== res) {
      if (res.queued === undefined) res.queued = [];
      if (data.length > 0) res.queued.push(data);
      if (last) res.queuedLast = true;
      return false;
    }
    if (data.length > 0) this.out(data);
    if (last) this.finished(res);
    return !this.socket.writableNeedDrain;
  }

  sendHeadAndBody(res: ServerResponse, head: string, body: Buffer): void {
    if (this.destroyed || this.queue[0] !== res || this.inData) {
      // Not its turn yet, or batched with the rest of this data event (a mixed batch is corked).
      this.send(res, head, false);
      this.send(res, body, true);
      return;
    }
    const s = this.socket;
    s.cork();
    this.out(head);
    this.out(body);
    s.uncork();
    this.finished(res);
  }

  drain(res: ServerResponse): Promise<void> {
    return new Promise<void>((resolve) => {
      res.drainWaiter = resolve as (v: undefined) => void;
      if (this.destroyed || res.closed || (this.queue[0] === res && !this.socket.writableNeedDrain)) {
        this.wakeWriter(res);
      }
    });
  }

  private wakeWriter(res: ServerResponse): void {
    const w = res.drainWaiter;
    if (w !== undefined) {
      res.drainWaiter = undefined;
      w(undefined);
    }
  }

  private onDrain(): void {
    const head = this.queue[0];
    if (head !== undefined) this.wakeWriter(head);
    if (this.congestedPause && !this.inData) {
      this.congestedPause = false;
      this.maybeResumeParser();
    }
  }

  private out(data: Buffer | string): void {
    if (this.inData) {
      this.batchBytes += data.length;
      if (this.batchFirst === undefined) this.batchFirst = data;
      else if (this.batch === undefined) this.batch = [this.batchFirst, data];
      else this.batch.push(data);
      return;
    }
    if (typeof data === "string") this.socket.write(data, "latin1");
    else this.socket.write(data);
  }

  private flushBatch(): void {
    const first = this.batchFirst;
    this.batchBytes = 0;
    if (first !== undefined) {
      this.batchFirst = undefined;
      const b = this.batch;
      this.batch = undefined;
      if (this.destroyed) {
        // Nothing more goes out.
      } else if (b === undefined) {
        this.out(first);
      } else {
        const n = b.length;
        let strings = true;
        for (let i = 0; i < n && strings; i++) strings = typeof b[i] === "string";
        if (strings) {
          // Pipelined answers that are all strings (small ASCII responses): one string, one write.
          this.out((b as string[]).join(""));
        } else {
          const s = this.socket;
          s.cork();
          for (let i = 0; i < n; i++) this.out(b[i]!);
          s.uncork();
        }
      }
    }
    if (this.ended && !this.endCalled && !this.destroyed) this.endNow();
  }

  /** Ends our side after what was written; once both sides ended the socket goes. */
  private endNow(): void {
    this.endCalled = true;
    if (this.peerEnded) this.socket.destroySoon();
    else this.socket.end();
  }

  /** `res` wrote its last bytes: move on to the next response, or close. */
  private finished(res: ServerResponse): void {
    for (;;) {
      this.queue.shift();
      if (this.host.opts.onResponse !== undefined) this.reportResponse(res, true);
      const req = res.request;
      if (!req.complete) {
        // Nobody will read the rest of this body: drop it as it comes (keepAliveAfter bounded it).
        req.discard = true;
        req.chunks = NO_CHUNKS;
        req.buffered = 0;
        this.wantBody(req);
      }
      if (res.closeAfter) {
        this.closing = true;
        for (const r of this.queue) this.abandon(r);
        this.queue.length = 0;
        this.endSocket();
        return;
      }
      const next = this.queue[0];
      if (next === undefined) break;
      const q = next.queued;
      if (q !== undefined) {
        next.queued = undefined;
        for (const d of q) this.out(d);
      }
      if (next.request.wanted) this.wantBody(next.request);
      if (!next.queuedLast) {
        if (!this.socket.writableNeedDrain) this.wakeWriter(next);
        break;
      }
      res = next;
    }
    if (this.queue.length === 0) {
      if (this.upgrading !== undefined) {
        if (!this.inData) this.maybeUpgrade(); // else at the end of the data event
        return;
      }
      // Idle only between requests (check() skips a head that is arriving: headersTimeout times it).
      this.idleSince = UNSTAMPED;
      if (this.closing && !this.parser.inMessage) {
        this.endSocket();
        return;
      }
    }
    if (this.parser.isPaused) {
      if (this.inData) this.needResume = true;
      else this.maybeResumeParser();
    }
  }

  private maybeResumeParser(): void {
    if (this.closing || this.destroyed || this.upgrading !== undefined) return;
    if (this.parser.isPaused && this.congested()) {
      this.congestedPause = true; // 'drain' resumes
      return;
    }
    if (this.queue.length < this.host.opts.maxPipelinedRequests && this.parser.isPaused) {
      this.inData = true;
      this.parser.resume();
      if (this.held !== undefined) this.releaseHeld();
      // A head kept back while the pipeline was full starts its clock now.
      if (this.parser.inMessage && this.rx === undefined && this.headStartedAt === 0) {
        this.headStartedAt = UNSTAMPED;
      }
      if (this.peerEnded && (!this.parser.isPaused || this.parser.pending.length === 0)) {
        // The client half-closed after these requests: a cut-short one is an error, then we close.
        this.parser.finish();
        this.closing = true;
        if (this.queue.length > 0 && this.peerEndedAt === 0) this.owedAfterPeerEnd();
      }
      this.inData = false;
      this.flushBatch();
      if (this.needResume) {
        this.needResume = false;
        this.maybeResumeParser();
      }
      if (this.queuePaused && !this.parser.isPaused && !this.destroyed) {
        this.queuePaused = false;
        if (!this.readPaused) this.socket.resume();
      }
      if (this.closing && this.queue.length === 0 && !this.parser.inMessage) this.endSocket();
    }
  }

  /** Asks upgradeFilter; a throw goes to onError and the request stays a request. */
  private wantsUpgrade(req: IncomingRequest): boolean {
    try {
      return this.host.opts.upgradeFilter!(req);
    } catch (err) {
      this.host.report(err, req);
      return false;
    }
  }

  /**
   * Hands the socket to onUpgrade once nothing is owed before the upgrade request: the parser stays
   * paused with the bytes after it, which go along as `head`.
   */
  private maybeUpgrade(): void {
    const req = this.upgrading;
    if (req === undefined || this.queue.length > 0 || this.inData) return;
    this.upgrading = undefined;
    if (this.ended || this.destroyed) return;
    const onUpgrade = this.host.opts.onUpgrade!;
    const socket = this.socket;
    const head = this.parser.pending;
    this.detached = true;
    this.destroyed = true; // nothing of this connection touches the socket again
    socket.off("data", this.dataListener);
    // Stop the flow without a listener: what arrives from now on waits in the socket until the new
    // owner reads it (node:http does the same), whether or not reading was paused here.
    (socket as { readableFlowing: boolean | null }).readableFlowing = null;
    this.host.forget(this);
    req.upgraded = true;
    try {
      onUpgrade(req, socket, head);
    } catch (err) {
      this.host.report(err, req);
      socket.destroy();
    }
  }

  /** Tells `onResponse` about `res` (once). */
  private reportResponse(res: ServerResponse, completed: boolean): void {
    const hook = this.host.opts.onResponse;
    if (hook === undefined || res.reported) return;
    res.reported = true;
    try {
      hook(res.request, res, {
        status: res.statusCode,
        bytes: res.bodyBytes,
        durationMs: performance.now() - res.startedAt,
        completed,
      });
    } catch (err) {
      this.host.report(err, res.request);
    }
  }

  private abandon(res: ServerResponse): void {
    if (this.host.opts.onResponse !== undefined) this.reportResponse(res, false);
    res.gone = true;
    res.request.fail(new RequestAbortedError("The connection closed before this request was answered"));
    this.wakeWriter(res);
  }

  // ---- closing --------------------------------------------------------------------------------

  /** Half-closes after the queued output, then lingers briefly reading (and dropping) input. */
  private endSocket(): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.closing = true;
    if (this.queuePaused || this.readPaused) {
      // Keep reading (and dropping) while lingering, so unread input doesn't turn our close into a reset.
      this.queuePaused = false;
      this.readPaused = false;
      this.socket.resume();
    }
    // Inside a data event, flushBatch ends the socket after writing the batch.
    if (!this.inData) this.endNow();
    if (this.peerEnded) return;
    this.lingerUntil = Date.now() + this.host.opts.lingerTimeout;
  }

  /**
   * Called while the server drains (close()), every few ms: a connection idle for `grace` ms closes,
   * with a FIN, then lingers reading. A busy one finishes; its next response says Connection: close
   * (keepAliveAfter), so a client whose response promised keep-alive just before the close gets its
   * next request answered instead of reset.
   */
  drainCheck(now: number, grace: number): void {
    if (this.ended || this.destroyed || this.upgrading !== undefined) return;
    if (this.queue.length > 0 || this.parser.inMessage) return;
    // Idle (nothing owed, no head arriving): stamp when it became so, if no one did.
    if (this.idleSince <= 0) this.idleSince = now;
    if (now - this.idleSince >= grace) this.endSocket();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.socket.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closing = true;
    const err = new RequestAbortedError("The client closed the connection");
    this.rx?.fail(err);
    this.rx = undefined;
    for (const r of this.queue) this.abandon(r);
    this.queue.length = 0;
    this.host.forget(this);
  }

  /** Called by the server's sweep about once a second (or more often with short timeouts). */
  check(now: number): void {
    const o = this.host.opts;
    if (this.headStartedAt === UNSTAMPED) this.headStartedAt = now;
    if (this.requestStartedAt === UNSTAMPED) this.requestStartedAt = now;
    if (this.idleSince === UNSTAMPED) this.idleSince = now;
    if (this.lingerUntil !== 0) {
      if (now >= this.lingerUntil) this.destroy();
      return;
    }
    if (this.peerEndedAt !== 0) {
      if (now - this.peerEndedAt >= o.halfCloseTimeout) this.destroy();
      return;
    }
    const q = this.queue;
    for (let i = 0; i < q.length; i++) {
      const r = q[i]!;
      const req = r.request;
      const d = req.handlerDeadline;
      if (d === 0) continue;
      if (d === UNSTAMPED) req.handlerDeadline = now + o.handlerTimeout;
      else if (now >= d) this.handlerTimedOut(r);
    }
    if (this.destroyed) return;
    // A 503 just sent may have left the connection idle: that starts now.
    if (this.idleSince === UNSTAMPED) this.idleSince = now;
    if (this.headStartedAt !== 0 && now - this.headStartedAt >= o.headersTimeout) {
      this.timeout("The request headers took too long to arrive");
      return;
    }
    if (
      this.rx !== undefined &&
      this.requestStartedAt !== 0 &&
      now - this.requestStartedAt >= o.requestTimeout
    ) {
      this.timeout("The request took too long to arrive");
      return;
    }
    if (
      this.idleSince !== 0 &&
      this.queue.length === 0 &&
      !this.parser.inMessage &&
      now - this.idleSince >= o.keepAliveTimeout
    ) {
      this.endSocket();
    }
  }

  /** The handler didn't start its response in time: 503 in its place, and its signal aborts. */
  private handlerTimedOut(res: ServerResponse): void {
    const req = res.request;
    req.handlerDeadline = 0;
    if (res.headersSent || res.finished) return; // a started response (a stream) is not cut
    req.cancel(new RequestAbortedError("The handler took longer than its time limit", 503));
    this.host.report(
      new Error(`The handler for ${req.method} ${req.url} did not answer within its time limit: sent 503`),
      req,
    );
    this.endWithError(res, 503, "The server took too long to answer this request; try again later");
  }

  private timeout(message: string): void {
    this.headStartedAt = 0;
    this.requestStartedAt = 0;
    this.onError(new HttpParseError(408, "TIMEOUT", message));
  }
}
