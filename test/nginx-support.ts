// What the tests that drive a real nginx share: finding the binary (or why they skip), a free port,
// the config's common part, starting nginx and waiting until it accepts connections, stopping it.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";

/** The nginx binary: NGINX_BIN when set (NGINX_BIN=/nonexistent shows the skip), else a usual place. */
export const NGINX: string | undefined =
  process.env.NGINX_BIN !== undefined
    ? existsSync(process.env.NGINX_BIN)
      ? process.env.NGINX_BIN
      : undefined
    : ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"].find(
        (p) => existsSync(p),
      );

/** `false`, or the reason `what` is skipped (printed once, as a TAP comment). */
export function nginxSkip(what: string): string | false {
  if (NGINX !== undefined) return false;
  const why = `nginx is not installed (apt-get install -y nginx-light); skipping ${what}`;
  console.log(`# ${why}`);
  return why;
}

/**
 * `describe(name, options, fn)`, or, when `skip` says why, one skipped test in its place: Node 20 leaves
 * a skipped suite out of the summary's "skipped" count, a skipped test is counted.
 */
export function describeUnless(
  skip: string | false,
): (name: string, options: { timeout?: number }, fn: () => void) => void {
  if (skip === false) return (name, options, fn) => describe(name, options, fn);
  return (name) => test(name, { skip }, () => {});
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

/** Resolves once something accepts connections on the port (nginx has started), or fails after ~5 s. */
export async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("nginx did not start listening within 5 s");
}

/**
 * A whole nginx.conf for a test: one worker, every path (pid, logs, temp files) inside `dir`, and the
 * `http { … }` block's own lines given by the test.
 */
export function nginxConfig(dir: string, httpBlock: string, workerConnections = 256): string {
  return `
${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBlock}
}
`;
}

/**
 * Writes `conf` to dir/nginx.conf, starts nginx on it in the foreground and waits until every port
 * accepts connections; a failure to start throws with nginx's stderr and error log.
 */
export async function startNginx(dir: string, conf: string, ports: readonly number[]): Promise<ChildProcess> {
  writeFileSync(join(dir, "nginx.conf"), conf);
  const child = spawn(NGINX!, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    for (const p of ports) await waitForPort(p, child);
  } catch (e) {
    let log = "";
    try {
      log = readFileSync(join(dir, "error.log"), "utf8");
    } catch {}
    child.kill("SIGKILL");
    throw new Error(`${(e as Error).message}\n${stderr}\n${log}`);
  }
  return child;
}

/** Stops an nginx started by startNginx (graceful SIGQUIT) and waits for it to exit. */
export async function stopNginx(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGQUIT");
  await gone;
}
