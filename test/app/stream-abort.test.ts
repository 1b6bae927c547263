// Streamed responses whose client vanishes while the stream waits for its next value (a Server-Sent-
// Events loop awaiting an event): phial stops the stream at once, not on its next value. Real sockets,
// on each way of serving an app: the wire (app.listen), node:http (app.nodeHandler()) and a fetch server
// (serve({ fetch: app.fetch })); and app.fetch() alone, whose consumer cancels the Response body.

import assert from "node:assert/strict";
import { createServer as createNodeServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Phial, Response } from "phial";
import { serve } from "phial/http";
import { type LogLine, makeApp } from "./helpers.ts";

/** A promise with its resolver. */
function signalled(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => {
    fire = r;
  });
  return { promise, fire };
}

/** Fails (instead of hanging) when `p` doesn't settle soon: the stop must be prompt, not on the next event. */
async function soon<T>(p: Promise<T>, what: string, ms = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens `path`, waits for the first event (`data: 1`), then leaves: `fin` closes the socket normally (the
 * server sees a FIN, which looks like a half-close), `reset` sends a RST.
 */
async function readFirstEventAndLeave(port: number, path: string, how: "fin" | "reset"): Promise<string> {
  const s: Socket = connect(port, "127.0.0.1");
  let got = "";
  s.setEncoding("latin1");
  await new Promise<void>((resolve, reject) => {
    s.on("data", (d: string) => {
      got += d;
      if (got.includes("data: 1\n\n")) resolve();
    });
    s.on("error", reject);
    s.on("close", () => reject(new Error(`closed before the first event: ${JSON.stringify(got)}`)));
    s.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
  });
  s.removeAllListeners("close");
  s.on("error", () => {});
  if (how === "reset") s.resetAndDestroy();
  else s.destroy();
  return got;
}

/** One whole response on a new connection (Connection: close), as text. */
function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      out += d;
    });
    s.on("end", () => {
      s.destroy();
      resolve(out);
    });
    s.on("error", reject);
    s.write(`GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  });
}

/** What the endpoints report, renewed per test. */
class Probes {
  finallyRan = signalled();
  cleanupRan = signalled();
  cancelled = signalled();
  release = signalled(); // lets a wait that ignores req.signal settle
  waiting = signalled(); // the deaf generator is in its wait
  yieldedAfterRelease = false;
  signalReason: unknown;

  renew(): void {
    this.finallyRan = signalled();
    this.cleanupRan = signalled();
    this.cancelled = signalled();
    this.release = signalled();
    this.waiting = signalled();
    this.yieldedAfterRelease = false;
    this.signalReason = undefined;
  }
}

/** An app with one endpoint per kind of stream, each waiting for a next value that doesn't come. */
function streamingApp(): { app: Phial; logs: LogLine[]; p: Probes } {
  const { app, logs } = makeApp();
  const p = new Probes();
  const sse = { mimetype: "text/event-stream" } as const;

  // The documented pattern: the wait takes req.signal, so the generator's finally runs at once.
  app.get("/sse-signal", (req) => {
    req.callOnClose(() => p.cleanupRan.fire());
    async function* events() {
      try {
        for (let i = 1; ; i++) {
          yield `data: ${i}\n\n`;
          await sleep(60_000, undefined, { signal: req.signal });
        }
      } finally {
        p.signalReason = req.signal.reason;
        p.finallyRan.fire();
      }
    }
    return new Response(events(), sse);
  });

  // A wait that knows nothing of the signal: the cleanups run at once, the finally once the wait settles,
  // and the generator yields nothing more after that.
  app.get("/sse-deaf", (req) => {
    req.callOnClose(() => p.cleanupRan.fire());
    async function* events() {
      try {
        yield "data: 1\n\n";
        p.waiting.fire();
        await p.release.promise;
        p.yieldedAfterRelease = true;
        yield "data: 2\n\n";
        yield "data: 3\n\n";
      } finally {
        p.finallyRan.fire();
      }
    }
    return new Response(events(), sse);
  });

  // A web ReadableStream whose pull waits for an event that never comes: cancel() is called.
  app.get("/sse-web", () => {
    let n = 0;
    const rs = new ReadableStream<string>({
      pull(controller) {
        n++;
        if (n === 1) controller.enqueue("data: 1\n\n");
        return new Promise<void>(() => {}); // waits forever
      },
      cancel() {
        p.cancelled.fire();
      },
    });
    return new Response(rs, sse);
  });

  // A Node Readable that pushes the first event and then nothing: it is destroyed.
  app.get("/sse-node", () => {
    let pushed = false;
    const r = new Readable({
      read() {
        if (!pushed) {
          pushed = true;
          this.push("data: 1\n\n");
        }
      },
    });
    r.on("close", () => p.cancelled.fire());
    return new Response(r, sse);
  });

  // A hand-written async iterator (like events.on()): its return() ends the pending next() at once.
  app.get("/sse-iterator", () => {
    let first = true;
    let wake: ((r: IteratorResult<string>) => void) | undefined;
    const iterator: AsyncIterableIterator<string> = {
      next() {
        if (first) {
          first = false;
          return Promise.resolve({ done: false, value: "data: 1\n\n" });
        }
        return new Promise((r) => {
          wake = r;
        });
      },
      return() {
        wake?.({ done: true, value: undefined });
        p.cancelled.fire();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return new Response(iterator, sse);
  });

  // A sync generator without end: it never waits, backpressure holds it; its finally runs on the stop.
  app.get("/sse-sync", () => {
    function* events() {
      try {
        for (let i = 1; ; i++) yield `data: ${i}\n\n`;
      } finally {
        p.cancelled.fire();
      }
    }
    return new Response(events(), sse);
  });

  // A finite body with a declared length keeps going to a client that only half-closed (on the wire).
  app.get("/sized", () => {
    async function* body() {
      yield "hello ";
      await sleep(5);
      yield "world";
    }
    const r = new Response(body(), { mimetype: "text/plain" });
    r.contentLength = 11;
    return r;
  });

  app.get("/", () => "still serving");
  return { app, logs, p };
}

const STOPPED: readonly (readonly [string, string])[] = [
  ["a web ReadableStream is cancelled", "/sse-web"],
  ["a Node Readable is destroyed", "/sse-node"],
  ["an async iterator's return() is called", "/sse-iterator"],
  ["an endless sync generator is closed", "/sse-sync"],
];

/** Starts `app` one way; resolves with the port and how to stop. */
type Start = (app: Phial) => Promise<{ port: number; close: () => Promise<unknown> }>;

const WAYS: readonly (readonly [string, Start])[] = [
  [
    "the wire (app.listen)",
    async (app) => {
      const server = app.listen();
      const { port } = await server.listen(0, "127.0.0.1");
      return { port, close: () => server.close({ deadline: 500 }) };
    },
  ],
  [
    "node:http (app.nodeHandler())",
    async (app) => {
      const server = createNodeServer(app.nodeHandler());
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const { port } = server.address() as AddressInfo;
      return {
        port,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(r);
          }),
      };
    },
  ],
  [
    "a fetch server (serve({ fetch: app.fetch }))",
    async (app) => {
      const server = await serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
      const { port } = server.address() as AddressInfo;
      return { port, close: () => server.close({ deadline: 500 }) };
    },
  ],
];

for (const [way, start] of WAYS) {
  describe(`a client leaving while the stream waits for its next value: ${way}`, () => {
    const { app, logs, p } = streamingApp();
    let port: number;
    let close: () => Promise<unknown>;

    before(async () => {
      ({ port, close } = await start(app));
    });
    after(() => close());

    for (const how of ["fin", "reset"] as const) {
      test(`SSE generator waiting on req.signal (${how}): its finally and callOnClose run at once`, async () => {
        p.renew();
        const got = await readFirstEventAndLeave(port, "/sse-signal", how);
        assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(got, /\r\nContent-Type: text\/event-stream/i);
        await soon(p.finallyRan.promise, "the generator's finally");
        await soon(p.cleanupRan.promise, "the callOnClose function");
        assert.ok(p.signalReason instanceof Error, "req.signal aborted, with an error as its reason");
        assert.match(await get(port, "/"), /still serving$/);
      });
    }

    for (const how of ["fin", "reset"] as const) {
      test(`SSE generator deaf to the signal (${how}): callOnClose runs at once, the finally when its wait settles`, async () => {
        p.renew();
        await readFirstEventAndLeave(port, "/sse-deaf", how);
        await soon(p.cleanupRan.promise, "the callOnClose function");
        p.release.fire();
        await soon(p.finallyRan.promise, "the generator's finally");
        // The generator ran on to its next yield (JavaScript can't cut an await short) and stopped there.
        assert.equal(p.yieldedAfterRelease, true);
        assert.match(await get(port, "/"), /still serving$/);
      });
    }

    for (const [name, path] of STOPPED) {
      for (const how of ["fin", "reset"] as const) {
        test(`${name} while it waits (${how})`, async () => {
          p.renew();
          await readFirstEventAndLeave(port, path, how);
          await soon(p.cancelled.promise, "stopping the stream");
          assert.match(await get(port, "/"), /still serving$/);
        });
      }
    }

    if (way.startsWith("the wire")) {
      test("a body with a declared length is still sent whole to a client that half-closed", async () => {
        const out = await new Promise<string>((resolve, reject) => {
          const s = connect(port, "127.0.0.1");
          let text = "";
          s.setEncoding("latin1");
          s.on("data", (d: string) => {
            text += d;
          });
          s.on("end", () => {
            s.destroy();
            resolve(text);
          });
          s.on("error", reject);
          s.end("GET /sized HTTP/1.1\r\nHost: a\r\n\r\n"); // request, then FIN
        });
        assert.match(out, /\r\nContent-Length: 11\r\n/);
        assert.ok(out.endsWith("\r\n\r\nhello world"), out);
      });
    }

    test("nothing was logged as an error", () => {
      assert.deepEqual(
        logs.filter((l) => l.level === "error"),
        [],
      );
    });
  });
}

describe("app.fetch(): the consumer cancelling the Response body", () => {
  const { app, logs, p } = streamingApp();

  /**
   * Fetches `path`, reads the first chunk, then (once `before` settles) cancels the body, which must
   * itself settle soon.
   */
  async function readFirstAndCancel(path: string, before?: Promise<void>): Promise<string> {
    const res = await app.fetch(new Request(`http://x${path}`));
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    if (before !== undefined) await soon(before, "the stream reaching its wait"); // it reads ahead
    await soon(reader.cancel(), "the cancel");
    return new TextDecoder().decode(first.value);
  }

  test("a generator waiting on req.signal: the signal aborts, its finally and callOnClose run at once", async () => {
    p.renew();
    assert.equal(await readFirstAndCancel("/sse-signal"), "data: 1\n\n");
    await soon(p.finallyRan.promise, "the generator's finally");
    await soon(p.cleanupRan.promise, "the callOnClose function");
    assert.ok(p.signalReason instanceof Error, "req.signal aborted, with an error as its reason");
  });

  test("a generator deaf to the signal: callOnClose has run when the cancel settles, the finally when its wait does", async () => {
    p.renew();
    let cleaned = false;
    void p.cleanupRan.promise.then(() => {
      cleaned = true;
    });
    await readFirstAndCancel("/sse-deaf", p.waiting.promise);
    assert.equal(cleaned, true, "the callOnClose function ran before the cancel settled");
    p.release.fire();
    await soon(p.finallyRan.promise, "the generator's finally");
    assert.equal(p.yieldedAfterRelease, true);
  });

  for (const [name, path] of STOPPED) {
    test(`${name} while it waits`, async () => {
      p.renew();
      await readFirstAndCancel(path);
      await soon(p.cancelled.promise, "stopping the stream");
    });
  }

  for (const path of ["/sse-signal", "/sse-deaf"]) {
    test(`the web Request's signal aborting (a runtime saying the client left) stops ${path} too`, async () => {
      p.renew();
      const ac = new AbortController();
      const res = await app.fetch(new Request(`http://x${path}`, { signal: ac.signal }));
      const reader = res.body!.getReader();
      await reader.read();
      const why = new Error("the runtime says the client left");
      ac.abort(why);
      await soon(p.cleanupRan.promise, "the callOnClose function");
      // The body errors with the reason, rather than waiting for a value that won't come.
      await assert.rejects(soon(reader.read(), "the read"), (err) => err === why);
      if (path === "/sse-signal") {
        await soon(p.finallyRan.promise, "the generator's finally");
        assert.equal(p.signalReason, why);
      } else {
        p.release.fire();
        await soon(p.finallyRan.promise, "the generator's finally");
      }
    });
  }

  test("nothing was logged as an error", () => {
    assert.deepEqual(
      logs.filter((l) => l.level === "error"),
      [],
    );
  });
});
