// `phial run` options for deployment: --trust-proxy (checked up front), --no-access-log, the timeouts.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRunArgs, UsageError } from "../../src/cli/run.ts";

test("--trust-proxy takes a list of proxies; none by default", () => {
  assert.equal(parseRunArgs([], {}).trustProxy, undefined);
  assert.equal(parseRunArgs(["--trust-proxy", "loopback,10.0.0.0/8"], {}).trustProxy, "loopback,10.0.0.0/8");
});

test("--trust-proxy refuses hop counts, * and names that are not addresses, with the reason", () => {
  for (const bad of ["1", "*", "true", "nginx", "10.0.0.0/99"]) {
    assert.throws(
      () => parseRunArgs(["--trust-proxy", bad], {}),
      (e: unknown) => e instanceof UsageError && /--trust-proxy/.test(e.message),
      bad,
    );
  }
});

test("the access log is on by default; --no-access-log turns it off", () => {
  assert.equal(parseRunArgs([], {}).accessLog, true);
  assert.equal(parseRunArgs(["--no-access-log"], {}).accessLog, false);
});

test("--keep-alive-timeout, --headers-timeout and --request-timeout set the wire's timeouts, checked", () => {
  assert.deepEqual(parseRunArgs([], {}).timeouts, {});
  assert.deepEqual(
    parseRunArgs(
      ["--keep-alive-timeout", "75000", "--headers-timeout", "5000", "--request-timeout", "60000"],
      {},
    ).timeouts,
    { keepAliveTimeout: 75_000, headersTimeout: 5_000, requestTimeout: 60_000 },
  );
  for (const bad of ["", "0", "-5", "1.5", "5s", "soon"]) {
    assert.throws(
      () => parseRunArgs(["--keep-alive-timeout", bad], {}),
      (e: unknown) => e instanceof UsageError && e.message.includes("--keep-alive-timeout"),
      JSON.stringify(bad),
    );
  }
});
