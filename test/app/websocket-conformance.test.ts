// WebSocket conformance, part 1: framing, control frames, reserved bits and opcodes, fragmentation,
// UTF-8, closing, masking, limits and shutdown (RFC 6455), checked against a real Phial app over raw TCP
// sockets with hand-built frames. Organised like the Autobahn testsuite's cases (1.x framing, 2.x pings,
// 3.x reserved bits, 4.x opcodes, 5.x fragmentation, 6.x UTF-8, 7.x close, 9.x limits) so that a reader
// can map each test to the case it mirrors; 8.x is masking here (Autobahn's 8 is unused), 13.x shutdown.
// Part 2 (websocket-conformance-handshake.test.ts) is the handshake and permessage-deflate, part 3
// (websocket-conformance-interop.test.ts) independent clients.
//
// The asserts are what the RFC requires of a server: the close code, that the server then ends the TCP
// connection, the echoed bytes. Where the `ws` library (Phial's framing until src/http/websocket.ts)
// did otherwise, a comment above the case says what it did.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, test } from "node:test";
import type { CloseInfo } from "phial";
import { makeApp } from "./helpers.ts";
import {
  closePayload,
  destroyAll,
  echo,
  frame,
  OP,
  RawWebSocket,
  RSV1,
  RSV2,
  RSV3,
  serveApp,
} from "./ws-wire.ts";

const SMALL = 4096; // /small's maxMessageSize
const T = { timeout: 8000 };

let port = 0;
let stop: (() => Promise<void>) | undefined;
const clientCloses: CloseInfo[] = [];

before(async () => {
  const { app } = makeApp();
  app.websocket("/echo", { endpoint: "echo", maxMessageSize: 4 << 20, pingInterval: 0 }, echo);
  app.websocket("/small", { endpoint: "small", maxMessageSize: SMALL, pingInterval: 0 }, echo);
  app.websocket("/closed", { endpoint: "closed", pingInterval: 0 }, async (ws) => {
    for await (const m of ws) await ws.send(m);
    clientCloses.push(await ws.closed);
  });
  app.websocket("/bye", { endpoint: "bye", pingInterval: 0 }, async (ws) => {
    await ws.send("bye"); // returning closes with 1000
  });
  app.websocket("/going", { endpoint: "going", pingInterval: 0 }, (ws) => {
    ws.close(4000, "the handler's reason");
  });
  ({ port, stop } = await serveApp(app));
});
afterEach(() => destroyAll());
after(async () => {
  destroyAll();
  await stop?.();
});

async function open(path = "/echo"): Promise<RawWebSocket> {
  const ws = await RawWebSocket.open(port, path);
  assert.equal(ws.status, 101, `the handshake was refused:\n${ws.handshake?.head}`);
  return ws;
}

/** The server fails the connection: a close frame with one of `codes`, then it ends TCP (RFC 6455 §7.1.7). */
async function expectFail(ws: RawWebSocket, codes: number[], why: string): Promise<void> {
  const { code, reason } = await ws.closeAndEnd();
  assert.ok(
    code !== undefined && codes.includes(code),
    `${why}: expected close ${codes.join(" or ")}, got ${code ?? "no code"} (${reason.toString()})`,
  );
}

async function expectEcho(ws: RawWebSocket, opcode: number, payload: Buffer): Promise<void> {
  const m = await ws.nextMessage();
  assert.equal(m.opcode, opcode, `echoed as ${m.opcode === OP.TEXT ? "text" : "binary"}`);
  assert.equal(m.payload.length, payload.length, "echoed length");
  assert.ok(m.payload.equals(payload), "echoed bytes");
}

/** Sends a clean close and checks the server's close reply and TCP end. */
async function closeCleanly(ws: RawWebSocket): Promise<void> {
  ws.send(OP.CLOSE, closePayload(1000));
  const { code } = await ws.closeAndEnd();
  assert.equal(code, 1000);
}

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536, 1 << 20];
const text = (n: number): Buffer => Buffer.from("*".repeat(n));

describe("1 framing", () => {
  test(
    "1.1.x text payload lengths 0, 125, 126, 127, 128, 65535, 65536, 1 MiB are echoed as text",
    T,
    async () => {
      const ws = await open();
      for (const n of LENGTHS) {
        ws.send(OP.TEXT, text(n));
        await expectEcho(ws, OP.TEXT, text(n));
      }
      await closeCleanly(ws);
    },
  );

  test(
    "1.2.x binary payload lengths 0, 125, 126, 127, 128, 65535, 65536, 1 MiB are echoed as binary",
    T,
    async () => {
      const ws = await open();
      for (const n of LENGTHS) {
        const b = randomBytes(n);
        ws.send(OP.BINARY, b);
        await expectEcho(ws, OP.BINARY, b);
      }
      await closeCleanly(ws);
    },
  );

  test("1.1.9/1.2.9 frames of 0-128 bytes written one byte per write (incremental parser)", T, async () => {
    const ws = await open();
    for (const n of [0, 1, 125, 126, 127, 128]) {
      await ws.writeChopped(frame(OP.TEXT, text(n)));
      await expectEcho(ws, OP.TEXT, text(n));
      const b = randomBytes(n);
      await ws.writeChopped(frame(OP.BINARY, b));
      await expectEcho(ws, OP.BINARY, b);
    }
    await closeCleanly(ws);
  });

  test("1.1.10 a 65536-byte text frame written in 997-byte pieces", T, async () => {
    const ws = await open();
    await ws.writeChopped(frame(OP.TEXT, text(65536)), 997);
    await expectEcho(ws, OP.TEXT, text(65536));
    await closeCleanly(ws);
  });

  test("1.3.1 several frames in one write are all echoed, in order", T, async () => {
    const ws = await open();
    const sent = [text(0), randomBytes(10), text(300), randomBytes(70_000), Buffer.from("last")];
    ws.write(Buffer.concat(sent.map((p, i) => frame(i % 2 === 0 ? OP.TEXT : OP.BINARY, p))));
    for (let i = 0; i < sent.length; i++) await expectEcho(ws, i % 2 === 0 ? OP.TEXT : OP.BINARY, sent[i]!);
    await closeCleanly(ws);
  });
});

describe("1.4 many frames (Autobahn 9.x's shapes, without timing)", () => {
  test("1.4.1 a 1 MiB binary message in 1 KiB fragments is echoed whole", T, async () => {
    const ws = await open();
    const b = randomBytes(1 << 20);
    const parts: Buffer[] = [];
    for (let i = 0; i < b.length; i += 1024)
      parts.push(
        frame(i === 0 ? OP.BINARY : OP.CONT, b.subarray(i, i + 1024), { fin: i + 1024 >= b.length }),
      );
    ws.write(Buffer.concat(parts));
    await expectEcho(ws, OP.BINARY, b);
    await closeCleanly(ws);
  });

  test("1.4.2 1000 small text messages in one write are all echoed, in order", T, async () => {
    const ws = await open();
    ws.write(Buffer.concat(Array.from({ length: 1000 }, (_, i) => frame(OP.TEXT, `message ${i}`))));
    for (let i = 0; i < 1000; i++) {
      const m = await ws.nextMessage();
      assert.equal(m.payload.toString(), `message ${i}`);
    }
    await closeCleanly(ws);
  });
});

describe("2 pings and pongs", () => {
  test("2.1 a ping without payload gets an empty pong", T, async () => {
    const ws = await open();
    ws.send(OP.PING);
    const f = await ws.nextFrame("a pong");
    assert.equal(f.opcode, OP.PONG);
    assert.equal(f.payload.length, 0);
    await closeCleanly(ws);
  });

  test("2.2/2.3 a ping with a text or binary payload gets a pong with the same payload", T, async () => {
    const ws = await open();
    for (const p of [Buffer.from("Hello, world!"), Buffer.from([0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0, 0xff])]) {
      ws.send(OP.PING, p);
      const f = await ws.nextFrame("a pong");
      assert.equal(f.opcode, OP.PONG);
      assert.ok(f.payload.equals(p));
    }
    await closeCleanly(ws);
  });

  test("2.4 a ping with 125 bytes of payload gets them back", T, async () => {
    const ws = await open();
    const p = randomBytes(125);
    ws.send(OP.PING, p);
    const f = await ws.nextFrame("a pong");
    assert.equal(f.opcode, OP.PONG);
    assert.ok(f.payload.equals(p));
    await closeCleanly(ws);
  });

  test(
    "2.5 a ping with 126 bytes of payload fails the connection with 1002 (§5.5: control frames ≤ 125)",
    T,
    async () => {
      const ws = await open();
      ws.send(OP.PING, randomBytes(126));
      await expectFail(ws, [1002], "control frame payload of 126 bytes");
    },
  );

  test("2.6 a ping written one byte per write gets its pong", T, async () => {
    const ws = await open();
    await ws.writeChopped(frame(OP.PING, "chopped ping"));
    const f = await ws.nextFrame("a pong");
    assert.equal(f.opcode, OP.PONG);
    assert.equal(f.payload.toString(), "chopped ping");
    await closeCleanly(ws);
  });

  test("2.7/2.8 an unsolicited pong is ignored (with or without payload)", T, async () => {
    const ws = await open();
    ws.send(OP.PONG);
    ws.send(OP.PONG, "unsolicited");
    ws.send(OP.TEXT, "after the pongs");
    await expectEcho(ws, OP.TEXT, Buffer.from("after the pongs"));
    assert.deepEqual(await ws.quiet(50), [], "nothing else is sent");
    await closeCleanly(ws);
  });

  test("2.10 ten pings in one write get ten pongs, in order", T, async () => {
    const ws = await open();
    ws.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => frame(OP.PING, `payload-${i}`))));
    for (let i = 0; i < 10; i++) {
      const f = await ws.nextFrame(`pong ${i}`);
      assert.equal(f.opcode, OP.PONG);
      assert.equal(f.payload.toString(), `payload-${i}`);
    }
    await closeCleanly(ws);
  });
});

describe("3 reserved bits", () => {
  const cases: [string, number, number][] = [
    ["3.1 RSV1 on a text frame", RSV1, OP.TEXT],
    ["3.2 RSV2 on a text frame", RSV2, OP.TEXT],
    ["3.3 RSV3 on a text frame", RSV3, OP.TEXT],
    ["3.4 RSV1+RSV3 on a binary frame", RSV1 | RSV3, OP.BINARY],
    ["3.5 RSV2+RSV3 on a ping", RSV2 | RSV3, OP.PING],
    ["3.6 RSV1+RSV2+RSV3 on a text frame", RSV1 | RSV2 | RSV3, OP.TEXT],
  ];
  for (const [name, rsv, opcode] of cases) {
    test(`${name} (no extension negotiated): a message echoed first, then close 1002`, T, async () => {
      const ws = await open();
      ws.send(OP.TEXT, "before");
      await expectEcho(ws, OP.TEXT, Buffer.from("before"));
      ws.send(opcode, "reserved", { rsv });
      ws.send(OP.PING, "never answered"); // the connection is failed before this ping
      const { code, before: got } = await ws.closeAndEnd();
      assert.equal(code, 1002);
      assert.deepEqual(
        got.map((f) => f.opcode),
        [],
        "nothing is answered after the bad frame",
      );
    });
  }

  test(
    "3.7 a message then an RSV2 frame in one write: close 1002 (the echo may or may not come first)",
    T,
    async () => {
      const ws = await open();
      ws.write(Buffer.concat([frame(OP.TEXT, "first"), frame(OP.TEXT, "bad", { rsv: RSV2 })]));
      const { code, before: got } = await ws.closeAndEnd();
      assert.equal(code, 1002);
      // Autobahn calls this non-strict: a server may fail the connection before it echoes.
      for (const f of got) assert.deepEqual([f.opcode, f.payload.toString()], [OP.TEXT, "first"]);
    },
  );
});

describe("4 reserved opcodes", () => {
  for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    const kind = opcode < 8 ? "non-control" : "control";
    test(`4.${opcode < 8 ? 1 : 2}.${opcode} reserved ${kind} opcode ${opcode}: close 1002`, T, async () => {
      const ws = await open();
      ws.send(OP.TEXT, "before");
      await expectEcho(ws, OP.TEXT, Buffer.from("before"));
      ws.send(opcode, opcode % 2 === 0 ? "" : "payload");
      ws.send(OP.PING);
      const { code, before: got } = await ws.closeAndEnd();
      assert.equal(code, 1002, `opcode ${opcode}`);
      assert.equal(got.length, 0, "nothing is answered after the bad frame");
    });
  }
});

describe("5 fragmentation", () => {
  test("5.1/5.2 a fragmented ping or pong (FIN=0 on a control frame): close 1002", T, async () => {
    for (const opcode of [OP.PING, OP.PONG]) {
      const ws = await open();
      ws.send(opcode, "frag-1", { fin: false });
      ws.send(OP.CONT, "frag-2");
      await expectFail(ws, [1002], `FIN=0 on opcode ${opcode}`);
    }
  });

  test("5.3/5.4 a text message in two fragments, in one write and in two", T, async () => {
    const ws = await open();
    ws.write(Buffer.concat([frame(OP.TEXT, "frag-1", { fin: false }), frame(OP.CONT, "frag-2")]));
    await expectEcho(ws, OP.TEXT, Buffer.from("frag-1frag-2"));
    ws.send(OP.TEXT, "frag-1", { fin: false });
    await new Promise((r) => setTimeout(r, 20));
    ws.send(OP.CONT, "frag-2");
    await expectEcho(ws, OP.TEXT, Buffer.from("frag-1frag-2"));
    await closeCleanly(ws);
  });

  test("5.5 text and binary messages in 1-byte fragments (and empty ones)", T, async () => {
    const ws = await open();
    const t = Buffer.from("fragmented one byte at a time");
    const frames = [...t].map((b, i) => frame(i === 0 ? OP.TEXT : OP.CONT, Buffer.from([b]), { fin: false }));
    ws.write(Buffer.concat([...frames, frame(OP.CONT, "")]));
    await expectEcho(ws, OP.TEXT, t);
    const b = randomBytes(40);
    for (let i = 0; i < b.length; i++)
      ws.send(i === 0 ? OP.BINARY : OP.CONT, b.subarray(i, i + 1), { fin: i === b.length - 1 });
    await expectEcho(ws, OP.BINARY, b);
    // 6.1.2/6.1.3: empty fragments make an empty message
    ws.send(OP.TEXT, "", { fin: false });
    ws.send(OP.CONT, "", { fin: false });
    ws.send(OP.CONT, "");
    await expectEcho(ws, OP.TEXT, Buffer.alloc(0));
    await closeCleanly(ws);
  });

  test(
    "5.6/5.7 a ping between fragments is answered at once, before the message is finished",
    T,
    async () => {
      const ws = await open();
      ws.send(OP.TEXT, "frag-1", { fin: false });
      ws.send(OP.PING, "ping payload");
      const pong = await ws.nextFrame("the pong, before the message's last fragment is sent");
      assert.equal(pong.opcode, OP.PONG);
      assert.equal(pong.payload.toString(), "ping payload");
      ws.send(OP.CONT, "frag-2", { fin: false });
      ws.send(OP.PING, "second");
      ws.send(OP.CONT, "frag-3");
      const second = await ws.nextFrame("the second pong");
      assert.deepEqual([second.opcode, second.payload.toString()], [OP.PONG, "second"]);
      await expectEcho(ws, OP.TEXT, Buffer.from("frag-1frag-2frag-3"));
      await closeCleanly(ws);
    },
  );

  test("5.9/5.10 a continuation frame with nothing to continue (FIN=1 or 0): close 1002", T, async () => {
    for (const fin of [true, false]) {
      const ws = await open();
      ws.send(OP.CONT, "nothing to continue", { fin });
      await expectFail(ws, [1002], `an unexpected continuation frame (FIN=${fin ? 1 : 0})`);
    }
  });

  test("5.16 a continuation frame after a whole message: close 1002", T, async () => {
    const ws = await open();
    ws.send(OP.TEXT, "whole");
    ws.send(OP.CONT, "dangling");
    const { code, before: got } = await ws.closeAndEnd();
    assert.equal(code, 1002);
    for (const f of got) assert.equal(f.payload.toString(), "whole"); // the echo may come first
  });

  test("5.18/5.19 a new text or binary frame while a fragmented message is open: close 1002", T, async () => {
    for (const [first, second] of [
      [OP.TEXT, OP.TEXT],
      [OP.TEXT, OP.BINARY],
      [OP.BINARY, OP.TEXT],
    ]) {
      const ws = await open();
      ws.send(first!, "frag-1", { fin: false });
      ws.send(second!, "not a continuation");
      await expectFail(ws, [1002], `opcode ${second} inside a fragmented message`);
    }
  });

  test("5.20 a fragmented close (FIN=0): close 1002", T, async () => {
    const ws = await open();
    ws.send(OP.CLOSE, closePayload(1000), { fin: false });
    await expectFail(ws, [1002], "a close frame with FIN=0");
  });
});

describe("6 UTF-8", () => {
  const valid: [string, Buffer][] = [
    ["6.2.1 κόσμε (2-byte sequences)", Buffer.from("κόσμε")],
    ["6.2.2 Latin, Greek, CJK, emoji", Buffer.from("Hello-µ@ßöäüàá-UTF-8!! 你好 𝄞😀")],
    [
      "6.3.x boundary code points U+007F U+0080 U+07FF U+0800 U+FFFF U+10000 U+10FFFF",
      Buffer.from("\u007f\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}"),
    ],
    [
      "6.4.x U+FFFE and U+FDD0 (noncharacters, still valid UTF-8)",
      Buffer.from([0xef, 0xbf, 0xbe, 0xef, 0xb7, 0x90]),
    ],
  ];
  test("6.2.x/6.3.x valid multi-byte text is echoed byte for byte", T, async () => {
    const ws = await open();
    for (const [name, bytes] of valid) {
      ws.send(OP.TEXT, bytes);
      await assert.doesNotReject(expectEcho(ws, OP.TEXT, bytes), name);
    }
    await closeCleanly(ws);
  });

  test("6.5.x valid text split across fragments inside a code point is echoed exactly", T, async () => {
    const ws = await open();
    for (const [, bytes] of valid) {
      // one byte per fragment: every multi-byte sequence is cut
      for (let i = 0; i < bytes.length; i++)
        ws.send(i === 0 ? OP.TEXT : OP.CONT, bytes.subarray(i, i + 1), { fin: i === bytes.length - 1 });
      await expectEcho(ws, OP.TEXT, bytes);
    }
    const emoji = Buffer.from("😀"); // f0 9f 98 80, cut 1|3, 2|2, 3|1
    for (const cut of [1, 2, 3]) {
      ws.send(OP.TEXT, emoji.subarray(0, cut), { fin: false });
      ws.send(OP.CONT, emoji.subarray(cut));
      await expectEcho(ws, OP.TEXT, emoji);
    }
    await closeCleanly(ws);
  });

  const invalid: [string, number[]][] = [
    ["6.6.x lone continuation byte 0x80", [0x80]],
    ["6.6.x a continuation byte between ASCII", [0x61, 0x80, 0x62]],
    ["6.7.x a 2-byte lead without its continuation", [0xc3, 0x41]],
    ["6.8.x bytes 0xFE and 0xFF", [0x61, 0xfe, 0xff]],
    ["6.8.x byte 0xF5 (would be > U+10FFFF)", [0xf5, 0x80, 0x80, 0x80]],
    ["6.9.x overlong '/' in 2 bytes (C0 AF)", [0xc0, 0xaf]],
    ["6.9.x overlong '/' in 3 bytes (E0 80 AF)", [0xe0, 0x80, 0xaf]],
    ["6.9.x overlong '/' in 4 bytes (F0 80 80 AF)", [0xf0, 0x80, 0x80, 0xaf]],
    ["6.10.x overlong NUL (C0 80)", [0xc0, 0x80]],
    ["6.11.x surrogate U+D800 (ED A0 80)", [0xed, 0xa0, 0x80]],
    ["6.11.x surrogate U+DFFF (ED BF BF)", [0xed, 0xbf, 0xbf]],
    [
      "6.11.x surrogate pair U+D83D U+DE00 encoded as two 3-byte sequences",
      [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80],
    ],
    ["6.12.x beyond U+10FFFF (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80]],
    ["6.13.x truncated 3-byte sequence at the end (E2 82)", [0x61, 0x62, 0x63, 0xe2, 0x82]],
    ["6.13.x truncated 4-byte sequence at the end (F0 9F 98)", [0xf0, 0x9f, 0x98]],
  ];
  for (const [name, bytes] of invalid) {
    test(`${name}: close 1007, in one frame and in 1-byte fragments`, T, async () => {
      const b = Buffer.from(bytes);
      const one = await open();
      one.send(OP.TEXT, b);
      await expectFail(one, [1007], `invalid UTF-8 ${b.toString("hex")}`);
      // Fragmented: the server may fail at the bad byte or at the end of the message (both allowed).
      const frag = await open();
      for (let i = 0; i < b.length; i++)
        frag.send(i === 0 ? OP.TEXT : OP.CONT, b.subarray(i, i + 1), { fin: i === b.length - 1 });
      await expectFail(frag, [1007], `invalid UTF-8 ${b.toString("hex")} in 1-byte fragments`);
    });
  }

  test("6.x.x invalid UTF-8 followed by more frames: the message is not echoed", T, async () => {
    const ws = await open();
    ws.send(OP.TEXT, Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62]));
    ws.send(OP.TEXT, "after");
    const { code, before: got } = await ws.closeAndEnd();
    assert.equal(code, 1007);
    assert.equal(got.length, 0, "neither the invalid message nor the next one is echoed");
  });
});

describe("7 close", () => {
  test("7.1.1 an empty close gets a close reply (empty or 1000), then the server ends TCP", T, async () => {
    const ws = await open();
    ws.send(OP.CLOSE);
    const { code } = await ws.closeAndEnd();
    assert.ok(code === undefined || code === 1000, `reply code ${code}`);
  });

  test("7.1.2/7.1.3 frames after the client's close are ignored", T, async () => {
    const ws = await open();
    ws.write(
      Buffer.concat([
        frame(OP.CLOSE, closePayload(1000)),
        frame(OP.TEXT, "after close"),
        frame(OP.PING, "p"),
      ]),
    );
    const { code, before: got } = await ws.closeAndEnd();
    assert.equal(code, 1000);
    assert.equal(got.length, 0, "no echo and no pong for frames after the close");
    assert.deepEqual(await ws.quiet(50), [], "nothing after the close frame");
  });

  test("7.1.4 a text message then a close in one write: echoed, then the close reply", T, async () => {
    const ws = await open();
    ws.write(Buffer.concat([frame(OP.TEXT, "hello"), frame(OP.CLOSE, closePayload(1000))]));
    const { code, before: got } = await ws.closeAndEnd();
    assert.equal(code, 1000);
    // The server may close before its handler echoes: when it does echo, the echo comes first.
    for (const f of got) assert.deepEqual([f.opcode, f.payload.toString()], [OP.TEXT, "hello"]);
  });

  test(
    "7.1.5 a close followed by the client's FIN (half-close): the close reply still comes",
    T,
    async () => {
      const ws = await open();
      ws.socket.end(frame(OP.CLOSE, closePayload(1000, "half")));
      const { code } = await ws.closeAndEnd();
      assert.equal(code, 1000);
    },
  );

  test(
    "7.1.6 the client drops TCP without a close frame: the handler's ws.closed reports 1006",
    T,
    async () => {
      const before = clientCloses.length;
      const ws = await open("/closed");
      ws.send(OP.TEXT, "hi");
      await expectEcho(ws, OP.TEXT, Buffer.from("hi"));
      ws.destroy();
      const deadline = Date.now() + 2000;
      while (clientCloses.length === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      assert.equal(clientCloses[before]?.code, 1006);
    },
  );

  test("7.3.2 a close payload of 1 byte: close 1002", T, async () => {
    const ws = await open();
    ws.send(OP.CLOSE, Buffer.from([0x03]));
    await expectFail(ws, [1002], "a 1-byte close payload");
  });

  test("7.3.4 a close reason of 123 bytes (payload 125) is fine: close 1000 back", T, async () => {
    const ws = await open();
    ws.send(OP.CLOSE, closePayload(1000, "r".repeat(123)));
    const { code } = await ws.closeAndEnd();
    assert.equal(code, 1000);
  });

  test("7.3.5 a close payload of 126 bytes (reason 124): close 1002", T, async () => {
    const ws = await open();
    ws.send(OP.CLOSE, closePayload(1000, "r".repeat(124)));
    await expectFail(ws, [1002], "a 126-byte close payload");
  });

  test("7.5.1 a close reason that is invalid UTF-8: close 1007 (or 1002)", T, async () => {
    const ws = await open();
    ws.send(
      OP.CLOSE,
      closePayload(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xed, 0xa0, 0x80])),
    );
    await expectFail(ws, [1007, 1002], "a close reason with a surrogate");
  });

  for (const code of [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
  ]) {
    test(`7.7.x valid close code ${code} is echoed back, then the server ends TCP`, T, async () => {
      const ws = await open();
      ws.send(OP.CLOSE, closePayload(code, "bye"));
      const got = await ws.closeAndEnd();
      assert.equal(got.code, code);
    });
  }

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    test(`7.9.x invalid close code ${code}: close 1002`, T, async () => {
      const ws = await open();
      ws.send(OP.CLOSE, closePayload(code));
      await expectFail(ws, [1002], `close code ${code}`);
    });
  }

  test(
    "7.2.x a close the server starts (the handler returns): 1000, and TCP ends once the client answers",
    T,
    async () => {
      const ws = await open("/bye");
      assert.equal((await ws.nextMessage()).payload.toString(), "bye");
      const got = await ws.closeAndEnd(frame(OP.CLOSE, closePayload(1000)));
      assert.equal(got.code, 1000);
    },
  );

  test("7.2.x a close the handler starts with its own code and reason: sent as given", T, async () => {
    const ws = await open("/going");
    const got = await ws.closeAndEnd(frame(OP.CLOSE, closePayload(4000)));
    assert.equal(got.code, 4000);
    assert.equal(got.reason.toString(), "the handler's reason");
  });

  test("7.x the handler's ws.closed reports the client's code and reason", T, async () => {
    const before = clientCloses.length;
    const ws = await open("/closed");
    ws.send(OP.TEXT, "hi");
    await expectEcho(ws, OP.TEXT, Buffer.from("hi"));
    ws.send(OP.CLOSE, closePayload(4321, "client leaving ✓"));
    assert.equal((await ws.closeAndEnd()).code, 4321);
    const deadline = Date.now() + 2000;
    while (clientCloses.length === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual({ ...clientCloses[before] }, { code: 4321, reason: "client leaving ✓" });
  });

  test("7.x the server's close frame carries a valid code and nothing is sent after it", T, async () => {
    const ws = await open();
    ws.send(OP.BINARY, Buffer.alloc(10), { mask: false }); // makes the server close with 1002
    const { code, reason } = await ws.closeAndEnd();
    assert.equal(code, 1002);
    assert.ok(reason.length <= 123, "the reason fits a control frame");
    assert.doesNotThrow(
      () => new TextDecoder("utf-8", { fatal: true }).decode(reason),
      "the reason is UTF-8",
    );
    assert.deepEqual(await ws.quiet(30), []);
  });
});

describe("8 masking and lengths", () => {
  test("8.1 an unmasked text frame from the client: close 1002 (§5.1)", T, async () => {
    const ws = await open();
    ws.send(OP.TEXT, "unmasked", { mask: false });
    await expectFail(ws, [1002], "an unmasked client frame");
  });

  test("8.2 an unmasked ping from the client: close 1002", T, async () => {
    const ws = await open();
    ws.send(OP.PING, "unmasked", { mask: false });
    await expectFail(ws, [1002], "an unmasked client ping");
  });

  // (The `ws` library closed with 1009, "payload length > 2^53 - 1".)
  test("8.3 a 64-bit length with its most significant bit set: close 1002 (§5.2)", T, async () => {
    const ws = await open();
    ws.send(OP.BINARY, Buffer.alloc(0), { length: 0x8000_0000_0000_0010n });
    await expectFail(ws, [1002], "a length with the MSB set");
  });

  test(
    "8.4 a 16-bit length field carrying a length < 126 (non-minimal) is accepted or refused with 1002",
    T,
    async () => {
      // RFC 6455 §5.2 asks the sender for the minimal encoding; the receiver's reaction is not specified.
      const ws = await open();
      const b = Buffer.from([0x81, 0x80 | 126, 0, 5, 1, 2, 3, 4]);
      const payload = Buffer.from("hello").map((x, i) => x ^ [1, 2, 3, 4][i & 3]!);
      ws.write(Buffer.concat([b, payload]));
      const f = await ws.nextFrame("an echo or a close");
      if (f.opcode === OP.CLOSE) assert.equal(f.payload.readUInt16BE(0), 1002);
      else assert.deepEqual([f.opcode, f.payload.toString()], [OP.TEXT, "hello"]);
    },
  );
});

describe("9 limits", () => {
  test(
    `9.x a message of exactly maxMessageSize (${SMALL}) passes, as text and binary, whole and fragmented`,
    T,
    async () => {
      const ws = await open("/small");
      ws.send(OP.TEXT, text(SMALL));
      await expectEcho(ws, OP.TEXT, text(SMALL));
      const b = randomBytes(SMALL);
      ws.send(OP.BINARY, b);
      await expectEcho(ws, OP.BINARY, b);
      ws.send(OP.BINARY, b.subarray(0, 1000), { fin: false });
      ws.send(OP.CONT, b.subarray(1000, 3000), { fin: false });
      ws.send(OP.CONT, b.subarray(3000));
      await expectEcho(ws, OP.BINARY, b);
      await closeCleanly(ws);
    },
  );

  test("9.x one byte more in a single frame: close 1009", T, async () => {
    for (const opcode of [OP.TEXT, OP.BINARY]) {
      const ws = await open("/small");
      ws.send(opcode, text(SMALL + 1));
      await expectFail(ws, [1009], `a ${SMALL + 1}-byte frame`);
    }
  });

  test("9.x fragments adding up to one byte more: close 1009", T, async () => {
    const ws = await open("/small");
    ws.send(OP.TEXT, text(SMALL / 2), { fin: false });
    ws.send(OP.CONT, text(SMALL / 2), { fin: false });
    ws.send(OP.CONT, text(1));
    await expectFail(ws, [1009], "fragments adding up to maxMessageSize + 1");
  });

  test(
    "9.x a 1 GiB length header: close 1009 right after the header, nothing allocated for it",
    T,
    async () => {
      for (const path of ["/small", "/echo"]) {
        const mem = process.memoryUsage();
        const ws = await open(path);
        // The header alone (and its mask key): the payload never comes, so a server that waits for it hangs.
        ws.write(frame(OP.BINARY, Buffer.alloc(0), { length: 1n << 30n }));
        await expectFail(ws, [1009], `a 1 GiB length on ${path}`);
        const now = process.memoryUsage();
        const grew = (now.arrayBuffers - mem.arrayBuffers) / 2 ** 20;
        const rss = (now.rss - mem.rss) / 2 ** 20;
        assert.ok(grew < 64, `buffers grew by ${grew.toFixed(1)} MiB`);
        assert.ok(rss < 128, `RSS grew by ${rss.toFixed(1)} MiB`);
      }
    },
  );

  test("9.x after a 1009 the server keeps serving other connections", T, async () => {
    const bad = await open("/small");
    bad.send(OP.TEXT, text(SMALL + 1));
    await expectFail(bad, [1009], "too big");
    const ws = await open("/small");
    ws.send(OP.TEXT, "still here");
    await expectEcho(ws, OP.TEXT, Buffer.from("still here"));
    await closeCleanly(ws);
  });
});

describe("13 shutdown", () => {
  test("13.1 stopping the app's server closes open WebSockets with 1001, then ends TCP", T, async () => {
    const { app } = makeApp();
    app.websocket("/wait", { pingInterval: 0 }, async (ws) => {
      for await (const m of ws) await ws.send(m);
    });
    const server = app.listen();
    const { port: p } = await server.listen(0, "127.0.0.1");
    try {
      const a = await RawWebSocket.open(p, "/wait");
      const b = await RawWebSocket.open(p, "/wait");
      a.send(OP.TEXT, "x");
      await expectEcho(a, OP.TEXT, Buffer.from("x"));
      const closing = server.close({ deadline: 2000 });
      const [ca, cb] = await Promise.all([
        a.closeAndEnd(frame(OP.CLOSE, closePayload(1001))),
        b.closeAndEnd(frame(OP.CLOSE, closePayload(1001))),
      ]);
      assert.equal(ca.code, 1001);
      assert.equal(cb.code, 1001);
      await closing;
    } finally {
      await server.close({ deadline: 200 }); // the same close when the test got that far
    }
    assert.equal(app.websockets.connections.size, 0);
  });
});
