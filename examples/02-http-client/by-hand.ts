// Step 2 of the seed, by hand: an HTTP client on a raw socket exposing `statusCode`, `headers` and
// `text`, like the seed's HTTPClient — but reading the response the way HTTP frames it (RFC 9112 §6):
// the head ends at the first empty line; the body is `Content-Length` bytes, or chunked, or runs to
// the end of the connection. The seed's "read until a chunk is shorter than 1024 bytes" returns half a
// page on a slow network, and its `split(': ')` breaks on `Name:value`.
//
// This is for learning. phial/client (see three-lines.ts) does the same on phial's strict parser, with
// keep-alive, TLS, redirects, timeouts and decoding.
//
//   npx tsx examples/02-http-client/by-hand.ts http://127.0.0.1:8000/

import { connect } from "node:net";

export class HTTPClient {
  statusCode = 0;
  reason = "";
  /** Field names lowercased; repeated fields joined with ", " (as RFC 9110 §5.3 allows). */
  headers: Record<string, string> = {};
  text = "";

  /** Sends one request and reads the whole response. */
  async request(method: string, url: string, timeoutMs = 10_000): Promise<this> {
    const u = new URL(url);
    if (u.protocol !== "http:")
      throw new Error(`Only http: URLs are handled by hand here, not ${u.protocol}`);
    const port = Number(u.port || 80);
    const socket = connect(port, u.hostname.replace(/^\[|\]$/g, ""));
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`No answer from ${u.host} in ${timeoutMs} ms`)),
    );
    // Connection: close keeps this simple: the server ends the connection after its response.
    socket.write(
      `${method} ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUser-Agent: phial-example\r\n` +
        "Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
    );
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    this.parse(Buffer.concat(chunks), method === "HEAD");
    return this;
  }

  /** Parses a complete response: status line, fields, then the body as its framing says. */
  private parse(data: Buffer, head: boolean): void {
    const end = data.indexOf("\r\n\r\n");
    if (end < 0) throw new Error("The response ended before its header section did");
    const lines = data.subarray(0, end).toString("latin1").split("\r\n");
    const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (status === null) throw new Error(`Not an HTTP/1.x status line: ${JSON.stringify(lines[0])}`);
    this.statusCode = Number(status[1]);
    this.reason = status[2] ?? "";
    this.headers = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Error(`A malformed header line: ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      this.headers[name] = name in this.headers ? `${this.headers[name]}, ${value}` : value;
    }
    let body = data.subarray(end + 4);
    if (head || this.statusCode === 204 || this.statusCode === 304) body = Buffer.alloc(0);
    else if (/(^|,)\s*chunked\s*$/i.test(this.headers["transfer-encoding"] ?? "")) body = dechunk(body);
    else if (this.headers["content-length"] !== undefined) {
      const n = Number(this.headers["content-length"]);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error("A malformed Content-Length");
      if (body.length < n) throw new Error(`The body was cut short: ${body.length} of ${n} bytes`);
      body = body.subarray(0, n);
    }
    this.text = body.toString("utf8");
  }
}

/** Decodes a chunked body: hex size line, data, CRLF, … until a zero-size chunk (trailers ignored). */
function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let p = 0;
  for (;;) {
    const eol = b.indexOf("\r\n", p);
    if (eol < 0) throw new Error("The chunked body was cut short");
    const size = Number.parseInt(b.subarray(p, eol).toString("latin1").split(";", 1)[0]!, 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error("A malformed chunk size");
    if (size === 0) return Buffer.concat(out);
    const start = eol + 2;
    if (b.length < start + size + 2) throw new Error("The chunked body was cut short");
    out.push(b.subarray(start, start + size));
    p = start + size + 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const client = await new HTTPClient().request("GET", process.argv[2] ?? "http://127.0.0.1:8000/");
  console.log(client.statusCode);
  console.log("--------------------");
  console.log(client.headers);
  console.log("--------------------");
  console.log(client.text);
}
