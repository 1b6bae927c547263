// The client side of step 1: connect, send framed messages, read framed replies.
//
//   npx tsx examples/01-sockets/client.ts [port] [message ...]

import { connect } from "node:net";
import { encodeMessage, MessageDecoder } from "./framing.ts";

/** Sends each message and resolves with the replies, in order. */
export function exchange(port: number, messages: readonly string[], host = "127.0.0.1"): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const decoder = new MessageDecoder();
    const replies: string[] = [];
    socket.on("connect", () => {
      for (const m of messages) socket.write(encodeMessage(m));
      if (messages.length === 0) socket.end();
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        for (const r of decoder.push(chunk)) replies.push(r.toString("utf8"));
      } catch (err) {
        socket.destroy(err as Error);
        return;
      }
      if (replies.length === messages.length) socket.end();
    });
    socket.on("error", reject);
    socket.on("close", () => {
      if (replies.length === messages.length) resolve(replies);
      else reject(new Error(`The server closed after ${replies.length} of ${messages.length} replies`));
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[2] ?? 8000);
  const messages = process.argv.length > 3 ? process.argv.slice(3) : ["hello", "你好, world"];
  for (const r of await exchange(port, messages)) console.log(r);
}
