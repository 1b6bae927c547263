// The WebSocket opening handshake of phial/http: what a server accepts, declines and refuses
// (RFC 6455 §4.2, RFC 7692 §7.1), checked on the functions and over a socket.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { type IncomingRequest, negotiateWebSocket, switchingProtocols, webSocketAccept } from "phial/http";
import { parseExtensions } from "../../src/http/websocket-handshake.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function request(fields: Record<string, string>, method = "GET", httpVersion = "1.1"): IncomingRequest {
  const headers: Record<string, string> = {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": KEY,
    "sec-websocket-version": "13",
  };
  for (const [k, v] of Object.entries(fields)) {
    if (v === "") delete headers[k];
    else headers[k] = v;
  }
  const rawHeaders = Object.entries(headers).flat();
  return { method, httpVersion, headers, rawHeaders } as unknown as IncomingRequest;
}

describe("negotiateWebSocket", () => {
  test("the accept value is RFC 6455's example (§1.3)", () => {
    assert.equal(webSocketAccept(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    const hs = negotiateWebSocket(request({}));
    assert.ok(hs.ok);
    assert.equal(
      hs.accept,
      createHash("sha1").update(`${KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64"),
    );
    assert.equal(
      switchingProtocols(hs, ["Set-Cookie: a=1"]),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSet-Cookie: a=1\r\n\r\n",
    );
  });

  test("a key that is not 16 bytes in base64, or none, is a 400", () => {
    for (const key of [
      "",
      "abc",
      "dGhlIHNhbXBsZSBub25jZQ",
      "dGhlIHNhbXBsZSBub25jZR==",
      "dGhlIHNhbXBsZSBub25jZQ==x",
    ]) {
      const hs = negotiateWebSocket(request({ "sec-websocket-key": key }));
      assert.equal(hs.ok, false, key);
      if (!hs.ok) {
        assert.equal(hs.status, 400);
        assert.match(hs.message, /Sec-WebSocket-Key/);
      }
    }
  });

  test("a version other than 13 is a 426 that names 13 (§4.2.2)", () => {
    for (const v of ["8", "14", ""]) {
      const hs = negotiateWebSocket(request({ "sec-websocket-version": v }));
      assert.equal(hs.ok, false);
      if (!hs.ok) {
        assert.equal(hs.status, 426);
        assert.deepEqual(hs.headers, { "Sec-WebSocket-Version": "13" });
      }
    }
  });

  test("not GET, or not HTTP/1.1, is a 400", () => {
    assert.equal(negotiateWebSocket(request({}, "POST")).ok, false);
    assert.equal(negotiateWebSocket(request({}, "GET", "1.0")).ok, false);
  });

  test("the first of our subprotocols the client offers is chosen; none is fine too", () => {
    const ours = { protocols: ["chat.v2", "chat.v1"] };
    const pick = (offer: string) => {
      const hs = negotiateWebSocket(request({ "sec-websocket-protocol": offer }), ours);
      return hs.ok ? hs.protocol : `refused ${hs.status}`;
    };
    assert.equal(pick("chat.v1, chat.v2"), "chat.v2");
    assert.equal(pick("chat.v1"), "chat.v1");
    assert.equal(pick("other"), "");
    assert.equal(pick("a b"), "refused 400");
    const hs = negotiateWebSocket(request({ "sec-websocket-protocol": "chat.v1" }), ours);
    assert.ok(hs.ok);
    assert.match(switchingProtocols(hs), /\r\nSec-WebSocket-Protocol: chat\.v1\r\n/);
  });
});

describe("permessage-deflate offers (RFC 7692 §7.1)", () => {
  const answer = (offer: string, perMessageDeflate = true) => {
    const hs = negotiateWebSocket(request({ "sec-websocket-extensions": offer }), { perMessageDeflate });
    return hs.ok ? hs.extensions : `refused ${hs.status}`;
  };

  test("accepted offers, and what the server answers", () => {
    assert.equal(answer("permessage-deflate"), "permessage-deflate");
    assert.equal(answer("permessage-deflate; client_max_window_bits"), "permessage-deflate");
    assert.equal(answer("permessage-deflate; client_max_window_bits=10"), "permessage-deflate");
    assert.equal(
      answer("permessage-deflate; server_no_context_takeover"),
      "permessage-deflate; server_no_context_takeover",
    );
    assert.equal(
      answer("permessage-deflate; client_no_context_takeover; server_max_window_bits=10"),
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=10",
    );
    assert.equal(
      answer('permessage-deflate; server_max_window_bits="12"'),
      "permessage-deflate; server_max_window_bits=12",
    );
    assert.equal(answer("x-other, permessage-deflate"), "permessage-deflate");
    const hs = negotiateWebSocket(
      request({ "sec-websocket-extensions": "permessage-deflate; server_max_window_bits=11" }),
      {
        perMessageDeflate: true,
      },
    );
    assert.ok(hs.ok);
    assert.deepEqual(hs.deflate, {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 11,
    });
  });

  test("an offer the server can't honour is declined, and the next one tried", () => {
    for (const offer of [
      "permessage-deflate; server_max_window_bits=7",
      "permessage-deflate; server_max_window_bits=16",
      "permessage-deflate; server_max_window_bits=010",
      "permessage-deflate; server_max_window_bits", // needs a value
      "permessage-deflate; server_max_window_bits=8", // zlib would use 9: the client couldn't inflate
      "permessage-deflate; client_max_window_bits=16",
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover=1",
      "permessage-deflate; unknown_param",
    ])
      assert.equal(answer(offer), "", offer);
    assert.equal(
      answer("permessage-deflate; server_max_window_bits=7, permessage-deflate; client_no_context_takeover"),
      "permessage-deflate; client_no_context_takeover",
    );
  });

  test("off unless the route asks for it; a malformed field is a 400", () => {
    assert.equal(answer("permessage-deflate", false), "");
    assert.equal(answer("permessage-deflate; =1"), "refused 400");
    assert.equal(answer('permessage-deflate; server_max_window_bits="10'), "refused 400");
  });

  test("the field's grammar: tokens, quoted values, empty list elements, bounded counts", () => {
    assert.deepEqual(parseExtensions(' a ; b = "c" ,, d;e'), [
      { name: "a", params: [["b", "c"]] },
      { name: "d", params: [["e", undefined]] },
    ]);
    assert.equal(parseExtensions("a; b=c d"), undefined);
    assert.equal(parseExtensions('a; b="c d"'), undefined); // a quoted value must still be a token
    assert.equal(parseExtensions(Array.from({ length: 17 }, () => "x").join(",")), undefined);
    assert.equal(parseExtensions(`x${"; p".repeat(17)}`), undefined);
  });
});
