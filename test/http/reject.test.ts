// Malformed and oversized requests against a real server on 127.0.0.1: the exact status line, the
// connection closed afterwards, and the server still serving the next connection.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  createServer,
  type IncomingRequest,
  type Server,
  type ServerResponse,
} from "../../src/http/index.ts";
import { feed } from "./_util.ts";

interface Exchange {
  /** Everything the server sent, as latin1. */
  text: string;
  /** The server ended the connection cleanly (FIN, not a reset). `exchange` resolves only once closed. */
  fin: boolean;
}

/** Sends `chunks` (one write each) and reads until the server closes the connection. */
function exchange(port: number, chunks: readonly (string | Buffer)[], timeoutMs = 5000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    let ended = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new Error(
          `no close within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(got).toString("latin1"))}`,
        ),
      );
    }, timeoutMs);
    sock.on("connect", () => {
      for (const c of chunks) sock.write(typeof c === "string" ? Buffer.from(c, "latin1") : c);
    });
    sock.on("data", (d) => got.push(d));
    sock.on("end", () => {
      ended = true;
      sock.end();
    });
    sock.on("error", () => {
      // A reset after the server's answer still counts as closed; what was read is checked below.
    });
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(got).toString("latin1"), fin: ended });
    });
  });
}

/** The status lines of the responses in `text`, read with our own parser in response mode. */
function statusLines(text: string): string[] {
  const o = feed("response", [Buffer.from(text, "latin1")], { finish: true });
  const out = o.messages.map((m) => `HTTP/1.${m.head.versionMinor} ${m.head.status} ${m.head.statusText}`);
  if (o.error !== undefined) out.push(`(unparsable: ${o.error.message})`);
  return out;
}

let server: Server;
let port: number;
const handlerErrors: unknown[] = [];

async function handler(req: IncomingRequest, res: ServerResponse): Promise<void> {
  const body = await req.body();
  res.setHeader("Content-Type", "text/plain");
  res.end(`${req.method} ${req.url} ${body.length}`);
}

before(async () => {
  server = createServer(handler, {
    maxBodyBytes: 1024 * 1024,
    lingerTimeout: 200,
    onError: (e) => handlerErrors.push(e),
  });
  port = (await server.listen(0, "127.0.0.1")).port;
});

after(async () => {
  await server.close({ deadline: 1000 });
});

/** A normal request on a fresh connection is answered: the server survived the previous one. */
async function stillServes(): Promise<void> {
  const r = await exchange(port, ["GET /alive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]);
  assert.equal(statusLines(r.text)[0], "HTTP/1.1 200 OK");
  assert.ok(r.text.endsWith("GET /alive 0"), r.text);
}

async function expectRejected(input: string | Buffer, status: string): Promise<Exchange> {
  const r = await exchange(port, [input]);
  const lines = statusLines(r.text);
  assert.equal(
    lines[0],
    `HTTP/1.1 ${status}`,
    `for ${JSON.stringify(input.toString().slice(0, 120))}: ${r.text}`,
  );
  assert.equal(lines.length, 1, `exactly one response: ${r.text}`);
  assert.match(r.text, /\r\nConnection: close\r\n/);
  assert.ok(r.fin, "the server closed the connection cleanly after its answer");
  await stillServes();
  return r;
}

const H = "Host: example.com\r\n";

describe("real sockets: malformed requests get 400 and a close", () => {
  const cases: [string, string][] = [
    [
      "Content-Length with Transfer-Encoding",
      `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ],
    [
      "differing Content-Length",
      `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
    ],
    ["malformed Content-Length", `POST / HTTP/1.1\r\n${H}Content-Length: 5x\r\n\r\nhello`],
    ["negative Content-Length", `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`],
    ["unknown transfer coding", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`],
    ["chunked not last", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`],
    ["bad chunk size", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n`],
    [
      "chunk size overflow",
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n`,
    ],
    ["bare LF", `GET / HTTP/1.1\n${H}\r\n`],
    ["bare LF in fields", `GET / HTTP/1.1\r\n${H}X: y\n\r\n`],
    ["bare CR", `GET / HTTP/1.1\r\n${H}X: y\rZ: 1\r\n\r\n`],
    ["obs-fold", `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`],
    ["whitespace before colon", `GET / HTTP/1.1\r\n${H}Content-Length : 0\r\n\r\n`],
    ["NUL in a value", `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`],
    ["CTL in a value", `GET / HTTP/1.1\r\n${H}X: a\x1bb\r\n\r\n`],
    ["missing Host on 1.1", "GET / HTTP/1.1\r\n\r\n"],
    ["repeated Host", `GET / HTTP/1.1\r\n${H}${H}\r\n`],
    ["malformed Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"],
    ["RTSP", `OPTIONS * RTSP/1.0\r\n${H}\r\n`],
    ["ICE", `SOURCE /music ICE/1.0\r\n${H}\r\n`],
    ["HTTP/0.9", "GET /\r\n\r\n"],
    ["HTTP/2.0 in HTTP/1 syntax", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
    ["invalid method", `G(ET / HTTP/1.1\r\n${H}\r\n`],
    ["target with a control", `GET /a\x01b HTTP/1.1\r\n${H}\r\n`],
  ];
  for (const [name, input] of cases) {
    test(name, async () => {
      const r = await expectRejected(input, "400 Bad Request");
      assert.match(r.text, /\r\n\r\n400 Bad Request: \S/, "the body says what was wrong");
    });
  }
});

describe("real sockets: limits and versions", () => {
  test("a well-formed but unsupported transfer coding → 501 (RFC 9112 §6.1), then a close", async () => {
    const r = await expectRejected(
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
      "501 Not Implemented",
    );
    assert.match(r.text, /\r\n\r\n501 Not Implemented: Transfer-Encoding "gzip, chunked" is not supported/);
  });

  test("too long request line → 414", async () => {
    await expectRejected(`GET /${"a".repeat(9000)} HTTP/1.1\r\n${H}\r\n`, "414 URI Too Long");
  });

  test("request line over the limit is refused before it ends", async () => {
    // No CRLF at all: the 414 must come without waiting for the line (or a timeout).
    await expectRejected(`GET /${"a".repeat(9000)}`, "414 URI Too Long");
  });

  test("bytes no request line may hold are refused as they arrive, without waiting for a line end", async () => {
    // 4 KiB of NULs used to hold the connection for the whole head timeout (20 s here) before a 408.
    const t0 = Date.now();
    const r = await expectRejected(Buffer.alloc(4096), "400 Bad Request");
    assert.match(r.text, /method/);
    // A control in the target, a non-token method byte, a CR not followed by LF: each without its CRLF.
    await expectRejected("GET /a\u0001b", "400 Bad Request");
    await expectRejected("G(ET / HTTP/1.1", "400 Bad Request");
    await expectRejected(" GET / HTTP/1.1", "400 Bad Request");
    await expectRejected("GET / HTTP/1.1\rHost: x", "400 Bad Request");
    await expectRejected(Buffer.from("GET /\xff", "latin1"), "400 Bad Request");
    assert.ok(Date.now() - t0 < 4000, `refused at once, not at a timeout (${Date.now() - t0} ms)`);
  });

  test("a valid request line that has not ended yet is waited for", async () => {
    const sock = connect(port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    const got: Buffer[] = [];
    sock.on("data", (d) => got.push(d));
    for (const part of ["GE", "T /pa", "th?q=1 HT", "TP/1.", "1\r", "\nHost: x\r\n\r\n"]) {
      sock.write(part);
      await new Promise((r) => setTimeout(r, 20));
    }
    while (!Buffer.concat(got).toString("latin1").includes("GET /path?q=1 0")) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.match(Buffer.concat(got).toString("latin1"), /^HTTP\/1\.1 200 OK/);
    sock.destroy();
  });

  test("header section over 16 KiB → 431", async () => {
    await expectRejected(
      `GET / HTTP/1.1\r\n${H}X: ${"a".repeat(17000)}\r\n\r\n`,
      "431 Request Header Fields Too Large",
    );
  });

  test("more than 100 header fields → 431", async () => {
    let fields = "";
    for (let i = 0; i < 101; i++) fields += `X-${i}: v\r\n`;
    await expectRejected(`GET / HTTP/1.1\r\n${H}${fields}\r\n`, "431 Request Header Fields Too Large");
  });

  test("HTTP/3.0 → 505", async () => {
    await expectRejected(`GET / HTTP/3.0\r\n${H}\r\n`, "505 HTTP Version Not Supported");
  });

  test("HTTP/1.2 is answered as HTTP/1.1 (RFC 9112 §2.3), on a kept-alive connection", async () => {
    const r = await exchange(port, [
      `GET /a HTTP/1.2\r\n${H}\r\nPOST /b HTTP/1.9\r\n${H}Content-Length: 2\r\nConnection: close\r\n\r\nhi`,
    ]);
    assert.deepEqual(statusLines(r.text), ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
    assert.ok(r.text.startsWith("HTTP/1.1 200 OK\r\n"), "the response says HTTP/1.1");
    assert.doesNotMatch(r.text, /HTTP\/1\.[2-9]/);
    assert.match(r.text, /GET \/a 0/);
    assert.match(r.text, /POST \/b 2$/);
  });

  test("an unsupported expectation → 417", async () => {
    const r = await exchange(port, [`POST / HTTP/1.1\r\n${H}Expect: teapot\r\nContent-Length: 3\r\n\r\nabc`]);
    assert.equal(statusLines(r.text)[0], "HTTP/1.1 417 Expectation Failed");
    assert.match(r.text, /\r\nConnection: close\r\n/);
    await stillServes();
  });

  test("chunked body over the limit → 413 at the chunk size that overflows", async () => {
    await expectRejected(
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n200000\r\n`,
      "413 Content Too Large",
    );
  });
});

describe("real sockets: 413 comes without the server reading the body", () => {
  test("Content-Length of 10 GB with maxBodyBytes 1 MiB: 413 while the client has sent only a little", {
    timeout: 5000,
  }, async () => {
    const sock: Socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve) => sock.on("connect", resolve));
    sock.on("error", () => {});
    let got = "";
    let ended = false;
    const answered = new Promise<void>((resolve) => {
      sock.on("data", (d) => {
        got += d.toString("latin1");
        if (got.includes("\r\n\r\n")) resolve();
      });
    });
    const closed = new Promise<void>((resolve) => {
      sock.on("end", () => {
        ended = true;
        resolve();
      });
      sock.on("close", () => resolve());
    });
    sock.write(`PUT /upload HTTP/1.1\r\n${H}Content-Length: 10000000000\r\n\r\n`);
    const piece = Buffer.alloc(16 * 1024, 0x61);
    let sent = 0;
    // Send a few pieces; the answer must not wait for the rest of the 10 GB.
    for (let i = 0; i < 4; i++) {
      sock.write(piece);
      sent += piece.length;
    }
    await answered;
    assert.ok(got.startsWith("HTTP/1.1 413 Content Too Large\r\n"), got);
    assert.match(got, /\r\nConnection: close\r\n/);
    assert.equal(sent, 64 * 1024);
    await closed;
    assert.ok(ended, "the server closed the connection");
    sock.destroy();
    await stillServes();
  });
});

describe("real sockets: a valid request followed by bad bytes in the same write", () => {
  test("the valid request is answered first, then 400 and close", async () => {
    const r = await exchange(port, [`GET /first HTTP/1.1\r\n${H}\r\n\x00\x01garbage\r\n\r\n`]);
    assert.deepEqual(statusLines(r.text), ["HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request"]);
    assert.ok(r.text.indexOf("GET /first 0") < r.text.indexOf("HTTP/1.1 400"), r.text);
    assert.ok(r.fin);
    await stillServes();
  });

  test("a request with a body, then a smuggling attempt: 200 for the first, 400 for the second", async () => {
    const r = await exchange(port, [
      `POST /a HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello` +
        `POST /b HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ]);
    assert.deepEqual(statusLines(r.text), ["HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request"]);
    assert.match(r.text, /POST \/a 5/);
    assert.doesNotMatch(r.text, /POST \/b/);
  });

  test("several valid pipelined requests then garbage: all answered in order, then 400", async () => {
    const r = await exchange(port, [
      `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\nPOST /3 HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nhiBAD\r\n\r\n`,
    ]);
    assert.deepEqual(statusLines(r.text), [
      "HTTP/1.1 200 OK",
      "HTTP/1.1 200 OK",
      "HTTP/1.1 200 OK",
      "HTTP/1.1 400 Bad Request",
    ]);
    const order = ["GET /1 0", "GET /2 0", "POST /3 2"].map((s) => r.text.indexOf(s));
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
    );
    assert.ok(order[0]! >= 0);
  });

  test("bytes after a Connection: close request are never parsed", async () => {
    const r = await exchange(port, [
      `GET /last HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n`,
    ]);
    assert.deepEqual(statusLines(r.text), ["HTTP/1.1 200 OK"]);
    assert.doesNotMatch(r.text, /never/);
  });
});

/** Writes `input` one byte per write (each waiting for the previous), then reads until the close. */
async function bytewiseExchange(input: string): Promise<string> {
  const sock = connect(port, "127.0.0.1");
  sock.on("error", () => {});
  await new Promise<void>((resolve) => sock.on("connect", resolve));
  let got = "";
  sock.on("data", (d) => {
    got += d.toString("latin1");
  });
  const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
  sock.on("end", () => sock.end());
  for (const ch of input) {
    if (sock.destroyed) break;
    await new Promise<void>((resolve) => sock.write(ch, "latin1", () => resolve()));
  }
  await closed;
  return got;
}

describe("real sockets: bytes one write at a time", () => {
  test("a valid pipelined pair, the first chunked, is answered in order", { timeout: 10000 }, async () => {
    const got = await bytewiseExchange(
      `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n` +
        `GET /d HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    assert.deepEqual(statusLines(got), ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
    assert.ok(got.indexOf("POST /c 3") < got.indexOf("GET /d 0"), got);
  });

  test("a rejected request gets the same answer as when sent whole", { timeout: 5000 }, async () => {
    const input = `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`;
    const got = await bytewiseExchange(input);
    const whole = await exchange(port, [input]);
    assert.deepEqual(statusLines(got), ["HTTP/1.1 400 Bad Request"]);
    assert.equal(got.slice(got.indexOf("\r\n\r\n")), whole.text.slice(whole.text.indexOf("\r\n\r\n")));
    assert.match(got, /folding/);
  });
});

test("no handler error was reported for requests that never reached a handler", () => {
  // Requests refused by the parser before their head completed never reach the handler; the ones
  // whose body failed (bad chunk size after the head) reject req.body(), which the handler lets throw.
  for (const e of handlerErrors) assert.equal((e as Error).name, "RequestAbortedError", String(e));
});

describe("real sockets: every limit is a server option", () => {
  let small: Server;
  let smallPort: number;
  before(async () => {
    small = createServer(handler, {
      maxRequestLineBytes: 64,
      maxHeaderBytes: 512,
      maxHeaderCount: 5,
      maxBodyBytes: 16,
      maxChunkLineBytes: 32,
      maxTrailerBytes: 64,
      lingerTimeout: 200,
      onError: (e) => handlerErrors.push(e),
    });
    smallPort = (await small.listen(0, "127.0.0.1")).port;
  });
  after(async () => {
    await small.close({ deadline: 1000 });
  });

  const cases: [string, string, string][] = [
    ["maxRequestLineBytes", `GET /${"a".repeat(60)} HTTP/1.1\r\n${H}\r\n`, "414 URI Too Long"],
    [
      "maxHeaderBytes",
      `GET / HTTP/1.1\r\n${H}X: ${"a".repeat(600)}\r\n\r\n`,
      "431 Request Header Fields Too Large",
    ],
    [
      "maxHeaderCount",
      `GET / HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n`,
      "431 Request Header Fields Too Large",
    ],
    [
      "maxBodyBytes (Content-Length)",
      `POST / HTTP/1.1\r\n${H}Content-Length: 17\r\n\r\n`,
      "413 Content Too Large",
    ],
    [
      "maxBodyBytes (chunked)",
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\n`,
      "413 Content Too Large",
    ],
    [
      "maxChunkLineBytes",
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;${"e".repeat(40)}\r\n`,
      "400 Bad Request",
    ],
    [
      "maxTrailerBytes",
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: ${"a".repeat(80)}\r\n\r\n`,
      "431 Request Header Fields Too Large",
    ],
  ];
  for (const [name, input, status] of cases) {
    test(name, async () => {
      const r = await exchange(smallPort, [input]);
      assert.deepEqual(statusLines(r.text), [`HTTP/1.1 ${status}`], r.text);
      assert.match(r.text, /\r\nConnection: close\r\n/);
      assert.ok(r.fin);
    });
  }

  test("within the limits, the same server answers", async () => {
    const r = await exchange(smallPort, [
      `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n10;a=b\r\n0123456789abcdef\r\n0\r\nX: y\r\n\r\n`,
    ]);
    assert.deepEqual(statusLines(r.text), ["HTTP/1.1 200 OK"]);
    assert.ok(r.text.endsWith("POST /ok 16"), r.text);
  });
});

describe("real sockets: a request asking to upgrade", () => {
  test("answered without switching, the pipelined request after it is still served", async () => {
    const r = await exchange(port, [
      `GET /up HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n` +
        `GET /next HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    ]);
    assert.deepEqual(statusLines(r.text), ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
    assert.ok(r.text.indexOf("GET /up 0") < r.text.indexOf("GET /next 0"), r.text);
  });
});
