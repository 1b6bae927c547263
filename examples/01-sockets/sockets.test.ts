import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { type AddressInfo, connect } from "node:net";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { exchange } from "./client.ts";
import { encodeMessage, MAX_MESSAGE_BYTES, MessageDecoder } from "./framing.ts";
import { startServer } from "./server.ts";

const quiet = () => {};

test("the decoder reassembles messages however the bytes are split", () => {
  const wire = Buffer.concat([encodeMessage("one"), encodeMessage(""), encodeMessage("三 three")]);
  for (const step of [1, 2, 3, 5, wire.length]) {
    const d = new MessageDecoder();
    const got: string[] = [];
    for (let i = 0; i < wire.length; i += step) {
      for (const m of d.push(wire.subarray(i, i + step))) got.push(m.toString("utf8"));
    }
    assert.deepEqual(got, ["one", "", "三 three"], `split every ${step} bytes`);
    assert.equal(d.partial, false);
  }
});

test("the decoder refuses an oversized announced length instead of buffering it", () => {
  const d = new MessageDecoder();
  const head = Buffer.alloc(4);
  head.writeUInt32BE(MAX_MESSAGE_BYTES + 1, 0);
  assert.throws(() => d.push(head), /limit/);
});

test("server and client exchange messages, also when the network delivers a byte at a time", async (t) => {
  const log = t.mock.method(console, "log", quiet);
  const server = await startServer(0);
  t.after(() => {
    server.close();
    log.mock.restore();
  });
  const { port } = server.address() as AddressInfo;
  assert.deepEqual(await exchange(port, ["hello", "你好"]), ["HELLO", "你好"]);

  // A slow network: one byte per write, with a pause between writes. The seed's "read until a short
  // chunk" would stop after the first byte here.
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  const frame = Buffer.concat([encodeMessage("slow"), encodeMessage("network")]);
  const decoder = new MessageDecoder();
  const replies: string[] = [];
  socket.on("data", (c: Buffer) => {
    for (const m of decoder.push(c)) replies.push(m.toString());
  });
  for (const byte of frame) {
    socket.write(Buffer.of(byte));
    await new Promise((r) => setTimeout(r, 1));
  }
  while (replies.length < 2) await once(socket, "data");
  socket.end();
  assert.deepEqual(replies, ["SLOW", "NETWORK"]);
});

test("the example runs as a user runs it: server and client from the command line", async (t) => {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const server = spawn(process.execPath, ["--import", "tsx", `${here}server.ts`, "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => server.kill());
  let out = "";
  server.stdout.setEncoding("utf8");
  while (!/listening on .*:(\d+)/.test(out)) {
    const [chunk] = (await once(server.stdout, "data")) as [string];
    out += chunk;
  }
  const port = /listening on .*:(\d+)/.exec(out)![1]!;
  const client = spawn(process.execPath, ["--import", "tsx", `${here}client.ts`, port, "hi", "there"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let reply = "";
  client.stdout.setEncoding("utf8");
  client.stdout.on("data", (c: string) => {
    reply += c;
  });
  const [code] = await once(client, "exit");
  assert.equal(code, 0);
  assert.equal(reply, "HI\nTHERE\n");
});
