// Memory per idle keep-alive connection: open N connections, each sends one request and keeps its
// socket; the server's RSS after a full GC, minus its RSS before, divided by N. The part of that growth
// that is V8's young generation is reported apart: the GC empties the young generation but keeps its
// pages, and how many of them were touched depends on how much the process allocated before and while
// the connections opened (a module loaded at start-up, say), not on what the connections hold.

import { spawnSync } from "node:child_process";
import { Socket } from "node:net";
import { HELLO } from "../servers/fixtures.ts";
import { ServerChild } from "./proc.ts";

export interface MemoryResult {
  connections: number;
  /** RSS growth per connection, bytes. */
  rssPerConn: number;
  /** JS heap growth per connection, bytes. */
  heapPerConn: number;
  /** Growth of the young generation's resident pages, per connection, bytes (part of rssPerConn). */
  youngPerConn: number;
}

/** The soft limit on open files for this process and its children. */
export function openFileLimit(): number {
  const r = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" });
  const n = Number((r.stdout ?? "").trim());
  return Number.isFinite(n) && n > 0 ? n : 1024;
}

function openOne(port: number, sockets: Socket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = new Socket();
    let got = "";
    const fail = (e: Error) => {
      s.destroy();
      reject(e);
    };
    s.setEncoding("latin1");
    s.on("error", fail);
    s.on("close", () => fail(new Error("the server closed an idle connection")));
    s.on("data", function onData(d: string) {
      got += d;
      if (got.endsWith(HELLO)) {
        s.off("data", onData);
        s.removeAllListeners("close");
        s.removeAllListeners("error");
        s.on("error", () => {});
        sockets.push(s);
        resolve();
      }
    });
    s.connect(port, "127.0.0.1", () => s.write(`GET /hello HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
  });
}

/** Opens `n` idle connections, `batch` at a time (the listen backlog is finite). */
async function openMany(port: number, n: number, batch = 200): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i += batch) {
    const k = Math.min(batch, n - i);
    await Promise.all(Array.from({ length: k }, () => openOne(port, sockets)));
  }
  return sockets;
}

function closeAll(sockets: Socket[]): void {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Measures one row (its `idle` scenario). The server runs with --expose-gc, pinned to `core`. */
export async function measureMemory(
  file: string,
  n: number,
  core: number | undefined,
): Promise<MemoryResult> {
  const child = await ServerChild.start(file, "idle", { core, nodeArgs: ["--expose-gc"] });
  if (child === "unsupported") throw new Error(`${file} has no "idle" app`);
  try {
    // Warm the code paths and the allocator with a round of connections that come and go.
    closeAll(await openMany(child.port, 200));
    await sleep(200);
    const before = await child.mem();
    const sockets = await openMany(child.port, n);
    await sleep(300);
    const after = await child.mem();
    closeAll(sockets);
    return {
      connections: n,
      rssPerConn: (after.rss - before.rss) / n,
      heapPerConn: (after.heapUsed - before.heapUsed) / n,
      youngPerConn: (after.young - before.young) / n,
    };
  } finally {
    await child.stop();
  }
}
