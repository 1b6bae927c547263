// A view's time limit, per app (config.handlerTimeout) and per route (the `timeout` option), on the
// app's own server: past it the client gets a 503 and the view's req.signal aborts; app.draining
// turns true when the app's server closes.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Phial } from "phial";

test("config.handlerTimeout and a route's timeout: 503 in time, req.signal aborts, fast views unaffected", async () => {
  const app = new Phial(import.meta.url, { fromEnv: false });
  app.config.handlerTimeout = 1500;
  app.logger = { info: () => {}, warn: () => {}, error: () => {} };
  const aborted: string[] = [];
  const sleepy = (ms: number) => async (req: { signal: AbortSignal; path: string }) => {
    req.signal.addEventListener("abort", () => aborted.push(req.path));
    await new Promise((r) => setTimeout(r, ms));
    return "finished";
  };
  app.get("/quick", () => "quick");
  app.get("/slow", sleepy(4000));
  app.get("/tight", { timeout: 200 }, sleepy(1000));
  app.get("/generous", { timeout: 3500 }, sleepy(2000));
  const server = app.listen();
  const { port } = await server.listen(0);
  const base = `http://127.0.0.1:${port}`;
  const time = async (path: string) => {
    const t0 = Date.now();
    const r = await fetch(base + path);
    return { status: r.status, text: await r.text(), ms: Date.now() - t0 };
  };
  const [quick, slow, tight, generous] = await Promise.all([
    time("/quick"),
    time("/slow"),
    time("/tight"),
    time("/generous"),
  ]);
  assert.deepEqual([quick.status, quick.text], [200, "quick"]);
  assert.equal(slow.status, 503, "the app's limit");
  assert.ok(slow.ms >= 1400 && slow.ms < 3500, `app limit after ${slow.ms} ms`);
  assert.equal(tight.status, 503, "the route's own, shorter limit");
  assert.ok(tight.ms < 1000, `route limit after ${tight.ms} ms`);
  assert.deepEqual([generous.status, generous.text], [200, "finished"], "the route's own, longer limit");
  assert.deepEqual(aborted.sort(), ["/slow", "/tight"]);
  assert.equal(app.draining, false);
  const closing = server.close({ deadline: 3000 });
  assert.equal(app.draining, true, "closing the app's server drains the app");
  await closing;
});
