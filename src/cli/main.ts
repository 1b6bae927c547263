// The `phial` command line: a small dispatcher. Each subcommand is a module with `run(args, io)`
// returning the exit code (the table below); other words are the app's own commands (app-commands.ts).

import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { appCommandLines, appFor, runAppCommand, shellCommand } from "./app-commands.ts";
import { HTTP_HELP, runHttp } from "./http.ts";
import { type Io, processIo } from "./io.ts";
import { AppNotFoundError } from "./load-app.ts";
import { newCommand } from "./new.ts";
import { openapiCommand } from "./openapi.ts";
import { routesCommand } from "./routes.ts";
import { runCommand, StartError, UsageError } from "./run.ts";

interface Command {
  summary: string;
  run(args: string[], io: Io): Promise<number>;
}

const verb =
  (method: string): Command["run"] =>
  (args, io) =>
    runHttp(method, args, io);

/** Verbs that are commands in lower case too (`phial get URL`); any method works upper-case. */
const VERBS = new Set(["get", "post", "put", "patch", "delete", "head", "options"]);

/** Runs `fn`, turning the mistakes a user can fix into a message and exit code 2. */
async function friendly(io: Io, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UsageError || err instanceof AppNotFoundError) {
      io.stderr.write(`phial: ${err.message}\n`);
      return 2;
    }
    if (err instanceof StartError) {
      io.stderr.write(`phial: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

const COMMANDS: Record<string, Command> = {
  run: {
    summary: "serve an app (--debug, --workers N, --cert/--key)",
    run: (a, io) => friendly(io, () => runCommand(a)),
  },
  new: {
    summary: "make a new project (--api, or --full with templates and sessions)",
    run: (a, io) => friendly(io, () => newCommand(a, io)),
  },
  routes: {
    summary: "list an app's URL rules",
    run: (a, io) => friendly(io, () => routesCommand(a, io.stdout)),
  },
  openapi: {
    summary: "write an app's OpenAPI 3.1 document (-o FILE)",
    run: (a, io) => friendly(io, () => openapiCommand(a, io)),
  },
  get: { summary: "GET a URL and print the response", run: verb("GET") },
  post: { summary: "POST data (JSON by default, -f for a form)", run: verb("POST") },
  put: { summary: "PUT data", run: verb("PUT") },
  patch: { summary: "PATCH data", run: verb("PATCH") },
  delete: { summary: "DELETE a URL", run: verb("DELETE") },
  head: { summary: "HEAD a URL (headers only)", run: verb("HEAD") },
  options: { summary: "OPTIONS a URL", run: verb("OPTIONS") },
  shell: {
    summary: "a JavaScript REPL with the app, in a request context",
    run: (a, io) => friendly(io, async () => shellCommand(await appFor(appOption, io), a, io)),
  },
};

/** `phial --app APP <command>`: the app for `shell` and the app's own commands. */
let appOption: string | undefined;

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`);
  return `Usage: phial <command> [options]\n       phial [METHOD] URL [ITEM ...]   (any method, any case: phial PROPFIND :8000/x)\n\nCommands:\n${lines.join("\n")}\n\nRun "phial <command> --help" for a command's options.\n`;
}

/** `:8000/x`, `localhost/x`, `example.org`, `http://…`: not a misspelt command. */
function looksLikeUrl(s: string): boolean {
  return s.startsWith(":") || s.includes("/") || s.includes(".") || s.startsWith("localhost");
}

/** Runs the command line; resolves with the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  appOption = undefined;
  if (argv[0] === "--app" && argv.length >= 2) {
    appOption = argv[1];
    argv = argv.slice(2);
  } else if (argv[0]?.startsWith("--app=")) {
    appOption = argv[0].slice(6);
    argv = argv.slice(1);
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic !== undefined && topic in COMMANDS) return COMMANDS[topic]!.run(["--help"], io);
    io.stdout.write(usage());
    // The app's own commands, when an app is named or found.
    if (appOption !== undefined || io.env.PHIAL_APP !== undefined) {
      try {
        const lines = appCommandLines(await appFor(appOption, io));
        if (lines.length > 0) io.stdout.write(`\nThe app's commands:\n${lines.join("\n")}\n`);
      } catch (err) {
        if (!(err instanceof AppNotFoundError)) throw err;
      }
    }
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    io.stdout.write("phial 0.1.0\n");
    return 0;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (cmd !== undefined) return cmd.run(rest, io);
  if (VERBS.has(name.toLowerCase())) return runHttp(name.toUpperCase(), rest, io);
  // A command the app registered (`app.cli.command(name, fn)`), as `flask <command>`.
  if (/^[a-z0-9][a-z0-9_-]*$/.test(name) && !looksLikeUrl(name)) {
    let app: Awaited<ReturnType<typeof appFor>> | undefined;
    try {
      app = await appFor(appOption, io);
    } catch (err) {
      if (!(err instanceof AppNotFoundError)) throw err;
      if (appOption !== undefined) {
        io.stderr.write(`phial: ${err.message}\n`);
        return 2;
      }
    }
    const code = app === undefined ? undefined : await runAppCommand(app, name, rest, io);
    if (code !== undefined) return code;
  }
  // `phial METHOD URL …` (any method) or `phial URL …` or options first (`phial -v :8000`).
  const positional = argv.filter((a) => !a.startsWith("-"));
  if (name.startsWith("-") || positional.length >= 2 || looksLikeUrl(name))
    return runHttp(undefined, argv, io);
  io.stderr.write(`phial: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
  return 2;
}

export { HTTP_HELP };

function isEntry(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return pathToFileURL(realpathSync(arg)).href === import.meta.url || /[\\/]phial(\.js)?$/.test(arg);
  } catch {
    return false;
  }
}

if (isEntry()) {
  // A reader that went away (`phial get URL | head -1`) is not an error: stop quietly, as curl and
  // httpie do, instead of dying with an EPIPE stack.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    process.stderr.write(`phial: can't write the output: ${e.message}\n`);
    process.exit(1);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`phial: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
