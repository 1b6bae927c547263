// What the tests that need a real Redis share: finding Debian's redis-server (or why they skip), starting
// one on a free port of 127.0.0.1 with its own temporary folder (no persistence), stopping it, and a
// node-redis client set up as docs/deployment.md says (no offline queue, a command timeout).

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { freePort } from "./nginx-support.ts";

/** The redis-server binary: REDIS_SERVER_BIN when set (a missing path shows the skip), else a usual place. */
export const REDIS_SERVER: string | undefined =
  process.env.REDIS_SERVER_BIN !== undefined
    ? existsSync(process.env.REDIS_SERVER_BIN)
      ? process.env.REDIS_SERVER_BIN
      : undefined
    : ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"].find((p) =>
        existsSync(p),
      );

/** `false`, or the reason `what` is skipped (printed once, as a TAP comment). */
export function redisSkip(what: string): string | false {
  if (REDIS_SERVER !== undefined) return false;
  const why = `redis-server is not installed (apt-get install -y redis-server); skipping ${what}`;
  console.log(`# ${why}`);
  return why;
}

/** A redis-server child on 127.0.0.1. */
export class RedisServer {
  readonly port: number;
  private child: ChildProcess | undefined;
  private readonly dir: string;
  output = "";

  private constructor(port: number) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), "phial-redis-"));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server on a free port (or `port`, to bring one back on the same port) and waits until it is ready. */
  static async start(port?: number): Promise<RedisServer> {
    const s = new RedisServer(port ?? (await freePort()));
    await s.startProcess();
    return s;
  }

  private async startProcess(): Promise<void> {
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
    ];
    const child = spawn(REDIS_SERVER!, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stdout!.on("data", (d: Buffer) => {
      this.output += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      this.output += d.toString();
    });
    const probe = createClient({ url: this.url, socket: { reconnectStrategy: false } });
    probe.on("error", () => {});
    for (let i = 0; i < 250; i++) {
      if (child.exitCode !== null)
        throw new Error(`redis-server exited with ${child.exitCode}: ${this.output}`);
      try {
        await probe.connect();
        await probe.ping();
        await probe.close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    throw new Error(`redis-server did not start within 5 s: ${this.output}`);
  }

  /** Stops the server (SIGKILL: like a crash; nothing is saved anyway). */
  async stop(): Promise<void> {
    const c = this.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await done;
  }

  /** Starts it again on the same port (empty: nothing was persisted). */
  async restart(): Promise<void> {
    await this.startProcess();
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A node-redis client as the docs configure it: fails fast while Redis is away, reconnects by itself. */
export async function connectClient(url: string) {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: 1000, rejectInFlight: true },
    socket: { connectTimeout: 1000, reconnectStrategy: (n: number) => Math.min(50 * 2 ** n, 500) },
  });
  client.on("error", () => {}); // reconnects are reported here; the tests watch the responses instead
  await client.connect();
  return client;
}
