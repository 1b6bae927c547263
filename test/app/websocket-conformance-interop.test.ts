// WebSocket conformance, part 3: independent clients against a real Phial app (case 12.x): the `ws` npm
// client with and without permessage-deflate and its window/context variations, Debian's
// python3-websockets (its own framing and its own zlib use). (Debian 12's curl 7.88 has no ws:// support.)
// Each sends text and binary messages of several sizes, checks the echoes and closes with 1000.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { makeApp } from "./helpers.ts";
import { echo, serveApp } from "./ws-wire.ts";

const T = { timeout: 10_000 };
const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 300_000];

let port = 0;
let stop: (() => Promise<void>) | undefined;

before(async () => {
  const { app } = makeApp();
  app.websocket("/echo", { endpoint: "echo", pingInterval: 0 }, echo);
  app.websocket("/deflate", { endpoint: "deflate", pingInterval: 0, perMessageDeflate: true }, echo);
  ({ port, stop } = await serveApp(app, 500));
});
after(async () => {
  await stop?.();
});

/** Text that mixes multi-byte characters and compresses somewhat; `size` code points. */
function textOf(size: number): string {
  return [..."κόσμε-😀-ascii ".repeat(Math.ceil(size / 15) + 1)].slice(0, size).join("");
}

function bytesOf(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

describe("12.1 the ws npm client", () => {
  const variants: [string, string, ConstructorParameters<typeof WebSocket>[2], RegExp | undefined][] = [
    ["no compression", "/echo", { perMessageDeflate: false }, undefined],
    ["offers deflate to a route without it", "/echo", { perMessageDeflate: true }, undefined],
    ["permessage-deflate", "/deflate", { perMessageDeflate: true }, /^permessage-deflate/],
    [
      "clientMaxWindowBits: 10",
      "/deflate",
      { perMessageDeflate: { clientMaxWindowBits: 10 } },
      /^permessage-deflate(;|$)/,
    ],
    [
      "serverNoContextTakeover",
      "/deflate",
      { perMessageDeflate: { serverNoContextTakeover: true } },
      /server_no_context_takeover/,
    ],
    [
      "clientNoContextTakeover + serverMaxWindowBits: 9",
      "/deflate",
      { perMessageDeflate: { clientNoContextTakeover: true, serverMaxWindowBits: 9, threshold: 0 } },
      /server_max_window_bits=9/,
    ],
  ];
  for (const [name, path, options, ext] of variants) {
    test(`12.1.x ${name}: text and binary of ${SIZES.length} sizes echoed, close 1000`, T, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, options);
      let answered = "";
      ws.once("upgrade", (res) => {
        answered = String(res.headers["sec-websocket-extensions"] ?? "");
      });
      const got: [Buffer, boolean][] = [];
      let wake: (() => void) | undefined;
      ws.on("message", (d, isBinary) => {
        got.push([d as Buffer, isBinary]);
        wake?.();
      });
      await once(ws, "open");
      try {
        if (ext === undefined) assert.equal(answered, "");
        else assert.match(answered, ext);
        for (const size of SIZES) {
          for (const binary of [false, true]) {
            const sent = binary ? bytesOf(size) : textOf(size);
            ws.send(sent);
            while (got.length === 0) await new Promise<void>((r) => (wake = r));
            const [data, isBinary] = got.shift()!;
            assert.equal(isBinary, binary, `size ${size}: the echo keeps the message type`);
            if (binary) assert.ok(data.equals(sent as Buffer), `binary ${size}`);
            else assert.equal(data.toString(), sent, `text ${size}`);
          }
        }
        ws.close(1000, "done");
        const [code] = (await once(ws, "close")) as [number];
        assert.equal(code, 1000);
      } finally {
        ws.terminate();
      }
    });
  }
});

// ---- python3-websockets ----

const PY_CLIENT = `
import asyncio, json, sys
import websockets

async def main(uri, compression):
    sizes = [int(s) for s in sys.argv[3].split(",")]
    async with websockets.connect(uri, compression=compression, max_size=2**22) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions")
        count = 0
        for size in sizes:
            text = ("κόσμε-😀-ascii " * (size // 15 + 2))[:size]
            await ws.send(text)
            got = await ws.recv()
            assert isinstance(got, str), "text %d came back as %r" % (size, type(got))
            assert got == text, "text %d differs" % size
            data = bytes(((i * 31 + (i >> 8)) & 0xFF) for i in range(size))
            await ws.send(data)
            got = await ws.recv()
            assert isinstance(got, bytes), "binary %d came back as %r" % (size, type(got))
            assert got == data, "binary %d differs" % size
            count += 2
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 3)
        await ws.close(1000, "done")
    print(json.dumps({"extensions": ext, "close_code": ws.close_code, "messages": count}))

asyncio.run(asyncio.wait_for(main(sys.argv[1], None if sys.argv[2] == "none" else sys.argv[2]), 8))
`;

/** A python3 that has the websockets package (Debian's is /usr/bin/python3; PATH may hold another). */
function findPython(): string | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(py, ["-c", "import websockets"], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return undefined;
}

async function runPython(py: string, path: string, compression: string): Promise<Record<string, unknown>> {
  const child = spawn(py, ["-c", PY_CLIENT, `ws://127.0.0.1:${port}${path}`, compression, SIZES.join(",")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  const timer = setTimeout(() => child.kill(), 9000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  assert.equal(code, 0, `python3-websockets client failed (exit ${code}):\n${err}${out}`);
  return JSON.parse(out.trim().split("\n").pop()!) as Record<string, unknown>;
}

describe("12.2 python3-websockets", () => {
  const py = findPython();
  const skip =
    py === undefined ? "python3-websockets is not installed (apt-get install python3-websockets)" : false;
  test("12.2.1 without compression: text and binary echoed, ping answered, close 1000", {
    ...T,
    skip,
  }, async () => {
    const r = await runPython(py!, "/echo", "none");
    assert.deepEqual(r, { extensions: null, close_code: 1000, messages: SIZES.length * 2 });
  });

  test("12.2.2 with permessage-deflate: negotiated, echoes inflate, close 1000", { ...T, skip }, async () => {
    const r = await runPython(py!, "/deflate", "deflate");
    assert.match(String(r.extensions), /^permessage-deflate/);
    assert.equal(r.close_code, 1000);
    assert.equal(r.messages, SIZES.length * 2);
  });

  test("12.2.3 offering permessage-deflate to a route without it: declined, echoes plain", {
    ...T,
    skip,
  }, async () => {
    const r = await runPython(py!, "/echo", "deflate");
    assert.deepEqual(r, { extensions: null, close_code: 1000, messages: SIZES.length * 2 });
  });
});
