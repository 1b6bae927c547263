// The `ws` library on node:http (its own server mode), the usual way, for bench/ws/run.ts.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";
import { serveControl } from "../lib/control.ts";

const server = createServer((_req, res) => res.end("ws bench"));
const wss = new WebSocketServer({ server, path: "/echo", clientTracking: false });
wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
server.listen(0, "127.0.0.1", () => {
  const a = server.address();
  serveControl(typeof a === "object" && a ? a.port : 0);
});
