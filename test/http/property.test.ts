// Property tests for the parser, with a seeded PRNG (set PHIAL_SEED=<n> to replay a failure):
// - random and mutated inputs never make it throw; every run ends in complete messages or exactly one
//   onError, and feeding the bytes whole, one at a time or split anywhere gives the same result;
// - generated valid requests (and responses), serialized, pipelined several per buffer and split at
//   random points, parse back to exactly what was generated.

import assert from "node:assert/strict";
import { test } from "node:test";
import { type FeedOptions, feed, type Outcome, Rng, randomSplits, splitAt, testSeed } from "./_util.ts";

const SEED = testSeed(0x5eed1);

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%/?";
const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "expect",
  "upgrade",
  "te",
]);

function token(rng: Rng, min: number, max: number): string {
  let s = "";
  const n = rng.range(min, max);
  for (let i = 0; i < n; i++) s += rng.pick(TCHAR as unknown as string[]);
  return s;
}

function chars(rng: Rng, alphabet: string, min: number, max: number): string {
  let s = "";
  const n = rng.range(min, max);
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
  return s;
}

/** A field value: VCHAR and obs-text, inner SP/HTAB, never leading or trailing whitespace. */
function fieldValue(rng: Rng): string {
  if (rng.chance(0.1)) return "";
  const n = rng.range(1, 40);
  let s = "";
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.1 && i > 0 && i < n - 1) s += rng.chance(0.5) ? " " : "\t";
    else if (r < 0.15) s += String.fromCharCode(rng.range(0x80, 0xff));
    else s += String.fromCharCode(rng.range(0x21, 0x7e));
  }
  return s;
}

function ows(rng: Rng): string {
  return rng.pick(["", "", " ", "  ", "\t", " \t"]);
}

function body(rng: Rng): string {
  const n = rng.pick([0, 1, 5, 17, 100, 1000, rng.range(0, 3000)]);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(256));
  return s;
}

function chunkExt(rng: Rng): string {
  if (rng.chance(0.6)) return "";
  let s = "";
  const n = rng.range(1, 3);
  for (let i = 0; i < n; i++) {
    s += `${rng.pick(["", " "])};${rng.pick(["", " "])}${token(rng, 1, 8)}`;
    if (rng.chance(0.5)) {
      const v = rng.chance(0.5)
        ? token(rng, 1, 8)
        : `"${chars(rng, 'ab ;=,\\"', 0, 8).replace(/["\\]/g, "\\$&")}"`;
      s += `${rng.pick(["", " "])}=${rng.pick(["", " "])}${v}`;
    }
  }
  return s;
}

/** Chunked encoding of `b`, random chunk sizes and hex case, extensions and trailers. */
function chunked(rng: Rng, b: string, trailers: string[]): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const n = Math.min(b.length - i, rng.range(1, 700));
    let hex = n.toString(16);
    if (rng.chance(0.3)) hex = hex.toUpperCase();
    if (rng.chance(0.1)) hex = `00${hex}`;
    out += `${hex}${chunkExt(rng)}\r\n${b.slice(i, i + n)}\r\n`;
    i += n;
  }
  out += `${rng.pick(["0", "0", "000"])}${chunkExt(rng)}\r\n`;
  for (let t = 0; t < trailers.length; t += 2)
    out += `${trailers[t]}:${ows(rng)}${trailers[t + 1]}${ows(rng)}\r\n`;
  return `${out}\r\n`;
}

interface Expected {
  method: string;
  target: string;
  status: number;
  statusText: string;
  versionMinor: number;
  rawHeaders: string[];
  contentLength: number;
  chunked: boolean;
  body: string;
  trailers: string[] | undefined;
}

function randomFields(rng: Rng, out: string[]): void {
  const n = rng.range(0, 12);
  for (let i = 0; i < n; i++) {
    let name = token(rng, 1, 20);
    if (RESERVED.has(name.toLowerCase())) name = `X-${name}`;
    out.push(name, fieldValue(rng));
  }
}

/** One valid request: its bytes and what the parser must report. */
function genRequest(rng: Rng): { wire: string; want: Expected } {
  const minor = rng.chance(0.85) ? 1 : 0;
  const form = rng.next();
  let method = rng.chance(0.7)
    ? rng.pick(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    : token(rng, 1, 12);
  if (method === "CONNECT") method = "GET";
  let target: string;
  if (form < 0.75) target = `/${chars(rng, PATH_CHARS, 0, 60)}`;
  else if (form < 0.9)
    target = `${rng.pick(["http", "https", "HTTP"])}://${rng.pick(["a.example", "127.0.0.1:8080", "[::1]:9"])}/${chars(rng, PATH_CHARS, 0, 30)}`;
  else {
    method = "OPTIONS";
    target = "*";
  }
  const fields: string[] = [];
  if (minor === 1 || rng.chance(0.5))
    fields.push(rng.pick(["Host", "host", "HOST"]), rng.pick(["example.com", "a:8080", "[::1]", ""]));
  randomFields(rng, fields);
  if (minor === 0) fields.push("Connection", "keep-alive");
  const b = rng.chance(0.6) ? body(rng) : "";
  const framing = rng.next();
  let useChunked = false;
  let contentLength = -1;
  let trailers: string[] | undefined;
  if (minor === 1 && framing < 0.4) {
    useChunked = true;
    fields.push("Transfer-Encoding", rng.pick(["chunked", "Chunked", "CHUNKED"]));
    const t: string[] = [];
    randomFields(rng, t);
    trailers = t.length > 0 ? t : undefined;
  } else if (b.length > 0 || framing < 0.7) {
    contentLength = b.length;
    fields.push(rng.pick(["Content-Length", "content-length"]), String(b.length));
  }
  // Shuffle the fields a little (framing fields anywhere), keeping pairs together.
  for (let i = fields.length / 2 - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const a0 = fields[2 * i]!;
    const a1 = fields[2 * i + 1]!;
    fields[2 * i] = fields[2 * j]!;
    fields[2 * i + 1] = fields[2 * j + 1]!;
    fields[2 * j] = a0;
    fields[2 * j + 1] = a1;
  }
  let wire = `${method} ${target} HTTP/1.${minor}\r\n`;
  for (let i = 0; i < fields.length; i += 2)
    wire += `${fields[i]}:${ows(rng)}${fields[i + 1]}${ows(rng)}\r\n`;
  wire += "\r\n";
  wire += useChunked ? chunked(rng, b, trailers ?? []) : contentLength >= 0 ? b : "";
  const bodyOut = useChunked || contentLength >= 0 ? b : "";
  return {
    wire,
    want: {
      method,
      target,
      status: 0,
      statusText: "",
      versionMinor: minor,
      rawHeaders: fields,
      contentLength,
      chunked: useChunked,
      body: bodyOut,
      trailers,
    },
  };
}

/** One valid response (never 1xx, 204 or 304: those have their own tests). */
function genResponse(rng: Rng): { wire: string; want: Expected } {
  const minor = rng.chance(0.85) ? 1 : 0;
  let status = rng.range(200, 599);
  if (status === 204 || status === 304) status = 200;
  const statusText = rng.chance(0.1) ? "" : fieldValue(rng).replace(/^\s+|\s+$/g, "");
  const fields: string[] = [];
  randomFields(rng, fields);
  if (minor === 0) fields.push("Connection", "keep-alive");
  const b = body(rng);
  let useChunked = false;
  let trailers: string[] | undefined;
  if (minor === 1 && rng.chance(0.4)) {
    useChunked = true;
    fields.push("Transfer-Encoding", "chunked");
    const t: string[] = [];
    randomFields(rng, t);
    trailers = t.length > 0 ? t : undefined;
  } else {
    fields.push("Content-Length", String(b.length));
  }
  let wire = `HTTP/1.${minor} ${status} ${statusText}\r\n`;
  for (let i = 0; i < fields.length; i += 2)
    wire += `${fields[i]}:${ows(rng)}${fields[i + 1]}${ows(rng)}\r\n`;
  wire += `\r\n${useChunked ? chunked(rng, b, trailers ?? []) : b}`;
  return {
    wire,
    want: {
      method: "",
      target: "",
      status,
      statusText,
      versionMinor: minor,
      rawHeaders: fields,
      contentLength: useChunked ? -1 : b.length,
      chunked: useChunked,
      body: b,
      trailers,
    },
  };
}

function actual(o: Outcome): Expected[] {
  return o.messages.map((m) => ({
    method: m.head.method,
    target: m.head.target,
    status: m.head.status,
    statusText: m.head.statusText,
    versionMinor: m.head.versionMinor,
    rawHeaders: m.head.rawHeaders,
    contentLength: m.head.contentLength,
    chunked: m.head.chunked,
    body: m.body,
    trailers: m.trailers,
  }));
}

function roundTrip(
  kind: "request" | "response",
  gen: (rng: Rng) => { wire: string; want: Expected },
  iterations: number,
) {
  const rng = new Rng(SEED ^ (kind === "request" ? 0x1111 : 0x2222));
  for (let it = 0; it < iterations; it++) {
    const n = rng.range(1, 5);
    const msgs = Array.from({ length: n }, () => gen(rng));
    const input = Buffer.from(msgs.map((m) => m.wire).join(""), "latin1");
    const want = msgs.map((m) => m.want);
    const where = `(seed ${SEED}, iteration ${it}; rerun with PHIAL_SEED=${SEED})`;
    const feedings: [string, Buffer[]][] = [
      ["whole", [input]],
      ["split", splitAt(input, randomSplits(input, rng, rng.range(1, 20)))],
    ];
    if (it % 10 === 0)
      feedings.push([
        "bytewise",
        splitAt(
          input,
          Array.from({ length: input.length }, (_, i) => i),
        ),
      ]);
    for (const [how, pieces] of feedings) {
      const o = feed(kind, pieces);
      assert.equal(
        o.error,
        undefined,
        `${how}: unexpected error ${JSON.stringify(o.error)} ${where}\n${JSON.stringify(input.toString("latin1").slice(0, 2000))}`,
      );
      assert.deepEqual(actual(o), want, `${how}: round trip differs ${where}`);
      assert.ok(
        o.messages.every((m) => m.complete && m.head.keepAlive),
        `${how}: every message complete ${where}`,
      );
      assert.equal(o.idle, true);
    }
  }
}

test(`generated valid requests round-trip, pipelined and split (seed ${SEED})`, () => {
  roundTrip("request", genRequest, 400);
});

test(`generated valid responses round-trip, pipelined and split (seed ${SEED})`, () => {
  roundTrip("response", genResponse, 200);
});

// ---- never crash ------------------------------------------------------------------------------

const NASTY = [
  "\r",
  "\n",
  "\r\n",
  "\x00",
  " ",
  "\t",
  ":",
  ";",
  ",",
  "\x7f",
  "\xff",
  "0",
  "f",
  "\r\n\r\n",
  "chunked",
  "Content-Length: 1\r\n",
  "Transfer-Encoding: chunked\r\n",
  "HTTP/1.1",
  '"',
  "\\",
];

function mutate(rng: Rng, s: string): string {
  const k = rng.range(1, 4);
  for (let i = 0; i < k; i++) {
    const at = rng.int(s.length + 1);
    const r = rng.next();
    if (r < 0.3) s = s.slice(0, at) + rng.pick(NASTY) + s.slice(at);
    else if (r < 0.5) s = s.slice(0, at) + s.slice(at + rng.range(1, 5));
    else if (r < 0.7 && s.length > 0)
      s = s.slice(0, at) + String.fromCharCode(rng.int(256)) + s.slice(at + 1);
    else if (r < 0.8) s = s.slice(0, at);
    else if (r < 0.9) {
      const from = rng.int(s.length + 1);
      s = s.slice(0, at) + s.slice(from, from + rng.range(1, 40)) + s.slice(at);
    } else s = s.slice(0, at) + s.slice(at, at + 1).toUpperCase() + s.slice(at + 1);
  }
  return s;
}

function randomBytes(rng: Rng): string {
  const n = rng.range(0, 300);
  let s = "";
  const alphabet = "GET /HTP1.:\r\n \t0123456789abcdefchunkedContent-LengthTransfer-EncodingHost;=\x00\xff";
  for (let i = 0; i < n; i++)
    s += rng.chance(0.8) ? alphabet[rng.int(alphabet.length)] : String.fromCharCode(rng.int(256));
  return s;
}

function randomLimits(rng: Rng): FeedOptions["limits"] {
  if (rng.chance(0.5)) return undefined;
  return {
    maxRequestLineBytes: rng.range(10, 200),
    maxHeaderBytes: rng.range(20, 2000),
    maxHeaderCount: rng.range(1, 20),
    maxBodyBytes: rng.range(0, 3000),
    maxChunkLineBytes: rng.range(3, 50),
    maxTrailerBytes: rng.range(5, 500),
  };
}

function checkNeverCrashes(kind: "request" | "response", input: string, rng: Rng, where: string) {
  const buf = Buffer.from(input, "latin1");
  const opts: FeedOptions = { limits: randomLimits(rng), finish: rng.chance(0.5) };
  if (kind === "response" && rng.chance(0.3)) opts.noBody = [0, 2];
  const run = (pieces: Buffer[]) => {
    try {
      return feed(kind, pieces, opts);
    } catch (err) {
      assert.fail(`the parser threw ${String(err)} ${where}\ninput ${JSON.stringify(input)}`);
    }
  };
  const whole = run([buf]);
  assert.ok(whole.errors <= 1, `more than one onError ${where}`);
  if (whole.errors === 1) {
    assert.ok(whole.error!.status >= 400 && whole.error!.status < 600, `status ${whole.error!.status}`);
    assert.ok(whole.error!.message.length > 10, `a useful message: ${whole.error!.message}`);
  } else if (opts.finish === true) {
    // The peer closed: every message is complete (responses: 1xx aside), or parsing stopped on purpose.
    const finals = whole.messages.filter((m) => m.head.status === 0 || m.head.status >= 200);
    assert.ok(
      finals.every((m) => m.complete) || whole.messages.at(-1)?.head.status === 101,
      `after finish() without an error every message is complete ${where}\ninput ${JSON.stringify(input)}`,
    );
    assert.equal(whole.idle, true);
  }
  const split = run(splitAt(buf, randomSplits(buf, rng, rng.range(1, 8))));
  assert.deepEqual(split, whole, `a split feeding disagrees ${where}\ninput ${JSON.stringify(input)}`);
  if (rng.chance(0.2)) {
    const bytes = run(
      splitAt(
        buf,
        Array.from({ length: buf.length }, (_, i) => i),
      ),
    );
    assert.deepEqual(bytes, whole, `a bytewise feeding disagrees ${where}\ninput ${JSON.stringify(input)}`);
  }
}

test(`mutated valid requests and random bytes never crash the request parser (seed ${SEED})`, () => {
  const rng = new Rng(SEED ^ 0x3333);
  for (let it = 0; it < 3000; it++) {
    const where = `(seed ${SEED}, iteration ${it})`;
    let input: string;
    if (it % 4 === 0) input = randomBytes(rng);
    else {
      const n = rng.range(1, 3);
      input = Array.from({ length: n }, () => genRequest(rng).wire).join("");
      input = mutate(rng, input);
    }
    checkNeverCrashes("request", input, rng, where);
  }
});

test(`mutated valid responses and random bytes never crash the response parser (seed ${SEED})`, () => {
  const rng = new Rng(SEED ^ 0x4444);
  for (let it = 0; it < 1500; it++) {
    const where = `(seed ${SEED}, iteration ${it})`;
    let input: string;
    if (it % 4 === 0) input = `HTTP/1.1 ${randomBytes(rng)}`;
    else {
      const n = rng.range(1, 3);
      const parts = Array.from({ length: n }, () => genResponse(rng).wire);
      if (rng.chance(0.2)) parts.unshift("HTTP/1.1 100 Continue\r\n\r\n");
      input = mutate(rng, parts.join(""));
    }
    checkNeverCrashes("response", input, rng, where);
  }
});
