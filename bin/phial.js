#!/usr/bin/env node
// The `phial` command line. It runs the TypeScript sources through tsx when they are present
// (a clone of the repository), or the built JavaScript when installed from the registry.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "cli", "main.js");
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { spawn } = await import("node:child_process");
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve("tsx")).href;
  const child = spawn(
    process.execPath,
    [
      "--import",
      tsx,
      "--conditions=phial-source",
      join(root, "src", "cli", "main.ts"),
      ...process.argv.slice(2),
    ],
    { stdio: "inherit" },
  );
  // Signals sent to this process (systemd, `kill`, a test) reach the real one, which shuts down
  // gracefully; this one then exits the way it did.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(sig, () => {
      if (child.exitCode === null) child.kill(sig);
    });
  }
  child.on("exit", (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else {
      process.exit(code ?? 1);
    }
  });
}
