// `eventStream()`: server-sent events over a real socket, read with fetch as a browser's EventSource
// would read them.

import assert from "node:assert/strict";
import { after, test } from "node:test";
import { eventStream, formatEvent, type Phial } from "phial";
import { makeApp } from "./helpers.ts";

const servers: { close(o?: { deadline?: number }): Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close({ deadline: 100 });
});

async function serve(app: Phial): Promise<string> {
  const server = app.listen();
  servers.push(server);
  const { port } = await server.listen(0, "127.0.0.1");
  return `http://127.0.0.1:${port}`;
}

/** Reads a stream's text until `until` matches what came so far, then cancels it. */
async function readUntil(res: globalThis.Response, until: RegExp): Promise<string> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!until.test(text)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

test("events with id, type, JSON data and retry; Last-Event-ID resumes after the last one seen", async () => {
  const { app } = makeApp();
  const seen: (string | undefined)[] = [];
  app.get("/events", () =>
    eventStream(
      async function* (lastEventId) {
        seen.push(lastEventId);
        const start = lastEventId === undefined ? 1 : Number(lastEventId) + 1;
        for (let i = start; i < start + 3; i++) yield { event: "tick", id: i, data: { n: i } };
        yield "two\nlines";
      },
      { retry: 1500 },
    ),
  );
  const base = await serve(app);
  const res = await fetch(`${base}/events`);
  assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  assert.equal(res.headers.get("cache-control"), "no-cache");
  assert.equal(
    await res.text(),
    "retry: 1500\n\n" +
      'event: tick\nid: 1\ndata: {"n":1}\n\n' +
      'event: tick\nid: 2\ndata: {"n":2}\n\n' +
      'event: tick\nid: 3\ndata: {"n":3}\n\n' +
      "data: two\ndata: lines\n\n",
  );
  const again = await fetch(`${base}/events`, { headers: { "Last-Event-ID": "3" } });
  assert.match(await again.text(), /^retry: 1500\n\nevent: tick\nid: 4\n/);
  assert.deepEqual(seen, [undefined, "3"]);
});

test("heartbeat comments fill the silences", async () => {
  const { app } = makeApp();
  // The source stays silent until the client has read two heartbeats (not for a fixed time: a loaded
  // machine may run the timers late), then sends its event.
  let speak!: () => void;
  const spoken = new Promise<void>((r) => {
    speak = r;
  });
  app.get("/slow", () =>
    eventStream(
      async function* () {
        await spoken;
        yield { data: "late" };
      },
      { heartbeat: 0.05 },
    ),
  );
  const base = await serve(app);
  const res = await fetch(`${base}/slow`);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = "";
  const giveUp = Date.now() + 10_000;
  while (!/^(: heartbeat\n\n){2}/.test(text)) {
    assert.ok(Date.now() < giveUp, `two heartbeats within 10 s of silence, got ${JSON.stringify(text)}`);
    const { done, value } = await reader.read();
    assert.ok(!done, `the stream ended before two heartbeats: ${JSON.stringify(text)}`);
    text += dec.decode(value, { stream: true });
  }
  speak();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  assert.match(text, /^(: heartbeat\n\n){2,}data: late\n\n$/);
});

test("the source stops as soon as the client leaves, even while it waits for its next event", async () => {
  const { app } = makeApp();
  let stopped!: () => void;
  const stoppedP = new Promise<void>((r) => {
    stopped = r;
  });
  let cleaned = false;
  app.get("/forever", (req) => {
    req.callOnClose(() => {
      cleaned = true;
    });
    return eventStream(
      (async function* () {
        try {
          yield { data: "first" };
          // An event now and then. (A generator that never yields again can't be stopped: JavaScript
          // runs its return() only at its next yield. The response and the cleanups end at once anyway.)
          for (;;) {
            await new Promise((r) => setTimeout(r, 20));
            yield { comment: "still here" };
          }
        } finally {
          stopped();
        }
      })(),
      { heartbeat: 0 },
    );
  });
  const base = await serve(app);
  const res = await fetch(`${base}/forever`);
  assert.equal(await readUntil(res, /first/), "data: first\n\n");
  await stoppedP; // the generator's finally ran (a hang here fails the test by its timeout)
  for (let i = 0; i < 100 && !cleaned; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cleaned, "the request's callOnClose ran once the client left");
});

test("fields that would break the format are refused", () => {
  assert.throws(() => formatEvent({ event: "a\nb", data: 1 }), /must not contain CR or LF/);
  assert.throws(() => formatEvent({ id: "1\r", data: 1 }), /must not contain CR or LF/);
  assert.equal(formatEvent({ comment: "hi", data: "x" }), ": hi\ndata: x\n\n");
});
