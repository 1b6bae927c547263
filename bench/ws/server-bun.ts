// Bun's own WebSocket server (Bun.serve) for bench/ws/run.ts; run by the `bun` binary, not Node.
import { serveControl } from "../lib/control.ts";

interface BunSocket {
  send(data: string | Uint8Array): number;
}
interface BunServer {
  port: number;
  upgrade(req: Request): boolean;
}
declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    fetch(req: Request, server: BunServer): Response | undefined;
    websocket: { message(ws: BunSocket, message: string | Uint8Array): void };
  }): BunServer;
};

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req, srv) {
    if (new URL(req.url).pathname === "/echo" && srv.upgrade(req)) return undefined;
    return new Response("bun bench");
  },
  websocket: {
    message(ws, message) {
      ws.send(message);
    },
  },
});
serveControl(server.port);
