// Client throughput: phial/client vs undici `request` on a Pool vs `fetch` vs node:http with a
// keep-alive Agent, 50 requests in flight each, against the same canned node:net responder running
// in a child process (so the responder's cost is the same for every client and off our event loop).
//
//   npx tsx --conditions=phial-source bench/client.ts [seconds-per-run=4] [rounds=2]
//
// Not a unit test: it prints req/s per client and the ratios; the best round of each counts.

import { fork } from "node:child_process";
import http from "node:http";
import { createServer } from "node:net";
import { Client } from "phial/client";
import { Pool } from "undici";

const INFLIGHT = 50;

if (process.argv[2] === "--responder") {
  // Answers every request head with the same small keep-alive response; requests carry no body.
  const body = '{"hello":"world","n":12345}';
  const canned = Buffer.from(
    `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nKeep-Alive: timeout=60\r\n\r\n${body}`,
  );
  const server = createServer({ noDelay: true }, (sock) => {
    let tail = "";
    sock.on("data", (d) => {
      const s = tail + d.toString("latin1");
      let n = 0;
      let i = s.indexOf("\r\n\r\n");
      let last = 0;
      while (i !== -1) {
        n++;
        last = i + 4;
        i = s.indexOf("\r\n\r\n", last);
      }
      tail = s.slice(last);
      if (n === 1) sock.write(canned);
      else if (n > 1) sock.write(Buffer.concat(Array.from({ length: n }, () => canned)));
    });
    sock.on("error", () => {});
  });
  server.listen(0, "127.0.0.1", () => {
    const a = server.address();
    process.send!(typeof a === "object" && a !== null ? a.port : 0);
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 4);
  const rounds = Number(process.argv[3] ?? 2);
  const child = fork(new URL(import.meta.url).pathname, ["--responder"], {
    execArgv: ["--import", "tsx", "--conditions=phial-source"],
  });
  const port = await new Promise<number>((resolve) => child.once("message", (m) => resolve(Number(m))));
  const url = `http://127.0.0.1:${port}/bench?x=1`;

  const phial = new Client({ connections: INFLIGHT });
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: INFLIGHT, pipelining: 1 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: INFLIGHT });

  const clients: Record<string, () => Promise<unknown>> = {
    "phial/client": async () => {
      const r = await phial.get(url);
      return r.bytes();
    },
    "undici Pool.request": async () => {
      const r = await pool.request({ path: "/bench?x=1", method: "GET" });
      return r.body.arrayBuffer();
    },
    fetch: async () => {
      const r = await fetch(url);
      return r.arrayBuffer();
    },
    "node:http Agent": () =>
      new Promise((resolve, reject) => {
        http
          .get(url, { agent }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve(Buffer.concat(chunks)));
            res.on("error", reject);
          })
          .on("error", reject);
      }),
  };

  async function run(fn: () => Promise<unknown>, ms: number): Promise<number> {
    let count = 0;
    const end = performance.now() + ms;
    const loop = async () => {
      while (performance.now() < end) {
        await fn();
        count++;
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: INFLIGHT }, loop));
    return (count * 1000) / (performance.now() - t0);
  }

  const best: Record<string, number> = {};
  for (const name of Object.keys(clients)) await run(clients[name]!, 500); // warm up every client first
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(clients)) {
      const rps = await run(fn, seconds * 1000);
      best[name] = Math.max(best[name] ?? 0, rps);
      console.log(`round ${r + 1}  ${name.padEnd(22)} ${rps.toFixed(0).padStart(8)} req/s`);
    }
  }
  const base = best["phial/client"]!;
  console.log(`\nbest of ${rounds} × ${seconds}s, ${INFLIGHT} in flight, node ${process.version}`);
  for (const [name, rps] of Object.entries(best))
    console.log(
      `${name.padEnd(22)} ${rps.toFixed(0).padStart(8)} req/s   phial/client is ${(base / rps).toFixed(2)}×`,
    );
  phial.close();
  await pool.close();
  agent.destroy();
  child.kill();
}
