// A constant-rate (open-loop) HTTP/1.1 load generator, in the manner of wrk2, for latency under a fixed
// offered load. Raw sockets (node:net), keep-alive, one request in flight per connection.
//
// The schedule: `rate` requests per second in all, spread over the connections; connection k sends its
// n-th request at the intended time t0 + (k + n·connections) / rate. Latency is measured from that
// intended time, not from when the request could be written: when the server falls behind, a
// connection is still waiting for the previous answer when its next request is due, and the wait
// counts against the server (the correction for "coordinated omission" that wrk2 makes; a closed-loop
// tool such as wrk would just send fewer requests and report the latency of those it sent).
//
// One exception, so that the generator's own timer doesn't count as the server's latency: a request
// whose connection was idle and waiting for a timer is timed from the moment it is written (Node's
// timers fire up to ~1 ms late). That lateness is reported separately ("timer lag"); a large one
// means the generator, not the server, could not keep up.
//
// With rate 0 it runs closed-loop (each connection sends its next request as soon as an answer is
// in), which is how it is checked against wrk.

import { Socket } from "node:net";
import { Histogram } from "./histogram.ts";
import { nodeArgv, pinned, run } from "./proc.ts";
import type { LoadSpec } from "./scenarios.ts";

export interface OpenLoopOptions {
  port: number;
  spec: LoadSpec;
  /** Requests per second in all; 0: closed loop. */
  rate: number;
  connections: number;
  seconds: number;
  /** An answer that takes longer than this after its request was written is a timeout (the connection is replaced). */
  timeoutMs: number;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface OpenLoopResult {
  rate: number;
  connections: number;
  seconds: number;
  /** Requests the schedule called for in the window. */
  scheduled: number;
  /** Requests written. */
  sent: number;
  /** Answers received (any status). */
  completed: number;
  /** Answers per second over the window. */
  rps: number;
  latency: LatencySummary;
  /** Per second of the run: p99 and max latency of the answers received in that second, ms. */
  perSecond: { p99Ms: number; maxMs: number; count: number }[];
  /** How late the generator's timers fired, for timer-driven sends. */
  timerLag: LatencySummary;
  badStatus: number;
  timeouts: number;
  /** Connect errors, resets, closes by the server, unparseable answers. */
  socketErrors: number;
  firstError: string | undefined;
  /** The generator's own CPU time over the window as a share of one core. */
  generatorCpu: number;
}

const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

/** The request bytes for a spec (its first path; pipelining is not used here). */
export function requestBytes(spec: LoadSpec, port: number): Buffer {
  const path = spec.paths[0]!;
  let head = `${spec.method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
  for (const [k, v] of Object.entries(spec.headers ?? {})) head += `${k}: ${v}\r\n`;
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body, "utf8");
  if (body !== undefined) head += `Content-Length: ${body.length}\r\n`;
  head += "\r\n";
  const h = Buffer.from(head, "latin1");
  return body === undefined ? h : Buffer.concat([h, body]);
}

/**
 * Where the answer at the start of `buf` ends, or -1 if it isn't complete yet. Throws on an answer this
 * generator can't frame (no Content-Length, or chunked): the bench servers all send Content-Length.
 */
export function answerEnd(buf: Buffer): { end: number; status: number } | -1 {
  const headEnd = buf.indexOf(CRLFCRLF);
  if (headEnd < 0) {
    if (buf.length > 64 * 1024) throw new Error("an answer head over 64 KiB");
    return -1;
  }
  const head = buf.toString("latin1", 0, headEnd).toLowerCase();
  if (!head.startsWith("http/1.1 ") && !head.startsWith("http/1.0 "))
    throw new Error(`not an HTTP/1.x answer: ${JSON.stringify(head.slice(0, 40))}`);
  const status = Number(head.slice(9, 12));
  const at = head.indexOf("\r\ncontent-length:");
  if (at < 0) throw new Error("an answer without Content-Length (chunked answers are not supported here)");
  const from = at + 17;
  let to = head.indexOf("\r\n", from);
  if (to < 0) to = head.length;
  const length = Number(head.slice(from, to).trim());
  if (!Number.isInteger(length) || length < 0)
    throw new Error(`a bad Content-Length: ${head.slice(from, to)}`);
  const end = headEnd + 4 + length;
  return end <= buf.length ? { end, status } : -1;
}

function summarize(h: Histogram): LatencySummary {
  return {
    count: h.count,
    p50Ms: h.quantile(0.5) / 1000,
    p90Ms: h.quantile(0.9) / 1000,
    p99Ms: h.quantile(0.99) / 1000,
    p999Ms: h.quantile(0.999) / 1000,
    maxMs: h.count === 0 ? Number.NaN : h.max / 1000,
    meanMs: h.mean() / 1000,
  };
}

/** performance.now() in µs. */
const nowUs = () => performance.now() * 1000;

export function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const req = requestBytes(o.spec, o.port);
  const closed = o.rate <= 0;
  const intervalUs = closed ? 0 : (o.connections * 1e6) / o.rate;
  const all = new Histogram();
  const lag = new Histogram();
  const perSecond: Histogram[] = [];
  let sent = 0;
  let completed = 0;
  let badStatus = 0;
  let timeouts = 0;
  let socketErrors = 0;
  let firstError: string | undefined;
  let stopped = false;
  const t0 = nowUs() + 50_000; // 50 ms to connect before the first request is due
  const tEnd = t0 + o.seconds * 1e6;
  const cpu0 = process.cpuUsage();

  const noteError = (msg: string) => {
    socketErrors++;
    firstError ??= msg;
  };

  class Conn {
    socket!: Socket;
    /** When the request in flight (or the next one) is due, µs. */
    due: number;
    /** When the request in flight was written, µs (0: none in flight). */
    writtenAt = 0;
    /** What latency of the request in flight is measured from. */
    from = 0;
    pending: Buffer | undefined;
    timer: NodeJS.Timeout | undefined;
    deadline: NodeJS.Timeout | undefined;
    connected = false;

    constructor(k: number) {
      this.due = closed ? t0 : t0 + (k * 1e6) / o.rate;
      this.open();
    }

    open(): void {
      this.connected = false;
      this.pending = undefined;
      const s = new Socket();
      this.socket = s;
      s.setNoDelay(true);
      s.on("data", (d: Buffer) => this.onData(s, d));
      s.on("error", (e) => {
        if (!stopped) noteError(e.message);
      });
      s.on("close", () => {
        if (stopped || this.socket !== s) return;
        if (this.writtenAt !== 0) noteError("the server closed a connection with a request in flight");
        if (this.connected) this.reset();
        else setTimeout(() => this.reset(), 100); // refused: don't spin
      });
      s.connect(o.port, "127.0.0.1", () => {
        this.connected = true;
        this.schedule();
      });
    }

    /** Drops the socket and opens a new one; the schedule goes on. */
    reset(): void {
      clearTimeout(this.timer);
      clearTimeout(this.deadline);
      this.timer = undefined;
      this.writtenAt = 0;
      this.socket.removeAllListeners("close");
      this.socket.destroy();
      if (!stopped) this.open();
    }

    /** Sends the next request now if it is due, else sets a timer for it. */
    schedule(): void {
      if (stopped || !this.connected) return;
      const now = nowUs();
      if (this.due >= tEnd) return;
      if (this.due <= now) {
        // Due already: the connection was busy (or closed loop). Timed from the intended time.
        this.send(now, closed ? now : this.due);
      } else {
        this.timer = setTimeout(this.onTimer, (this.due - now) / 1000);
      }
    }

    onTimer = (): void => {
      this.timer = undefined;
      if (stopped) return;
      const now = nowUs();
      if (!closed && now >= this.due) lag.record(now - this.due);
      // The connection was idle: timed from now (the timer's lateness is the generator's, not the server's).
      this.send(now, Math.max(now, this.due));
    };

    send(now: number, from: number): void {
      this.writtenAt = now;
      this.from = from;
      sent++;
      this.socket.write(req);
      this.deadline = setTimeout(this.onDeadline, o.timeoutMs);
    }

    onDeadline = (): void => {
      this.deadline = undefined;
      if (stopped || this.writtenAt === 0) return;
      timeouts++;
      this.due += intervalUs;
      this.reset();
    };

    onData(s: Socket, d: Buffer): void {
      if (s !== this.socket) return;
      let buf = this.pending === undefined ? d : Buffer.concat([this.pending, d]);
      for (;;) {
        let r: ReturnType<typeof answerEnd>;
        try {
          r = answerEnd(buf);
        } catch (e) {
          noteError((e as Error).message);
          this.reset();
          return;
        }
        if (r === -1) break;
        this.onAnswer(r.status);
        buf = buf.subarray(r.end);
        if (buf.length === 0) break;
      }
      this.pending = buf.length === 0 ? undefined : buf;
    }

    onAnswer(status: number): void {
      if (this.writtenAt === 0) {
        noteError("an answer to no request");
        return;
      }
      const now = nowUs();
      clearTimeout(this.deadline);
      this.deadline = undefined;
      this.writtenAt = 0;
      if (now <= tEnd) {
        completed++;
        if (status !== o.spec.status) badStatus++;
        const us = now - this.from;
        all.record(us);
        const sec = Math.floor((now - t0) / 1e6);
        let h = perSecond[sec];
        if (h === undefined) {
          h = new Histogram();
          perSecond[sec] = h;
        }
        h.record(us);
      }
      this.due = closed ? Math.max(now, t0) : this.due + intervalUs;
      this.schedule();
    }

    stop(): void {
      clearTimeout(this.timer);
      clearTimeout(this.deadline);
      this.socket.destroy();
    }
  }

  const conns: Conn[] = [];
  for (let k = 0; k < o.connections; k++) conns.push(new Conn(k));

  return new Promise((resolve) => {
    setTimeout(
      () => {
        stopped = true;
        for (const c of conns) c.stop();
        const cpu = process.cpuUsage(cpu0);
        const windowS = o.seconds;
        // Requests the schedule called for in the window (closed loop: as many as were sent).
        const scheduled = closed ? sent : Math.floor(o.rate * windowS);
        resolve({
          rate: o.rate,
          connections: o.connections,
          seconds: windowS,
          scheduled,
          sent,
          completed,
          rps: completed / windowS,
          latency: summarize(all),
          // A second with no answer at all is a hole in `perSecond`: Array.from visits it (map would not).
          perSecond: Array.from(perSecond, (h) => ({
            p99Ms: h === undefined ? Number.NaN : h.quantile(0.99) / 1000,
            maxMs: h === undefined ? Number.NaN : h.max / 1000,
            count: h === undefined ? 0 : h.count,
          })),
          timerLag: summarize(lag),
          badStatus,
          timeouts,
          socketErrors,
          firstError,
          generatorCpu: (cpu.user + cpu.system) / ((tEnd - t0 + 50_000) * 1),
        });
      },
      (tEnd - nowUs()) / 1000 + 5,
    );
  });
}

const CHILD = new URL("./open-loop-child.ts", import.meta.url).pathname;

/** Runs the generator in its own process, pinned to `core` when possible. */
export async function runOpenLoop(o: OpenLoopOptions, core: number | undefined): Promise<OpenLoopResult> {
  const [cmd, args] = pinned(core, [...nodeArgv(CHILD), JSON.stringify(o)]);
  const out = await run(cmd, args, (o.seconds + 30) * 1000);
  const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (line === undefined) throw new Error(`the open-loop generator printed no result:\n${out}`);
  return JSON.parse(line.slice("BENCH_JSON ".length)) as OpenLoopResult;
}
