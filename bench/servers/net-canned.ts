// Row "node:net canned": the practical ceiling. No parsing: it counts request heads (each ends with
// CRLF CRLF; none of the bench bodies contain one) and writes a prebuilt response for each, in one write
// per read. Whatever a real HTTP server does costs more than this.

import type { AddressInfo } from "node:net";
import { createServer, type Socket } from "node:net";
import { HeadCounter } from "../lib/head-counter.ts";
import { requestedPort, type Scenario, serve } from "./common.ts";
import { HELLO, POST_REPLY, renderPage, staticBytes, USER_ID, userJson } from "./fixtures.ts";

function response(status: string, type: string, body: Buffer | string): Buffer {
  const b = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const head =
    `HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\nDate: ${new Date().toUTCString()}\r\n` +
    `Content-Length: ${b.length}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), b]);
}

function canned(scenario: Scenario): Buffer {
  const text = "text/plain; charset=utf-8";
  switch (scenario) {
    case "hello":
    case "pipelined":
    case "idle":
      return response("200 OK", text, HELLO);
    case "json-param":
      return response("200 OK", "application/json", JSON.stringify(userJson(USER_ID)));
    case "post-echo":
      return response("200 OK", "application/json", POST_REPLY);
    case "not-found":
      return response("404 Not Found", text, "Not Found");
    case "static":
      return response("200 OK", text, staticBytes());
    case "template":
      return response("200 OK", "text/html; charset=utf-8", renderPage());
    case "routing":
      // One answer for every path: the ceiling has no router (the runner checks only its status).
      return response("200 OK", text, "route 0");
    case "validated":
      throw new Error("net-canned has no validated app");
  }
}

serve(async (scenario) => {
  if (scenario === "validated") return null; // nothing to validate: a canned answer would say nothing
  const one = canned(scenario);
  const many: Buffer[] = [one];
  const reply = (n: number): Buffer => {
    let b = many[n - 1];
    if (b === undefined) {
      b = Buffer.concat(Array.from({ length: n }, () => one));
      if (n <= 64) many[n - 1] = b;
    }
    return b;
  };
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    const counter = new HeadCounter();
    socket.on("data", (chunk: Buffer) => {
      const n = counter.count(chunk);
      if (n > 0) socket.write(reply(n));
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(requestedPort(), "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
});
