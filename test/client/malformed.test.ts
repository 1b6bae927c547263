// Hostile or broken servers: every malformed response is a clear, typed error, never a hang.

import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import { Client, ConnectionClosedError, MalformedResponseError, ResponseTooLargeError } from "phial/client";
import { rawServer } from "./helpers.ts";

async function against(
  write: (s: Socket) => void,
  check: (c: Client, url: string) => Promise<void>,
  options?: ConstructorParameters<typeof Client>[0],
): Promise<void> {
  const srv = await rawServer((_h, s) => write(s));
  const c = new Client({ readTimeout: 2000, ...options });
  try {
    await check(c, srv.url);
  } finally {
    c.destroy();
    await srv.close();
  }
}

const cases: [string, string, string][] = [
  ["a bad status line", "HTTP/1.1 2OO OK\r\n\r\n", "HPE_INVALID_STATUS"],
  ["a status line without a code", "HTTP/1.1 OK\r\n\r\n", "HPE_INVALID_STATUS"],
  ["not HTTP at all", "SSH-2.0-OpenSSH_9.0\r\n\r\n", "HPE_INVALID_VERSION"],
  [
    "Content-Length with Transfer-Encoding",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "HPE_UNEXPECTED_CONTENT_LENGTH",
  ],
  [
    "two different Content-Lengths",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "HPE_INVALID_CONTENT_LENGTH",
  ],
  [
    "a bad chunk size",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "HPE_INVALID_CHUNK_SIZE",
  ],
  [
    "chunk data without CRLF",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
    "HPE_STRICT",
  ],
  ["a bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", "HPE_LF_EXPECTED"],
  [
    "obs-fold",
    "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n",
    "HPE_INVALID_HEADER_TOKEN",
  ],
  [
    "a NUL in a header value",
    "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n",
    "HPE_INVALID_HEADER_TOKEN",
  ],
  [
    "a 101 nobody asked for",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
    "UNEXPECTED_101",
  ],
];

for (const [what, bytes, code] of cases) {
  test(`${what} is a MalformedResponseError (${code})`, async () => {
    await against(
      (s) => s.write(bytes),
      async (c, url) => {
        const err = await c
          .get(url)
          .then(async (r) => {
            await r.text();
            return undefined;
          })
          .catch((e: unknown) => e);
        assert.ok(err instanceof MalformedResponseError, `got ${String(err)}`);
        assert.equal(err.parserCode, code);
        assert.match(err.message, /Malformed response from http:\/\/127\.0\.0\.1/);
        assert.equal(err.url, `${url}/`);
      },
    );
  });
}

test("a truncated Content-Length body is an error, not a short body", async () => {
  await against(
    (s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
    async (c, url) => {
      const r = await c.get(url);
      await assert.rejects(
        r.text(),
        (e: unknown) => e instanceof ConnectionClosedError && /before the response body/.test(e.message),
      );
    },
  );
});

test("a truncated chunked body is an error", async () => {
  await against(
    (s) => s.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
    async (c, url) => {
      const r = await c.get(url);
      await assert.rejects(r.text(), ConnectionClosedError);
    },
  );
});

test("a connection closed mid-head is an error", async () => {
  await against(
    (s) => s.end("HTTP/1.1 200 OK\r\nContent-Le"),
    async (c, url) => {
      await assert.rejects(c.get(url), ConnectionClosedError);
    },
  );
});

test("a connection closed before any byte is an error on a fresh socket", async () => {
  await against(
    (s) => s.destroy(),
    async (c, url) => {
      await assert.rejects(c.get(url), /closed the connection before sending a response/);
    },
  );
});

test("a header section over the limit is refused", async () => {
  await against(
    (s) => s.write(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(2000)}\r\nContent-Length: 0\r\n\r\n`),
    async (c, url) => {
      await assert.rejects(
        c.get(url),
        (e: unknown) => e instanceof MalformedResponseError && e.parserCode === "HPE_HEADER_OVERFLOW",
      );
    },
    { limits: { maxHeaderBytes: 1024 } },
  );
});

test("an endless chunk-size line is refused, not buffered", async () => {
  await against(
    (s) => s.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;${"x".repeat(5000)}`),
    async (c, url) => {
      const r = await c.get(url);
      await assert.rejects(
        r.text(),
        (e: unknown) =>
          e instanceof MalformedResponseError && e.parserCode === "HPE_CHUNK_EXTENSIONS_OVERFLOW",
      );
    },
  );
});

test("maxResponseBytes refuses a large declared body before reading it", async () => {
  await against(
    (s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"),
    async (c, url) => {
      await assert.rejects(c.get(url), ResponseTooLargeError);
    },
    { maxResponseBytes: 1000 },
  );
});

test("maxResponseBytes stops a chunked or close-delimited body that grows past it", async () => {
  await against(
    (s) => {
      s.write("HTTP/1.1 200 OK\r\n\r\n");
      s.write(Buffer.alloc(3000, 0x61));
    },
    async (c, url) => {
      const r = await c.get(url);
      await assert.rejects(r.text(), ResponseTooLargeError);
    },
    { maxResponseBytes: 1000 },
  );
  await against(
    (s) => s.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${"a".repeat(1024)}\r\n`),
    async (c, url) => {
      const r = await c.get(url);
      await assert.rejects(r.text(), ResponseTooLargeError);
    },
    { maxResponseBytes: 1000 },
  );
});

test("bytes sent on an idle pooled socket make the client drop it", async () => {
  const srv = await rawServer((_h, s) => {
    s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    setTimeout(() => s.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"), 10);
  });
  const c = new Client();
  try {
    assert.equal(await (await c.get(srv.url)).text(), "ok");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.stats(srv.url).open, 0);
    assert.equal(await (await c.get(srv.url)).text(), "ok");
  } finally {
    c.destroy();
    await srv.close();
  }
});
