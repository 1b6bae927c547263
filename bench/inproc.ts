// phial's own JavaScript per request, without sockets: a fake socket feeds request bytes to a wire
// Connection (with a bare handler, or a Phial app's wireHandler) and swallows what it writes. No
// syscalls, so it is steady enough to compare changes to the hot path (a few ns apart), where a load
// test moves by ±3% between runs. It is not a throughput figure: `npm run bench` is.
//
//   npx tsx --conditions=phial-source bench/inproc.ts [seconds] [name filter]

import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { Hono } from "hono";
import { Connection, type ConnectionHost } from "../src/http/connection.ts";
import type { IncomingRequest } from "../src/http/request.ts";
import type { ServerResponse } from "../src/http/response.ts";
import { createFetchServer, useLazyRequests } from "../src/http/serve.ts";
import { Server } from "../src/http/server.ts";
import { Phial } from "../src/index.ts";
import { POST_BODY } from "./servers/fixtures.ts";
import { ORDER_BODY, Order, Receipt, receipt } from "./validated/fixture.ts";

const HELLO = "Hello, World!";

class FakeSocket extends EventEmitter {
  writableNeedDrain = false;
  remoteAddress = "127.0.0.1";
  remotePort = 50000;
  localPort = 8080;
  bytes = 0;
  writes = 0;
  /** The last chunk written (a case that answers the response, as a browser does, reads it). */
  last: string | Buffer = "";
  write(data: string | Buffer): boolean {
    this.bytes += data.length;
    this.writes++;
    this.last = data;
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  end(): this {
    return this;
  }
  destroy(): this {
    return this;
  }
  destroySoon(): void {}
}

type Case = {
  name: string;
  request: string;
  handler: (req: IncomingRequest, res: ServerResponse) => unknown;
  /** Runs before each measurement (e.g. to switch the fetch adapter's Request mode). */
  setup?: () => void;
  /** The next request's bytes, when they change (instead of `request` each time). */
  next?: (sock: FakeSocket) => Buffer;
};

const WRK = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
const BROWSER =
  "GET /hello HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
  "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n" +
  "Cookie: session=eyJ1c2VyIjoiYWxpY2UifQ.ZxYz.abcdefghijklmnop; theme=dark\r\nConnection: keep-alive\r\n\r\n";

const cases: Case[] = [
  {
    name: "hello (wrk's request)",
    request: WRK,
    handler: (_req, res) => {
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.end(HELLO);
    },
  },
  {
    name: "hello (a browser's request)",
    request: BROWSER,
    handler: (_req, res) => {
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.end(HELLO);
    },
  },
  {
    name: "json, 3 fields",
    request: "GET /user/42 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    handler: (_req, res) => {
      res.setHeader("Content-Type", "application/json");
      res.setHeader("Cache-Control", "no-store");
      res.setHeader("X-Request-Id", "abc123");
      res.end('{"id":42,"name":"user 42"}');
    },
  },
];

const TEXT = { "Content-Type": "text/plain; charset=utf-8" };
const hello = new Phial(import.meta.url);
hello.get("/hello", () => [HELLO, 200, TEXT]);
const json = new Phial(import.meta.url);
json.get("/user/<int:id>", (req) => ({ id: req.params.id, name: `user ${req.params.id}` }));
const missing = new Phial(import.meta.url);
const paramTuple = new Phial(import.meta.url);
const JSON_TYPE = { "Content-Type": "application/json" };
const USER_42 = JSON.stringify({ id: 42, name: "user 42" });
paramTuple.get("/user/<int:id>", () => [USER_42, 200, JSON_TYPE]);
const staticJson = new Phial(import.meta.url);
staticJson.get("/user/42", () => ({ id: 42, name: "user 42" }));
const echo = new Phial(import.meta.url);
echo.post("/echo", (req) => req.json as Record<string, unknown>);
const validated = new Phial(import.meta.url);
validated.post("/orders", { json: Order, response: Receipt }, (req) => receipt(req.valid.json));
const counted = new Phial(import.meta.url);
counted.config.secretKey = "a secret key for the in-process bench, 32+ chars";
counted.get("/count", (req) => {
  const n = ((req.session.get("n") as number | undefined) ?? 0) + 1;
  req.session.set("n", n);
  return `count ${n}`;
});
// A session cookie this app signed a moment ago, as a returning browser sends it.
const SESSION_COOKIE = (await counted.testClient().get("/count")).headers.get("set-cookie")!.split(";")[0]!;
// The same cookie with another signature (a forged or stale cookie costs what a bad one costs).
// (canonical base64url: the last character's two unused bits stay zero, so the HMAC is computed and compared).
const FORGED_COOKIE = `${SESSION_COOKIE.slice(0, -4)}${SESSION_COOKIE.endsWith("AAAA") ? "BAAA" : "AAAA"}`;
const countRequest = (cookie: string): Buffer =>
  Buffer.from(`GET /count HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nCookie: ${cookie}\r\n\r\n`, "latin1");
// Sessions each with its own count (even ones: the odd count each writes is never sent back), taken in
// turn: 1000 fit in what the serializer remembers (verified once); 10000 don't (each verified and
// signed every time: the cost without the memory).
const cookieRequests = (n: number): Buffer[] => {
  const si = counted.sessionInterface as unknown as {
    cookies: { serializer(c: unknown): { dumps(v: unknown): string } };
  };
  const serializer = si.cookies.serializer(counted.config)!;
  return Array.from({ length: n }, (_, i) => countRequest(`session=${serializer.dumps({ n: 2 * i })}`));
};
const users1000 = cookieRequests(1000);
const users10000 = cookieRequests(10_000);
let otherAt = 0;
/** The Set-Cookie of the last response, sent back (a browser counting up: a new cookie each time). */
function answerCookie(sock: FakeSocket): Buffer {
  const text = typeof sock.last === "string" ? sock.last : sock.last.toString("latin1");
  const at = text.indexOf("Set-Cookie: ");
  if (at === -1) return countRequest("session=none");
  return countRequest(text.slice(at + 12, text.indexOf(";", at)));
}
const ORDER = `POST /orders HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(ORDER_BODY)}\r\n\r\n${ORDER_BODY}`;
const POST = `POST /echo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(POST_BODY)}\r\n\r\n${POST_BODY}`;
cases.push(
  { name: "framework hello (tuple)", request: WRK, handler: hello.wireHandler },
  { name: "framework hello, browser head", request: BROWSER, handler: hello.wireHandler },
  {
    name: "framework json + int param",
    request: "GET /user/42 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    handler: json.wireHandler,
  },
  {
    name: "framework int param, constant tuple",
    request: "GET /user/42 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    handler: paramTuple.wireHandler,
  },
  {
    name: "framework static route, object",
    request: "GET /user/42 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    handler: staticJson.wireHandler,
  },
  { name: "framework POST 1 KiB JSON echo", request: POST, handler: echo.wireHandler },
  {
    name: "framework cookie session, new (read + set)",
    request: "GET /count HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    handler: counted.wireHandler,
  },
  {
    name: "framework cookie session, sent back (read + set)",
    request: `GET /count HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nCookie: ${SESSION_COOKIE}\r\n\r\n`,
    handler: counted.wireHandler,
  },
  {
    name: "framework cookie session, forged (read + set)",
    request: `GET /count HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nCookie: ${FORGED_COOKIE}\r\n\r\n`,
    handler: counted.wireHandler,
  },
  {
    name: "framework cookie session, 1000 users in turn (read + set)",
    request: "",
    handler: counted.wireHandler,
    next: () => users1000[otherAt++ % users1000.length]!,
  },
  {
    name: "framework cookie session, 10000 users in turn (read + set)",
    request: "",
    handler: counted.wireHandler,
    next: () => users10000[otherAt++ % users10000.length]!,
  },
  {
    name: "framework cookie session, a browser counting (read + set)",
    request: "",
    handler: counted.wireHandler,
    next: answerCookie,
  },
  {
    name: "framework validated POST (zod 4, response schema)",
    request: ORDER,
    handler: validated.wireHandler,
  },
  {
    name: "wire POST 1 KiB JSON echo",
    request: POST,
    handler: (req, res) => {
      void req.json().then((v) => {
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify(v));
      });
    },
  },
  {
    name: "framework 404",
    request: "GET /missing HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    handler: missing.wireHandler,
  },
);

// Fetch-style handlers through serve()'s adapter: the lazy Request (the default), a real one per
// request (what runtimes failing the probe get), and a Hono app.
const fetchHello = createFetchServer(() => new Response(HELLO, { headers: TEXT })).handler;
// The same Response every time (its body is sent from its source, never read): the adapter's own cost,
// without the ~5 us a Response with a body costs to build on Node 20 (its ReadableStream).
const oneResponse = new Response(HELLO, { headers: TEXT });
const fetchShared = createFetchServer(() => oneResponse).handler;
const honoApp = new Hono();
honoApp.get("/hello", (c) => c.text(HELLO));
const honoHello = createFetchServer(honoApp.fetch).handler;
cases.push(
  { name: "fetch hello", request: WRK, handler: fetchHello, setup: () => useLazyRequests(undefined) },
  { name: "fetch hello, browser head", request: BROWSER, handler: fetchHello },
  { name: "fetch hello, one Response", request: WRK, handler: fetchShared },
  {
    name: "fetch hello, real Request",
    request: WRK,
    handler: fetchHello,
    setup: () => useLazyRequests(false),
  },
  { name: "hono hello", request: WRK, handler: honoHello, setup: () => useLazyRequests(undefined) },
  { name: "hono hello, browser head", request: BROWSER, handler: honoHello },
  { name: "hono hello, real Request", request: WRK, handler: honoHello, setup: () => useLazyRequests(false) },
);

const seconds = Number(process.argv[2] ?? 1);
const only = process.argv[3];

async function run(c: Case): Promise<number> {
  c.setup?.();
  const server = new Server(c.handler, {});
  const host = server as unknown as ConnectionHost;
  const sock = new FakeSocket();
  new Connection(sock as unknown as Socket, host, false);
  const buf = Buffer.from(c.request, "latin1");
  const next = c.next;
  const emit =
    next === undefined
      ? (): void => {
          sock.emit("data", buf);
        }
      : (): void => {
          sock.emit("data", next(sock));
        };
  // Async handlers answer in a microtask: each batch awaits them before counting.
  for (let i = 0; i < 100_000; i++) {
    emit();
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  let n = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = process.cpuUsage();
  const w0 = sock.writes;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) emit();
    await new Promise((r) => setImmediate(r));
    n += 1000;
  }
  const t = process.cpuUsage(t0);
  if (sock.writes - w0 !== n) throw new Error(`${c.name}: ${sock.writes - w0} writes for ${n} requests`);
  allocated = Math.min(allocated, await bytesPerRequest(emit));
  return ((t.user + t.system) * 1000) / n;
}

let allocated = Infinity;

/**
 * Heap bytes allocated per request: the growth of the heap over 200 requests, in the batches no
 * garbage collection interrupted (one that did shrinks the heap and is skipped). The fewer bytes a
 * request allocates, the fewer cache lines it touches under load, where that matters more than here.
 */
async function bytesPerRequest(emit: () => void): Promise<number> {
  let best = Infinity;
  for (let k = 0; k < 20; k++) {
    await new Promise((r) => setImmediate(r));
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200; i++) emit();
    await Promise.resolve(); // async handlers answer in microtasks
    const grown = process.memoryUsage().heapUsed - before;
    if (grown > 0) best = Math.min(best, grown / 200);
  }
  return best;
}

for (const c of cases) {
  if (only !== undefined && !c.name.includes(only)) continue;
  allocated = Infinity;
  const runs = [await run(c), await run(c), await run(c)].sort((a, b) => a - b);
  console.log(
    `${c.name.padEnd(30)} ${runs[1]!.toFixed(0).padStart(5)} ns/request (runs: ${runs.map((r) => r.toFixed(0)).join(", ")}), ${allocated.toFixed(0)} B allocated`,
  );
}
