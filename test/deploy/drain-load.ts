// The graceful-shutdown load harness (issue: SIGTERM under keep-alive load reset one request per busy
// connection). It starts a server process, runs keep-alive clients that send requests back to back
// (node:http's Agent, one socket each; every fourth request a POST that is not safe to retry), sends
// SIGTERM mid-run, and counts: requests answered correctly, requests that failed on a connection the
// server had accepted (a reset, a close without an answer: the defect), and connection attempts
// refused once the listener closed (not a lost request: nothing was accepted). Used by
// drain.test.ts, and by bench/shutdown.ts to run node:http through the same steps.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { Agent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

export interface DrainRun {
  /** Requests answered with the right status and body. */
  ok: number;
  /** Requests on an accepted connection that got no (or a wrong) answer: must be empty. */
  failed: string[];
  /** Connection attempts refused after the listener closed. */
  refused: number;
  /** Answers that carried `Connection: close` (the server telling a client it drains). */
  closeAnswers: number;
  /**
   * Readiness answers to checks sent after SIGTERM, in order (when `readiness` is set). The first may
   * still be 200: the process handles the signal in its event loop, maybe after a check already read.
   */
  readyAfterSignal: number[];
  /** ms from SIGTERM to the process's exit. */
  exitMs: number;
  /** The process's exit code. */
  code: number | null;
  /** What the process printed. */
  output: string;
}

export interface DrainOptions {
  /** The command to run (`node bin/phial.js run ...`) and the working directory. */
  argv: string[];
  cwd: string;
  /** Concurrent keep-alive clients (16–64). */
  clients: number;
  /** How long the clients run before SIGTERM (ms), counted once every client has its connection and first answer. */
  before: number;
  /** The CA of the server's certificate, to connect over TLS. */
  ca?: Buffer;
  /** Also poll this path (a readiness route) on a kept-alive connection and count statuses. */
  readiness?: string;
  /** The process must exit within this many ms of SIGTERM, or it is killed (and code is null). */
  exitWithin?: number;
}

const LISTEN = /Running on (https?):\/\/127\.0\.0\.1:(\d+)\//;

interface Answer {
  status: number;
  body: string;
  close: boolean;
}

export async function drainUnderLoad(o: DrainOptions): Promise<DrainRun> {
  const child: ChildProcess = spawn(process.execPath, o.argv, {
    cwd: o.cwd,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => {
    output += c;
  });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => {
    output += c;
  });
  const exited = once(child, "exit") as Promise<[number | null, string | null]>;
  let port = 0;
  for (let i = 0; i < 3000 && port === 0; i++) {
    const m = LISTEN.exec(output);
    if (m !== null) port = Number(m[2]);
    else if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${output}`);
    else await new Promise((r) => setTimeout(r, 10));
  }
  if (port === 0) {
    child.kill("SIGKILL");
    throw new Error(`the server did not start:\n${output}`);
  }
  const tls = o.ca !== undefined;
  const send = (agent: Agent, method: string, path: string, body?: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const opts = {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: body === undefined ? {} : { "content-type": "text/plain", "content-length": body.length },
        ...(tls ? { ca: o.ca, servername: "localhost" } : {}),
      };
      const onRes = (res: IncomingMessage) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: text, close: res.headers.connection === "close" }),
        );
        res.on("error", reject);
      };
      const req = tls ? httpsRequest(opts, onRes) : httpRequest(opts, onRes);
      req.on("error", reject);
      req.end(body);
    });
  const newAgent = (): Agent =>
    tls
      ? (new HttpsAgent({ keepAlive: true, maxSockets: 1 }) as unknown as Agent)
      : new Agent({ keepAlive: true, maxSockets: 1 });

  const run: DrainRun = {
    ok: 0,
    failed: [],
    refused: 0,
    closeAnswers: 0,
    readyAfterSignal: [],
    exitMs: -1,
    code: null,
    output: "",
  };
  let signalled = false;
  let gone = false;
  // SIGTERM comes once every client holds a connection (its first answer came): a connection still in
  // the listen queue when the listener closes is reset by the kernel (or, with --workers, by the
  // cluster's primary), which no server can answer; that is a different race from the one tested.
  let connected = 0;
  const agents: Agent[] = [];
  const client = async (n: number) => {
    const agent = newAgent();
    agents.push(agent);
    for (let i = 0; !gone; i++) {
      const post = i % 4 === 3;
      const id = `${n}-${i}`;
      try {
        const a = post ? await send(agent, "POST", "/order", id) : await send(agent, "GET", `/work?i=${id}`);
        if (i === 0) connected++;
        if (a.status === 200 && a.body === (post ? `ordered ${id}` : `done ${id}`)) run.ok++;
        else run.failed.push(`${post ? "POST" : "GET"} ${id}: ${a.status} ${a.body.slice(0, 80)}`);
        if (a.close) run.closeAnswers++;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ECONNREFUSED") {
          // The listener is closed: this client is done (nothing was accepted, nothing lost).
          run.refused++;
          return;
        }
        run.failed.push(`${post ? "POST" : "GET"} ${id}: ${code ?? ""} ${(err as Error).message}`);
        if (gone) return;
      }
    }
  };
  const poller = async () => {
    if (o.readiness === undefined) return;
    const agent = newAgent();
    agents.push(agent);
    while (!gone) {
      try {
        const sentAfterSignal = signalled;
        const a = await send(agent, "GET", o.readiness);
        if (sentAfterSignal) run.readyAfterSignal.push(a.status);
      } catch {
        return; // refused or closed: the readiness check fails that way too
      }
      // Every 20 ms until the signal, then back to back: as many answers as a loaded machine gives.
      if (!signalled) await new Promise((r) => setTimeout(r, 20));
    }
  };
  const clients = Array.from({ length: o.clients }, (_, n) => client(n));
  const polling = poller();
  for (let waited = 0; connected < o.clients && waited < 60_000; waited += 10) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, o.before));
  const t0 = Date.now();
  signalled = true;
  child.kill("SIGTERM");
  const limit = o.exitWithin ?? 20_000;
  let killer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    killer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, limit);
  });
  const [code] = await Promise.race([exited, killed.then(() => exited)]);
  clearTimeout(killer);
  run.exitMs = Date.now() - t0;
  run.code = exitedInTime(run.exitMs, limit) ? code : null;
  gone = true;
  await Promise.all([...clients, polling]);
  for (const a of agents) a.destroy();
  run.output = output;
  return run;
}

function exitedInTime(ms: number, limit: number): boolean {
  return ms < limit;
}
