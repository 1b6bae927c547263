// phial/http as a user imports it: the package entry point, and the field helpers in a raw handler.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as wire from "phial/http";
import {
  createServer,
  encodeQuery,
  mediaTypeEssence,
  parseAccept,
  parseCookieHeader,
  parseMediaType,
  parseQuery,
  serializeSetCookie,
  TooManyFieldsError,
} from "phial/http";
import { Raw } from "./_sock.ts";

test("phial/http resolves through the package's own exports", () => {
  assert.equal(typeof wire, "object");
  for (const name of [
    "parseCookieHeader",
    "serializeSetCookie",
    "encodeCookieValue",
    "decodeCookieValue",
    "parseMediaType",
    "mediaTypeEssence",
    "isJsonMediaType",
    "parseAccept",
    "parseQuery",
    "encodeQuery",
    "percentDecode",
    "TooManyFieldsError",
  ]) {
    assert.equal(typeof (wire as Record<string, unknown>)[name], "function", `phial/http exports ${name}`);
  }
});

test("a raw phial/http handler parses cookies, the query, a form body and media types with them", async () => {
  const server = createServer(async (req, res) => {
    const url = req.url;
    const q = url.indexOf("?");
    const query = parseQuery(q === -1 ? "" : url.slice(q + 1));
    const cookies = parseCookieHeader(req.headers.cookie ?? "");
    const type = mediaTypeEssence(req.headers["content-type"]);
    const charset = parseMediaType(req.headers["content-type"] ?? "")?.params.charset;
    const form = type === "application/x-www-form-urlencoded" ? parseQuery(await req.text()) : [];
    let tooMany = false;
    try {
      parseQuery("a&b&c", { maxFields: 2 });
    } catch (e) {
      tooMany = e instanceof TooManyFieldsError;
    }
    res.setHeader("Set-Cookie", serializeSetCookie("seen", "yes, really", { httpOnly: true, path: "/" }));
    res.setHeader("Content-Type", "application/json");
    res.end(
      JSON.stringify({
        query,
        cookies,
        type,
        charset,
        form,
        tooMany,
        best: parseAccept(req.headers.accept ?? "")[0]?.value,
        echo: encodeQuery({ q: "a b&c", n: [1, 2] }),
      }),
    );
  });
  const { port } = await server.listen(0, "127.0.0.1");
  try {
    const c = await Raw.connect(port);
    const body = "name=J%C3%BCrgen&x=a+b";
    c.write(
      "POST /p?tag=a&tag=b%20c&empty= HTTP/1.1\r\nHost: x\r\n" +
        'Cookie: sid="abc"; theme="dark mode"; =nameless\r\n' +
        "Accept: text/html;q=0.5, application/json\r\n" +
        "Content-Type: Application/X-WWW-Form-Urlencoded; Charset=UTF-8\r\n" +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
    );
    const r = await c.response();
    assert.equal(r.status, 200);
    assert.equal(r.header("set-cookie"), 'seen="yes\\054 really"; HttpOnly; Path=/');
    assert.deepEqual(JSON.parse(r.body.toString()), {
      query: [
        ["tag", "a"],
        ["tag", "b c"],
        ["empty", ""],
      ],
      cookies: [
        ["sid", "abc"],
        ["theme", "dark mode"],
      ],
      type: "application/x-www-form-urlencoded",
      charset: "UTF-8",
      form: [
        ["name", "Jürgen"],
        ["x", "a b"],
      ],
      tooMany: true,
      best: "application/json",
      echo: "q=a+b%26c&n=1&n=2",
    });
    c.destroy();
  } finally {
    await server.close({ deadline: 200 });
  }
});
