// The former load of bench/ws/run.ts, kept to cross-check bench/ws/load.ts (`--generator ws`): the same
// measures driven by `ws` clients. A `ws` client costs about as much per message as a `ws` server, so
// this generator saturates its core before fast servers do; where the server is the bottleneck, the
// server's CPU per message or per upgrade must agree with what load.ts reports.

import { WebSocket } from "ws";
import type { EchoOptions, LoadResult, UpgradeOptions } from "./load.ts";

export async function echo(o: EchoOptions): Promise<LoadResult> {
  let count = 0;
  let stop = false;
  let failure: Error | undefined;
  const url = `ws://127.0.0.1:${o.port}${o.path}`;
  const sockets = await Promise.all(
    Array.from({ length: o.connections }, () => {
      const ws = new WebSocket(url);
      return new Promise<WebSocket>((resolve, reject) => {
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    }),
  );
  const t0 = performance.now();
  for (const ws of sockets) {
    ws.on("message", (data: Buffer, isBinary) => {
      if (isBinary !== o.binary || data.length !== o.payload.length) {
        failure ??= new Error(`echoed a ${isBinary ? "binary" : "text"} message of ${data.length} bytes`);
      }
      count++;
      if (!stop) ws.send(o.payload, { binary: o.binary });
    });
    ws.on("close", () => {
      if (!stop) failure ??= new Error("closed a connection during the echo");
    });
    for (let i = 0; i < o.inFlight; i++) ws.send(o.payload, { binary: o.binary });
  }
  await new Promise((r) => setTimeout(r, o.durationMs));
  stop = true;
  const n = count;
  const seconds = (performance.now() - t0) / 1000;
  for (const ws of sockets) ws.terminate();
  if (failure !== undefined) throw failure;
  return { count: n, seconds };
}

export async function upgrades(o: UpgradeOptions): Promise<LoadResult> {
  let count = 0;
  const url = `ws://127.0.0.1:${o.port}${o.path}`;
  const t0 = performance.now();
  const end = t0 + o.durationMs;
  const loop = async () => {
    while (performance.now() < end) {
      const ws = new WebSocket(url);
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      ws.close(1000);
      await new Promise((resolve) => ws.once("close", resolve));
      count++;
    }
  };
  await Promise.all(Array.from({ length: o.loops }, loop));
  return { count, seconds: (performance.now() - t0) / 1000 };
}
