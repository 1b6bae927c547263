// Jinja2 (Python) rendering the template scenario's page with the same data: the engine Flask users
// know, as an anchor for the template row. A Python process (jinja2_server.py: asyncio and a minimal
// HTTP/1.1 keep-alive loop, standard library only), pinned to the server core through this wrapper
// (it inherits the affinity); its CPU time is read from /proc. Other scenarios have no Jinja2 app
// ("—"). Needs python3 and Jinja2 (Debian: `apt-get install python3-jinja2`); without them the row
// fails to start with that message, and the other rows are measured as usual.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { externalServer, type Running, serve } from "./common.ts";
import { PAGE_DATA, TEMPLATE_DIR, TEMPLATE_NAME } from "./fixtures.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

serve(async (scenario): Promise<Running | null> => {
  if (scenario !== "template") return null;
  const probe = spawnSync("python3", ["-c", "import jinja2; print(jinja2.__version__)"], {
    encoding: "utf8",
  });
  if (probe.status !== 0) {
    throw new Error(
      "Jinja2 row skipped: python3 with Jinja2 is not installed (Debian: apt-get install python3-jinja2)",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "phial-bench-jinja2-"));
  const contextFile = join(dir, "context.json");
  writeFileSync(contextFile, JSON.stringify(PAGE_DATA));
  const child = spawn("python3", [join(HERE, "jinja2_server.py"), TEMPLATE_DIR, TEMPLATE_NAME, contextFile], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (s: string) => {
      out += s;
      const line = out.split("\n")[0];
      if (out.includes("\n") && line !== undefined) resolve(Number(line));
    });
    child.once("exit", (code) => reject(new Error(`jinja2_server.py exited (${code}) before listening`)));
  });
  return externalServer(child, port, dir, "SIGTERM");
});
