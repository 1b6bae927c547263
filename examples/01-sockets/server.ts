// Step 1 of the seed, done right: a TCP server on node:net. Node serves every connection from one
// thread with events (the seed started a thread per client). Each message a client sends is answered
// with the same text in upper case; messages are framed (see framing.ts), so slow or bursty networks
// don't matter.
//
//   npx tsx examples/01-sockets/server.ts [port]

import { createServer, type Server } from "node:net";
import { encodeMessage, MessageDecoder } from "./framing.ts";

export function startServer(port = 8000, host = "127.0.0.1"): Promise<Server> {
  const server = createServer((socket) => {
    const decoder = new MessageDecoder();
    console.log(`client connected: ${socket.remoteAddress}:${socket.remotePort}`);
    socket.on("data", (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = decoder.push(chunk);
      } catch (err) {
        // A broken frame can't be resynchronised: say why and hang up.
        console.error(`closing ${socket.remoteAddress}: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      for (const m of messages) {
        const text = m.toString("utf8");
        console.log(`received: ${JSON.stringify(text)}`);
        socket.write(encodeMessage(text.toUpperCase()));
      }
    });
    socket.on("end", () => {
      if (decoder.partial) console.error("the client closed in the middle of a message");
      socket.end();
    });
    socket.on("error", (err) => console.error(`socket error: ${err.message}`));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[2] ?? 8000);
  const server = await startServer(port);
  const a = server.address();
  console.log(`listening on ${typeof a === "object" && a !== null ? `${a.address}:${a.port}` : a}`);
}
