// The WebSocket load generator of `npm run bench:ws` (bench/ws/load.ts): it counts what a real `ws`
// server echoed (no more, no fewer than the server sent, give or take the messages in flight), reads
// frame headers split anywhere across chunks, and a server that answers wrong or goes away makes it fail
// with a message that says what went wrong (servers that misbehave on purpose, on real sockets).

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { test } from "node:test";
import { WebSocketServer } from "ws";
import { echo, FrameCounter, upgrades } from "../../bench/ws/load.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A server frame (unmasked). */
function frame(opcode: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext);
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = ext === 0 ? n : ext === 2 ? 126 : 127;
  if (ext === 2) head.writeUInt16BE(n, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(n), 2);
  return Buffer.concat([head, payload]);
}

test("the frame counter finds every message whatever the chunk boundaries (7/16/64-bit lengths, fragments)", () => {
  const cases: [number, Buffer[]][] = [
    [64, [frame(1, Buffer.alloc(64, "a")), frame(1, Buffer.alloc(64, "b"))]],
    [
      300,
      [frame(2, Buffer.alloc(300, 1)), frame(2, Buffer.alloc(100, 2), false), frame(0, Buffer.alloc(200, 3))],
    ],
    [70_000, [frame(2, Buffer.alloc(70_000, 4)), frame(2, Buffer.alloc(70_000, 5))]],
    [0, [frame(1, Buffer.alloc(0)), frame(1, Buffer.alloc(0))]],
  ];
  for (const [size, frames] of cases) {
    const op = frames[0]![0]! & 0x0f;
    const stream = Buffer.concat([...frames, ...frames, ...frames]);
    const messages = frames.filter((f) => (f[0]! & 0x80) !== 0).length * 3;
    for (const step of [1, 2, 3, 5, 7, 11, 64, 1000, stream.length]) {
      const counter = new FrameCounter(op, size);
      let n = 0;
      for (let i = 0; i < stream.length; i += step) n += counter.feed(stream.subarray(i, i + step));
      assert.equal(n, messages, `${size}-byte messages fed ${step} bytes at a time`);
    }
  }
  assert.throws(() => new FrameCounter(1, 64).feed(frame(1, Buffer.alloc(63))), /63 bytes; 64 were sent/);
  assert.throws(() => new FrameCounter(1, 64).feed(frame(2, Buffer.alloc(64))), /binary frame where a text/);
  assert.throws(() => new FrameCounter(1, 64).feed(frame(0, Buffer.alloc(64))), /continuation frame/);
});

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const a = server.address();
  assert.ok(a !== null && typeof a === "object");
  return a.port;
}

test("echo() counts what `ws` on node:http echoed: text and binary, batched or a frame per write, never more than the server sent", async () => {
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http, path: "/echo" });
  let echoed = 0;
  wss.on("connection", (ws) =>
    ws.on("message", (data, isBinary) => {
      echoed++;
      ws.send(data, { binary: isBinary });
    }),
  );
  const port = await listen(http);
  try {
    for (const [payload, binary, framePerWrite] of [
      [Buffer.alloc(64, "x"), false, false],
      [Buffer.alloc(16 * 1024, 7), true, false],
      [Buffer.alloc(64, "x"), false, true],
    ] as const) {
      echoed = 0;
      const o = {
        port,
        path: "/echo",
        connections: 4,
        inFlight: 8,
        payload,
        binary,
        framePerWrite,
        durationMs: 300,
      };
      const r = await echo(o);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(r.count >= 4, `${r.count} echoes: every connection must have had one`);
      assert.ok(r.seconds > 0.29 && r.seconds < 5, `${r.seconds} s`);
      // The server also echoed the 4 probes and whatever was in flight when the generator stopped.
      assert.ok(echoed >= r.count + 4, `server echoed ${echoed}, generator counted ${r.count}`);
      assert.ok(echoed <= r.count + 4 * (8 + 1), `server echoed ${echoed}, generator counted ${r.count}`);
    }
  } finally {
    wss.close();
    http.closeAllConnections();
    http.close();
  }
});

test("upgrades() counts each completed handshake and closing handshake (code 1000) once", async () => {
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http, path: "/echo" });
  let opened = 0;
  const codes = new Set<number>();
  wss.on("connection", (ws) => {
    opened++;
    ws.on("close", (code) => codes.add(code));
  });
  const port = await listen(http);
  try {
    const r = await upgrades({ port, path: "/echo", loops: 4, durationMs: 300 });
    assert.ok(r.count > 0, "no upgrade completed");
    assert.equal(opened, r.count);
    assert.deepEqual([...codes], [1000]);
  } finally {
    wss.close();
    http.close();
  }
});

interface Misbehaviour {
  /** The status line of the answer to the upgrade. */
  status?: string;
  accept?: string;
  /** What to do with client frame number n (0 is the probe or the close); the default echoes it. */
  message?: (socket: Socket, payload: Buffer, n: number, opcode: number) => void;
}

/** A WebSocket server of a few lines on raw sockets that misbehaves as told. */
async function fakeServer(how: Misbehaviour): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let n = 0;
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end === -1) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(buf.toString("latin1", 0, end))?.[1] ?? "";
        const accept =
          how.accept ??
          createHash("sha1")
            .update(key + GUID)
            .digest("base64");
        const status = how.status ?? "HTTP/1.1 101 Switching Protocols";
        socket.write(
          `${status}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        if (!status.includes(" 101 ")) socket.end();
        upgraded = true;
        buf = buf.subarray(end + 4);
      }
      while (buf.length >= 6) {
        const len7 = buf[1]! & 0x7f;
        const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
        const len = ext === 0 ? len7 : ext === 2 ? buf.readUInt16BE(2) : Number(buf.readBigUInt64BE(2));
        if (buf.length < 6 + ext + len) return;
        const mask = buf.subarray(2 + ext, 6 + ext);
        const payload = Buffer.from(buf.subarray(6 + ext, 6 + ext + len));
        for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ mask[i & 3]!;
        const op = buf[0]! & 0x0f;
        buf = buf.subarray(6 + ext + len);
        if (how.message !== undefined) how.message(socket, payload, n++, op);
        else if (op === 8) socket.end(frame(8, payload));
        else socket.write(frame(op, payload));
      }
    });
  });
  const port = await listen(server);
  return {
    port,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const echoOf = (port: number) => ({
  port,
  path: "/echo",
  connections: 2,
  inFlight: 4,
  payload: Buffer.alloc(64, "x"),
  binary: false,
  durationMs: 300,
  stallMs: 1000,
  idleMs: 150,
});

test("a server that answers the upgrade or the echo wrong, or goes away, fails the run with what it did", async () => {
  const cases: [string, Misbehaviour, RegExp][] = [
    [
      "refuses the upgrade",
      { status: "HTTP/1.1 400 Bad Request" },
      /answered the upgrade with "HTTP\/1\.1 400/,
    ],
    [
      "wrong accept key",
      { accept: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
      /sent Sec-WebSocket-Accept "AAAA.*", the key calls/,
    ],
    [
      "other bytes in the probe",
      { message: (s, p) => s.write(frame(1, Buffer.from(p.toString().toUpperCase()))) },
      /connection #\d: the server echoed other bytes than the probe/,
    ],
    [
      "a short message",
      { message: (s, p, n) => s.write(frame(1, n === 3 ? p.subarray(1) : p)) },
      /the server echoed a message of 63 bytes; 64 were sent/,
    ],
    [
      "a masked frame",
      { message: (s, p, n) => s.write(n === 3 ? Buffer.from([0x81, 0x80, 0, 0, 0, 0]) : frame(1, p)) },
      /sent a masked frame/,
    ],
    [
      "binary for text",
      { message: (s, p, n) => s.write(frame(n === 3 ? 2 : 1, p)) },
      /sent a binary frame where a text message was due/,
    ],
    [
      "closes the connection",
      { message: (s, p, n) => (n === 3 ? s.destroy() : s.write(frame(1, p))) },
      /connection #\d: the server closed it after \d+ echoes/,
    ],
    [
      "a close frame",
      { message: (s, p, n) => s.write(n === 3 ? frame(8, Buffer.from([0x03, 0xe9])) : frame(1, p)) },
      /sent a close frame in the middle of the echo/,
    ],
    [
      "stops answering",
      { message: (s, p, n) => n < 3 && s.write(frame(1, p)) },
      /connection #\d: the server echoed nothing in the last 0\.15 s of the run/,
    ],
  ];
  for (const [what, how, expected] of cases) {
    const fake = await fakeServer(how);
    try {
      await assert.rejects(echo(echoOf(fake.port)), expected, what);
    } finally {
      fake.close();
    }
  }
});

test("an upgrade loop fails on a wrong close answer or a server that never closes", async () => {
  const cases: [string, Misbehaviour, RegExp][] = [
    [
      "close code 1001",
      { message: (s) => s.end(frame(8, Buffer.from([0x03, 0xe9]))) },
      /answered close code 1000 with 1001/,
    ],
    ["no close frame, TCP end", { message: (s) => s.end() }, /ended the connection before its close frame/],
    ["no answer", { message: () => {} }, /did not finish the handshake and closing handshake within 1\.3 s/],
  ];
  for (const [what, how, expected] of cases) {
    const fake = await fakeServer(how);
    try {
      await assert.rejects(
        upgrades({ port: fake.port, path: "/echo", loops: 2, durationMs: 300, stallMs: 1000 }),
        expected,
        what,
      );
    } finally {
      fake.close();
    }
  }
});
