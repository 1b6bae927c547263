import assert from "node:assert/strict";
import { test } from "node:test";
import * as wire from "phial/http";

test("phial/http resolves through the package's own exports", () => {
  assert.equal(typeof wire, "object");
});
