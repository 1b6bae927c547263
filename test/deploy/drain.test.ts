// Graceful shutdown under keep-alive load, as an operator meets it: `phial run` serving clients that
// send requests back to back (a quarter of them POSTs, not safe to retry), SIGTERM mid-run. Every
// request on a connection the server accepted must be answered (before the fix, exactly one per
// connection was reset), the process must exit 0 quickly; the same with --workers and over TLS.
// bench/shutdown.ts runs node:http through the same harness as the anchor.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type DrainRun, drainUnderLoad } from "./drain-load.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
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

function summary(r: DrainRun): string {
  return `${r.ok} answered, ${r.failed.length} failed, ${r.refused} refused after close, exit ${r.code} in ${r.exitMs} ms`;
}

/** Statuses in order, repeats counted: "200×1 503×40". */
function runs(statuses: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < statuses.length; ) {
    let j = i;
    while (j < statuses.length && statuses[j] === statuses[i]) j++;
    out.push(`${statuses[i]}×${j - i}`);
    i = j;
  }
  return out.join(" ") || "none";
}

function assertNothingLost(r: DrainRun, clients: number): void {
  assert.deepEqual(r.failed, [], `no accepted request may fail (${summary(r)})\n${r.output}`);
  assert.equal(r.code, 0, `exit code (${summary(r)})\n${r.output}`);
  assert.ok(r.exitMs < 5000, `exited ${r.exitMs} ms after SIGTERM`);
  assert.ok(r.ok > clients, `the clients were served before and during the drain (${summary(r)})`);
  // Every client's connection was told Connection: close while draining; its reconnect was refused.
  assert.equal(r.refused, clients, summary(r));
  assert.equal(r.closeAnswers, clients, summary(r));
}

describe("SIGTERM under keep-alive load: nothing accepted is lost", () => {
  for (const [name, extra, clients, ca] of [
    ["one process, 16 clients", [], 16, undefined],
    ["--workers 2, 32 clients", ["--workers", "2"], 32, undefined],
    ["TLS, 16 clients", TLS, 16, CA],
    ["TLS --workers 2, 64 clients", [...TLS, "--workers", "2"], 64, CA],
  ] as const) {
    test(name, async () => {
      const r = await drainUnderLoad({ argv: phial([...extra]), cwd: root, clients, before: 1000, ca });
      console.log(`# ${name}: ${summary(r)}`);
      assertNothingLost(r, clients);
    });
  }

  test("--shutdown-delay: readiness answers 503 while requests are still served, then the drain", async () => {
    const r = await drainUnderLoad({
      argv: phial(["--shutdown-delay", "600"]),
      cwd: root,
      clients: 16,
      before: 500,
      readiness: "/readyz",
    });
    const ready = r.readyAfterSignal;
    console.log(`# --shutdown-delay 600: ${summary(r)}; readiness after SIGTERM: ${runs(ready)}`);
    assertNothingLost(r, 16);
    // The process may read a check or two before its SIGTERM handler runs (a busy event loop): 200s
    // are allowed only before the first 503; after it, never ready again.
    const first503 = ready.indexOf(503);
    assert.ok(first503 !== -1, `readiness said 503 while draining: ${runs(ready)}`);
    assert.deepEqual(
      ready.slice(first503).filter((s) => s !== 503),
      [],
      `never ready again once draining: ${runs(ready)}`,
    );
    assert.deepEqual(
      ready.slice(0, first503).filter((s) => s !== 200),
      [],
      `only 200 or 503: ${runs(ready)}`,
    );
    assert.ok(r.exitMs >= 600, `served through the delay (${r.exitMs} ms)`);
  });
});
