// The line protocol between bench/ws/run.ts or bench/compress/run.ts and their servers (Node or Bun): a server prints its port on
// stdout, then answers each line on stdin with its own CPU time so far (µs, user + system), and exits when
// stdin ends. Stdio rather than IPC so that the same server file works under Bun.

export function serveControl(port: number): void {
  process.stdout.write(`${port}\n`);
  process.stdin.on("data", () => {
    const u = process.cpuUsage();
    process.stdout.write(`${u.user + u.system}\n`);
  });
  process.stdin.on("end", () => process.exit(0));
}
