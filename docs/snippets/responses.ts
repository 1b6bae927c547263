// Snippets of docs/responses.md.

import { EventEmitter, on } from "node:events";
import { DefaultJsonProvider, jsonify, makeResponse, Phial, Response, redirect, safeRedirect } from "phial";

const app = new Phial(import.meta.url);

// #region basic
app.get("/", () => "<h1>HTML by default</h1>"); // text/html; charset=utf-8
app.get("/api/user", () => ({ name: "Ada", admin: true })); // application/json
app.get("/api/list", () => jsonify([1, 2, 3])); // arrays are tuples, so JSON arrays need jsonify
app.get("/created", () => [{ id: 1 }, 201, { Location: "/items/1" }]); // [body, status, headers]
// #endregion

// #region tuples
app.get("/t1", () => ["Not here", 404]); // [body, status]
app.get("/t2", () => ["Hi", { "X-Hello": "world" }]); // [body, headers]
app.get("/t3", () => ["Custom", "299 Fine Thanks"]); // a status with its own reason phrase
app.get("/t4", () => [
  "two cookies",
  200,
  [
    ["Set-Cookie", "a=1; Path=/"],
    ["Set-Cookie", "b=2; Path=/"],
  ],
]); // a list of pairs keeps repeated fields
// #endregion

// #region response
app.get("/csv", () => {
  const res = new Response("a,b\n1,2\n", { mimetype: "text/csv" }); // → text/csv; charset=utf-8
  res.headers.set("Content-Disposition", 'attachment; filename="data.csv"');
  return res;
});
app.get("/made", () => {
  const res = makeResponse("made", 202, { "X-Made": "yes" });
  res.setCookie("seen", "1", { maxAge: 3600 }); // maxAge is in seconds
  return res;
});
// #endregion

// #region conditional
app.get("/report", (req) => {
  const res = makeResponse("the report, 16 B");
  res.addEtag(); // "…" from the body's SHA-1; or res.setEtag("v7")
  res.lastModified = new Date("2026-01-01T00:00:00Z");
  res.cacheControl.maxAge = 60; // Cache-Control: max-age=60
  res.cacheControl.public = true; // → max-age=60, public
  return res.makeConditional(req, { acceptRanges: true }); // 304, 412, 206 or 416 when asked
});
// #endregion

// #region redirect
app.get("/old", () => redirect("/new")); // 302, Location: /new
app.get("/moved", () => redirect("/new", 301));
app.get("/login-done", (req) => safeRedirect(req.args.get("next") ?? "/")); // refuses //evil.example
// #endregion

// #region stream
app.get("/count", () => {
  async function* numbers() {
    for (let i = 1; i <= 3; i++) yield `${i}\n`;
  }
  return new Response(numbers(), { mimetype: "text/plain" }); // sent chunked, with backpressure
});
app.get(
  "/events",
  () =>
    new Response(
      (function* () {
        yield "data: hello\n\n";
      })(),
      { mimetype: "text/event-stream" },
    ),
);

// #endregion

// #region sse
const news = new EventEmitter(); // elsewhere: news.emit("item", { title: "…" })

app.get("/news", (req) => {
  async function* events() {
    try {
      // Every wait takes req.signal: it ends (with an AbortError) the moment the client leaves.
      for await (const [item] of on(news, "item", { signal: req.signal })) {
        yield `data: ${JSON.stringify(item)}\n\n`;
      }
    } finally {
      // Runs as soon as the client is gone: unsubscribe, release what the stream holds.
    }
  }
  return new Response(events(), { mimetype: "text/event-stream", headers: { "Cache-Control": "no-cache" } });
});
// #endregion

// #region adapters
// A fetch-style call: a web Request in, a web Response out (no socket).
const webRes = await app.fetch(new Request("http://localhost/api/user"));
console.log(webRes.status, await webRes.json()); // 200 { name: "Ada", admin: true }

// Or serve the same app through node:http:
//   import { createServer } from "node:http";
//   createServer(app.nodeHandler()).listen(8000);
// #endregion

export { app, news, webRes };

// A second app, so that the JSON settings below don't change the samples above.
export const pretty = new Phial(import.meta.url);
pretty.get("/", () => ({ b: 1, a: [1, 2] }));
{
  const app = pretty; // hide
  // #region json
  app.json = new DefaultJsonProvider({ sortKeys: true, indent: 2 });
  // or Flask's exact output (sorted keys, ASCII only, HTTP dates, trailing newline):
  // app.json = DefaultJsonProvider.flask();
  // #endregion
}

// The page's claims about types, checked by the compiler (not shown in the page):
// @ts-expect-error a handler that returns nothing is a type error
app.get("/nothing", () => {});
// @ts-expect-error a bare array is not a tuple: wrap JSON arrays in jsonify()
app.get("/bare", () => [1, 2, 3]);
// @ts-expect-error a number is not a response
app.get("/number", () => 42);
