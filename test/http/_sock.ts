// Test helpers for the wire: a server on an ephemeral port and a raw socket client that sees exact bytes.

import { once } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { createServer, type Handler, type Server, type ServerOptions } from "phial/http";

export interface Started {
  server: Server;
  port: number;
  host: string;
  /** Closes the server with a short deadline (tests must not wait on stragglers). */
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 (or `host`) port 0. Handler errors are collected in `errors`. */
export async function start(
  handler: Handler,
  options: ServerOptions = {},
  host = "127.0.0.1",
): Promise<Started & { errors: unknown[] }> {
  const errors: unknown[] = [];
  const server = createServer(handler, { onError: (e) => errors.push(e), ...options });
  const addr = await server.listen(0, host);
  return {
    server,
    port: addr.port,
    host,
    errors,
    close: () => server.close({ deadline: 200 }),
  };
}

export interface RawResponse {
  status: number;
  reason: string;
  /** Fields in order, names as sent. */
  fields: [string, string][];
  /** First value of a field by case-insensitive name. */
  header(name: string): string | undefined;
  body: Buffer;
  /** The head exactly as received, up to and including the empty line. */
  head: string;
  /** The body was chunked on the wire. */
  chunked: boolean;
}

/** A client on a raw socket: writes bytes, reads back exact responses. */
export class Raw {
  readonly socket: Socket;
  /** Bytes received and not yet consumed by a read. */
  buf: Buffer = Buffer.alloc(0);
  /** Every chunk as its 'data' event delivered it (for "one write" checks), when `record` is set. */
  readonly events: Buffer[] = [];
  record = false;
  ended = false;
  closed = false;
  /** Total bytes received. */
  received = 0;
  private wake: (() => void) | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (c: Buffer) => {
      this.received += c.length;
      if (this.record) this.events.push(c);
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      this.poke();
    });
    socket.on("end", () => {
      this.ended = true;
      this.poke();
    });
    socket.on("close", () => {
      this.closed = true;
      this.poke();
    });
    socket.on("error", () => {
      // ECONNRESET and friends: 'close' follows.
    });
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<Raw> {
    const s = netConnect({ port, host });
    await once(s, "connect");
    s.setNoDelay(true);
    return new Raw(s);
  }

  static async connectTls(port: number, options: ConnectionOptions): Promise<Raw> {
    const s = tlsConnect({ port, host: "127.0.0.1", ...options });
    await once(s, "secureConnect");
    return new Raw(s);
  }

  private poke(): void {
    const w = this.wake;
    if (w !== undefined) {
      this.wake = undefined;
      w();
    }
  }

  /** Resolves on the next data, end or close. */
  more(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Waits until `n` bytes are buffered; throws if the connection ends first. */
  async need(n: number): Promise<void> {
    while (this.buf.length < n) {
      if (this.ended || this.closed)
        throw new Error(`connection ended with ${this.buf.length} of ${n} bytes: ${this.peek()}`);
      await this.more();
    }
  }

  private peek(): string {
    return JSON.stringify(this.buf.subarray(0, 300).toString("latin1"));
  }

  take(n: number): Buffer {
    const b = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return b;
  }

  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf("\r\n");
      if (i >= 0) return this.take(i + 2).toString("latin1");
      await this.need(this.buf.length + 1);
    }
  }

  /** Reads one response; `bodyless` for answers to HEAD. Interim (1xx) responses are returned alone. */
  async response(bodyless = false): Promise<RawResponse> {
    let end: number;
    for (;;) {
      end = this.buf.indexOf("\r\n\r\n");
      if (end >= 0) break;
      await this.need(this.buf.length + 1);
    }
    const head = this.take(end + 4).toString("latin1");
    const lines = head.slice(0, -4).split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3}) (.*)$/.exec(lines[0]!);
    if (m === null) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const fields: [string, string][] = lines.slice(1).map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i), l.slice(i + 1).trim()];
    });
    const header = (name: string) => fields.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    const status = Number(m[1]);
    const res: RawResponse = {
      status,
      reason: m[2]!,
      fields,
      header,
      body: Buffer.alloc(0),
      head,
      chunked: false,
    };
    if (status < 200 || bodyless || status === 204 || status === 304) return res;
    const te = header("transfer-encoding");
    const cl = header("content-length");
    if (te !== undefined) {
      res.chunked = true;
      const parts: Buffer[] = [];
      for (;;) {
        const sizeLine = await this.line();
        const size = Number.parseInt(sizeLine, 16);
        if (size === 0) {
          await this.line();
          break;
        }
        await this.need(size + 2);
        parts.push(Buffer.from(this.take(size)));
        this.take(2);
      }
      res.body = Buffer.concat(parts);
    } else if (cl !== undefined) {
      const n = Number(cl);
      await this.need(n);
      res.body = Buffer.from(this.take(n));
    } else {
      res.body = await this.rest();
    }
    return res;
  }

  /** Everything until the server closes. */
  async rest(): Promise<Buffer> {
    while (!this.ended && !this.closed) await this.more();
    return this.take(this.buf.length);
  }

  /** Waits until the server ends or resets the connection. */
  async waitClosed(): Promise<void> {
    while (!this.ended && !this.closed) await this.more();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Resolves once `cond()` holds, checking on each macrotask turn; fails after `ms`. */
export async function until(cond: () => boolean, ms = 2000, what = "condition"): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A promise with its resolve function, for handlers that wait on the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export const GET = (path = "/", extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
