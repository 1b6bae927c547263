// WebSockets next to a Phial app: `app.listen({ onUpgrade })` hands upgrade requests to the `ws`
// library (noServer mode), while every other request stays the app's, on the same port.

import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { Phial } from "phial";
import { WebSocket, WebSocketServer } from "ws";

test("a ws WebSocketServer serves /chat on the app's port; HTTP requests still reach the app", async () => {
  const app = new Phial(import.meta.url);
  app.get("/", () => "home");
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (ws, req) => {
    ws.send(`welcome to ${req.url}`);
    ws.on("message", (data) => ws.send(`echo: ${String(data)}`));
  });
  const server = app.listen({
    onUpgrade: (req, socket, head) => {
      if (req.url !== "/chat") {
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      // ws reads req.method, req.url and req.headers, which the wire's request has as node:http's does.
      wss.handleUpgrade(req as never, socket, head, (ws) => wss.emit("connection", ws, req));
    },
  });
  const { port } = await server.listen(0, "127.0.0.1");
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    const got: string[] = [];
    ws.on("message", (d) => got.push(String(d)));
    await once(ws, "open");
    ws.send("hello");
    ws.send("x".repeat(70_000)); // a frame longer than one read
    while (got.length < 3) await once(ws, "message");
    assert.deepEqual(got.slice(0, 2), ["welcome to /chat", "echo: hello"]);
    assert.equal(got[2], `echo: ${"x".repeat(70_000)}`);

    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await page.text(), "home");

    const other = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
    const [err] = (await once(other, "error")) as [Error];
    assert.match(err.message, /404/);

    ws.close(1000, "bye");
    const [code] = (await once(ws, "close")) as [number];
    assert.equal(code, 1000);
  } finally {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await server.close({ deadline: 200 });
  }
});
