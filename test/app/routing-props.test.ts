// Property-style tests: pathological and random inputs finish fast and never throw (no ReDoS:
// LESSONS 4), and building then matching round-trips. Seeded PRNG, no timing assertions beyond a
// generous bound that only a super-linear matcher would break.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Router } from "../../src/app/routing/index.ts";

/** mulberry32: small, seeded, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bigRouter(): Router<number> {
  const r = new Router<number>();
  const rules = [
    "/",
    "/a/",
    "/a/<int:id>",
    "/a/<name>",
    "/a/new",
    "/b/<path:p>",
    "/b/<path:p>/edit",
    "/c/<int:y>-<int:m>-<int:d>",
    "/c/<name>.<ext>",
    "/d/<string(minlength=2, maxlength=8):s>/",
    "/e/<uuid:u>",
    "/f/<float(signed=True):v>",
    "/g/<any(x, y, z):k>/<path:rest>",
    "/<a>/<b>/<c>/<d>",
    "/<path:all>.json",
    "/<path:a>/x/<path:b>/y",
  ];
  rules.forEach((rule, i) => {
    r.add(rule, { endpoint: `e${i}`, methods: i % 3 === 0 ? ["GET", "POST"] : ["GET"], data: i });
  });
  return r;
}

test("100k-character paths and pathological shapes match in linear time", () => {
  const r = bigRouter();
  const big = 100_000;
  const inputs = [
    `/${"a".repeat(big)}`,
    `/a/${"9".repeat(big)}`,
    `/a/${"-".repeat(big)}`,
    "/".repeat(big),
    `/${"a/".repeat(big / 2)}`,
    `/b/${"x/".repeat(big / 2)}edit`,
    `/b/${"x/".repeat(big / 2)}`,
    `/c/${"1-".repeat(big / 2)}`,
    `/c/${"-".repeat(big)}`,
    `/c/${".".repeat(big)}`,
    `/c/${"a.".repeat(big / 2)}x`,
    `/d/${"é".repeat(big)}/`,
    `/e/${"0".repeat(big)}`,
    `/f/-${"1".repeat(big)}.${"2".repeat(big)}`,
    `/g/x/${"//".repeat(big / 2)}`,
    `/${"a/".repeat(big / 2)}.json`,
    `/${"%".repeat(big)}`,
    `/${"\u0000".repeat(big)}`,
    `/${"\ud800".repeat(big)}/`,
    `/${"x/".repeat(big / 2)}`,
    `/${"x/".repeat(big / 2)}z`,
    `/a/${"x/".repeat(big / 2)}y`,
  ];
  const start = process.hrtime.bigint();
  for (const p of inputs) {
    for (const method of ["GET", "DELETE", "OPTIONS"]) {
      const res = r.match(p, method, "q=1");
      assert.ok(["match", "redirect", "methodNotAllowed", "notFound"].includes(res.kind));
      r.allowedMethods(p);
    }
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // ~60 matches over 100 KB each: linear work is a few tens of ms; quadratic would be minutes.
  assert.ok(ms < 5_000, `took ${ms} ms`);
});

test("the 100k forms still match what they should", () => {
  const r = bigRouter();
  const res = r.match(`/b/${"x/".repeat(50_000)}edit`, "GET", "");
  assert.equal(res.kind === "match" && res.rule.endpoint, "e6");
  assert.equal(r.match("/".repeat(100_000), "GET", "").kind, "match", "all slashes: `/`, as Werkzeug");
  const long = r.match(`/a/${"n".repeat(100_000)}`, "GET", "");
  assert.equal(long.kind === "match" && (long.params.name as string).length, 100_000);
});

test("random segment soups never throw, and results are consistent", () => {
  const r = bigRouter();
  const rand = prng(12345);
  const alphabet = [
    "a",
    "new",
    "b",
    "c",
    "d",
    "edit",
    "1",
    "-",
    ".",
    "json",
    "",
    "x",
    "é",
    "%",
    "2024-1-2",
    "1.5",
    "-0.0",
    "\ud800",
    " ",
  ];
  for (let n = 0; n < 20_000; n++) {
    const k = 1 + Math.floor(rand() * 7);
    let path = "";
    for (let j = 0; j < k; j++) {
      let seg = "";
      const parts = Math.floor(rand() * 3) + 1;
      for (let q = 0; q < parts; q++) seg += alphabet[Math.floor(rand() * alphabet.length)];
      path += `/${seg}`;
    }
    if (rand() < 0.2) path += "/";
    const method = ["GET", "POST", "HEAD", "OPTIONS", "PATCH"][Math.floor(rand() * 5)]!;
    const res = r.match(path, method, "");
    const allowed = r.allowedMethods(path);
    if (res.kind === "methodNotAllowed") {
      assert.ok(res.allowed.length > 0 && !res.allowed.includes(method), path);
      assert.deepEqual(res.allowed, allowed, path);
    }
    if (res.kind === "match") {
      assert.ok(res.rule.methods.has(method) || method === "OPTIONS", path);
      if (method !== "OPTIONS") assert.ok(allowed.includes(method), path);
    }
    if (res.kind === "redirect")
      assert.ok(res.location.startsWith("/") && !res.location.startsWith("//"), path);
  }
});

test("build then match round-trips random values", () => {
  const r = new Router<null>();
  r.add("/s/<name>/i/<int(signed=True):n>/f/<float(signed=True):x>", {
    endpoint: "a",
    methods: ["GET"],
    data: null,
  });
  r.add("/p/<path:p>", { endpoint: "p", methods: ["GET"], data: null });
  const rand = prng(7);
  const chars = "aZ09 -._~!$&'()*+,;=:@%?#[]\\\"<>^`{|}日本é😀";
  const word = (min: number) => {
    let s = "";
    const len = min + Math.floor(rand() * 12);
    for (let i = 0; i < len; i++) s += [...chars][Math.floor(rand() * [...chars].length)];
    return s;
  };
  for (let i = 0; i < 3_000; i++) {
    const name = word(1);
    const n = Math.floor((rand() - 0.5) * 2e12);
    const x = Math.round((rand() - 0.5) * 1e6) / 1000;
    const url = r.build("a", { name, n, x });
    assert.ok(/^[\x21-\x7e]+$/.test(url), `URL is ASCII: ${url}`);
    const res = r.match(decodeURIComponent(url), "GET", "");
    assert.equal(res.kind, "match", url);
    assert.deepEqual(res.kind === "match" && res.params, { name, n, x });
    const p = `${word(1).replace(/^\/+/, "") || "x"}/${word(0)}`.replace(/\/+/g, "/").replace(/\/$/, "/z");
    if (p.startsWith("/")) continue;
    const purl = r.build("p", { p });
    const pres = r.match(decodeURIComponent(purl), "GET", "");
    assert.deepEqual(pres.kind === "match" && pres.params, { p }, purl);
  }
});

test("1,000 routes: every one matches its own URL and builds back", () => {
  const r = new Router<number>();
  for (let i = 0; i < 1000; i++) {
    const rule = i % 2 === 0 ? `/r${i}/static/x` : `/r${i}/<int:id>/<name>`;
    r.add(rule, { endpoint: `e${i}`, methods: ["GET"], data: i });
  }
  for (let i = 0; i < 1000; i++) {
    const url = i % 2 === 0 ? r.build(`e${i}`) : r.build(`e${i}`, { id: i, name: `n${i}` });
    const res = r.match(url, "GET", "");
    assert.equal(res.kind === "match" && res.rule.data, i, url);
  }
});

test("the work per match doesn't grow with the number of routes (converter calls counted)", () => {
  for (const n of [10, 1000]) {
    let calls = 0;
    const r = new Router<number>();
    r.addConverter("counted", () => ({
      parse: (s) => {
        calls++;
        return s;
      },
      format: (v) => String(v),
      weight: 100,
    }));
    for (let i = 0; i < n; i++) {
      r.add(`/r${i}/<counted:x>`, { endpoint: `a${i}`, methods: ["GET"], data: i });
      r.add(`/<counted:y>/s${i}`, { endpoint: `b${i}`, methods: ["GET"], data: i });
      r.add(`/static${i}`, { endpoint: `c${i}`, methods: ["GET"], data: i });
    }
    const last = n - 1;
    const cases: [string, number | null, number][] = [
      [`/r${last}/v`, last, 1], // static segment by Map, then one converter call
      [`/anything/s${last}`, last, 1], // one shared converter state for all n rules
      [`/static${last}`, last, 0], // the whole-path Map
      ["/nothing/here", null, 1],
      [`/r${last}/v/extra`, null, 2],
    ];
    for (const [path, data, expected] of cases) {
      calls = 0;
      const res = r.match(path, "GET", "");
      assert.equal(res.kind === "match" ? res.rule.data : null, data, path);
      assert.equal(calls, expected, `${n} routes, ${path}: ${calls} converter calls`);
    }
  }
});
