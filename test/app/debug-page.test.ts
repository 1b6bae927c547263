import assert from "node:assert/strict";
import { test } from "node:test";
import { parseStack, renderDebugHtml, renderDebugText, wantsHtml } from "../../src/app/debug/page.ts";

function failingView(): never {
  const user = { name: "<script>alert(1)</script>" };
  throw new TypeError(`no profile for ${user.name}`);
}

function caught(): unknown {
  try {
    failingView();
  } catch (err) {
    return err;
  }
}

const req = { method: "GET", url: "/profile?x=<b>", headers: [["User-Agent", "test <ua>"]] as const };

test("the stack's own frames carry the source lines around them", () => {
  const frames = parseStack(caught());
  const top = frames[0]!;
  assert.equal(top.fn, "failingView");
  assert.equal(top.own, true);
  assert.ok(top.file.endsWith("debug-page.test.ts"));
  const hit = top.context!.find(([n]) => n === top.line)!;
  assert.match(hit[1], /throw new TypeError/);
  assert.ok(
    frames.some((f) => !f.own && f.file.startsWith("node:")),
    "Node's frames are marked as not ours",
  );
});

test("the HTML page escapes everything it shows", () => {
  const html = renderDebugHtml(caught(), req);
  assert.match(html, /<h1>TypeError: no profile for &lt;script&gt;alert\(1\)&lt;\/script&gt;<\/h1>/);
  assert.match(html, /\/profile\?x=&lt;b&gt;/);
  assert.match(html, /test &lt;ua&gt;/);
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /class="hit"><i>\d+<\/i> {2}throw new TypeError/);
});

test("the text page shows the same, for curl", () => {
  const text = renderDebugText(caught(), req);
  assert.match(text, /^TypeError: no profile for <script>/);
  assert.match(text, /GET \/profile\?x=<b>/);
  assert.match(text, / {2}>\s+\d+ \| {3}throw new TypeError/);
  assert.equal(wantsHtml("text/html,application/xhtml+xml"), true);
  assert.equal(wantsHtml("*/*"), false);
  assert.equal(wantsHtml(undefined), false);
});

test("a thrown non-Error still renders", () => {
  assert.match(renderDebugText("just a string", req), /^Thrown value: just a string/);
});
