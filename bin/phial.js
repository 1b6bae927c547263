#!/usr/bin/env node
// The `phial` command line. In a clone of the repository (src/ present) it runs the TypeScript sources
// through tsx; in an installed package (which ships dist/, not src/) it runs the built JavaScript.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src", "cli", "main.ts");
const built = join(root, "dist", "cli", "main.js");
if (existsSync(source)) {
  const { spawn } = await import("node:child_process");
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  let tsx;
  try {
    tsx = pathToFileURL(require.resolve("tsx")).href;
  } catch {
    process.stderr.write(`phial: can't find tsx to run the sources in ${root}: run \`npm install\` there.\n`);
    process.exit(1);
  }
  const child = spawn(
    process.execPath,
    ["--import", tsx, "--conditions=phial-source", source, ...process.argv.slice(2)],
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
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  process.stderr.write(
    `phial: this copy of Phial (${root}) has no dist/ build: run \`npm run build\` there, ` +
      "or install a packed release (`npm pack`, then `npm install phial-<version>.tgz`).\n",
  );
  process.exit(1);
}
