// Graceful shutdown under keep-alive load, phial run beside node:http, through the same harness as
// test/deploy/drain.test.ts: N keep-alive clients sending back to back, SIGTERM after `before` ms.
// Prints, per server: requests answered, requests failed on an accepted connection, refused
// reconnects, and ms from SIGTERM to exit. node:http closes with server.close() +
// closeIdleConnections() and the same 10 s deadline as phial run.
//   node --import tsx --conditions=phial-source bench/shutdown.ts [clients] [before-ms]

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { drainUnderLoad } from "../test/deploy/drain-load.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const clients = Number(process.argv[2] ?? 16);
const before = Number(process.argv[3] ?? 1500);
const tlsDir = join(root, "test", "fixtures", "tls");
const CA = readFileSync(join(tlsDir, "ca.pem"));
const TLS = ["--cert", join(tlsDir, "server.pem"), "--key", join(tlsDir, "server.key")];
const phial = (extra: string[]) => [
  join(root, "bin", "phial.js"),
  "run",
  "test/deploy/fixtures/drain-app.ts",
  "--port",
  "0",
  "--no-access-log",
  ...extra,
];

const runs: [string, string[], Buffer | undefined][] = [
  [
    "node:http close()+closeIdleConnections()",
    [join(root, "test/deploy/fixtures/node-http-drain.mjs")],
    undefined,
  ],
  ["phial run", phial([]), undefined],
  ["phial run --workers 2", phial(["--workers", "2"]), undefined],
  ["phial run TLS", phial(TLS), CA],
  ["phial run TLS --workers 2", phial([...TLS, "--workers", "2"]), CA],
];
console.log(`${clients} keep-alive clients, SIGTERM after ${before} ms`);
for (const [name, argv, ca] of runs) {
  const r = await drainUnderLoad({ argv, cwd: root, clients, before, ca, exitWithin: 15_000 });
  console.log(
    `${name.padEnd(42)} answered ${String(r.ok).padStart(6)}  failed ${String(r.failed.length).padStart(3)}  ` +
      `refused ${String(r.refused).padStart(3)}  exit ${r.code} after ${r.exitMs} ms` +
      (r.failed.length > 0 ? `  (first: ${r.failed[0]})` : ""),
  );
}
