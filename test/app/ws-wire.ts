// A raw WebSocket client for the conformance suite (RFC 6455): it opens the handshake by hand on a TCP
// socket, builds frames byte by byte (masked, as a client must, or deliberately wrong), and reads the
// server's frames with a small parser of its own, so that every byte on the wire is the test's choice and
// nothing is hidden by a client library.

import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import type { Phial, WebSocketConnection } from "phial";

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;
export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;

/** RFC 6455 §1.3: the value of Sec-WebSocket-Accept for a key. */
export function acceptFor(key: string): string {
  return createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
export function newKey(): string {
  return randomBytes(16).toString("base64");
}

export interface FrameOptions {
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV bits to set (RSV1 | RSV2 | RSV3); default none. */
  rsv?: number;
  /** Mask the payload (a client must); default true. */
  mask?: boolean;
  /** Announce this length instead of the payload's (a 7+64-bit header is used); the payload still follows. */
  length?: bigint;
}

/** One frame as the client sends it. */
export function frame(
  opcode: number,
  payload: Buffer | string = Buffer.alloc(0),
  o: FrameOptions = {},
): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  const fin = o.fin ?? true;
  const masked = o.mask ?? true;
  let head: Buffer;
  const b0 = (fin ? 0x80 : 0) | (o.rsv ?? 0) | opcode;
  const m = masked ? 0x80 : 0;
  if (o.length !== undefined) {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = m | 127;
    head.writeBigUInt64BE(o.length, 2);
  } else if (data.length < 126) {
    head = Buffer.from([b0, m | data.length]);
  } else if (data.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = m | 126;
    head.writeUInt16BE(data.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = m | 127;
    head.writeBigUInt64BE(BigInt(data.length), 2);
  }
  if (!masked) return Buffer.concat([head, data]);
  const key = randomBytes(4);
  const body = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) body[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([head, key, body]);
}

/** A close frame's payload: the code, then the reason (bytes as given). */
export function closePayload(code: number, reason: Buffer | string = ""): Buffer {
  const r = typeof reason === "string" ? Buffer.from(reason) : reason;
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

/** A frame as the server sent it. */
export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** A whole message from the server (its fragments joined). */
export interface Message {
  opcode: number;
  /** RSV1 of the first frame (permessage-deflate: compressed). */
  compressed: boolean;
  payload: Buffer;
}

export interface Handshake {
  status: number;
  /** Field names lower-cased; repeated fields joined with ", ". */
  headers: Map<string, string>;
  /** The response head as sent, for error messages. */
  head: string;
}

export interface OpenOptions {
  /** Extra request fields, e.g. { "Sec-WebSocket-Extensions": "permessage-deflate" }. */
  headers?: Record<string, string>;
  /** Replaces the whole request head (request line and fields, no blank line). */
  rawHead?: string;
  /** Bytes sent in the same write as the handshake, after it (pipelined frames). */
  after?: Buffer;
  /** The key to send; default a fresh one. */
  key?: string;
  /** Milliseconds to wait for each step; default 3000. */
  timeout?: number;
}

const live = new Set<RawWebSocket>();

/** Destroys every raw socket still open (call from afterEach: a failed test must not leak handles). */
export function destroyAll(): void {
  for (const ws of live) ws.destroy();
  live.clear();
}

/**
 * A raw client connection: `open()` does the handshake and gives the response; frames are then read one
 * by one (`nextFrame`, `nextMessage`) and written as the test builds them.
 */
export class RawWebSocket {
  readonly socket: Socket;
  readonly timeout: number;
  /** The socket's error, if any (a reset after the server closed is normal in some tests). */
  error: Error | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private frames: Frame[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private headDone = false;
  handshake: Handshake | undefined;
  /** The Sec-WebSocket-Key sent. */
  key = "";

  private constructor(socket: Socket, timeout: number) {
    this.socket = socket;
    this.timeout = timeout;
    live.add(this);
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.parse();
      this.poke();
    });
    socket.on("end", () => {
      this.ended = true;
      this.poke();
    });
    socket.on("close", () => {
      this.ended = true;
      live.delete(this);
      this.poke();
    });
    socket.on("error", (err) => {
      this.error = err;
    });
  }

  /** Connects and sends the handshake; resolves with the response head (any status). */
  static async open(port: number, path: string, o: OpenOptions = {}): Promise<RawWebSocket> {
    const socket = connect(port, "127.0.0.1");
    const ws = new RawWebSocket(socket, o.timeout ?? 3000);
    const key = o.key ?? newKey();
    ws.key = key;
    let head = o.rawHead;
    if (head === undefined) {
      head =
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13`;
      for (const [k, v] of Object.entries(o.headers ?? {})) head += `\r\n${k}: ${v}`;
    }
    const bytes = Buffer.from(`${head}\r\n\r\n`, "latin1");
    socket.write(o.after === undefined ? bytes : Buffer.concat([bytes, o.after]));
    await ws.until(() => ws.headDone || ws.ended, "the handshake response");
    if (!ws.headDone) throw new Error("the server closed the connection without a response");
    return ws;
  }

  /** The handshake response's status (101 when accepted). */
  get status(): number {
    return this.handshake?.status ?? 0;
  }

  header(name: string): string | undefined {
    return this.handshake?.headers.get(name.toLowerCase());
  }

  /** True once the server ended the TCP connection (FIN or reset). */
  get isEnded(): boolean {
    return this.ended;
  }

  write(data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Writes `data` in pieces of `size` bytes, each flushed to the kernel before the next. */
  async writeChopped(data: Buffer, size = 1): Promise<void> {
    for (let i = 0; i < data.length; i += size) {
      if (this.socket.destroyed) return;
      const piece = data.subarray(i, i + size);
      await new Promise<void>((resolve) => this.socket.write(piece, () => resolve()));
      await new Promise((r) => setImmediate(r));
    }
  }

  send(opcode: number, payload?: Buffer | string, o?: FrameOptions): void {
    this.write(frame(opcode, payload, o));
  }

  /** The next frame from the server; fails clearly on a timeout or when the server ended TCP first. */
  async nextFrame(what = "a frame"): Promise<Frame> {
    await this.until(() => this.frames.length > 0 || this.ended, what);
    const f = this.frames.shift();
    if (f === undefined) throw new Error(`expected ${what}, but the server ended the connection`);
    // RFC 6455 §5.1: a server MUST NOT mask the frames it sends.
    if (f.masked) throw new Error(`the server masked a frame (opcode ${f.opcode}): RFC 6455 §5.1 forbids it`);
    return f;
  }

  /**
   * The next data message (continuation frames joined). Fails with the close code when the server
   * closes instead, and when a frame breaks RFC 6455's rules for servers (masked, bad continuation).
   */
  async nextMessage(): Promise<Message> {
    const first = await this.nextFrame("a message");
    if (first.opcode === OP.CLOSE) throw new Error(`expected a message, got ${describeClose(first.payload)}`);
    if (first.opcode !== OP.TEXT && first.opcode !== OP.BINARY)
      throw new Error(`expected a text or binary frame, got opcode ${first.opcode}`);
    const parts = [first.payload];
    let f = first;
    while (!f.fin) {
      f = await this.nextFrame("a continuation frame");
      if (f.opcode >= 8) throw new Error(`a control frame (opcode ${f.opcode}) inside the server's message`);
      if (f.opcode !== OP.CONT) throw new Error(`expected a continuation frame, got opcode ${f.opcode}`);
      parts.push(f.payload);
    }
    return { opcode: first.opcode, compressed: (first.rsv & RSV1) !== 0, payload: Buffer.concat(parts) };
  }

  /**
   * Waits for the server's close frame (data frames before it are returned in `before`), optionally
   * answers it with `reply`, then waits for the server to end the TCP connection, as RFC 6455 §7.1.1
   * asks of a server. Fails when either does not happen in time.
   */
  async closeAndEnd(reply?: Buffer): Promise<{ code: number | undefined; reason: Buffer; before: Frame[] }> {
    const before: Frame[] = [];
    for (;;) {
      const f = await this.nextFrame("a close frame");
      if (f.opcode === OP.CLOSE) {
        if (reply !== undefined) this.write(reply);
        await this.until(() => this.ended, "the server to end the TCP connection after its close frame");
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined;
        return { code, reason: f.payload.subarray(2), before };
      }
      before.push(f);
    }
  }

  /** Resolves once no frame arrived for `ms` (to check that nothing more is sent). */
  async quiet(ms = 100): Promise<Frame[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.frames.splice(0);
  }

  destroy(): void {
    this.socket.destroy();
    live.delete(this);
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    if (w !== undefined) w();
  }

  private async until(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + this.timeout;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${this.timeout} ms waiting for ${what}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  private parse(): void {
    if (!this.headDone) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = this.buf.subarray(0, end).toString("latin1");
      const lines = head.split("\r\n");
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        const name = l.slice(0, i).trim().toLowerCase();
        const value = l.slice(i + 1).trim();
        const had = headers.get(name);
        headers.set(name, had === undefined ? value : `${had}, ${value}`);
      }
      this.handshake = { status: Number(lines[0]!.split(" ")[1]), headers, head };
      this.headDone = true;
      this.buf = this.buf.subarray(end + 4);
      if (this.handshake.status !== 101) return; // an HTTP body follows, not frames
    }
    if (this.handshake?.status !== 101) return;
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (masked) off += 4;
      if (b.length < off + len) return;
      let payload = b.subarray(off, off + len);
      if (masked) {
        const key = b.subarray(off - 4, off);
        payload = Buffer.from(payload.map((x, i) => x ^ key[i & 3]!));
      }
      this.frames.push({
        fin: (b[0]! & 0x80) !== 0,
        rsv: b[0]! & 0x70,
        opcode: b[0]! & 0x0f,
        masked,
        payload,
      });
      this.buf = b.subarray(off + len);
    }
  }
}

/** "close 1002 (reason)" for messages. */
export function describeClose(payload: Buffer): string {
  if (payload.length < 2) return "close (no code)";
  return `close ${payload.readUInt16BE(0)} (${payload.subarray(2).toString()})`;
}

/** The suite's echo handler: text stays text, binary stays binary. */
export async function echo(ws: WebSocketConnection): Promise<void> {
  for await (const m of ws) await ws.send(m);
}

/** Serves `app` on 127.0.0.1 (a free port); `stop` closes the server within `deadline` ms. */
export async function serveApp(
  app: Phial,
  deadline = 200,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = app.listen();
  const { port } = await server.listen(0, "127.0.0.1");
  return { port, stop: () => server.close({ deadline }) };
}
