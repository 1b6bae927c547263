// What the examples' tests share: start an example as a user would (a child process through tsx) and
// talk to it with curl, the client most readers will try first.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";

export interface Running {
  child: ChildProcess;
  port: number;
  url: string;
  /** What the example wrote to stdout and stderr so far (its log). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `file` with tsx, waits for its "listening on http://host:port" line (or the framework's
 * " * Running on http://host:port" from `app.run()`).
 */
export async function startExample(file: string, args: readonly string[] = ["0"]): Promise<Running> {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=phial-source", file, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (c: string) => {
    err += c;
  });
  child.stdout!.on("data", (c: string) => {
    out += c;
  });
  const pattern = /(?:listening|Running) on (http:\/\/[^\s/]+:(\d+))/;
  const exited = once(child, "exit");
  while (!pattern.test(out)) {
    await Promise.race([once(child.stdout!, "data"), exited]);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${file} exited before listening (code ${child.exitCode}):\n${err}`);
    }
  }
  const m = pattern.exec(out)!;
  return {
    child,
    port: Number(m[2]),
    url: m[1]!,
    output: () => out + err,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Runs curl with `-s -i` (plus `args`) and splits the last response into status, headers and body. */
export function curl(args: readonly string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile("curl", ["-s", "-i", "--max-time", "10", ...args], { encoding: "utf8" }, (error, stdout) => {
      if (error) {
        reject(new Error(`curl ${args.join(" ")} failed: ${error.message}`));
        return;
      }
      // With -i curl prints every response (100 Continue, redirects followed with -L); keep the last.
      const blocks = stdout.split("\r\n\r\n");
      let i = 0;
      while (i < blocks.length - 1 && /^HTTP\/\S+ 1\d\d/.test(blocks[i]!)) i++;
      while (
        i + 1 < blocks.length - 1 &&
        /^HTTP\/\S+ 3\d\d/.test(blocks[i]!) &&
        /^HTTP\//.test(blocks[i + 1]!)
      )
        i++;
      const head = blocks[i]!.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const c = line.indexOf(":");
        headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
      }
      resolve({
        status: Number(head[0]!.split(" ")[1]),
        headers,
        body: blocks.slice(i + 1).join("\r\n\r\n"),
      });
    });
  });
}
