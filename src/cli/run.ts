// `phial run`: serve an app. One process by default; `--workers N` forks N through node:cluster (the
// primary restarts a crashed worker); `--debug` turns on debug mode and reloads on source changes by
// rolling the workers over (the new one listens before the old one stops, and the old one finishes
// what it is serving). SIGTERM / SIGINT close gracefully within a deadline.

import cluster, { type Worker } from "node:cluster";
import { readFileSync, watch } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, extname } from "node:path";
import { parseArgs } from "node:util";
import type { Phial } from "../app/app.ts";
import { listenErrorMessage } from "../app/serving/run-guard.ts";
import { compileTrust } from "../app/wrappers/proxy.ts";
import { loadApp, parseAppSpec } from "./load-app.ts";

export const RUN_HELP = `Usage: phial run [APP] [options]

Serves a Phial app. APP is a file (app.ts, app.js) optionally followed by :name to pick an export
(:app, :createApp()). Without APP, $PHIAL_APP is used, else app.ts / app.js in this folder.

Options:
  --host HOST        address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)
  --port PORT        port (default 5000, or $PORT)
  --debug            debug mode: error pages with the stack, reload on change. Never in production.
  --no-reload        with --debug, don't reload on source changes
  --workers N        run N processes (default 1; "auto" for one per core)
  --cert FILE        serve HTTPS with this certificate (PEM) ...
  --key FILE         ... and this private key (PEM)
  --allow-remote-debug
                     let --debug listen on a non-loopback address (anyone who can reach it sees your
                     stack traces and source)
  --trust-proxy LIST  believe X-Forwarded-For/Proto/Host/Prefix from these peers only: addresses, CIDR
                     ranges or loopback/linklocal/uniquelocal, comma-separated (e.g. loopback for a
                     local nginx); default none, or $PHIAL_TRUST_PROXY
  --no-access-log    don't log each request (logged by default, to stdout)
  --shutdown-timeout MS
                     how long in-flight requests get on SIGTERM (default 10000)
  --shutdown-delay MS
                     on SIGTERM, keep serving as usual for MS first, with app.draining true so a
                     readiness route answers 503 and the load balancer stops sending (default 0)
  --keep-alive-timeout MS
                     how long an idle keep-alive connection stays open (default 5000; behind a proxy,
                     longer than the proxy's own idle timeout for its upstream connections)
  --headers-timeout MS
                     time a request's head gets from its first byte, else 408 (default 20000)
  --request-timeout MS
                     time a whole request (head and body) gets, else 408 (default 300000)
  -h, --help         this help
`;

export interface RunSettings {
  app: string | undefined;
  host: string;
  port: number;
  debug: boolean;
  reload: boolean;
  workers: number;
  cert: string | undefined;
  key: string | undefined;
  shutdownTimeout: number;
  /** `--shutdown-delay`: ms of serving as usual, app.draining set, before the graceful close. */
  shutdownDelay: number;
  /** `--trust-proxy`, when given (else the app's config, which reads $PHIAL_TRUST_PROXY). */
  trustProxy: string | undefined;
  accessLog: boolean;
  /** The wire's timeouts given on the command line (ms); the wire's defaults for the others. */
  timeouts: { keepAliveTimeout?: number; headersTimeout?: number; requestTimeout?: number };
}

/** The server could not start (port taken, ...): print the one-line message, exit 1. */
export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartError";
  }
}

/** A command-line mistake: print the message and the help hint, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|\[::1\])$/;

export function parseRunArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): RunSettings {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        debug: { type: "boolean" },
        "no-reload": { type: "boolean" },
        reload: { type: "boolean" },
        workers: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        "allow-remote-debug": { type: "boolean" },
        "shutdown-timeout": { type: "string" },
        "shutdown-delay": { type: "string" },
        "trust-proxy": { type: "string" },
        "no-access-log": { type: "boolean" },
        "keep-alive-timeout": { type: "string" },
        "headers-timeout": { type: "string" },
        "request-timeout": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (parsed.positionals.length > 1)
    throw new UsageError(`One app at a time: got ${parsed.positionals.join(" ")}`);
  const debug = v.debug === true || env.PHIAL_DEBUG === "1" || env.PHIAL_DEBUG === "true";
  const host = (v.host as string | undefined) ?? env.PHIAL_RUN_HOST ?? "127.0.0.1";
  const portText = (v.port as string | undefined) ?? env.PHIAL_RUN_PORT ?? env.PORT ?? "5000";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a number from 0 to 65535, not "${portText}"`);
  }
  const w = (v.workers as string | undefined) ?? env.PHIAL_WORKERS ?? "1";
  const workers = w === "auto" ? availableParallelism() : Number(w);
  if (!Number.isInteger(workers) || workers < 1 || workers > 1024) {
    throw new UsageError(`--workers must be a whole number from 1 (or "auto"), not "${w}"`);
  }
  const cert = v.cert as string | undefined;
  const key = v.key as string | undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError("HTTPS needs both --cert and --key");
  }
  if (debug && !LOOPBACK.test(host) && v["allow-remote-debug"] !== true) {
    throw new UsageError(
      `Debug mode shows stack traces and source code, so it only listens on loopback; --host ${host} ` +
        "needs --allow-remote-debug (only on a network you trust), or drop --debug.",
    );
  }
  const st = Number((v["shutdown-timeout"] as string | undefined) ?? "10000");
  if (!Number.isFinite(st) || st < 0) throw new UsageError("--shutdown-timeout must be milliseconds");
  const sdText = (v["shutdown-delay"] as string | undefined) ?? "0";
  const sd = Number(sdText);
  if (sdText.trim() === "" || !Number.isInteger(sd) || sd < 0) {
    throw new UsageError(`--shutdown-delay must be a whole number of milliseconds, not "${sdText}"`);
  }
  const timeouts: RunSettings["timeouts"] = {};
  for (const [flag, key] of [
    ["keep-alive-timeout", "keepAliveTimeout"],
    ["headers-timeout", "headersTimeout"],
    ["request-timeout", "requestTimeout"],
  ] as const) {
    const text = v[flag] as string | undefined;
    if (text === undefined) continue;
    const ms = Number(text);
    if (text.trim() === "" || !Number.isInteger(ms) || ms < 1) {
      throw new UsageError(`--${flag} must be a whole number of milliseconds (1 or more), not "${text}"`);
    }
    timeouts[key] = ms;
  }
  return {
    app: parsed.positionals[0],
    host,
    port,
    debug,
    reload: debug && v["no-reload"] !== true && v.reload !== false,
    workers,
    cert,
    key,
    shutdownTimeout: st,
    shutdownDelay: sd,
    trustProxy: checkTrustProxy(v["trust-proxy"] as string | undefined),
    accessLog: v["no-access-log"] !== true,
    timeouts,
  };
}

/** Checks `--trust-proxy` up front, so a typo is a usage error rather than a 500 on every request. */
function checkTrustProxy(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    compileTrust(value);
  } catch (err) {
    throw new UsageError(`--trust-proxy: ${(err as Error).message}`);
  }
  return value;
}

// ---- a worker (or the only process): load the app and serve it ------------------------------------

interface Serving {
  port: number;
  /** SIGTERM's first step: app.draining turns true (readiness answers 503); serving goes on as usual. */
  drain(): void;
  /** New connections are refused; the open ones are served as before. */
  stopAccepting(): void;
  /** Graceful close within --shutdown-timeout. */
  close(): Promise<void>;
}

async function serve(settings: RunSettings, announce: boolean): Promise<Serving> {
  // `app.run()` in the user's module does nothing under the CLI: the CLI serves.
  process.env.PHIAL_RUN_FROM_CLI = "1";
  const app: Phial = await loadApp(parseAppSpec(settings.app, process.cwd()));
  if (settings.debug) app.config.debug = true;
  if (settings.trustProxy !== undefined) app.config.trustProxy = settings.trustProxy;
  // A bad trustProxy (e.g. from $PHIAL_TRUST_PROXY) stops the start, not every request.
  app.proxySettings.get(app.config.trustProxy, app.config.forwardedHeaders);
  const tls =
    settings.cert === undefined
      ? undefined
      : { cert: readFileSync(settings.cert), key: readFileSync(settings.key!) };
  // Every request is logged (to app.logger) unless --no-access-log or config.logRequests is false.
  const accessLog = settings.accessLog && app.config.logRequests !== false;
  const server = app.listen(tls === undefined ? settings.timeouts : { ...settings.timeouts, tls }, accessLog);
  let addr: Awaited<ReturnType<typeof server.listen>>;
  try {
    addr = await server.listen(settings.port, settings.host);
  } catch (err) {
    const how = `--port ${settings.port + 1}`;
    const message = listenErrorMessage(err, settings.host, settings.port, how);
    if (message === undefined) throw err;
    throw new StartError(message);
  }
  if (announce) {
    const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    const scheme = tls === undefined ? "http" : "https";
    console.error(
      ` * Serving Phial app "${app.name}"${settings.debug ? " in debug mode (never use it in production)" : ""}`,
    );
    console.error(` * Running on ${scheme}://${shown}:${addr.port}/ (Ctrl-C to quit)`);
  }
  return {
    port: addr.port,
    drain: () => {
      app.draining = true;
    },
    stopAccepting: () => server.stopAccepting(),
    close: () => server.close({ deadline: settings.shutdownTimeout }),
  };
}

/** Runs in a cluster worker: serve, tell the primary, close gracefully when told to. */
async function workerMain(settings: RunSettings): Promise<void> {
  // Listen for "stop" before loading the app: a worker told to stop while it is still starting (the
  // primary shutting down, or a newer reload) must not come up and serve afterwards.
  // The primary's shutdown has three steps: "phial:draining" (app.draining, readiness 503, during
  // --shutdown-delay), "phial:stop-accepting" (every worker acknowledges once its listener is closed),
  // then "phial:shutdown" (close connections gracefully). Stopping every listener before any
  // connection is told Connection: close means a client that reconnects is refused, not handed to
  // the cluster's listener in its last moments and reset when it closes.
  let serving: Serving | undefined;
  let stopRequested = false;
  let drainRequested = false;
  let closing = false;
  const stop = () => {
    stopRequested = true;
    if (closing || serving === undefined) return;
    closing = true;
    serving.drain();
    void serving.close().then(() => process.exit(0));
  };
  process.on("message", (m) => {
    if (m === "phial:draining") {
      drainRequested = true;
      serving?.drain();
    } else if (m === "phial:stop-accepting") {
      // Not yet listening: the stop is noted, and the worker never serves (see below).
      stopRequested = true;
      serving?.stopAccepting();
      // Sent after the cluster's own "close" message for the listener, on the same channel: when the
      // primary reads this, it has taken this worker off the shared listener.
      process.send?.({ type: "phial:not-accepting" });
    } else if (m === "phial:shutdown") stop();
  });
  // The primary forwards signals as messages; a signal sent straight to a worker closes it at once.
  process.on("SIGTERM", stop);
  process.on("SIGINT", () => {});
  try {
    serving = await serve(settings, false);
  } catch (err) {
    // The primary reads 3 as "the app can't start", not a crash to retry at once, and says why once
    // (every worker fails the same way: a busy port, a broken app).
    const message = (err as Error).message;
    if (process.send === undefined) {
      console.error(`phial: ${message}`);
      process.exit(3);
    }
    process.send({ type: "phial:start-failed", message }, undefined, {}, () => process.exit(3));
    return;
  }
  if (drainRequested) serving.drain();
  if (stopRequested) {
    stop();
    return;
  }
  process.send?.({ type: "phial:ready", port: serving.port });
}

// ---- the primary: workers, restarts, reload, signals ----------------------------------------------

const WATCHED = new Set([".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".json", ".env"]);
const IGNORED = /(^|[\\/])(node_modules|\.git|dist|coverage|\.artifacts|data)([\\/]|$)/;

/** Asks a worker to finish what it serves and exit; a worker already gone needs no telling. */
function tellToStop(w: Worker): void {
  if (!w.isConnected()) return;
  w.send("phial:shutdown", undefined, () => {});
}

function primaryMain(settings: RunSettings, announceUrl: (port: number) => void): Promise<number> {
  return new Promise((resolveExit) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const done = (code: number) => {
      watcher?.close();
      resolveExit(code);
    };
    cluster.setupPrimary({ execArgv: process.execArgv, args: process.argv.slice(2), silent: false });
    process.env.PHIAL_CLUSTER_WORKER = "1";
    let generation = 0;
    let shuttingDown = false;
    const current = new Set<Worker>();
    const retiring = new Set<Worker>();
    const started = new Map<Worker, number>();
    const generationOf = new Map<Worker, number>();
    let quickDeaths = 0;
    let announced = 0;
    let startFailureReported = false;

    const fork = (gen: number): Worker => {
      const w = cluster.fork({ PHIAL_CLUSTER_WORKER: "1", PHIAL_GENERATION: String(gen) });
      // A worker that exits while we talk to it closes its IPC channel: that is not the primary's
      // failure (its 'exit' is handled below), so the error must not become an uncaught one.
      w.on("error", () => {});
      started.set(w, Date.now());
      generationOf.set(w, gen);
      w.on("message", (m: { type?: string; port?: number; message?: string }) => {
        if (m?.type === "phial:not-accepting") {
          notAccepting(w);
          return;
        }
        if (m?.type === "phial:start-failed") {
          if (!startFailureReported) console.error(`phial: ${m.message}`);
          startFailureReported = true;
          return;
        }
        if (m?.type !== "phial:ready") return;
        if (gen !== generation || shuttingDown) {
          tellToStop(w);
          return;
        }
        current.add(w);
        if (announced >= gen) console.error(` * Worker ${w.process.pid} is serving (replaced one that died)`);
        if (current.size === settings.workers && announced < gen) {
          announced = gen;
          // The new generation serves: retire the old one (it finishes in-flight requests first).
          for (const old of retiring) tellToStop(old);
          if (gen === 1) announceUrl(m.port ?? settings.port);
          else console.error(` * Reloaded (${settings.workers} worker${settings.workers > 1 ? "s" : ""})`);
        }
      });
      return w;
    };

    cluster.on("exit", (w, code, signal) => {
      notAccepting(w);
      const wasCurrent = current.delete(w);
      retiring.delete(w);
      const life = Date.now() - (started.get(w) ?? 0);
      started.delete(w);
      if (shuttingDown) {
        if (Object.keys(cluster.workers ?? {}).length === 0) done(0);
        return;
      }
      const gen = generationOf.get(w) ?? generation;
      generationOf.delete(w);
      if (code === 3) {
        // The app failed to load. In debug mode wait for the next edit; otherwise give up.
        if (settings.reload) {
          console.error(" * The app failed to start; fix it and save to reload.");
          return;
        }
        shuttingDown = true;
        for (const other of Object.values(cluster.workers ?? {})) other?.kill();
        done(3);
        return;
      }
      if (!wasCurrent && code === 0) return; // a retired worker finished
      console.error(` * Worker ${w.process.pid} died (${signal ?? `code ${code}`}); starting another`);
      quickDeaths = life < 1000 ? quickDeaths + 1 : 0;
      const delay = Math.min(5000, quickDeaths * 250);
      setTimeout(() => {
        // A worker of a generation that has since been replaced is not brought back.
        if (!shuttingDown && gen === generation) fork(gen);
      }, delay).unref();
    });

    const startGeneration = () => {
      generation++;
      for (const w of current) retiring.add(w);
      current.clear();
      for (let i = 0; i < settings.workers; i++) fork(generation);
    };
    startGeneration();

    if (settings.reload) {
      let timer: NodeJS.Timeout | undefined;
      const root =
        settings.app === undefined ? process.cwd() : dirname(parseAppSpec(settings.app, process.cwd()).file);
      watcher = watch(root, { recursive: true }, (_event, name) => {
        if (name === null || IGNORED.test(name) || !WATCHED.has(extname(name))) return;
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(() => {
          console.error(` * ${name} changed, reloading`);
          startGeneration();
        }, 50);
      });
    }

    // Shutdown: draining (for --shutdown-delay), then every worker stops accepting, and only once all
    // have (or after a second) are connections closed.
    const stillAccepting = new Set<Worker>();
    let closeStarted = false;
    const closeAll = () => {
      if (closeStarted) return;
      closeStarted = true;
      for (const w of Object.values(cluster.workers ?? {})) if (w !== undefined) tellToStop(w);
    };
    function notAccepting(w: Worker): void {
      if (!stillAccepting.delete(w)) return;
      if (stillAccepting.size === 0) closeAll();
    }
    const stopAccepting = () => {
      const ws = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
      if (ws.length === 0) {
        closeAll();
        return;
      }
      for (const w of ws) {
        stillAccepting.add(w);
        w.send("phial:stop-accepting", undefined, () => {});
      }
      setTimeout(closeAll, 1000).unref();
    };
    const shutdown = () => {
      if (shuttingDown) return;
      shuttingDown = true;
      const ws = Object.values(cluster.workers ?? {});
      if (ws.length === 0) done(0);
      for (const w of ws) if (w?.isConnected()) w.send("phial:draining", undefined, () => {});
      if (settings.shutdownDelay > 0) setTimeout(stopAccepting, settings.shutdownDelay);
      else stopAccepting();
      setTimeout(
        () => {
          for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGKILL");
          done(1);
        },
        settings.shutdownDelay + settings.shutdownTimeout + 2000,
      ).unref();
    };
    process.on("SIGTERM", shutdown);
    process.on("SIGINT", shutdown);
  });
}

/** `phial run ...`; resolves with the exit code. */
export async function runCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const settings = parseRunArgs(argv);
  if (cluster.isWorker && process.env.PHIAL_CLUSTER_WORKER === "1") {
    await workerMain(settings);
    return new Promise<number>(() => {}); // the worker exits on its own
  }
  if (settings.workers === 1 && !settings.reload) {
    const serving = await serve(settings, true);
    return new Promise<number>((resolveExit) => {
      let closing = false;
      const stop = () => {
        if (closing) return;
        closing = true;
        serving.drain();
        const close = () => void serving.close().then(() => resolveExit(0));
        if (settings.shutdownDelay > 0) setTimeout(close, settings.shutdownDelay);
        else close();
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    });
  }
  // Check the app loads before forking (clear errors once, not once per worker).
  const spec = parseAppSpec(settings.app, process.cwd());
  const scheme = settings.cert === undefined ? "http" : "https";
  const shownHost = settings.host.includes(":") ? `[${settings.host}]` : settings.host;
  return primaryMain(settings, (port) => {
    console.error(
      ` * Serving ${spec.file}${settings.debug ? " in debug mode (never use it in production)" : ""} with ` +
        `${settings.workers} worker${settings.workers > 1 ? "s" : ""}`,
    );
    console.error(` * Running on ${scheme}://${shownHost}:${port}/ (Ctrl-C to quit)`);
  });
}
