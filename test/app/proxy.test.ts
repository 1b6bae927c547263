import assert from "node:assert/strict";
import { test } from "node:test";
import { compileTrust, type ForwardedFields, resolveForwarded } from "../../src/app/wrappers/proxy.ts";

const ALL: ForwardedFields = { for: true, proto: true, host: true, prefix: true };

function view(peer: string, headers: Record<string, string>, setting: Parameters<typeof compileTrust>[0]) {
  const trust = compileTrust(setting);
  return resolveForwarded(peer, (n) => headers[n], trust, ALL);
}

test("nothing forwarded is believed by default", () => {
  const v = view("203.0.113.9", { "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https" }, false);
  assert.equal(v.remoteAddr, "203.0.113.9");
  assert.equal(v.scheme, undefined);
});

test("an untrusted peer's X-Forwarded-* is ignored even when trust is on", () => {
  const v = view(
    "203.0.113.9",
    { "x-forwarded-for": "1.2.3.4", "x-forwarded-host": "evil.test" },
    "loopback",
  );
  assert.equal(v.remoteAddr, "203.0.113.9");
  assert.equal(v.host, undefined);
});

test("behind a local nginx: the client, scheme, host and prefix come from the fields", () => {
  const v = view(
    "127.0.0.1",
    {
      "x-forwarded-for": "198.51.100.7",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "shop.example",
      "x-forwarded-prefix": "/app/",
    },
    "loopback",
  );
  assert.equal(v.remoteAddr, "198.51.100.7");
  assert.deepEqual(v.accessRoute, ["198.51.100.7", "127.0.0.1"]);
  assert.equal(v.scheme, "https");
  assert.equal(v.host, "shop.example");
  assert.equal(v.prefix, "/app");
});

test("a spoofed X-Forwarded-For is walked right to left to the first untrusted hop", () => {
  // The client sent "X-Forwarded-For: 6.6.6.6"; nginx appended the real peer 198.51.100.7.
  const v = view("127.0.0.1", { "x-forwarded-for": "6.6.6.6, 198.51.100.7" }, "loopback");
  assert.equal(v.remoteAddr, "198.51.100.7");
  // Two trusted proxies (a load balancer in 10/8, then nginx on loopback).
  const w = view("::1", { "x-forwarded-for": "6.6.6.6, 198.51.100.7, 10.1.2.3" }, ["loopback", "10.0.0.0/8"]);
  assert.equal(w.remoteAddr, "198.51.100.7");
  assert.deepEqual(w.accessRoute, ["198.51.100.7", "10.1.2.3", "::1"]);
});

test("IPv4-mapped peers, ports and brackets in items, garbage stops the walk", () => {
  assert.equal(
    view("::ffff:127.0.0.1", { "x-forwarded-for": "198.51.100.7:5555" }, "loopback").remoteAddr,
    "198.51.100.7",
  );
  assert.equal(
    view("127.0.0.1", { "x-forwarded-for": "[2001:db8::1]:443" }, "loopback").remoteAddr,
    "2001:db8::1",
  );
  assert.equal(
    view("127.0.0.1", { "x-forwarded-for": "1.1.1.1, not-an-ip" }, "loopback").remoteAddr,
    "127.0.0.1",
  );
});

test("odd forwarded values are refused rather than trusted", () => {
  const v = view(
    "127.0.0.1",
    {
      "x-forwarded-proto": "javascript",
      "x-forwarded-host": "a.test/evil?x",
      "x-forwarded-prefix": "//evil",
    },
    "loopback",
  );
  assert.equal(v.scheme, undefined);
  assert.equal(v.host, undefined);
  assert.equal(v.prefix, undefined);
});

test("settings that can't be checked are refused with the fix", () => {
  assert.throws(() => compileTrust(true), /name the proxies.*loopback/);
  assert.throws(() => compileTrust(1), /hop count/);
  assert.throws(() => compileTrust("localhost"), /not an IP address/);
  assert.throws(() => compileTrust("10.0.0.0/33"), /prefix length/);
  const fn = compileTrust((addr) => addr === "192.0.2.1")!;
  assert.equal(fn.trusts("192.0.2.1", 0), true);
});
