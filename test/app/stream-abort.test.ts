// Streamed responses whose client vanishes while the stream waits for its next value (a Server-Sent-
// Events loop awaiting an event): phial stops the stream at once, not on its next value. Real sockets.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Response } from "phial";
import type { Server } from "phial/http";
import { makeApp } from "./helpers.ts";

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

describe("a client leaving while the stream waits for its next value", () => {
  const { app, logs } = makeApp();
  let server: Server;
  let port: number;

  // What each endpoint reports, renewed per test.
  let finallyRan = signalled();
  let cleanupRan = signalled();
  let cancelled = signalled();
  let release = signalled(); // lets a wait that ignores req.signal settle
  let yieldedAfterRelease = false;

  const sse = { mimetype: "text/event-stream" } as const;

  // The documented pattern: the wait takes req.signal, so the generator's finally runs at once.
  app.get("/sse-signal", (req) => {
    req.callOnClose(() => cleanupRan.fire());
    async function* events() {
      try {
        for (let i = 1; ; i++) {
          yield `data: ${i}\n\n`;
          await sleep(60_000, undefined, { signal: req.signal });
        }
      } finally {
        finallyRan.fire();
      }
    }
    return new Response(events(), sse);
  });

  // A wait that knows nothing of the signal: the cleanups run at once, the finally once the wait settles,
  // and the generator yields nothing more after that.
  app.get("/sse-deaf", (req) => {
    req.callOnClose(() => cleanupRan.fire());
    async function* events() {
      try {
        yield "data: 1\n\n";
        await release.promise;
        yieldedAfterRelease = true;
        yield "data: 2\n\n";
        yield "data: 3\n\n";
      } finally {
        finallyRan.fire();
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
        cancelled.fire();
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
    r.on("close", () => cancelled.fire());
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
        cancelled.fire();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return new Response(iterator, sse);
  });

  // A finite body with a declared length keeps going to a client that only half-closed.
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

  before(async () => {
    server = app.listen();
    port = (await server.listen(0, "127.0.0.1")).port;
  });
  after(() => server.close({ deadline: 500 }));

  const renew = () => {
    finallyRan = signalled();
    cleanupRan = signalled();
    cancelled = signalled();
    release = signalled();
    yieldedAfterRelease = false;
  };

  for (const how of ["fin", "reset"] as const) {
    test(`SSE generator waiting on req.signal (${how}): its finally and callOnClose run at once`, async () => {
      renew();
      const got = await readFirstEventAndLeave(port, "/sse-signal", how);
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(got, /\r\nContent-Type: text\/event-stream/);
      await soon(finallyRan.promise, "the generator's finally");
      await soon(cleanupRan.promise, "the callOnClose function");
      assert.match(await get(port, "/"), /still serving$/);
    });
  }

  for (const how of ["fin", "reset"] as const) {
    test(`SSE generator deaf to the signal (${how}): callOnClose runs at once, the finally when its wait settles`, async () => {
      renew();
      await readFirstEventAndLeave(port, "/sse-deaf", how);
      await soon(cleanupRan.promise, "the callOnClose function");
      release.fire();
      await soon(finallyRan.promise, "the generator's finally");
      // The generator ran on to its next yield (JavaScript can't cut an await short) and stopped there.
      assert.equal(yieldedAfterRelease, true);
      assert.match(await get(port, "/"), /still serving$/);
    });
  }

  for (const [name, path] of [
    ["a web ReadableStream is cancelled", "/sse-web"],
    ["a Node Readable is destroyed", "/sse-node"],
    ["an async iterator's return() is called", "/sse-iterator"],
  ] as const) {
    for (const how of ["fin", "reset"] as const) {
      test(`${name} while it waits (${how})`, async () => {
        renew();
        await readFirstEventAndLeave(port, path, how);
        await soon(cancelled.promise, "stopping the stream");
        assert.match(await get(port, "/"), /still serving$/);
      });
    }
  }

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

  test("nothing was logged as an error", () => {
    assert.deepEqual(
      logs.filter((l) => l.level === "error"),
      [],
    );
  });
});
