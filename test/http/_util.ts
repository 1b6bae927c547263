// Test helpers for the wire parser: feed bytes whole, a byte at a time and at random split points, and
// check every feeding reads the same messages. Also a small seeded PRNG so failures reproduce.

import assert from "node:assert/strict";
import { HttpParseError, HttpParser, type MessageHead, type ParserLimits } from "../../src/http/parser.ts";

/** mulberry32: tiny, fast, good enough to generate test inputs; same seed, same sequence. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The seed for randomised tests: `PHIAL_SEED` when set (to reproduce a failure), else a fixed one. */
export function testSeed(fallback: number): number {
  const env = process.env.PHIAL_SEED;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (Number.isInteger(n)) return n >>> 0;
  }
  return fallback >>> 0;
}

/** A head as plain data, so feedings can be compared with deepEqual. */
export interface HeadData {
  method: string;
  target: string;
  status: number;
  statusText: string;
  versionMinor: number;
  rawHeaders: string[];
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  expectContinue: boolean;
  unsupportedExpectation: boolean;
  upgrade: boolean;
  host: string;
}

export interface ParsedMessage {
  head: HeadData;
  /** Body bytes as latin1 (one char per byte), concatenated across onBody calls. */
  body: string;
  /** Set once onComplete ran. */
  complete: boolean;
  trailers: string[] | undefined;
}

export interface ErrorData {
  status: number;
  code: string;
  message: string;
}

export interface Outcome {
  /** Every head in order, 1xx responses included (they have no body and never complete). */
  messages: ParsedMessage[];
  error: ErrorData | undefined;
  /** How many times onError ran (must never exceed 1). */
  errors: number;
  /** The parser was paused or upgraded with these bytes kept back (latin1). */
  pending: string;
  /** Nothing is left half-read (the parser isn't inside a message). */
  idle: boolean;
}

export interface FeedOptions {
  limits?: Partial<ParserLimits>;
  /** Call finish() after the last byte (the peer closed). */
  finish?: boolean;
  /** Response mode: which responses (by index of final response) answer a HEAD request. */
  noBody?: readonly number[];
}

function headData(h: MessageHead): HeadData {
  return {
    method: h.method,
    target: h.target,
    status: h.status,
    statusText: h.statusText,
    versionMinor: h.versionMinor,
    rawHeaders: [...h.rawHeaders],
    contentLength: h.contentLength,
    chunked: h.chunked,
    keepAlive: h.keepAlive,
    expectContinue: h.expectContinue,
    unsupportedExpectation: h.unsupportedExpectation,
    upgrade: h.upgrade,
    host: h.host,
  };
}

/** Feeds `input` in the pieces given and records what the parser reports. Throws if the parser throws. */
export function feed(
  kind: "request" | "response",
  pieces: readonly Buffer[],
  opts: FeedOptions = {},
): Outcome {
  const out: Outcome = { messages: [], error: undefined, errors: 0, pending: "", idle: true };
  let bodyParts: Buffer[] = [];
  let finals = 0;
  const noBody = opts.noBody ?? [];
  let parser: HttpParser | undefined;
  const handler = {
    onHead(head: MessageHead): void {
      assert.equal(out.errors, 0, "onHead after onError");
      out.messages.push({ head: headData(head), body: "", complete: false, trailers: undefined });
      bodyParts = [];
    },
    onBody(chunk: Buffer): void {
      assert.equal(out.errors, 0, "onBody after onError");
      assert.ok(out.messages.length > 0, "onBody before onHead");
      // The view is only valid during the call: copy it.
      bodyParts.push(Buffer.from(chunk));
      const m = out.messages[out.messages.length - 1]!;
      m.body = Buffer.concat(bodyParts).toString("latin1");
    },
    onComplete(trailers: string[] | undefined): boolean {
      assert.equal(out.errors, 0, "onComplete after onError");
      const m = out.messages[out.messages.length - 1];
      assert.ok(m !== undefined && !m.complete, "onComplete without a head");
      m.complete = true;
      m.trailers = trailers === undefined ? undefined : [...trailers];
      finals++;
      parser!.expectNoBody(noBody.includes(finals));
      return false;
    },
    onError(error: HttpParseError): void {
      assert.ok(error instanceof HttpParseError);
      out.errors++;
      out.error = { status: error.status, code: error.code, message: error.message };
    },
  };
  parser = new HttpParser(kind, handler, opts.limits);
  parser.expectNoBody(noBody.includes(0));
  for (const p of pieces) parser.execute(p);
  if (opts.finish === true) parser.finish();
  out.pending = parser.pending.toString("latin1");
  out.idle = !parser.inMessage;
  return out;
}

/** Splits `b` at the given offsets (sorted, deduplicated, inside the buffer). */
export function splitAt(b: Buffer, cuts: readonly number[]): Buffer[] {
  const sorted = [...new Set(cuts.filter((c) => c > 0 && c < b.length))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let last = 0;
  for (const c of sorted) {
    out.push(b.subarray(last, c));
    last = c;
  }
  out.push(b.subarray(last));
  return out;
}

export function bytewise(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
  return out;
}

export function randomSplits(b: Buffer, rng: Rng, count: number): number[] {
  const cuts: number[] = [];
  for (let i = 0; i < count; i++) cuts.push(rng.int(b.length + 1));
  return cuts;
}

const asBuffer = (input: string | Buffer): Buffer =>
  typeof input === "string" ? Buffer.from(input, "latin1") : input;

/**
 * Parses `input` whole, one byte at a time and at several random split points, asserts that every
 * feeding reports exactly the same thing (and at most one error), and returns that outcome.
 */
export function parse(kind: "request" | "response", input: string | Buffer, opts: FeedOptions = {}): Outcome {
  const buf = asBuffer(input);
  const whole = feed(kind, [buf], opts);
  assert.ok(whole.errors <= 1, "onError ran more than once");
  const check = (name: string, pieces: Buffer[]) => {
    const o = feed(kind, pieces, opts);
    assert.deepEqual(o, whole, `feeding ${name} disagrees with feeding the input whole`);
  };
  check("byte by byte", bytewise(buf));
  const rng = new Rng(buf.length * 2654435761 + 17);
  for (let i = 0; i < 4; i++) {
    const cuts = randomSplits(buf, rng, 1 + i * 2);
    check(`split at ${JSON.stringify(cuts)}`, splitAt(buf, cuts));
  }
  return whole;
}

/** Parses and asserts there was no error; returns the messages. */
export function ok(
  kind: "request" | "response",
  input: string | Buffer,
  opts?: FeedOptions,
): ParsedMessage[] {
  const o = parse(kind, input, opts);
  assert.equal(o.error, undefined, `unexpected error: ${JSON.stringify(o.error)}`);
  return o.messages;
}

/** Parses and asserts exactly one error with this status (and code, when given); returns it. */
export function rejects(
  kind: "request" | "response",
  input: string | Buffer,
  status: number,
  code?: string,
  opts?: FeedOptions,
): Outcome & { error: ErrorData } {
  const o = parse(kind, input, opts);
  assert.ok(o.error !== undefined, `expected a ${status} error, got messages ${JSON.stringify(o.messages)}`);
  assert.equal(o.errors, 1);
  assert.equal(o.error.status, status, `wrong status for: ${o.error.message}`);
  if (code !== undefined) assert.equal(o.error.code, code, `wrong code for: ${o.error.message}`);
  return o as Outcome & { error: ErrorData };
}

/** `req("GET / HTTP/1.1", "Host: a")` → the bytes of a head (CRLF line ends and the empty line). */
export function lines(...ls: string[]): string {
  return `${ls.join("\r\n")}\r\n\r\n`;
}
