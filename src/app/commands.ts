// Custom commands an app registers for the `phial` command line (Flask's `@app.cli.command()`):
//
//   app.cli.command("init-db", { help: "Create the tables" }, async (args, ctx) => { ... });
//
// and `phial init-db` (or `phial --app app.ts init-db --force`) runs it. The function gets the
// arguments after the command's name (parse them with node:util's parseArgs) and a context with the
// app and the output streams; it runs inside a request context for "/" (Flask runs commands in an app
// context), so `g`, `urlFor` and `renderTemplate` work. What it returns (a number) is the exit code.

/** What a command's function gets besides its arguments. */
export interface CommandContext<A = unknown> {
  /** The app the command belongs to. */
  readonly app: A;
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

/** A command: what it returns, a number, is the exit code (nothing: 0). */
export type CommandFunction<A = unknown> = (
  args: string[],
  ctx: CommandContext<A>,
  // biome-ignore lint/suspicious/noConfusingVoidType: a command that returns nothing is the common case
) => number | void | Promise<number | void>;

export interface CommandOptions {
  /** One line for `phial --help` and `phial <command> --help`. */
  help?: string;
}

export interface Command<A = unknown> {
  readonly name: string;
  readonly help: string;
  readonly run: CommandFunction<A>;
}

/** Names the command line has itself: an app's command may not take them. */
const BUILTIN = new Set(["run", "routes", "shell", "get", "post", "put", "patch", "delete", "head", "help"]);

/** An app's commands (`app.cli`). */
export class CommandGroup<A = unknown> {
  /** name → command, in registration order. */
  readonly commands = new Map<string, Command<A>>();

  /** Registers a command; the name is lowercase letters, digits and `-` (`init-db`). */
  command(name: string, fn: CommandFunction<A>): this;
  command(name: string, options: CommandOptions, fn: CommandFunction<A>): this;
  command(name: string, a: CommandOptions | CommandFunction<A>, b?: CommandFunction<A>): this {
    const [options, fn] = typeof a === "function" ? [{}, a] : [a, b];
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
      throw new TypeError(
        `Command name ${JSON.stringify(name)}: use lowercase letters, digits, "-" and "_" (e.g. "init-db")`,
      );
    }
    if (BUILTIN.has(name)) throw new TypeError(`"${name}" is a built-in phial command: choose another name`);
    if (typeof fn !== "function")
      throw new TypeError(`app.cli.command("${name}"): give the command's function`);
    if (this.commands.has(name)) throw new Error(`The command "${name}" is already registered`);
    this.commands.set(name, { name, help: options.help ?? "", run: fn });
    return this;
  }
}
