// Snippets of docs/wire.md.

import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { Hono } from "hono";
import { Phial } from "phial";
import {
  createServer,
  negotiateWebSocket,
  type ServeInfo,
  ServerWebSocket,
  serve,
  switchingProtocols,
  type WebSocketListener,
} from "phial/http";
import { WebSocketServer } from "ws";

export async function plainServer() {
  // #region basic
  const server = createServer(async (req, res) => {
    const body = await req.text(); // the whole body (bounded by maxBodyBytes)
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(`${req.method} ${req.url}: ${body.length} bytes\n`);
  });
  const addr = await server.listen(8000, "127.0.0.1");
  // #endregion
  return { server, addr };
}

export async function tunedServer(port = 0) {
  // #region options
  const server = createServer(
    (_req, res) => {
      res.end("ok"); // no Content-Type: the handler decides every field
    },
    {
      headersTimeout: 10_000, // a head must arrive within 10 s of its first byte (408 otherwise)
      requestTimeout: 60_000, // head and body within 60 s
      keepAliveTimeout: 5_000, // idle keep-alive connections close after 5 s
      maxHeaderBytes: 8 * 1024, // 431 beyond
      maxBodyBytes: 10 * 1024 * 1024, // 413 beyond, before the body is read
      maxConnections: 10_000,
    },
  );
  await server.listen({ port, host: "127.0.0.1" });
  // #endregion
  return server;
}

export async function streaming(port = 0) {
  // #region stream
  const server = createServer(async (_req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" }); // no Content-Length: sent chunked
    for (let i = 0; i < 3; i++) await res.write(`line ${i}\n`); // resolves when the socket can take more
    res.end();
  });
  await server.listen(port);
  // #endregion
  return server;
}

export function tlsServer() {
  // #region tls
  const server = createServer((_req, res) => res.end("secure"), {
    tls: { key: readFileSync("key.pem"), cert: readFileSync("cert.pem") },
  });
  // #endregion
  return server;
}

export async function graceful(server: ReturnType<typeof createServer>) {
  // #region close
  process.once("SIGTERM", () => {
    // Stop accepting, close idle connections, let in-flight requests finish (their responses say
    // Connection: close), and destroy what is left after the deadline.
    void server.close({ deadline: 10_000 });
  });
  // #endregion
  await server.close({ deadline: 1_000 });
}

export async function fetchServer(port = 0) {
  // #region serve
  const server = await serve(
    async (request, info) => {
      if (request.method === "POST") {
        // request.body streams from the socket as it is read; the Response streams it back.
        return new Response(request.body, { headers: { "Content-Type": "application/octet-stream" } });
      }
      const url = new URL(request.url);
      return Response.json({ path: url.pathname, from: info.remoteAddress });
    },
    { port, keepAliveTimeout: 10_000 }, // the server's options, and where to listen
  );
  // #endregion
  return server;
}

export async function honoServer(port = 0) {
  // #region hono
  const app = new Hono<{ Bindings: ServeInfo }>();
  app.get("/", (c) => c.text("Hello from Hono"));
  app.get("/ip", (c) => c.text(c.env.remoteAddress)); // serve()'s info is Hono's c.env
  const server = await serve({ fetch: app.fetch, port, hostname: "127.0.0.1" });
  // #endregion
  return server;
}

export async function webSockets(port = 0) {
  // #region websocket
  const app = new Phial(import.meta.url);
  app.get("/", () => "<p>The chat is at ws://…/chat</p>");

  const wss = new WebSocketServer({ noServer: true }); // ws without its own server
  wss.on("connection", (ws) => ws.on("message", (data) => ws.send(`echo: ${String(data)}`)));

  const server = app.listen({
    // Requests with `Connection: upgrade`; every other request goes to the app as usual.
    onUpgrade: (req, socket, head) => {
      if (req.url !== "/chat") return void socket.destroy();
      // ws reads method, url and headers, which the wire's request has as node:http's does.
      wss.handleUpgrade(req as unknown as IncomingMessage, socket, head, (ws) =>
        wss.emit("connection", ws, req),
      );
    },
  });
  await server.listen(port, "127.0.0.1");
  // #endregion
  return { server, wss };
}

export async function ownWebSockets(port = 0) {
  // #region websocket-own
  const echo: WebSocketListener = {
    message: (ws, data, isBinary) => ws.send(isBinary ? data : `echo: ${data}`),
    close: () => {}, // called once TCP is closed, with the code and reason
  };
  const server = createServer((_req, res) => res.end("ws://…/chat"), {
    onUpgrade: (req, socket, head) => {
      const hs = negotiateWebSocket(req, { perMessageDeflate: true }); // checks key and version
      if (req.url !== "/chat" || !hs.ok) {
        const status = hs.ok ? "404 Not Found" : `${hs.status} Bad Request`;
        return void socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      }
      socket.write(switchingProtocols(hs)); // the 101, with the agreed extension
      new ServerWebSocket(socket, echo, hs, { maxMessageSize: 64 * 1024, deflate: hs.deflate }).start(head);
    },
  });
  await server.listen(port, "127.0.0.1");
  // #endregion
  return server;
}
