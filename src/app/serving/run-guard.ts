// `app.run()` as Flask's `if __name__ == "__main__": app.run()`: it serves only when called from the
// module Node was started with (`tsx app.ts`, `node app.js`), so importing that module from a test, from
// `phial run` or from another module starts no server. The apps whose run() was skipped are noted, so
// `phial run` finds an app that is not exported.

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Shared by every copy of phial in the process (the CLI's and the app's may be two module instances). */
const SKIPPED = Symbol.for("phial.run.skipped");

type Holder = { [SKIPPED]?: unknown[] };

/** Notes an app whose run() did not serve. */
export function noteSkippedRun(app: unknown): void {
  const g = globalThis as Holder;
  g[SKIPPED] ??= [];
  g[SKIPPED].push(app);
}

/** The apps whose run() did not serve, oldest first. */
export function skippedRuns(): readonly unknown[] {
  return (globalThis as Holder)[SKIPPED] ?? [];
}

// This package's own files (src/ or dist/, two levels up): frames in them are not the caller.
const OWN = fileURLToPath(new URL("../../", import.meta.url));

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The file of the first stack frame outside this package, or undefined (REPL, eval, no stack). */
function callerFile(): string | undefined {
  const saved = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.stackTraceLimit = 30;
    Error.prepareStackTrace = (_e, s) => s;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerFile);
    if (Array.isArray(holder.stack)) sites = holder.stack as NodeJS.CallSite[];
  } finally {
    Error.prepareStackTrace = saved;
    Error.stackTraceLimit = limit;
  }
  for (const site of sites) {
    let name = site.getFileName() ?? undefined;
    if (name === undefined || name.startsWith("node:")) continue;
    if (name.startsWith("file:")) name = fileURLToPath(name);
    if (name.startsWith(OWN)) continue;
    return name;
  }
  return undefined;
}

/**
 * True when the code calling into this package runs in the process's main module (or where that can't
 * be told: no script, a REPL, an eval).
 */
export function calledFromMain(): boolean {
  const main = process.argv[1];
  if (main === undefined || main === "") return true;
  const caller = callerFile();
  if (caller === undefined) return true;
  return real(caller) === real(main);
}

/**
 * One line for a failed listen (port taken, no permission, not an address here), saying what to do;
 * `how` shows how to pick another port (`--port 5001`). Undefined for other errors.
 */
export function listenErrorMessage(
  err: unknown,
  host: string,
  port: number,
  how: string,
): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (code === "EADDRINUSE") {
    return `${where} is already in use (another server, or an earlier run still going): stop it, or pick another port (${how}).`;
  }
  if (code === "EACCES") {
    return `No permission to listen on ${where} (ports below 1024 need privileges): pick a port from 1024 up (${how}).`;
  }
  if (code === "EADDRNOTAVAIL") {
    return `${host} is not an address of this machine: listen on 127.0.0.1, or 0.0.0.0 for every interface.`;
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return `Can't resolve the host name ${JSON.stringify(host)}: give an address (127.0.0.1, 0.0.0.0, ::).`;
  }
  return undefined;
}
