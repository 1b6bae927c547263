// WebSocket conformance, part 2: the opening handshake (RFC 6455 §4) and permessage-deflate (RFC 7692),
// against a real Phial app over raw TCP sockets, with messages compressed by hand with node:zlib. Case
// numbers: 10.x handshake, 11.x permessage-deflate (Autobahn's 12.x/13.x are its compression cases).
// See websocket-conformance.test.ts for the framing cases.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, test } from "node:test";
import { constants, createDeflateRaw, type DeflateRaw, deflateRawSync, inflateRawSync } from "node:zlib";
import { makeApp } from "./helpers.ts";
import {
  acceptFor,
  closePayload,
  destroyAll,
  echo,
  frame,
  OP,
  type OpenOptions,
  RawWebSocket,
  RSV1,
  serveApp,
} from "./ws-wire.ts";

const T = { timeout: 8000 };
const DEFLATE_MAX = 256 * 1024; // /deflate's maxMessageSize
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

let port = 0;
let stop: (() => Promise<void>) | undefined;

before(async () => {
  const { app } = makeApp();
  app.websocket("/echo", { endpoint: "echo", pingInterval: 0 }, echo);
  app.websocket("/proto", { endpoint: "proto", pingInterval: 0, protocols: ["chat.v2", "chat.v1"] }, echo);
  app.websocket(
    "/deflate",
    { endpoint: "deflate", pingInterval: 0, perMessageDeflate: true, maxMessageSize: DEFLATE_MAX },
    echo,
  );
  ({ port, stop } = await serveApp(app));
});
afterEach(() => destroyAll());
after(async () => {
  destroyAll();
  await stop?.();
});

async function open(path: string, o?: OpenOptions): Promise<RawWebSocket> {
  const ws = await RawWebSocket.open(port, path, o);
  assert.equal(ws.status, 101, `the handshake was refused:\n${ws.handshake?.head}`);
  return ws;
}

/** A raw request head to /echo with the given fields (all of them: nothing is added). */
function head(fields: Record<string, string>, requestLine = "GET /echo HTTP/1.1"): string {
  let h = requestLine;
  for (const [k, v] of Object.entries({ Host: `127.0.0.1:${port}`, ...fields })) h += `\r\n${k}: ${v}`;
  return h;
}

const STD = {
  Upgrade: "websocket",
  Connection: "Upgrade",
  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Version": "13",
};

async function closeCleanly(ws: RawWebSocket): Promise<void> {
  ws.send(OP.CLOSE, closePayload(1000));
  assert.equal((await ws.closeAndEnd()).code, 1000);
}

describe("10 opening handshake", () => {
  test(
    "10.1 the 101 carries Sec-WebSocket-Accept = base64(SHA-1(key + GUID)), Upgrade and Connection",
    T,
    async () => {
      // RFC 6455 §1.3's own example, so that acceptFor() itself is checked
      assert.equal(acceptFor("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
      for (let i = 0; i < 3; i++) {
        const ws = await open("/echo");
        assert.equal(ws.header("sec-websocket-accept"), acceptFor(ws.key));
        assert.equal(ws.header("upgrade")?.toLowerCase(), "websocket");
        assert.ok(
          /\bupgrade\b/i.test(ws.header("connection") ?? ""),
          `Connection: ${ws.header("connection")}`,
        );
        assert.equal(ws.header("sec-websocket-protocol"), undefined, "no subprotocol when none was offered");
        assert.equal(ws.header("sec-websocket-extensions"), undefined, "no extension on a route without one");
        ws.send(OP.TEXT, "after the handshake");
        assert.equal((await ws.nextMessage()).payload.toString(), "after the handshake");
        await closeCleanly(ws);
      }
    },
  );

  test(
    "10.1.x Connection: keep-alive, Upgrade and Upgrade: WebSocket (as Firefox sends them) are accepted",
    T,
    async () => {
      const ws = await RawWebSocket.open(port, "/echo", {
        rawHead: head({ ...STD, Upgrade: "WebSocket", Connection: "keep-alive, Upgrade" }),
      });
      assert.equal(ws.status, 101, ws.handshake?.head);
      assert.equal(ws.header("sec-websocket-accept"), acceptFor(STD["Sec-WebSocket-Key"]));
      await closeCleanly(ws);
    },
  );

  const badKeys: [string, Record<string, string>][] = [
    ["missing", { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Version": "13" }],
    ["empty", { ...STD, "Sec-WebSocket-Key": "" }],
    ["short (8 bytes)", { ...STD, "Sec-WebSocket-Key": randomBytes(8).toString("base64") }],
    ["long (20 bytes)", { ...STD, "Sec-WebSocket-Key": randomBytes(20).toString("base64") }],
    ["not base64", { ...STD, "Sec-WebSocket-Key": "this is not base64!!!!==" }],
  ];
  for (const [what, fields] of badKeys) {
    test(`10.2.x a ${what} Sec-WebSocket-Key: 400, not upgraded`, T, async () => {
      const ws = await RawWebSocket.open(port, "/echo", { rawHead: head(fields) });
      assert.equal(ws.status, 400, ws.handshake?.head);
      assert.equal(ws.header("sec-websocket-accept"), undefined);
    });
  }

  test("10.2.6 two Sec-WebSocket-Key fields: 400, not upgraded", T, async () => {
    const ws = await RawWebSocket.open(port, "/echo", {
      rawHead: `${head(STD)}\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
    });
    assert.equal(ws.status, 400, ws.handshake?.head);
  });

  test(
    "10.3.1 a Sec-WebSocket-Version other than 13: refused (4xx) with Sec-WebSocket-Version listing 13",
    T,
    async () => {
      for (const v of ["0", "7", "12", "14", "abc"]) {
        const ws = await RawWebSocket.open(port, "/echo", {
          rawHead: head({ ...STD, "Sec-WebSocket-Version": v }),
        });
        assert.ok(ws.status >= 400 && ws.status < 500, `version ${v}: ${ws.handshake?.head}`);
        assert.ok(
          (ws.header("sec-websocket-version") ?? "").split(/\s*,\s*/).includes("13"),
          `version ${v}: Sec-WebSocket-Version: ${ws.header("sec-websocket-version")}`,
        );
      }
    },
  );

  // (The `ws` library answered 400 with "Sec-WebSocket-Version: 13, 8" and accepted hybi-08's version 8.)
  test(
    "10.3.2 a Sec-WebSocket-Version other than 13 (8 too): 426 Upgrade Required with Sec-WebSocket-Version: 13",
    T,
    async () => {
      for (const v of ["12", "14", "8"]) {
        const ws = await RawWebSocket.open(port, "/echo", {
          rawHead: head({ ...STD, "Sec-WebSocket-Version": v }),
        });
        assert.equal(ws.status, 426, `version ${v}: ${ws.handshake?.head}`);
        assert.equal(ws.header("sec-websocket-version"), "13", `version ${v}`);
      }
    },
  );

  test("10.3.3 a missing Sec-WebSocket-Version: refused (4xx), not upgraded", T, async () => {
    const { "Sec-WebSocket-Version": _, ...fields } = STD;
    const ws = await RawWebSocket.open(port, "/echo", { rawHead: head(fields) });
    assert.ok(ws.status >= 400 && ws.status < 500, ws.handshake?.head);
  });

  test(
    "10.4.1 a POST with Upgrade: websocket is not a WebSocket handshake (4xx, not upgraded)",
    T,
    async () => {
      const ws = await RawWebSocket.open(port, "/echo", {
        rawHead: head({ ...STD, "Content-Length": "0" }, "POST /echo HTTP/1.1"),
      });
      assert.ok(ws.status >= 400 && ws.status < 500, ws.handshake?.head);
      assert.equal(ws.header("sec-websocket-accept"), undefined);
    },
  );

  test("10.4.2 a GET without Upgrade: websocket is not upgraded (the route answers 426)", T, async () => {
    const { Upgrade: _, ...fields } = STD;
    const ws = await RawWebSocket.open(port, "/echo", { rawHead: head({ ...fields, Connection: "close" }) });
    assert.equal(ws.status, 426, ws.handshake?.head);
  });

  test("10.4.3 an HTTP/1.0 upgrade request is not upgraded (§4.1: HTTP/1.1 or higher)", T, async () => {
    const ws = await RawWebSocket.open(port, "/echo", { rawHead: head(STD, "GET /echo HTTP/1.0") });
    assert.notEqual(ws.status, 101, ws.handshake?.head);
    assert.ok(ws.status >= 400 && ws.status < 500, ws.handshake?.head);
  });

  test("10.4.4 an upgrade request without Host: 400 (§4.2.1)", T, async () => {
    let h = "GET /echo HTTP/1.1";
    for (const [k, v] of Object.entries(STD)) h += `\r\n${k}: ${v}`;
    const ws = await RawWebSocket.open(port, "/echo", { rawHead: h });
    assert.equal(ws.status, 400, ws.handshake?.head);
  });

  test(
    "10.5.x subprotocols: the route's preferred one the client offers, none when none matches",
    T,
    async () => {
      const cases: [string | undefined, string | undefined][] = [
        ["chat.v1, chat.v2", "chat.v2"],
        ["chat.v2, chat.v1", "chat.v2"],
        ["chat.v1", "chat.v1"],
        ["other, chat.v1", "chat.v1"],
        ["other", undefined],
        [undefined, undefined],
      ];
      for (const [offer, chosen] of cases) {
        const ws = await open("/proto", {
          headers: offer === undefined ? {} : { "Sec-WebSocket-Protocol": offer },
        });
        assert.equal(ws.header("sec-websocket-protocol"), chosen, `offer ${offer}`);
        ws.send(OP.TEXT, "hi");
        assert.equal((await ws.nextMessage()).payload.toString(), "hi");
        await closeCleanly(ws);
      }
    },
  );

  test("10.6.1 frames pipelined in the same packet as the handshake are not lost", T, async () => {
    const frames = Buffer.concat([
      frame(OP.TEXT, "first"),
      frame(OP.PING, "p"),
      frame(OP.BINARY, Buffer.from([1, 2])),
    ]);
    const ws = await open("/echo", { after: frames });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const f = await ws.nextFrame(`frame ${i}`);
      got.push(`${f.opcode}:${f.payload.toString("hex")}`);
    }
    // the pong may overtake the echo (control frames may be sent between messages at any time)
    assert.deepEqual(got.sort(), [`1:${Buffer.from("first").toString("hex")}`, "10:70", "2:0102"].sort());
    await closeCleanly(ws);
  });
});

test("10.6.2 a handshake written one byte per write, with a frame cut in two after it", T, async () => {
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  const { Socket } = await import("node:net");
  const sock = new Socket();
  sock.setNoDelay(true);
  let got = Buffer.alloc(0);
  sock.on("data", (d: Buffer) => {
    got = Buffer.concat([got, d]);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.connect(port, "127.0.0.1", resolve);
    });
    const request = Buffer.from(`${head(STD)}\r\n\r\n`, "latin1");
    for (const b of request) {
      await new Promise<void>((resolve) => sock.write(Buffer.from([b]), () => resolve()));
      await new Promise((r) => setImmediate(r));
    }
    const f = frame(OP.TEXT, "after a slow handshake");
    sock.write(f.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 20));
    sock.write(f.subarray(3));
    const deadline = Date.now() + 3000;
    const expectEnd = Buffer.from([0x81, 22, ...Buffer.from("after a slow handshake")]);
    while (got.indexOf(expectEnd) === -1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const text = got.toString("latin1");
    assert.match(text, /^HTTP\/1\.1 101 /);
    const accept = text
      .slice(0, text.indexOf("\r\n\r\n"))
      .split("\r\n")
      .find((l) => l.toLowerCase().startsWith("sec-websocket-accept:"));
    assert.equal(accept?.slice(accept.indexOf(":") + 1).trim(), acceptFor(key));
    assert.ok(got.indexOf(expectEnd) !== -1, "the echo of the frame that followed the handshake");
  } finally {
    sock.destroy();
  }
});

// ---- permessage-deflate ----

interface Ext {
  name: string;
  params: Map<string, string | true>;
}

/** Parses Sec-WebSocket-Extensions (RFC 6455 §9.1): extensions by ",", params by ";", values maybe quoted. */
function parseExtensions(value: string | undefined): Ext[] {
  if (value === undefined || value.trim() === "") return [];
  return value.split(",").map((e) => {
    const [name, ...params] = e.split(";").map((s) => s.trim());
    const m = new Map<string, string | true>();
    for (const p of params) {
      const i = p.indexOf("=");
      if (i === -1) m.set(p, true);
      else
        m.set(
          p.slice(0, i).trim(),
          p
            .slice(i + 1)
            .trim()
            .replace(/^"(.*)"$/, "$1"),
        );
    }
    return { name: name!, params: m };
  });
}

/** Checks an accepted permessage-deflate answer against RFC 7692 §7.1 and the offer it answers. */
function checkAnswer(offer: string, answer: Ext): void {
  const offered = parseExtensions(offer)[0]!.params;
  assert.equal(answer.name, "permessage-deflate");
  for (const [k, v] of answer.params) {
    switch (k) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        assert.equal(v, true, `${k} takes no value`);
        break;
      case "server_max_window_bits": {
        assert.match(String(v), /^(8|9|1[0-5])$/, `${k}=${v}`);
        const asked = offered.get(k);
        if (typeof asked === "string")
          assert.ok(Number(v) <= Number(asked), `${k}=${v} > the offered ${asked}`);
        break;
      }
      case "client_max_window_bits": {
        // §7.1.2.2: only when the client offered it, with a value no larger than offered
        assert.ok(offered.has(k), "client_max_window_bits answered without being offered");
        assert.match(String(v), /^(8|9|1[0-5])$/, `${k}=${v}`);
        const asked = offered.get(k);
        if (typeof asked === "string") assert.ok(Number(v) <= Number(asked));
        break;
      }
      default:
        assert.fail(`unknown parameter ${k} in the answer`);
    }
  }
  // §7.1.1.1: an offered server_no_context_takeover is accepted only by echoing it;
  // §7.1.2.1: an offered server_max_window_bits only by answering one.
  if (offered.has("server_no_context_takeover")) assert.ok(answer.params.has("server_no_context_takeover"));
  if (offered.has("server_max_window_bits")) assert.ok(answer.params.has("server_max_window_bits"));
}

/** A client-side compressor: one raw deflate stream (context takeover) or a fresh one per message. */
class Compressor {
  private stream: DeflateRaw | undefined;
  constructor(private readonly takeover: boolean) {}

  async compress(data: Buffer): Promise<Buffer> {
    let out: Buffer;
    if (!this.takeover) {
      out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
    } else {
      this.stream ??= createDeflateRaw();
      const s = this.stream;
      const chunks: Buffer[] = [];
      const onData = (c: Buffer): number => chunks.push(c);
      s.on("data", onData);
      s.write(data);
      await new Promise<void>((resolve) => s.flush(constants.Z_SYNC_FLUSH, () => resolve()));
      s.off("data", onData);
      out = Buffer.concat(chunks);
    }
    // RFC 7692 §7.2.1: remove the 00 00 ff ff that ends a sync flush
    assert.ok(out.subarray(-4).equals(TAIL));
    return out.subarray(0, -4);
  }

  close(): void {
    this.stream?.close();
  }
}

/** A client-side decompressor for the server's messages, keeping the window between them when asked. */
class Decompressor {
  private history: Buffer[] = [];
  private produced = 0;
  constructor(
    private readonly takeover: boolean,
    private readonly windowBits = 15,
  ) {}

  inflate(payload: Buffer): Buffer {
    const opts = { finishFlush: constants.Z_SYNC_FLUSH, windowBits: this.windowBits };
    if (!this.takeover) return inflateRawSync(Buffer.concat([payload, TAIL]), opts);
    // The window carries over: inflate the whole stream so far and keep the new tail.
    this.history.push(payload, TAIL);
    const all = inflateRawSync(Buffer.concat(this.history), opts);
    const out = all.subarray(this.produced);
    this.produced = all.length;
    return out;
  }
}

async function openDeflate(offer: string): Promise<RawWebSocket> {
  const ws = await open("/deflate", { headers: { "Sec-WebSocket-Extensions": offer } });
  const exts = parseExtensions(ws.header("sec-websocket-extensions"));
  assert.equal(
    exts.length,
    1,
    `one extension accepted for ${offer}: ${ws.header("sec-websocket-extensions")}`,
  );
  checkAnswer(offer, exts[0]!);
  return ws;
}

/** A text that compresses (a 2000-byte pseudo-random block, repeated) but only by reaching 2000 bytes back. */
function compressible(size: number, seed = "x"): Buffer {
  const block = Buffer.alloc(2000);
  let x = seed.charCodeAt(0);
  for (let i = 0; i < block.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0; // an LCG: no short repeats for deflate to find
    block[i] = 97 + ((x >>> 16) % 26);
  }
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += block.length) block.copy(out, i);
  return out;
}

/** The next message, inflated when the server compressed it (RSV1 on its first frame). */
async function nextPlain(ws: RawWebSocket, d: Decompressor): Promise<{ opcode: number; data: Buffer }> {
  const m = await ws.nextMessage();
  return { opcode: m.opcode, data: m.compressed ? d.inflate(m.payload) : m.payload };
}

describe("11 permessage-deflate (RFC 7692)", () => {
  const offers = [
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate; client_max_window_bits=12",
    "permessage-deflate; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10",
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9",
    'permessage-deflate; server_max_window_bits="10"',
    "x-unknown-extension, permessage-deflate",
  ];
  for (const offer of offers) {
    test(`11.1.x the 101 answers "${offer}" with a valid permessage-deflate`, T, async () => {
      const ws = await openDeflate(offer);
      ws.send(OP.TEXT, "plain, uncompressed"); // RSV1 unset: allowed on a deflate connection
      // the server may compress its echo, even a short one
      assert.equal((await nextPlain(ws, new Decompressor(true))).data.toString(), "plain, uncompressed");
      await closeCleanly(ws);
    });
  }

  test("11.1.x a route without perMessageDeflate accepts no extension", T, async () => {
    const ws = await open("/echo", { headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } });
    assert.equal(ws.header("sec-websocket-extensions"), undefined);
    await closeCleanly(ws);
  });

  const invalid = [
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=abc",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=11",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; foo=bar",
  ];
  for (const offer of invalid) {
    test(`11.2.x an invalid offer "${offer}" is declined: a 101 without the extension`, T, async () => {
      // RFC 7692 §5 and §7.1: a server MUST decline an offer with an unknown, duplicated or out-of-range
      // parameter: it answers without the extension and the connection goes on uncompressed (every client
      // handles that). Failing the whole handshake with a 400, as the `ws` library did, leaves the user
      // with no connection at all for a parameter that only tunes compression.
      const ws = await RawWebSocket.open(port, "/deflate", {
        headers: { "Sec-WebSocket-Extensions": offer },
      });
      assert.equal(ws.status, 101, ws.handshake?.head);
      assert.equal(parseExtensions(ws.header("sec-websocket-extensions")).length, 0, ws.handshake?.head);
      ws.send(OP.TEXT, "uncompressed");
      const m = await ws.nextMessage();
      assert.deepEqual([m.compressed, m.payload.toString()], [false, "uncompressed"]);
      await closeCleanly(ws);
    });
  }

  // (The `ws` library failed the whole handshake with 400 when any offer was invalid.)
  test(
    "11.2.x an invalid offer followed by a valid one: the valid one is accepted (RFC 7692 §5, RFC 6455 §9.1)",
    T,
    async () => {
      const offer = "permessage-deflate; server_max_window_bits=7, permessage-deflate";
      const ws = await RawWebSocket.open(port, "/deflate", {
        headers: { "Sec-WebSocket-Extensions": offer },
      });
      assert.equal(ws.status, 101, ws.handshake?.head);
      const exts = parseExtensions(ws.header("sec-websocket-extensions"));
      assert.equal(exts.length, 1);
      assert.equal(exts[0]!.params.size, 0);
      await closeCleanly(ws);
    },
  );

  test(
    "11.3.x compressed messages with context takeover are echoed (compressed) and inflate to the same text",
    T,
    async () => {
      const ws = await openDeflate("permessage-deflate");
      const c = new Compressor(true);
      const d = new Decompressor(true);
      try {
        for (const msg of [
          Buffer.from("Hello"),
          compressible(10_000, "a"),
          compressible(10_000, "a"), // almost nothing but back-references into the previous message
          Buffer.from("κόσμε 😀 ".repeat(300)),
        ]) {
          ws.send(OP.TEXT, await c.compress(msg), { rsv: RSV1 });
          const got = await nextPlain(ws, d);
          assert.equal(got.opcode, OP.TEXT);
          assert.ok(got.data.equals(msg), `echo of ${msg.length} bytes`);
        }
        const bin = randomBytes(5000);
        ws.send(OP.BINARY, await c.compress(bin), { rsv: RSV1 });
        const got = await nextPlain(ws, d);
        assert.equal(got.opcode, OP.BINARY);
        assert.ok(got.data.equals(bin));
      } finally {
        c.close();
      }
      await closeCleanly(ws);
    },
  );

  test("11.3.x no context takeover both ways: every message inflates on its own", T, async () => {
    const ws = await openDeflate(
      "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
    );
    const c = new Compressor(false);
    const d = new Decompressor(false); // would fail on a back-reference into an earlier message
    let compressed = 0;
    for (let i = 0; i < 4; i++) {
      const msg = compressible(8_000, "q");
      ws.send(OP.TEXT, await c.compress(msg), { rsv: RSV1 });
      const m = await ws.nextMessage();
      if (m.compressed) compressed++;
      const data = m.compressed ? d.inflate(m.payload) : m.payload;
      assert.ok(data.equals(msg), `message ${i}`);
    }
    assert.ok(compressed > 0, "the server compressed its 8 kB echoes (else this case checks nothing)");
    await closeCleanly(ws);
  });

  test("11.3.x server_max_window_bits=10: the server's messages inflate with a 1 KiB window", T, async () => {
    const ws = await openDeflate("permessage-deflate; server_max_window_bits=10");
    const c = new Compressor(true);
    const d = new Decompressor(true, 10); // zlib refuses distances beyond the window ("too far back")
    let compressed = 0;
    try {
      for (let i = 0; i < 3; i++) {
        const msg = compressible(20_000, "w"); // repeats 2000 bytes apart: farther than 1 KiB
        ws.send(OP.TEXT, await c.compress(msg), { rsv: RSV1 });
        const m = await ws.nextMessage();
        if (m.compressed) compressed++;
        const data = m.compressed ? d.inflate(m.payload) : m.payload;
        assert.ok(data.equals(msg), `message ${i}`);
      }
    } finally {
      c.close();
    }
    assert.ok(compressed > 0, "the server compressed its 20 kB echoes (else this case checks nothing)");
    await closeCleanly(ws);
  });

  test(
    "11.3.x (Autobahn 12.x) compressed messages of 16 B to 128 KiB, 5 of each, with context takeover",
    T,
    async () => {
      const ws = await openDeflate("permessage-deflate");
      const c = new Compressor(true);
      const d = new Decompressor(true);
      try {
        for (const size of [16, 64, 256, 1024, 4096, 8192, 16384, 65536, 131072]) {
          for (let i = 0; i < 5; i++) {
            const msg = compressible(size, String.fromCharCode(97 + i));
            ws.send(OP.TEXT, await c.compress(msg), { rsv: RSV1 });
            const got = await nextPlain(ws, d);
            assert.ok(got.data.equals(msg), `message ${i} of ${size} bytes`);
          }
        }
      } finally {
        c.close();
      }
      await closeCleanly(ws);
    },
  );

  test("11.4.x a fragmented compressed message (RSV1 on the first frame only) is echoed", T, async () => {
    const ws = await openDeflate("permessage-deflate; client_no_context_takeover");
    const msg = compressible(30_000, "f");
    const z = await new Compressor(false).compress(msg);
    const third = Math.ceil(z.length / 3);
    ws.send(OP.TEXT, z.subarray(0, third), { rsv: RSV1, fin: false });
    ws.send(OP.PING, "between");
    ws.send(OP.CONT, z.subarray(third, 2 * third), { fin: false });
    ws.send(OP.CONT, z.subarray(2 * third));
    const pong = await ws.nextFrame("the pong");
    assert.equal(pong.opcode, OP.PONG);
    const got = await nextPlain(ws, new Decompressor(true));
    assert.ok(got.data.equals(msg));
    await closeCleanly(ws);
  });

  test(
    "11.3.x an empty compressed message (RSV1, empty payload or an empty deflate block) echoes as empty",
    T,
    async () => {
      const ws = await openDeflate("permessage-deflate; client_no_context_takeover");
      const d = new Decompressor(true);
      for (const payload of [Buffer.alloc(0), await new Compressor(false).compress(Buffer.alloc(0))]) {
        ws.send(OP.TEXT, payload, { rsv: RSV1 });
        const got = await nextPlain(ws, d);
        assert.deepEqual([got.opcode, got.data.length], [OP.TEXT, 0], `payload ${payload.toString("hex")}`);
      }
      await closeCleanly(ws);
    },
  );

  test(
    "11.5.x RSV1 on a route that offers deflate, when the client did not negotiate it: close 1002",
    T,
    async () => {
      const ws = await open("/deflate"); // no Sec-WebSocket-Extensions offered
      assert.equal(ws.header("sec-websocket-extensions"), undefined);
      ws.send(OP.TEXT, await new Compressor(false).compress(Buffer.from("compressed")), { rsv: RSV1 });
      assert.equal((await ws.closeAndEnd()).code, 1002);
    },
  );

  test("11.5.x RSV1 on a continuation frame: close 1002", T, async () => {
    const ws = await openDeflate("permessage-deflate; client_no_context_takeover");
    const z = await new Compressor(false).compress(Buffer.from("a fragmented compressed message"));
    ws.send(OP.TEXT, z.subarray(0, 5), { rsv: RSV1, fin: false });
    ws.send(OP.CONT, z.subarray(5), { rsv: RSV1 });
    const { code } = await ws.closeAndEnd();
    assert.equal(code, 1002);
  });

  test("11.5.x RSV1 on a control frame (ping, close): close 1002", T, async () => {
    for (const opcode of [OP.PING, OP.CLOSE]) {
      const ws = await openDeflate("permessage-deflate");
      ws.send(opcode, opcode === OP.CLOSE ? closePayload(1000) : "compressed?", { rsv: RSV1 });
      const { code } = await ws.closeAndEnd();
      assert.equal(code, 1002, `RSV1 on opcode ${opcode}`);
    }
  });

  test("11.6.x data that is not valid deflate: the connection is failed (1007 or 1002)", T, async () => {
    const ws = await openDeflate("permessage-deflate");
    ws.send(OP.TEXT, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x12]), { rsv: RSV1 });
    const { code } = await ws.closeAndEnd();
    assert.ok(code === 1007 || code === 1002, `close ${code}`);
  });

  test(
    `11.7.x a message inflating to exactly maxMessageSize (${DEFLATE_MAX}) passes; one byte more: 1009`,
    T,
    async () => {
      const ok = await openDeflate("permessage-deflate; client_no_context_takeover");
      const msg = compressible(DEFLATE_MAX, "m");
      ok.send(OP.TEXT, await new Compressor(false).compress(msg), { rsv: RSV1 });
      const got = await nextPlain(ok, new Decompressor(true));
      assert.equal(got.data.length, DEFLATE_MAX);
      await closeCleanly(ok);
      const over = await openDeflate("permessage-deflate; client_no_context_takeover");
      over.send(OP.TEXT, await new Compressor(false).compress(compressible(DEFLATE_MAX + 1, "m")), {
        rsv: RSV1,
      });
      assert.equal((await over.closeAndEnd()).code, 1009);
    },
  );

  test(
    "11.7.x a deflate bomb (32 MiB of zeros in 32 kB): close 1009 without inflating it all",
    T,
    async () => {
      const bomb = deflateRawSync(Buffer.alloc(32 << 20), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
      assert.ok(bomb.length < DEFLATE_MAX, "the compressed frame itself is under the limit");
      const mem = process.memoryUsage();
      const ws = await openDeflate("permessage-deflate");
      ws.send(OP.BINARY, bomb.subarray(0, -4), { rsv: RSV1 });
      assert.equal((await ws.closeAndEnd()).code, 1009);
      const now = process.memoryUsage();
      const grew = (now.arrayBuffers - mem.arrayBuffers) / 2 ** 20;
      assert.ok(grew < 16, `buffers grew by ${grew.toFixed(1)} MiB while the bomb inflates to 32 MiB`);
      // and the server still serves
      const next = await openDeflate("permessage-deflate");
      next.send(OP.TEXT, "still here");
      assert.equal((await nextPlain(next, new Decompressor(true))).data.toString(), "still here");
      await closeCleanly(next);
    },
  );
});
