// What a command needs from the process, so tests can run commands in-process.

/** An output stream: process.stdout or a test double. */
export interface Output {
  write(chunk: string | Uint8Array): boolean;
  isTTY?: boolean;
  columns?: number;
  /** Waits for a full pipe to drain (streams that can return false from write have it). */
  once?(event: "drain", listener: () => void): unknown;
}

/** An input stream: process.stdin or a test double. */
export interface Input extends AsyncIterable<Buffer | string> {
  isTTY?: boolean;
}

export interface Io {
  stdout: Output;
  stderr: Output;
  /** Read for a raw request body when it is not a terminal (`phial post URL < file`). */
  stdin?: Input;
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths (`-o FILE`, `field@file`) resolve against. */
  cwd: string;
  /** Calls `fn` on Ctrl-C (SIGINT) instead of dying; returns a function that removes it. */
  onInterrupt?(fn: () => void): () => void;
  /**
   * Asks on the terminal without echoing what is typed (a password). Resolves undefined when there
   * is no terminal to ask on, null when the user pressed Ctrl-C.
   */
  askHidden?(question: string): Promise<string | null | undefined>;
}

/** Reads a line from a terminal in raw mode, echoing nothing. */
function askHidden(question: string): Promise<string | null | undefined> {
  const stdin = process.stdin;
  if (stdin.isTTY !== true) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    // Echo goes off before the question shows, so nothing typed after it can appear.
    stdin.setRawMode(true);
    process.stderr.write(question);
    let typed = "";
    const finish = (v: string | null) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      resolve(v);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return finish(typed);
        if (ch === "\u0003" || ch === "\u0004") return finish(null);
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on("data", onData);
    stdin.resume();
  });
}

export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: touching process.stdin opens fd 0, which only `phial get` and friends need.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(fn) {
      process.once("SIGINT", fn);
      return () => process.off("SIGINT", fn);
    },
    askHidden,
  };
}

/** Colours only on a TTY, never with NO_COLOR set (https://no-color.org); FORCE_COLOR forces them. */
export function useColor(out: Output, env: Io["env"]): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "") return true;
  return out.isTTY === true && env.TERM !== "dumb";
}

export interface Palette {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  magenta(s: string): string;
  cyan(s: string): string;
}

const sgr = (code: number) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const id = (s: string) => s;

export function palette(on: boolean): Palette {
  if (!on) return { bold: id, dim: id, red: id, green: id, yellow: id, blue: id, magenta: id, cyan: id };
  return {
    bold: sgr(1),
    dim: sgr(2),
    red: sgr(31),
    green: sgr(32),
    yellow: sgr(33),
    blue: sgr(34),
    magenta: sgr(35),
    cyan: sgr(36),
  };
}
