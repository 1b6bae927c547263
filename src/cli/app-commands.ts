// `phial shell` (Flask's `flask shell`: a REPL with the app and a request context) and the commands an
// app registers (`app.cli.command("init-db", fn)`, run by `phial init-db`). The app is found as for
// `phial run`: `phial --app path/to/app.ts <command>`, else $PHIAL_APP, else app.ts nearby.

import { start } from "node:repl";
import type { Phial } from "../app/app.ts";
import { runWithRequest } from "../app/context.ts";
import { makeTestRequest } from "../app/testing.ts";
import type { Io } from "./io.ts";
import { AppNotFoundError, loadApp, parseAppSpec } from "./load-app.ts";

export const SHELL_HELP = `Usage: phial [--app APP] shell

Starts an interactive JavaScript shell (node's REPL) with the app loaded: \`app\` is the app, and every
line runs in a request context for "/", so \`request\`, \`g\`, \`session\` and \`urlFor\` work as in a view.
\`await\` works at the top level. APP is found as for "phial run".
`;

/** Loads the app named by `--app` (or found as `phial run` finds it). */
export async function appFor(appArg: string | undefined, io: Io): Promise<Phial> {
  return loadApp(parseAppSpec(appArg, io.cwd));
}

/** Runs an app's command; undefined when the app has no command of that name. */
export async function runAppCommand(
  app: Phial,
  name: string,
  args: string[],
  io: Io,
): Promise<number | undefined> {
  const cmd = app.cli.commands.get(name);
  if (cmd === undefined) return undefined;
  if (args[0] === "--help" || args[0] === "-h") {
    io.stdout.write(`Usage: phial ${name} [ARGS]\n\n${cmd.help || "(no help given)"}\n`);
    return 0;
  }
  const req = makeTestRequest(app, "/");
  const rv = await runWithRequest(req, () => cmd.run(args, { app, stdout: io.stdout, stderr: io.stderr }));
  return typeof rv === "number" ? rv : 0;
}

/** The app's commands, for `phial --help`. */
export function appCommandLines(app: Phial): string[] {
  return [...app.cli.commands.values()].map((c) => `  ${c.name}  ${c.help}`.trimEnd());
}

/** `phial shell`: a REPL whose every evaluation runs in a request context. */
export async function shellCommand(app: Phial, args: string[], io: Io): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout.write(SHELL_HELP);
    return 0;
  }
  const req = makeTestRequest(app, "/");
  io.stdout.write(`Phial shell. \`app\` is the app (${app.name}); lines run in a request context for "/".\n`);
  const server = start({ prompt: ">>> ", useGlobal: false });
  const evaluate = server.eval;
  // Each line in the request context, as Flask's shell pushes an app context.
  (server as unknown as { eval: typeof evaluate }).eval = function (
    this: typeof server,
    cmd,
    context,
    file,
    cb,
  ) {
    runWithRequest(req, () => evaluate.call(this, cmd, context, file, cb));
  } as typeof evaluate;
  server.context.app = app;
  server.context.request = req;
  server.context.g = req.g;
  return new Promise<number>((resolve) => server.on("exit", () => resolve(0)));
}

export { AppNotFoundError };
