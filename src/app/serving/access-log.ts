// The access log: one line per response, written from the wire's `onResponse` hook so that the status
// and byte count are what went out (an error page the server put in the handler's place, a stream cut
// short), not what the handler meant to send.

import type { IncomingRequest, ResponseInfo } from "../../http/index.ts";
import type { Phial } from "../app.ts";
import { resolveForwarded } from "../wrappers/proxy.ts";

/** One request as the access log sees it (`Logger.access` receives it). */
export interface AccessLogEntry {
  /** The client's address (behind trusted proxies, the forwarded one). */
  readonly remoteAddr: string;
  readonly method: string;
  /** The request-target as sent (path and query). */
  readonly url: string;
  readonly httpVersion: string;
  readonly status: number;
  /** Body bytes sent. */
  readonly bytes: number;
  readonly durationMs: number;
  /** False when the client went away before the whole response was sent. */
  readonly completed: boolean;
}

/** Builds the entry for a response; the client address follows `config.trustProxy`. */
export function accessEntry(app: Phial, req: IncomingRequest, info: ResponseInfo): AccessLogEntry {
  let remoteAddr = req.remoteAddress;
  const c = app.config;
  if (c.trustProxy !== false) {
    try {
      const p = app.proxySettings.get(c.trustProxy, c.forwardedHeaders);
      if (p !== undefined) {
        const raw = req.rawHeaders;
        const get = (name: string): string | undefined => {
          let out: string | undefined;
          for (let i = 0; i < raw.length; i += 2) {
            if (raw[i]!.toLowerCase() === name)
              out = out === undefined ? raw[i + 1] : `${out}, ${raw[i + 1]}`;
          }
          return out;
        };
        remoteAddr = resolveForwarded(req.remoteAddress, get, p.trust, p.fields).remoteAddr;
      }
    } catch {
      // A bad trustProxy setting is reported by the request itself; the log keeps the peer.
    }
  }
  return {
    remoteAddr,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    status: info.status,
    bytes: info.bytes,
    durationMs: info.durationMs,
    completed: info.completed,
  };
}

/** ANSI colours by status class, as terminals show them. */
const COLOURS: Readonly<Record<number, string>> = {
  2: "\x1b[32m",
  3: "\x1b[36m",
  4: "\x1b[33m",
  5: "\x1b[31m",
};

/**
 * `127.0.0.1 - "GET /path HTTP/1.1" 200 1234 3.2ms`, the status coloured by class when `colour`; a
 * response cut short ends with ` (incomplete)`. Control characters in the target are escaped so a log
 * line can't be forged.
 */
export function formatAccessLine(e: AccessLogEntry, colour: boolean): string {
  const line = `"${e.method} ${escapeControls(e.url)} HTTP/${e.httpVersion}" ${e.status} ${e.bytes}`;
  const tail = ` ${e.durationMs.toFixed(1)}ms${e.completed ? "" : " (incomplete)"}`;
  const code = colour ? COLOURS[Math.floor(e.status / 100)] : undefined;
  return code === undefined
    ? `${e.remoteAddr} - ${line}${tail}`
    : `${e.remoteAddr} - ${code}${line}\x1b[0m${tail}`;
}

/**
 * `s` with control characters (C0, DEL and the C1 range, where U+009B is a terminal's CSI) and `"`
 * written as `\xNN`, so a client's text can't end a log line, forge the next one or drive a terminal.
 */
export function escapeControls(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x22) {
      return s.replace(
        /[\x00-\x1f\x7f-\x9f"]/g,
        (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`,
      );
    }
  }
  return s;
}

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return stream.isTTY === true;
}
