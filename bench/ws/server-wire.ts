// The wire's own WebSocket (phial/http's ServerWebSocket on createServer's onUpgrade), no framework:
// the floor under app.websocket, for bench/ws/run.ts.
import {
  createServer,
  negotiateWebSocket,
  ServerWebSocket,
  switchingProtocols,
  type WebSocketListener,
} from "phial/http";
import { serveControl } from "../lib/control.ts";

const echo: WebSocketListener = {
  message(ws, data, isBinary) {
    ws.send(isBinary ? data : data.toString());
  },
  close() {},
};
const server = createServer(
  (_req, res) => {
    res.end("wire bench");
  },
  {
    onUpgrade(req, socket, head) {
      const hs = negotiateWebSocket(req);
      if (!hs.ok) {
        socket.destroy();
        return;
      }
      socket.write(switchingProtocols(hs));
      new ServerWebSocket(socket, echo, hs).start(head);
    },
  },
);
const { port } = await server.listen(0, "127.0.0.1");
serveControl(port);
