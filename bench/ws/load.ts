// The WebSocket load generator of bench/ws/run.ts: raw `node:net` sockets and pre-built frames, so that
// it costs far less per message than the server it measures (what wrk is for HTTP).
//
// echo(): N connections, each opens with the handshake (a fixed request with a random key; the 101 and
// its Sec-WebSocket-Accept are checked), sends one probe message whose echo is compared byte for byte,
// then keeps W messages in flight. The frames are built once per connection (a fixed random mask: the
// server unmasks whatever the mask), and the answers are counted by reading only the server frames'
// headers (FIN, opcode, 7/16/64-bit length), across chunk boundaries. For every k messages echoed in a
// chunk, k more go out in ONE write of k concatenated pre-built frames (a slice of one buffer, no copy).
// Every socket reads into one reused buffer (net's `onread`), so a read allocates nothing.
//
// upgrades(): L loops, each: connect, write the handshake, read up to the end of the 101 head (checking
// the Sec-WebSocket-Accept), write a masked close frame (1000), wait for the server's close frame and the
// end of the TCP connection, and again.
//
// Nothing fails silently: a refused upgrade, a wrong accept key, a frame that is masked, fragmented into
// the wrong opcode, of the wrong length or content, a close frame or a closed connection during the echo,
// a connection with no echo in the last second of the run, handshakes or loops that do not finish within
// STALL_MS: each rejects with a message that says which.

import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** A connection that moves neither way for this long is a failure, not a slow server. */
const STALL_MS = 5000;
const IDLE_MS = 1000;
const MAX_HEAD = 8192;
/**
 * Every socket reads into this one buffer (net's `onread`): no allocation and no stream machinery per
 * read. Safe because each read is handled before the next one; what must outlive it is copied.
 */
const READ_BUFFER = Buffer.alloc(256 * 1024);

export interface EchoOptions {
  port: number;
  path: string;
  connections: number;
  /** Messages each connection keeps in flight. */
  inFlight: number;
  payload: Buffer;
  /** Binary frames (opcode 2) or text frames (opcode 1; the payload must then be UTF-8). */
  binary: boolean;
  durationMs: number;
  /** Handshakes and probes that take longer fail (default STALL_MS). */
  stallMs?: number;
  /**
   * Each frame in a write of its own (as a browser sends them), instead of the k frames owed in one
   * write: the server then gets fewer messages per read, and the generator pays a syscall per message.
   */
  framePerWrite?: boolean;
  /** A connection with no echo in this last part of the run fails it (default IDLE_MS; 0: no check). */
  idleMs?: number;
}

export interface UpgradeOptions {
  port: number;
  path: string;
  loops: number;
  durationMs: number;
  /** A loop still busy this long after the duration fails (default STALL_MS). */
  stallMs?: number;
}

/** What one measurement did: units (messages echoed or upgrades completed) over the seconds they took. */
export interface LoadResult {
  count: number;
  seconds: number;
}

interface Key {
  request: Buffer;
  accept: string;
}

/** A few handshakes, each with its own random key, built once and used in turn. */
function handshakes(port: number, path: string, n = 64): Key[] {
  return Array.from({ length: n }, () => {
    const key = randomBytes(16).toString("base64");
    const request =
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const accept = createHash("sha1")
      .update(key + GUID)
      .digest("base64");
    return { request: Buffer.from(request, "latin1"), accept };
  });
}

/**
 * Checks a complete response head (up to and without the blank line): a 101 with the accept value the
 * key calls for. Returns an error message, or undefined when the upgrade is right.
 */
function checkHead(head: string, accept: string): string | undefined {
  const lines = head.split("\r\n");
  const status = lines[0] ?? "";
  if (!status.startsWith("HTTP/1.1 101 ")) return `answered the upgrade with "${status}" instead of 101`;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon !== -1 && line.slice(0, colon).trim().toLowerCase() === "sec-websocket-accept") {
      const got = line.slice(colon + 1).trim();
      return got === accept ? undefined : `sent Sec-WebSocket-Accept "${got}", the key calls for "${accept}"`;
    }
  }
  return "answered 101 without a Sec-WebSocket-Accept header";
}

/** A client frame: FIN, the opcode, the length, the mask, the masked payload. */
export function maskedFrame(opcode: number, payload: Buffer, mask: Buffer): Buffer {
  const n = payload.length;
  const len = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const frame = Buffer.alloc(2 + len + 4 + n);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (len === 0 ? n : len === 2 ? 126 : 127);
  if (len === 2) frame.writeUInt16BE(n, 2);
  else if (len === 8) frame.writeBigUInt64BE(BigInt(n), 2);
  mask.copy(frame, 2 + len);
  for (let i = 0; i < n; i++) frame[6 + len + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

const OPCODES = ["continuation", "text", "binary", "3", "4", "5", "6", "7", "close", "ping", "pong"];
const opName = (op: number) => OPCODES[op] ?? String(op);

/**
 * Counts the messages in the server's frames, reading only the headers and skipping the payloads; a
 * header split across chunks is gathered in a small buffer. Each message must be `expectBytes` long and
 * of opcode `expectOp` (continuation frames allowed). Throws on anything else.
 */
export class FrameCounter {
  private readonly head = Buffer.alloc(14);
  private headLen = 0;
  /** Payload bytes of the current frame still to skip. */
  private left = 0;
  private fin = false;
  private inMessage = false;
  private messageBytes = 0;
  /** When set, the payload bytes are kept (the probe message compares its content). */
  capture: Buffer[] | undefined;

  constructor(
    private readonly expectOp: number,
    private readonly expectBytes: number,
  ) {}

  /** The number of messages that ended in this chunk. */
  feed(c: Buffer): number {
    const n = c.length;
    let i = 0;
    let done = 0;
    while (i < n) {
      if (this.left > 0) {
        const take = Math.min(this.left, n - i);
        if (this.capture !== undefined) this.capture.push(Buffer.from(c.subarray(i, i + take)));
        this.left -= take;
        i += take;
        if (this.left === 0 && this.fin) done += this.endMessage();
        continue;
      }
      // A frame header starts here, or goes on from the last chunk.
      if (this.headLen === 0 && n - i >= 2 && n - i >= headerSize(c[i + 1]!)) {
        i += this.header(c, i);
      } else {
        while (i < n && (this.headLen < 2 || this.headLen < headerSize(this.head[1]!))) {
          this.head[this.headLen++] = c[i++]!;
        }
        if (this.headLen < 2 || this.headLen < headerSize(this.head[1]!)) break;
        this.header(this.head, 0);
        this.headLen = 0;
      }
      if (this.left === 0 && this.fin) done += this.endMessage();
    }
    return done;
  }

  /** Reads the header at `at`; returns its size. */
  private header(h: Buffer, at: number): number {
    const b0 = h[at]!;
    const b1 = h[at + 1]!;
    const op = b0 & 0x0f;
    if ((b1 & 0x80) !== 0) throw new Error("sent a masked frame (a server's frames must not be masked)");
    if ((b0 & 0x70) !== 0) throw new Error("sent a frame with RSV bits set, though no extension was agreed");
    if (op === 8) throw new Error("sent a close frame in the middle of the echo");
    if (op === 0 ? !this.inMessage : op !== this.expectOp || this.inMessage) {
      throw new Error(`sent a ${opName(op)} frame where a ${opName(this.expectOp)} message was due`);
    }
    const len7 = b1 & 0x7f;
    let len = len7;
    if (len7 === 126) len = h.readUInt16BE(at + 2);
    else if (len7 === 127) len = h.readUInt32BE(at + 2) * 2 ** 32 + h.readUInt32BE(at + 6);
    this.inMessage = true;
    this.fin = (b0 & 0x80) !== 0;
    this.left = len;
    this.messageBytes += len;
    if (this.messageBytes > this.expectBytes) {
      throw new Error(`echoed a message of more than ${this.expectBytes} bytes, the size sent`);
    }
    return headerSize(b1);
  }

  private endMessage(): number {
    if (this.messageBytes !== this.expectBytes) {
      throw new Error(`echoed a message of ${this.messageBytes} bytes; ${this.expectBytes} were sent`);
    }
    this.inMessage = false;
    this.messageBytes = 0;
    return 1;
  }
}

function headerSize(b1: number): number {
  const len7 = b1 & 0x7f;
  return len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
}

/** Reads a response head; calls back with the bytes after it (frames that came along). */
class HeadReader {
  private buf: Buffer | undefined;

  /** The bytes after the head once it is complete, else undefined. Throws on a wrong or oversized head. */
  feed(chunk: Buffer, accept: string): Buffer | undefined {
    const buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    const end = buf.indexOf("\r\n\r\n");
    if (end === -1) {
      if (buf.length > MAX_HEAD) throw new Error(`sent a response head of over ${MAX_HEAD} bytes`);
      this.buf = Buffer.from(buf); // a copy: the read buffer is reused
      return undefined;
    }
    this.buf = undefined;
    const problem = checkHead(buf.toString("latin1", 0, end), accept);
    if (problem !== undefined) throw new Error(problem);
    return buf.subarray(end + 4);
  }
}

/** One echo connection: handshake, probe, then W messages in flight until stopped. */
class EchoConnection {
  readonly socket: Socket;
  /** slices[k]: k pre-built frames in one buffer. */
  private readonly slices: Buffer[] = [];
  private readonly counter: FrameCounter;
  private readonly head = new HeadReader();
  private upgraded = false;
  private probing = true;
  /** net's `onread` callback: true keeps reading. */
  private readonly onRead = (n: number): boolean => {
    this.onData(READ_BUFFER.subarray(0, n));
    return true;
  };
  private sent = 0;
  received = 0;
  lastEcho = 0;
  stopped = false;

  constructor(
    private readonly o: EchoOptions,
    private readonly key: Key,
    private readonly index: number,
    private readonly ready: (err?: Error) => void,
    private readonly failed: (err: Error) => void,
  ) {
    const frame = maskedFrame(o.binary ? 2 : 1, o.payload, randomBytes(4));
    const all = Buffer.concat(Array.from({ length: o.inFlight }, () => frame));
    for (let k = 0; k <= o.inFlight; k++) this.slices.push(all.subarray(0, k * frame.length));
    this.counter = new FrameCounter(o.binary ? 2 : 1, o.payload.length);
    this.socket = connect({
      port: o.port,
      host: "127.0.0.1",
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: this.onRead },
    });
    this.socket.on("error", (e) => this.fail(`connection #${index}: ${e.message}`));
    this.socket.on("close", () =>
      this.fail(`connection #${index}: the server closed it after ${this.received} echoes`),
    );
    this.socket.write(key.request);
  }

  /** Starts the timed part: W messages in flight. */
  start(): void {
    this.received = 0;
    this.sent = this.o.inFlight;
    if (this.o.framePerWrite) for (let i = 0; i < this.o.inFlight; i++) this.socket.write(this.slices[1]!);
    else this.socket.write(this.slices[this.o.inFlight]!);
  }

  private onData(c: Buffer): void {
    try {
      if (!this.upgraded) {
        const rest = this.head.feed(c, this.key.accept);
        if (rest === undefined) return;
        this.upgraded = true;
        this.counter.capture = [];
        this.socket.write(this.slices[1]!);
        if (rest.length === 0) return;
        c = rest;
      }
      const k = this.counter.feed(c);
      if (k === 0) return;
      if (this.probing) {
        const echoed = Buffer.concat(this.counter.capture!);
        this.counter.capture = undefined;
        if (k > 1 || !echoed.equals(this.o.payload)) {
          throw new Error("echoed other bytes than the probe message it was sent");
        }
        this.probing = false;
        this.ready();
        return;
      }
      this.received += k;
      this.lastEcho = performance.now();
      if (this.received > this.sent) throw new Error("sent more messages than it was sent");
      if (!this.stopped) {
        this.sent += k;
        if (this.o.framePerWrite) for (let i = 0; i < k; i++) this.socket.write(this.slices[1]!);
        else this.socket.write(this.slices[k]!);
      }
    } catch (e) {
      this.fail(`connection #${this.index}: the server ${(e as Error).message}`);
    }
  }

  private fail(message: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.socket.destroy();
    const err = new Error(message);
    if (this.probing) this.ready(err);
    else this.failed(err);
  }

  stop(): void {
    this.stopped = true;
    this.socket.destroy();
  }
}

/** Messages echoed per `durationMs` with `connections` × `inFlight` in flight. */
export async function echo(o: EchoOptions): Promise<LoadResult> {
  const keys = handshakes(o.port, o.path);
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const conns: EchoConnection[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < o.connections; i++) {
    ready.push(
      new Promise<void>((resolve, reject) => {
        const onFailure = (e: Error) => {
          failure ??= e;
          wake?.();
        };
        conns.push(
          new EchoConnection(o, keys[i % keys.length]!, i, (e) => (e ? reject(e) : resolve()), onFailure),
        );
      }),
    );
  }
  try {
    await withTimeout(
      Promise.all(ready),
      o.stallMs ?? STALL_MS,
      "the server did not complete the handshakes and probe echoes",
    );
    const t0 = performance.now();
    for (const c of conns) c.start();
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, o.durationMs);
    });
    const secs = (performance.now() - t0) / 1000;
    let count = 0;
    for (const c of conns) {
      c.stopped = true;
      count += c.received;
    }
    if (failure !== undefined) throw failure;
    // A connection the server stopped answering: no echo in the last idleMs of the run (or in all of it).
    const idleMs = Math.min(o.idleMs ?? IDLE_MS, o.durationMs);
    const end = t0 + secs * 1000;
    const idle = idleMs <= 0 ? -1 : conns.findIndex((c) => c.received === 0 || end - c.lastEcho > idleMs);
    if (idle !== -1) {
      throw new Error(
        `connection #${idle}: the server echoed nothing in the last ${idleMs / 1000} s of the run`,
      );
    }
    return { count, seconds: secs };
  } finally {
    for (const c of conns) c.stop();
  }
}

const CLOSE_1000 = maskedFrame(8, Buffer.from([0x03, 0xe8]), randomBytes(4));

/** One upgrade loop: connect, handshake, close, repeat until the deadline. */
class UpgradeLoop {
  private socket: Socket | undefined;
  private readonly head = new HeadReader();
  private key!: Key;
  /** 0: waiting for the 101; 1: close sent, waiting for the server's close frame; 2: for the TCP end. */
  private state = 0;
  private closeBytes: Buffer | undefined;
  private stopped = false;
  count = 0;
  /** net's `onread` callback: true keeps reading. */
  private readonly onRead = (n: number): boolean => {
    this.data(READ_BUFFER.subarray(0, n));
    return true;
  };
  private readonly onEnd = () => this.end();
  private readonly onClose = () => this.closed();
  private readonly onError = (e: Error) => this.fail(`socket error: ${e.message}`);

  constructor(
    private readonly o: UpgradeOptions,
    private readonly keys: Key[],
    private readonly deadline: number,
    private readonly done: (err?: Error) => void,
  ) {}

  next(): void {
    if (this.stopped) return;
    if (performance.now() >= this.deadline) {
      this.done();
      return;
    }
    this.key = this.keys[this.count % this.keys.length]!;
    this.state = 0;
    this.closeBytes = undefined;
    const s = connect({
      port: this.o.port,
      host: "127.0.0.1",
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: this.onRead },
    });
    this.socket = s;
    s.on("end", this.onEnd);
    s.on("close", this.onClose);
    s.on("error", this.onError);
    s.write(this.key.request);
  }

  private data(c: Buffer): void {
    try {
      if (this.state === 0) {
        const rest = this.head.feed(c, this.key.accept);
        if (rest === undefined) return;
        if (rest.length > 0) throw new Error("sent frame bytes before it was sent any message");
        this.state = 1;
        this.socket!.write(CLOSE_1000);
        return;
      }
      if (this.state !== 1) throw new Error("sent bytes after its close frame");
      const buf = this.closeBytes === undefined ? c : Buffer.concat([this.closeBytes, c]);
      if (buf[0] !== 0x88)
        throw new Error(`answered a close frame with a frame of first byte 0x${buf[0]!.toString(16)}`);
      if (buf.length < 2) {
        this.closeBytes = Buffer.from(buf); // a copy: the read buffer is reused
        return;
      }
      const len = buf[1]!;
      if (len > 125) throw new Error("sent a close frame with a masked or oversized payload");
      if (buf.length < 2 + len) {
        this.closeBytes = Buffer.from(buf); // a copy: the read buffer is reused
        return;
      }
      if (buf.length > 2 + len) throw new Error("sent bytes after its close frame");
      if (len === 1 || (len >= 2 && buf.readUInt16BE(2) !== 1000)) {
        throw new Error(
          `answered close code 1000 with ${len === 1 ? "a 1-byte payload" : buf.readUInt16BE(2)}`,
        );
      }
      this.state = 2;
    } catch (e) {
      this.fail(`the server ${(e as Error).message}`);
    }
  }

  private end(): void {
    if (this.state !== 2) {
      this.fail(
        this.state === 0
          ? "the server ended the connection before its 101"
          : "the server ended the connection before its close frame",
      );
    }
  }

  private closed(): void {
    if (this.state !== 2) {
      this.fail("the server closed the connection before the closing handshake ended");
      return;
    }
    this.count++;
    this.socket = undefined;
    this.next();
  }

  private fail(message: string): void {
    const s = this.socket;
    if (s === undefined) return;
    this.socket = undefined;
    s.destroy();
    this.done(new Error(`upgrade #${this.count + 1} of a loop: ${message}`));
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
    this.socket = undefined;
  }
}

/** Upgrades (handshake and closing handshake) completed per second by `loops` loops. */
export async function upgrades(o: UpgradeOptions): Promise<LoadResult> {
  const keys = handshakes(o.port, o.path);
  const t0 = performance.now();
  const loops: UpgradeLoop[] = [];
  const finished = Array.from(
    { length: o.loops },
    () =>
      new Promise<void>((resolve, reject) => {
        const loop = new UpgradeLoop(o, keys, t0 + o.durationMs, (e) => (e ? reject(e) : resolve()));
        loops.push(loop);
        loop.next();
      }),
  );
  try {
    const stall = o.stallMs ?? STALL_MS;
    await withTimeout(
      Promise.all(finished),
      o.durationMs + stall,
      "an upgrade loop: the server did not finish the handshake and closing handshake",
    );
  } finally {
    for (const l of loops) l.stop();
  }
  const secs = (performance.now() - t0) / 1000;
  return { count: loops.reduce((a, l) => a + l.count, 0), seconds: secs };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
