// The WebSocket opening handshake, server side (RFC 6455 §4.2, RFC 7692 §5 and §7.1): checks an upgrade
// request's fields, picks the subprotocol and the permessage-deflate parameters, and builds the 101.
// It knows nothing of routes: the caller decides whether the URL takes WebSockets at all.

import * as crypto from "node:crypto";
import { isToken } from "./fields.ts";
import type { IncomingRequest } from "./request.ts";

/** The GUID of RFC 6455 §1.3, hashed with the client's key into Sec-WebSocket-Accept. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** crypto.hash (Node 20.12+, 21.7+): a one-shot digest without a Hash object. */
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: "base64") => string }).hash;

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)). */
export function webSocketAccept(key: string): string {
  // The key is checked base64 (ASCII), so UTF-8 and latin1 give the same bytes.
  if (oneShot !== undefined) return oneShot("sha1", key + GUID, "base64");
  return crypto
    .createHash("sha1")
    .update(key + GUID, "latin1")
    .digest("base64");
}

/** The permessage-deflate parameters agreed in a handshake (RFC 7692 §7.1). */
export interface DeflateParams {
  /** The server resets its compressor after each message (server_no_context_takeover). */
  readonly serverNoContextTakeover: boolean;
  /** The client resets its compressor after each message, so ours may reset the decompressor. */
  readonly clientNoContextTakeover: boolean;
  /** The server's LZ77 window (server_max_window_bits), 9-15. */
  readonly serverMaxWindowBits: number;
}

export interface HandshakeOptions {
  /** Subprotocols spoken, preferred first; the first one the client also offers is chosen. */
  readonly protocols?: readonly string[];
  /** Accept a permessage-deflate offer. Default false. */
  readonly perMessageDeflate?: boolean;
}

/** An upgrade request that can be accepted. */
export interface AcceptedHandshake {
  readonly ok: true;
  /** The Sec-WebSocket-Accept value. */
  readonly accept: string;
  /** The chosen subprotocol, or "". */
  readonly protocol: string;
  /** The agreed permessage-deflate parameters, or undefined for none. */
  readonly deflate: DeflateParams | undefined;
  /** The Sec-WebSocket-Extensions answer, or "". */
  readonly extensions: string;
}

/** An upgrade request that must be refused, with the HTTP answer to give. */
export interface RefusedHandshake {
  readonly ok: false;
  readonly status: 400 | 426;
  /** Why, for the body of the answer. */
  readonly message: string;
  /** Fields the answer must carry (426 names the version we speak). */
  readonly headers: Readonly<Record<string, string>>;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
/** 16 bytes in base64: 22 characters and "==" (RFC 6455 §4.1, item 7). */
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

function refuse(message: string, status: 400 | 426 = 400, headers = NO_HEADERS): RefusedHandshake {
  return { ok: false, status, message, headers };
}

/**
 * Checks an upgrade request for a WebSocket handshake (method, version, key) and negotiates the
 * subprotocol and permessage-deflate. The caller has already seen `Upgrade: websocket`.
 */
export function negotiateWebSocket(
  req: IncomingRequest,
  options: HandshakeOptions = {},
): AcceptedHandshake | RefusedHandshake {
  if (req.method !== "GET") return refuse(`A WebSocket handshake is a GET request, not ${req.method}.`);
  if (req.httpVersion !== "1.1") return refuse("A WebSocket handshake needs HTTP/1.1.");
  const raw = req.rawHeaders;
  const version = field(raw, "sec-websocket-version");
  if (version !== "13") {
    // §4.2.2: a version we don't speak gets 426 and the versions we do.
    return refuse(
      version === undefined
        ? "The WebSocket handshake has no Sec-WebSocket-Version field: send version 13."
        : `WebSocket version ${version} is not supported: this server speaks version 13.`,
      426,
      { "Sec-WebSocket-Version": "13" },
    );
  }
  const key = field(raw, "sec-websocket-key");
  if (key === undefined || !KEY.test(key))
    return refuse("The WebSocket handshake needs a Sec-WebSocket-Key of 16 random bytes in base64.");

  let protocol = "";
  const offeredProtocols = field(raw, "sec-websocket-protocol");
  if (offeredProtocols !== undefined) {
    const offered = splitTokens(offeredProtocols);
    if (offered === undefined) return refuse("Sec-WebSocket-Protocol must be a list of tokens.");
    const ours = options.protocols;
    if (ours !== undefined)
      for (const p of ours)
        if (offered.includes(p)) {
          protocol = p;
          break;
        }
  }

  let deflate: DeflateParams | undefined;
  let extensions = "";
  const offeredExtensions =
    options.perMessageDeflate === true ? field(raw, "sec-websocket-extensions") : undefined;
  if (offeredExtensions !== undefined) {
    const offers = parseExtensions(offeredExtensions);
    if (offers === undefined) return refuse("Sec-WebSocket-Extensions is malformed.");
    for (const offer of offers) {
      if (offer.name !== "permessage-deflate") continue;
      const params = deflateParams(offer.params);
      if (params === undefined) continue; // §5.1: an offer we can't accept is declined; try the next
      deflate = params;
      extensions = "permessage-deflate";
      if (params.serverNoContextTakeover) extensions += "; server_no_context_takeover";
      if (params.clientNoContextTakeover) extensions += "; client_no_context_takeover";
      if (params.serverMaxWindowBits !== 15)
        extensions += `; server_max_window_bits=${params.serverMaxWindowBits}`;
      break;
    }
  }
  return { ok: true, accept: webSocketAccept(key), protocol, deflate, extensions };
}

/** The 101 answer, with `extra` lines ("Name: value", already checked) added. */
export function switchingProtocols(hs: AcceptedHandshake, extra: readonly string[] = []): string {
  let head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${hs.accept}\r\n`;
  if (hs.protocol !== "") head += `Sec-WebSocket-Protocol: ${hs.protocol}\r\n`;
  if (hs.extensions !== "") head += `Sec-WebSocket-Extensions: ${hs.extensions}\r\n`;
  for (const line of extra) head += `${line}\r\n`;
  return `${head}\r\n`;
}

/**
 * A field's value by lowercased name, repeated lines joined with ", " (so two keys make an invalid
 * one): a scan of the raw fields, without building the request's whole field map.
 */
function field(raw: readonly string[], lower: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === lower.length && n.toLowerCase() === lower)
      v = v === undefined ? raw[i + 1] : `${v}, ${raw[i + 1]}`;
  }
  return v;
}

/** "a, b,c" as tokens, or undefined when an item is not a token. */
function splitTokens(value: string): string[] | undefined {
  const out: string[] = [];
  for (const part of value.split(",")) {
    const t = part.trim();
    if (t === "") continue;
    if (!isToken(t)) return undefined;
    out.push(t);
  }
  return out;
}

interface ExtensionOffer {
  name: string;
  /** Parameters in order, the value undefined when absent. */
  params: [string, string | undefined][];
}

const MAX_OFFERS = 16;
const MAX_PARAMS = 16;

/**
 * Sec-WebSocket-Extensions (RFC 6455 §9.1): `name *( ";" param [ "=" (token | quoted-string) ] )`, the
 * offers separated by commas. One pass, bounded counts; undefined when malformed.
 */
export function parseExtensions(value: string): ExtensionOffer[] | undefined {
  const offers: ExtensionOffer[] = [];
  const n = value.length;
  let i = 0;
  const skipSpace = () => {
    while (i < n && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TCHAR[value.charCodeAt(i)] === 1) i++;
    return value.slice(start, i);
  };
  for (;;) {
    skipSpace();
    if (i < n && value.charCodeAt(i) === 0x2c) {
      i++; // empty list element
      continue;
    }
    if (i >= n) break;
    const name = token();
    if (name === "") return undefined;
    const offer: ExtensionOffer = { name: name.toLowerCase(), params: [] };
    if (offers.push(offer) > MAX_OFFERS) return undefined;
    for (;;) {
      skipSpace();
      if (i >= n) break;
      const c = value.charCodeAt(i);
      if (c === 0x2c) {
        i++;
        break;
      }
      if (c !== 0x3b) return undefined;
      i++;
      skipSpace();
      const param = token();
      if (param === "") return undefined;
      skipSpace();
      let v: string | undefined;
      if (i < n && value.charCodeAt(i) === 0x3d) {
        i++;
        skipSpace();
        if (i < n && value.charCodeAt(i) === 0x22) {
          // quoted-string; §9.1: its content must itself be a token
          i++;
          let s = "";
          while (i < n && value.charCodeAt(i) !== 0x22) {
            if (value.charCodeAt(i) === 0x5c) i++;
            if (i >= n) return undefined;
            s += value[i];
            i++;
          }
          if (i >= n) return undefined;
          i++;
          v = s;
        } else v = token();
        if (v === "" || !isToken(v)) return undefined;
      }
      if (offer.params.push([param.toLowerCase(), v]) > MAX_PARAMS) return undefined;
    }
  }
  return offers;
}

const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[c.charCodeAt(0)] = 1;

/** Window bits as RFC 7692 §7.1.2 writes them: 8-15, no leading zero. */
function windowBits(v: string): number | undefined {
  if (v.length > 2 || (v.length === 2 && v[0] === "0")) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 8 && n <= 15 ? n : undefined;
}

/**
 * The parameters of a permessage-deflate offer we accept, or undefined to decline it: unknown or
 * repeated parameters, or invalid values (§7.1). `server_max_window_bits=8` is declined too: zlib
 * widens a raw deflate window of 8 to 9 (Node's documented behaviour), which the client could not
 * inflate.
 */
function deflateParams(params: readonly [string, string | undefined][]): DeflateParams | undefined {
  let serverNoContextTakeover = false;
  let clientNoContextTakeover = false;
  let serverMaxWindowBits = 15;
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) return undefined;
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
        if (value !== undefined) return undefined;
        serverNoContextTakeover = true;
        break;
      case "client_no_context_takeover":
        if (value !== undefined) return undefined;
        clientNoContextTakeover = true;
        break;
      case "server_max_window_bits": {
        const bits = value === undefined ? undefined : windowBits(value);
        if (bits === undefined || bits === 8) return undefined;
        serverMaxWindowBits = bits;
        break;
      }
      case "client_max_window_bits":
        // The client may use a smaller window; we inflate with the largest, which reads any.
        if (value !== undefined && windowBits(value) === undefined) return undefined;
        break;
      default:
        return undefined;
    }
  }
  return { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits };
}
