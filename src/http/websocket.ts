// WebSocket framing, server side (RFC 6455 §5-7, permessage-deflate of RFC 7692), on a socket that left
// the HTTP wire after a 101. One object per connection, no stream in between: the socket's 'data'
// chunks go straight into an incremental frame parser; a message is handed to the listener as one
// Buffer (text already checked as UTF-8); frames are written with their header in the same buffer.
//
// Strict as the RFC says a server must be: client frames must be masked; reserved bits, reserved
// opcodes, fragmented or long control frames, continuation without a message, an invalid close code or
// close payload fail the connection with 1002; invalid UTF-8 with 1007; a message longer than the limit
// with 1009, decided from the frame header, before its payload is buffered (and, compressed, while
// inflating, before the whole of it is inflated).

import { isUtf8 } from "node:buffer";
import type { Socket } from "node:net";
import {
  createDeflateRaw,
  createInflateRaw,
  type DeflateRaw,
  type InflateRaw,
  constants as Z,
} from "node:zlib";
import type { DeflateParams } from "./websocket-handshake.ts";

/** What a connection tells its owner; one object can serve every connection (no closure each). */
export interface WebSocketListener {
  /** A whole message: text (checked UTF-8, still bytes) or binary. */
  message(ws: ServerWebSocket, data: Buffer, isBinary: boolean): void;
  /** The connection is closed (TCP included), with the peer's close code (1005 none, 1006 no close frame). */
  close(ws: ServerWebSocket, code: number, reason: string): void;
  /** A pong arrived. */
  pong?(ws: ServerWebSocket, data: Buffer): void;
}

export interface ServerWebSocketOptions {
  /** The largest message accepted, in bytes (after inflating); a larger one fails with 1009. Default 1 MiB. */
  maxMessageSize?: number;
  /** The permessage-deflate parameters agreed in the handshake, or undefined for none. */
  deflate?: DeflateParams | undefined;
  /** Messages shorter than this are sent uncompressed even with permessage-deflate. Default 1024. */
  compressThreshold?: number;
  /** How long to wait for the peer's close frame (and its end of TCP) after ours, in ms. Default 10 s. */
  closeTimeout?: number;
}

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

const EMPTY = Buffer.alloc(0);
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Up to this many payload bytes are copied next to their header (one write); more go as two. */
const COPY_LIMIT = 16 * 1024;

/** Close codes a peer may send (RFC 6455 §7.4, the IANA registry): 1000-1003, 1007-1014, 3000-4999. */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** XORs `data` with the 4-byte mask, starting `phase` bytes into it. */
function unmask(data: Buffer, mask: Buffer, phase: number): void {
  const n = data.length;
  const m0 = mask[phase & 3]!;
  const m1 = mask[(phase + 1) & 3]!;
  const m2 = mask[(phase + 2) & 3]!;
  const m3 = mask[(phase + 3) & 3]!;
  let i = 0;
  for (const end = n - 3; i < end; i += 4) {
    data[i] = data[i]! ^ m0;
    data[i + 1] = data[i + 1]! ^ m1;
    data[i + 2] = data[i + 2]! ^ m2;
    data[i + 3] = data[i + 3]! ^ m3;
  }
  if (i < n) data[i] = data[i]! ^ m0;
  if (i + 1 < n) data[i + 1] = data[i + 1]! ^ m1;
  if (i + 2 < n) data[i + 2] = data[i + 2]! ^ m2;
}

/** Writes a server frame header (unmasked) for `len` bytes into `out`; returns its size. */
function writeHeader(out: Buffer, first: number, len: number): number {
  out[0] = first;
  if (len < 126) {
    out[1] = len;
    return 2;
  }
  if (len < 65536) {
    out[1] = 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
    return 4;
  }
  out[1] = 127;
  out.writeUInt32BE(Math.floor(len / 0x100000000), 2);
  out.writeUInt32BE(len >>> 0, 6);
  return 10;
}

function headerSize(len: number): number {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

type Callback = (err?: Error | null) => void;

interface Outgoing {
  first: number;
  data: Buffer;
  compress: boolean;
  cb: Callback | undefined;
}

/** A protocol failure found while parsing: the close code and why. */
class Failure {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {}
}

/** A WebSocket connection, server side, after a 101 was written. */
export class ServerWebSocket {
  readonly socket: Socket;
  /** The subprotocol chosen in the handshake, or "". */
  readonly protocol: string;
  /** The extensions agreed in the handshake (Sec-WebSocket-Extensions), or "". */
  readonly extensions: string;
  /** Whatever the owner keeps with this connection. */
  owner: unknown;
  readyState = OPEN;

  private listener: WebSocketListener;
  private readonly max: number;
  private readonly deflateParams: DeflateParams | undefined;
  private readonly threshold: number;
  private readonly closeTimeout: number;

  // ---- parser state
  /** Header bytes of a frame split across chunks (≤ 14). */
  private partial: Buffer | undefined;
  /** Payload bytes the current frame still owes. */
  private frameLeft = 0;
  /** Payload bytes of the current frame already unmasked (the mask's phase). */
  private frameDone = 0;
  private mask = Buffer.allocUnsafe(4);
  private frameOpcode = 0;
  private frameFin = false;
  /** Pieces of a control frame's payload (it may be split across chunks). */
  private control: Buffer[] = [];
  /** The message being assembled: its opcode (1 or 2; 0 for none), compressed or not, its pieces. */
  private msgOpcode = 0;
  private msgCompressed = false;
  private msgParts: Buffer[] = [];
  private msgLength = 0;
  /** Chunks that arrived while a message was being inflated. */
  private stash: Buffer[] | undefined;
  /** Parsing stopped: a close frame came, the connection failed, or it is closed. */
  private stopped = false;

  // ---- closing
  private closeSent = false;
  private closeReceived = false;
  private closeCode = 1006;
  private closeReason = "";
  private closeTimer: ReturnType<typeof setTimeout> | undefined;

  // ---- permessage-deflate
  private inflater: InflateRaw | undefined;
  private inflated: Buffer[] = [];
  private inflatedLength = 0;
  private inflating = false;
  private userPaused = false;
  /** @internal the socket is corked until the end of this turn of the event loop */
  corked = false;
  private deflater: DeflateRaw | undefined;
  private deflated: Buffer[] = [];
  private outQueue: Outgoing[] | undefined;
  private deflating = false;

  constructor(
    socket: Socket,
    listener: WebSocketListener,
    handshake: { protocol: string; extensions: string },
    options: ServerWebSocketOptions = {},
  ) {
    this.socket = socket;
    this.listener = listener;
    this.protocol = handshake.protocol;
    this.extensions = handshake.extensions;
    this.max = options.maxMessageSize ?? 1024 * 1024;
    this.deflateParams = options.deflate;
    this.threshold = options.compressThreshold ?? 1024;
    this.closeTimeout = options.closeTimeout ?? 10_000;
    (socket as Socket & { [SELF]?: ServerWebSocket })[SELF] = this;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.on("data", onSocketData);
    socket.on("close", onSocketClose);
    socket.on("end", onSocketEnd);
    socket.on("error", onSocketError);
  }

  /**
   * Starts reading: `head` holds the bytes that came after the upgrade request (frames sent at once).
   * Called once, after the owner is in place (messages may be delivered from here on).
   */
  start(head: Buffer): void {
    if (head.length > 0) this.onData(head);
    if (!this.userPaused && !this.inflating && this.readyState !== CLOSED) this.socket.resume();
  }

  /** Bytes handed to the socket (or waiting to be compressed) but not yet sent. */
  get bufferedAmount(): number {
    let n = this.socket.writableLength;
    const q = this.outQueue;
    if (q !== undefined) for (const o of q) n += o.data.length;
    return n;
  }

  /** Stops reading from the socket (the peer's sends wait in TCP's buffers). */
  pause(): void {
    this.userPaused = true;
    this.socket.pause();
  }

  /** Reads again after pause(). */
  resume(): void {
    this.userPaused = false;
    if (!this.inflating && this.readyState !== CLOSED) this.socket.resume();
  }

  get isPaused(): boolean {
    return this.userPaused;
  }

  /**
   * Sends a text (string) or binary message. Returns false when the connection is closing or closed
   * (nothing is sent; `cb` is not called). `cb` is called once the frame is handed to the OS.
   */
  send(data: string | Uint8Array, cb?: Callback): boolean {
    if (this.readyState !== OPEN) return false;
    if (typeof data === "string") {
      if (this.deflateParams === undefined) {
        // The common case: header and text encoded into one buffer, one write.
        const n = Buffer.byteLength(data);
        const out = Buffer.allocUnsafe(headerSize(n) + n);
        out.write(data, writeHeader(out, 0x81, n));
        this.socket.write(out, cb);
        return true;
      }
      const text = Buffer.from(data);
      if (text.length < this.threshold && this.outQueue === undefined) this.writeFrame(0x81, text, cb);
      else this.queue(0x81, text, cb);
      return true;
    }
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.deflateParams !== undefined && (buf.length >= this.threshold || this.outQueue !== undefined)) {
      this.queue(0x82, buf, cb);
      return true;
    }
    this.writeFrame(0x82, buf, cb);
    return true;
  }

  /** Sends a ping (payload ≤ 125 bytes). */
  ping(data: Uint8Array = EMPTY): void {
    if (this.readyState !== OPEN) return;
    if (data.length > 125) throw new RangeError("A WebSocket ping carries at most 125 bytes.");
    this.writeFrame(0x89, Buffer.from(data.buffer, data.byteOffset, data.byteLength), undefined);
  }

  /**
   * Starts the closing handshake with `code` (1000 normal, 1001 going away, 3000-4999 the
   * application's) and a reason of at most 123 UTF-8 bytes; the TCP connection ends when the peer
   * answers, or after the close timeout.
   */
  close(code = 1000, reason = ""): void {
    if (this.readyState === CLOSED || this.closeSent) return;
    if (!isValidCloseCode(code) || code === 1010)
      // 1010 is the client's to send (§7.4.1)
      throw new RangeError(
        `${code} is not a close code a server may send: use 1000, 1001, 1011 or 3000-4999.`,
      );
    const r = Buffer.from(reason);
    if (r.length > 123) throw new RangeError("A WebSocket close reason is at most 123 bytes (UTF-8).");
    this.sendClose(code, r);
    if (this.closeReceived) this.endSocket();
  }

  /** Drops the connection at once, without a closing handshake. */
  terminate(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSING;
    this.socket.destroy();
  }

  // ---- sending --------------------------------------------------------------------------------

  private writeFrame(first: number, data: Buffer, cb: Callback | undefined): void {
    const n = data.length;
    const h = headerSize(n);
    if (n <= COPY_LIMIT) {
      const out = Buffer.allocUnsafe(h + n);
      writeHeader(out, first, n);
      data.copy(out, h);
      this.socket.write(out, cb);
      return;
    }
    const head = Buffer.allocUnsafe(h);
    writeHeader(head, first, n);
    const s = this.socket;
    s.cork();
    s.write(head);
    s.write(data, cb);
    s.uncork();
  }

  private sendClose(code: number, reason: Buffer): void {
    this.closeSent = true;
    this.readyState = CLOSING;
    let payload = EMPTY;
    if (code !== 1005) {
      payload = Buffer.allocUnsafe(2 + reason.length);
      payload.writeUInt16BE(code, 0);
      reason.copy(payload, 2);
    }
    if (this.outQueue !== undefined)
      this.outQueue.push({ first: 0x88, data: payload, compress: false, cb: undefined });
    else this.writeFrame(0x88, payload, undefined);
    if (this.closeTimer === undefined) {
      this.closeTimer = setTimeout(onCloseTimeout, this.closeTimeout, this);
      this.closeTimer.unref();
    }
  }

  /** Queues a message behind those being compressed (order is kept). */
  private queue(first: number, data: Buffer, cb: Callback | undefined): void {
    const compress = data.length >= this.threshold;
    if (this.outQueue === undefined) this.outQueue = [];
    this.outQueue.push({ first, data, compress, cb });
    if (!this.deflating) this.flushQueue();
  }

  private flushQueue(): void {
    const q = this.outQueue;
    if (q === undefined) return;
    while (q.length > 0) {
      const o = q[0]!;
      if (!o.compress) {
        q.shift();
        this.writeFrame(o.first, o.data, o.cb);
        continue;
      }
      if (this.socket.destroyed) {
        q.length = 0;
        break;
      }
      this.deflating = true;
      const d = this.deflaterFor();
      d.write(o.data);
      d.flush(Z.Z_SYNC_FLUSH, () => this.deflatedOne());
      return;
    }
    this.outQueue = undefined;
    if (this.closeReceived) this.endSocket(); // the close echo went out last
  }

  private deflatedOne(): void {
    this.deflating = false;
    const q = this.outQueue;
    if (q === undefined || this.socket.destroyed) return;
    const o = q.shift()!;
    const parts = this.deflated;
    let out = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.deflated = [];
    out = out.subarray(0, out.length - 4); // the 00 00 ff ff of the sync flush (§7.2.1)
    this.writeFrame(o.first | 0x40, out, o.cb);
    if (this.deflateParams!.serverNoContextTakeover) this.deflater!.reset();
    this.flushQueue();
  }

  private deflaterFor(): DeflateRaw {
    let d = this.deflater;
    if (d === undefined) {
      d = createDeflateRaw({ windowBits: this.deflateParams!.serverMaxWindowBits, memLevel: 8 });
      d.on("data", (chunk: Buffer) => this.deflated.push(chunk));
      d.on("error", () => this.socket.destroy());
      this.deflater = d;
    }
    return d;
  }

  // ---- receiving ------------------------------------------------------------------------------

  /** @internal */
  onData(chunk: Buffer): void {
    if (this.stopped) return;
    if (!this.corked) {
      // What the listener sends in answer to these frames, now or in the promise jobs that follow,
      // goes out in one write when this turn of the event loop is done (not one write per message).
      this.corked = true;
      this.socket.cork();
      setImmediate(uncork, this);
    }
    const partial = this.partial;
    if (partial !== undefined) {
      this.partial = undefined;
      chunk = Buffer.concat([partial, chunk]);
    }
    try {
      this.parse(chunk);
    } catch (err) {
      // A listener that throws is a bug of its owner: the connection ends with 1011 rather than the process.
      if (err instanceof Failure) this.fail(err.code, err.reason);
      else this.fail(1011, "internal error");
    }
  }

  private parse(chunk: Buffer): void {
    const n = chunk.length;
    let off = 0;
    while (off < n && !this.stopped) {
      if (this.inflating) {
        if (this.stash === undefined) this.stash = [];
        this.stash.push(chunk.subarray(off));
        return;
      }
      const left = this.frameLeft;
      if (left > 0) {
        // The rest of a frame's payload, possibly split again.
        const take = Math.min(n - off, left);
        const piece = chunk.subarray(off, off + take);
        unmask(piece, this.mask, this.frameDone);
        this.frameDone += take;
        this.frameLeft = left - take;
        off += take;
        if (this.frameOpcode >= 8) this.control.push(piece);
        else this.msgParts.push(piece);
        if (this.frameLeft === 0) this.endFrame(undefined);
        continue;
      }
      if (n - off < 2) {
        this.partial = Buffer.from(chunk.subarray(off));
        return;
      }
      const b0 = chunk[off]!;
      const b1 = chunk[off + 1]!;
      if ((b1 & 0x80) === 0) throw new Failure(1002, "client frames must be masked");
      let len = b1 & 0x7f;
      const need = 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + 4;
      if (n - off < need) {
        this.partial = Buffer.from(chunk.subarray(off));
        return;
      }
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      let p = off + 2;
      if (len === 126) {
        len = (chunk[p]! << 8) | chunk[p + 1]!;
        p += 2;
      } else if (len === 127) {
        const hi = chunk.readUInt32BE(p);
        if (hi > 0x7fffffff) throw new Failure(1002, "the frame length's top bit is set");
        if (hi > 0x1fffff) throw new Failure(1009, "the message is too big");
        len = hi * 0x100000000 + chunk.readUInt32BE(p + 4);
        p += 8;
      }
      this.checkHeader(b0, fin, opcode, len);
      this.mask[0] = chunk[p]!;
      this.mask[1] = chunk[p + 1]!;
      this.mask[2] = chunk[p + 2]!;
      this.mask[3] = chunk[p + 3]!;
      off = p + 4;
      this.frameFin = fin;
      this.frameOpcode = opcode;
      this.frameDone = 0;
      if (len === 0) {
        this.endFrame(EMPTY);
        continue;
      }
      if (n - off >= len) {
        // The whole payload is in this chunk: no copy, unmasked in place.
        const payload = chunk.subarray(off, off + len);
        off += len;
        unmask(payload, this.mask, 0);
        this.endFrame(payload);
        continue;
      }
      this.frameLeft = len;
    }
  }

  /** Checks a frame header against the rules and the message in progress. */
  private checkHeader(b0: number, fin: boolean, opcode: number, len: number): void {
    const rsv = b0 & 0x70;
    if (opcode >= 8) {
      if (opcode > 10) throw new Failure(1002, `reserved opcode ${opcode}`);
      if (rsv !== 0) throw new Failure(1002, "reserved bits set on a control frame");
      if (!fin) throw new Failure(1002, "a control frame can't be fragmented");
      if (len > 125) throw new Failure(1002, "a control frame carries at most 125 bytes");
      return;
    }
    if (opcode === 0) {
      if (this.msgOpcode === 0) throw new Failure(1002, "a continuation frame with no message to continue");
      if (rsv !== 0) throw new Failure(1002, "reserved bits set on a continuation frame");
    } else {
      if (opcode > 2) throw new Failure(1002, `reserved opcode ${opcode}`);
      if (this.msgOpcode !== 0) throw new Failure(1002, "a new message began before the last one ended");
      if (rsv !== 0 && (rsv !== 0x40 || this.deflateParams === undefined))
        throw new Failure(1002, "reserved bits set without an extension that defines them");
      this.msgOpcode = opcode;
      this.msgCompressed = rsv === 0x40;
      this.msgLength = 0;
    }
    const total = this.msgLength + len;
    // Compressed, the limit applies to the inflated message; the compressed one may be a little longer.
    if (total > (this.msgCompressed ? this.max + 1024 + (this.max >>> 4) : this.max))
      throw new Failure(1009, `the message is longer than ${this.max} bytes`);
    this.msgLength = total;
  }

  /** A frame is complete; `whole` is its payload when it came in one piece (else in control/msgParts). */
  private endFrame(whole: Buffer | undefined): void {
    const opcode = this.frameOpcode;
    if (opcode >= 8) {
      let payload = whole;
      if (payload === undefined) {
        const c = this.control;
        payload = c.length === 1 ? c[0]! : Buffer.concat(c);
        this.control = [];
      }
      this.onControl(opcode, payload);
      return;
    }
    if (whole !== undefined && whole.length > 0) this.msgParts.push(whole);
    if (!this.frameFin) return;
    const parts = this.msgParts;
    const data =
      parts.length === 1 ? parts[0]! : parts.length === 0 ? EMPTY : Buffer.concat(parts, this.msgLength);
    this.msgParts = [];
    const isBinary = this.msgOpcode === 2;
    this.msgOpcode = 0;
    if (this.msgCompressed) {
      this.inflate(data, isBinary);
      return;
    }
    this.deliver(data, isBinary);
  }

  private deliver(data: Buffer, isBinary: boolean): void {
    if (!isBinary && !isUtf8(data)) throw new Failure(1007, "a text message that is not valid UTF-8");
    this.listener.message(this, data, isBinary);
  }

  private onControl(opcode: number, payload: Buffer): void {
    if (opcode === 9) {
      if (this.readyState === OPEN) this.writeFrame(0x8a, payload, undefined);
      return;
    }
    if (opcode === 10) {
      this.listener.pong?.(this, payload);
      return;
    }
    // close
    if (payload.length === 1) throw new Failure(1002, "a close frame with a 1-byte payload");
    let code = 1005;
    let reason = "";
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isValidCloseCode(code)) throw new Failure(1002, `invalid close code ${code}`);
      const r = payload.subarray(2);
      if (!isUtf8(r)) throw new Failure(1007, "a close reason that is not valid UTF-8");
      reason = r.toString();
    }
    this.closeReceived = true;
    this.stopped = true;
    this.closeCode = code;
    this.closeReason = reason;
    if (!this.closeSent) this.sendClose(code, EMPTY); // echo the code (§5.5.1); none if none came
    // The server closes TCP first (§7.1.1), after whatever is queued.
    if (this.outQueue === undefined) this.endSocket();
  }

  /** Fails the connection (§7.1.7): a close frame with the code, then the end of TCP. */
  private fail(code: number, reason: string): void {
    this.stopped = true;
    this.partial = undefined;
    this.msgParts = [];
    this.control = [];
    if (this.readyState === CLOSED) return;
    if (!this.closeReceived) this.closeCode = code;
    this.closeReason = reason;
    if (!this.closeSent) {
      this.outQueue = undefined; // a failure goes out now, ahead of what waits for compression
      this.sendClose(code, Buffer.from(reason.length > 123 ? reason.slice(0, 123) : reason));
    }
    this.endSocket();
  }

  // ---- inflating ------------------------------------------------------------------------------

  private inflate(data: Buffer, isBinary: boolean): void {
    let inf = this.inflater;
    if (inf === undefined) {
      inf = createInflateRaw({ windowBits: 15 });
      inf.on("data", (chunk: Buffer) => this.onInflated(chunk));
      inf.on("error", () => {
        this.inflating = false;
        this.fail(1007, "a compressed message that does not inflate");
      });
      this.inflater = inf;
    }
    this.inflating = true;
    this.inflated = [];
    this.inflatedLength = 0;
    this.socket.pause();
    inf.write(data);
    inf.write(TRAILER);
    inf.flush(Z.Z_SYNC_FLUSH, () => this.inflatedOne(isBinary));
  }

  private onInflated(chunk: Buffer): void {
    if (!this.inflating) return;
    this.inflatedLength += chunk.length;
    if (this.inflatedLength > this.max) {
      // A bomb: stop inflating it (a paused stream stops once its buffer is full) and fail now.
      this.inflating = false;
      this.inflated = [];
      this.inflater!.pause();
      this.fail(1009, `the message is longer than ${this.max} bytes`);
      return;
    }
    this.inflated.push(chunk);
  }

  private inflatedOne(isBinary: boolean): void {
    if (!this.inflating || this.stopped) return;
    this.inflating = false;
    const parts = this.inflated;
    this.inflated = [];
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.inflatedLength);
    if (this.deflateParams!.clientNoContextTakeover) this.inflater!.reset();
    try {
      this.deliver(data, isBinary);
    } catch (err) {
      if (err instanceof Failure) this.fail(err.code, err.reason);
      else this.fail(1011, "internal error");
      return;
    }
    const stash = this.stash;
    this.stash = undefined;
    if (stash !== undefined) for (const c of stash) this.onData(c);
    if (!this.inflating && !this.userPaused && this.readyState !== CLOSED) this.socket.resume();
  }

  // ---- the end --------------------------------------------------------------------------------

  /** Ends our half of TCP once (a second end() would build an ERR_STREAM_ALREADY_FINISHED error). */
  private endSocket(): void {
    const s = this.socket;
    if (!s.writableEnded && !s.destroyed) s.end();
  }

  /** @internal */
  onClosed(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.stopped = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.outQueue = undefined;
    this.inflater?.destroy();
    this.deflater?.destroy();
    this.listener.close(this, this.closeCode, this.closeReason);
  }

  /** @internal the peer's half of TCP ended */
  onEnd(): void {
    if (!this.closeReceived) this.stopped = true;
    this.endSocket();
  }
}

const SELF = Symbol("phial.serverWebSocket");
type Owned = Socket & { [SELF]?: ServerWebSocket };

// Shared listeners (no closure per connection): the socket is `this`.
function onSocketData(this: Owned, chunk: Buffer): void {
  this[SELF]!.onData(chunk);
}
function onSocketClose(this: Owned): void {
  this[SELF]!.onClosed();
}
function onSocketEnd(this: Owned): void {
  this[SELF]!.onEnd();
}
function onSocketError(): void {} // 'close' follows
function uncork(ws: ServerWebSocket): void {
  ws.corked = false;
  ws.socket.uncork();
}
function onCloseTimeout(ws: ServerWebSocket): void {
  ws.socket.destroy();
}
