// The demo's API docs page in a real browser (Debian's chromium through playwright-core): Swagger UI,
// served by the app itself, loads the OpenAPI document, and one request goes through it: a sign-up
// that the app answers 201, then one that fails its schema and shows the 422 problem+json.
//
// Skips when /usr/bin/chromium is missing (.ci/run installs it): `apt-get install chromium`. Another
// chromium: PHIAL_CHROMIUM=/path/to/chromium.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { createDemo } from "../../demo/main.ts";

const CHROMIUM = process.env.PHIAL_CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../../.artifacts/browser-openapi/", import.meta.url));

test("the API docs page in chromium: Swagger UI from the app, one request run through it", {
  skip: existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} is missing: apt-get install chromium (.ci/run does), or set PHIAL_CHROMIUM`,
  timeout: 90_000,
}, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "phial-openapi-browser-"));
  const { app, users } = createDemo({ dataDir, logger: { info() {}, warn() {}, error: console.error } });
  const server = app.listen();
  const addr = await server.listen(0, "127.0.0.1");
  const base = `http://127.0.0.1:${addr.port}`;
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await server.close({ deadline: 2_000 });
    rmSync(dataDir, { recursive: true, force: true });
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(20_000);
  const outside: string[] = [];
  const problems: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:")) outside.push(r.url());
  });
  page.on("console", (m) => {
    // The 422 below is logged by chromium as a failed load: expected, not a script error.
    if (m.type() === "error" && !/status of 422/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));

  await page.goto(`${base}/api/docs`);
  await page.locator(".swagger-ui .info .title").filter({ hasText: "Phial demo API" }).waitFor();
  const op = page.locator("#operations-users-api_signup");
  await op.locator(".opblock-summary").click();
  const tryOut = op.locator("button.try-out__btn");
  if ((await tryOut.count()) > 0 && /try it out/i.test((await tryOut.textContent()) ?? ""))
    await tryOut.click();
  const body = op.locator("textarea.body-param__text");
  await body.fill(JSON.stringify({ username: "grace", password: "hopper1906" }));
  await op.locator("button.execute").click();
  const status = op.locator(".live-responses-table tr.response .response-col_status").first();
  await status.waitFor();
  assert.equal((await status.textContent())?.trim(), "201");
  await page.screenshot({ path: join(ARTIFACTS, "01-signup-201.png"), fullPage: true });
  assert.equal(await users.exists("grace"), true, "the request really went to the app");

  // The same form with a body that fails the schema: the 422 and its problem+json shown.
  await body.fill(JSON.stringify({ username: "g", password: "short" }));
  await op.locator("button.execute").click();
  await op
    .locator(".live-responses-table tr.response .response-col_status")
    .filter({ hasText: "422" })
    .waitFor();
  const shown =
    (await op.locator(".live-responses-table tr.response .response-col_description").first().textContent()) ??
    "";
  assert.match(shown, /json\.username/);
  assert.match(shown, /json\.password/);
  await page.screenshot({ path: join(ARTIFACTS, "02-signup-422.png"), fullPage: true });

  assert.deepEqual(outside, [], "the page loads nothing from outside the app");
  assert.deepEqual(problems, [], "no script errors (CSP included)");
});
