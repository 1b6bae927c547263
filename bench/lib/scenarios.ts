// The server scenarios: what the load generator sends for each, and how a row's answers are checked.

import { Socket } from "node:net";
import type { Scenario } from "../servers/common.ts";
import {
  HELLO,
  POST_BODY,
  POST_REPLY,
  STATIC_NAME,
  staticBytes,
  USER_ID,
  userJson,
} from "../servers/fixtures.ts";
import { routeSamples } from "../servers/routes.ts";
import { ORDER_BODY, RECEIPT_REPLY } from "../validated/fixture.ts";

/** What to send, the same for wrk and autocannon. */
export interface LoadSpec {
  method: "GET" | "POST";
  /** One path, or several that each connection cycles through. */
  paths: readonly string[];
  body?: string;
  headers?: Readonly<Record<string, string>>;
  /** Requests written back to back on a connection before waiting for the answers. */
  pipeline: number;
  /** The status every answer must have. */
  status: number;
}

export interface ScenarioDef {
  id: Exclude<Scenario, "idle">;
  title: string;
  /** One line on what it measures, for the report. */
  what: string;
  load: LoadSpec;
}

export const SERVER_SCENARIOS: readonly ScenarioDef[] = [
  {
    id: "hello",
    title: "hello",
    what: "`GET /hello` → 13-byte text/plain",
    load: { method: "GET", paths: ["/hello"], pipeline: 1, status: 200 },
  },
  {
    id: "json-param",
    title: "JSON + param",
    what: "`GET /user/42` → route param parsed as int, small JSON object",
    load: { method: "GET", paths: [`/user/${USER_ID}`], pipeline: 1, status: 200 },
  },
  {
    id: "post-echo",
    title: "POST 1 KiB echo",
    what: "`POST /echo` with a 1 KiB JSON body → parsed and sent back as JSON",
    load: {
      method: "POST",
      paths: ["/echo"],
      body: POST_BODY,
      headers: { "Content-Type": "application/json" },
      pipeline: 1,
      status: 200,
    },
  },
  {
    id: "not-found",
    title: "404",
    what: "`GET /missing` → each framework's own 404",
    load: { method: "GET", paths: ["/missing"], pipeline: 1, status: 404 },
  },
  {
    id: "static",
    title: "static 64 KiB",
    what: `\`GET /static/${STATIC_NAME}\` → a 64 KiB file from disk (each framework's static serving)`,
    load: { method: "GET", paths: [`/static/${STATIC_NAME}`], pipeline: 1, status: 200 },
  },
  {
    id: "template",
    title: "template",
    what: "`GET /page` → a Nunjucks page (20-row table, autoescaped), ~4 KB HTML",
    load: { method: "GET", paths: ["/page"], pipeline: 1, status: 200 },
  },
  {
    id: "pipelined",
    title: "hello, pipelined ×16",
    what: "`GET /hello`, 16 requests in flight per connection (HTTP/1.1 pipelining)",
    load: { method: "GET", paths: ["/hello"], pipeline: 16, status: 200 },
  },
  {
    id: "routing",
    title: "1,000 routes",
    what: "`GET` over 100 paths spread across a 1,000-route API (static and `:id` routes)",
    load: { method: "GET", paths: routeSamples().map((s) => s.path), pipeline: 1, status: 200 },
  },
  {
    id: "validated",
    title: "validated POST",
    what:
      "`POST /orders`, a 1 KiB JSON body of 10 fields checked by a schema, the answer written by a response " +
      "schema that drops a field (Phial + zod 4; Fastify: the same schemas as JSON Schema, ajv + " +
      "fast-json-stringify; rows without a schema validator: —)",
    load: {
      method: "POST",
      paths: ["/orders"],
      body: ORDER_BODY,
      headers: { "Content-Type": "application/json" },
      pipeline: 1,
      status: 200,
    },
  },
];

interface Answer {
  status: number;
  headers: string;
  body: Buffer;
}

/**
 * Sends raw requests on one connection and reads exactly `count` responses (Content-Length or
 * chunked framing). Small on purpose: it checks rows, it isn't a client.
 */
export function exchange(
  port: number,
  raw: string | Buffer,
  count: number,
  timeoutMs = 5000,
): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let buf = Buffer.alloc(0);
    const answers: Answer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timed out after ${answers.length} of ${count} responses`));
    }, timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolve(answers);
    };
    sock.on("error", (e) => finish(e));
    sock.on("close", () => {
      if (answers.length < count) finish(new Error(`connection closed after ${answers.length} of ${count}`));
    });
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        const status = Number(head.slice(9, 12));
        const lower = head.toLowerCase();
        const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
        let body: Buffer;
        let used: number;
        if (cl !== null) {
          const len = Number(cl[1]);
          if (buf.length < end + 4 + len) return;
          body = buf.subarray(end + 4, end + 4 + len);
          used = end + 4 + len;
        } else if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) {
          const parts: Buffer[] = [];
          let at = end + 4;
          let done = false;
          for (;;) {
            const le = buf.indexOf("\r\n", at);
            if (le < 0) break;
            const size = Number.parseInt(buf.subarray(at, le).toString("latin1"), 16);
            if (size === 0) {
              const te = buf.indexOf("\r\n", le + 2);
              if (te < 0) break;
              at = te + 2;
              done = true;
              break;
            }
            if (buf.length < le + 2 + size + 2) break;
            parts.push(buf.subarray(le + 2, le + 2 + size));
            at = le + 2 + size + 2;
          }
          if (!done) return;
          body = Buffer.concat(parts);
          used = at;
        } else {
          body = Buffer.alloc(0);
          used = end + 4;
        }
        answers.push({ status, headers: head, body: Buffer.from(body) });
        buf = buf.subarray(used);
        if (answers.length === count) {
          finish();
          return;
        }
      }
    });
    sock.connect(port, "127.0.0.1", () => sock.write(raw));
  });
}

function request(port: number, spec: LoadSpec, path: string): string {
  let s = `${spec.method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
  for (const [k, v] of Object.entries(spec.headers ?? {})) s += `${k}: ${v}\r\n`;
  if (spec.body !== undefined) s += `Content-Length: ${Buffer.byteLength(spec.body)}\r\n`;
  return `${s}\r\n${spec.body ?? ""}`;
}

function sameJson(a: Buffer, want: unknown): boolean {
  try {
    return JSON.stringify(JSON.parse(a.toString("utf8"))) === JSON.stringify(want);
  } catch {
    return false;
  }
}

/**
 * Checks that a row answers `scenario` as every other row does. Returns a problem, or undefined.
 * `statusOnly` is for the canned ceiling, which sends one fixed answer.
 */
export async function checkRow(
  port: number,
  def: ScenarioDef,
  statusOnly: boolean,
): Promise<string | undefined> {
  const spec = def.load;
  const samples = def.id === "routing" ? routeSamples().slice(0, 12) : [{ path: spec.paths[0]!, body: "" }];
  const depth = def.id === "pipelined" ? 16 : 1;
  for (const sample of samples) {
    const raw = request(port, spec, sample.path).repeat(depth);
    let answers: Answer[];
    try {
      answers = await exchange(port, raw, depth);
    } catch (e) {
      return `${sample.path}: ${(e as Error).message}`;
    }
    for (const a of answers) {
      if (a.status !== spec.status) return `${sample.path}: status ${a.status}, expected ${spec.status}`;
      if (statusOnly) continue;
      const problem = checkBody(def, a.body, sample.body);
      if (problem !== undefined) return `${sample.path}: ${problem}`;
    }
  }
  return undefined;
}

function checkBody(def: ScenarioDef, body: Buffer, routeBody: string): string | undefined {
  const text = body.toString("utf8");
  switch (def.id) {
    case "hello":
    case "pipelined":
      return text === HELLO ? undefined : `body ${JSON.stringify(text.slice(0, 40))}, expected "${HELLO}"`;
    case "json-param":
      return sameJson(body, userJson(USER_ID)) ? undefined : `body ${text.slice(0, 80)} is not the user JSON`;
    case "post-echo":
      return sameJson(body, JSON.parse(POST_REPLY)) ? undefined : "the echo differs from the request body";
    case "not-found":
      return undefined;
    case "validated":
      return text === RECEIPT_REPLY ? undefined : `body ${text.slice(0, 80)} is not the receipt`;
    case "static":
      return body.equals(staticBytes()) ? undefined : `static body of ${body.length} bytes differs`;
    case "template": {
      if (!text.includes("<title>Phial &amp; friends &lt;bench&gt;</title>"))
        return "title missing or not escaped";
      const rows = text.split("<tr class=").length - 1;
      return rows === 20 ? undefined : `${rows} table rows, expected 20`;
    }
    case "routing":
      return text === routeBody
        ? undefined
        : `body ${JSON.stringify(text.slice(0, 40))}, expected "${routeBody}"`;
  }
}
