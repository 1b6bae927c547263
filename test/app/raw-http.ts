// A raw HTTP/1.1 client for tests: sends exactly the bytes given (traversal strings must reach the
// server unnormalized) and reads one response, framed by its Content-Length or chunked encoding.

import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/**
 * Sends `head` (request line and fields, without the blank line) plus `body` on a new connection and
 * resolves with the first response once it is complete (the connection is then closed).
 */
export function rawRequest(port: number, head: string, body: Buffer | string = ""): Promise<RawResponse> {
  const isHead = head.startsWith("HEAD ");
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      const r = parseResponse(buf, isHead, closed);
      if (r === undefined) {
        if (closed) {
          done = true;
          reject(new Error(`incomplete response: ${JSON.stringify(buf.toString("latin1").slice(0, 200))}`));
        }
        return;
      }
      done = true;
      sock.destroy();
      resolve(r);
    };
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      finish(false);
    });
    sock.on("error", (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
    sock.on("close", () => finish(true));
    sock.write(`${head}\r\n\r\n`);
    if (body.length > 0) sock.write(body);
  });
}

/** Parses one response from `buf`, or undefined when it is not complete yet. */
export function parseResponse(buf: Buffer, isHead = false, closed = false): RawResponse | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(lines[0]!.split(" ")[1]);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
  }
  let rest = buf.subarray(end + 4);
  if (isHead || status === 204 || status === 304 || status < 200)
    return { status, headers, body: Buffer.alloc(0) };
  if (headers.get("transfer-encoding") === "chunked") {
    const out: Buffer[] = [];
    for (;;) {
      const le = rest.indexOf("\r\n");
      if (le === -1) return undefined;
      const n = Number.parseInt(rest.subarray(0, le).toString("latin1"), 16);
      if (n === 0) return { status, headers, body: Buffer.concat(out) };
      if (rest.length < le + 2 + n + 2) return undefined;
      out.push(rest.subarray(le + 2, le + 2 + n));
      rest = rest.subarray(le + 2 + n + 2);
    }
  }
  const cl = headers.get("content-length");
  if (cl === undefined) return closed ? { status, headers, body: rest } : undefined;
  if (rest.length < Number(cl)) return undefined;
  return { status, headers, body: rest.subarray(0, Number(cl)) };
}
