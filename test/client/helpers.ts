// Shared test helpers: servers on 127.0.0.1:0 that clean up after themselves.

import http from "node:http";
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from "node:net";
import { createServer, type Handler, type ServerOptions } from "phial/http";

export interface Running {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Our own server (src/http). */
export async function phialServer(handler: Handler, options?: ServerOptions): Promise<Running> {
  const srv = createServer(handler, options);
  const a = await srv.listen(0, "127.0.0.1");
  return {
    url: `${options?.tls === undefined ? "http" : "https"}://127.0.0.1:${a.port}`,
    port: a.port,
    close: () => srv.close({ deadline: 100 }),
  };
}

/** A node:http server. */
export async function nodeServer(handler: http.RequestListener): Promise<Running> {
  const srv = http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/**
 * A raw node:net server. `onRequest` gets each request head (as text) with its socket, and writes
 * whatever bytes it likes; `onConnection` sees every socket.
 */
export async function rawServer(
  onRequest: (head: string, socket: Socket, index: number) => void,
  onConnection?: (socket: Socket) => void,
): Promise<Running & { sockets: Set<Socket>; server: NetServer; requests: string[] }> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server = createNetServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    onConnection?.(sock);
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end === -1) break;
        let head = buf.slice(0, end + 4);
        // Include a Content-Length body when present (enough for the tests).
        const m = /\r\ncontent-length: *(\d+)/i.exec(head);
        const len = m === null ? 0 : Number(m[1]);
        if (buf.length < end + 4 + len) break;
        head = buf.slice(0, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        requests.push(head);
        onRequest(head, sock, requests.length - 1);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    sockets,
    server,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Reads a node:http request body. */
export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
