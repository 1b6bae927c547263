// The demo in a real browser (Debian's chromium through playwright-core): sign up, sign out, a wrong
// password, the right one, the flash after it, the session kept across pages, an upload and its
// download back byte-identical, an error page, sign out. A screenshot of each step is kept under
// .artifacts/browser/ (gitignored) for a human to look at.
//
// Skips when /usr/bin/chromium is missing (.ci/run installs it): `apt-get install chromium`. Another
// chromium: PHIAL_CHROMIUM=/path/to/chromium.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { createDemo } from "../../demo/main.ts";

const CHROMIUM = process.env.PHIAL_CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../../.artifacts/browser/", import.meta.url));

/** Deterministic bytes that no text decoding would leave intact (every byte value, NUL and CR/LF included). */
function payload(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 0x2545f491;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

test("the demo in chromium: accounts, session, flash, upload and download, errors", {
  skip: existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} is missing: apt-get install chromium (.ci/run does), or set PHIAL_CHROMIUM`,
  timeout: 60_000,
}, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "phial-browser-data-"));
  const profile = mkdtempSync(join(tmpdir(), "phial-browser-profile-"));
  const { app } = createDemo({ dataDir, logger: { info() {}, warn() {}, error: console.error } });
  const server = app.listen();
  const addr = await server.listen(0, "127.0.0.1");
  const base = `http://127.0.0.1:${addr.port}`;
  let context: BrowserContext | undefined;
  t.after(async () => {
    await context?.close();
    await server.close({ deadline: 2_000 });
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });

  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
    acceptDownloads: true,
    viewport: { width: 1100, height: 760 },
  });
  context.setDefaultTimeout(10_000);
  const page: Page = context.pages()[0] ?? (await context.newPage());
  let shot = 0;
  const snap = async (name: string) => {
    shot++;
    await page.screenshot({
      path: join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`),
      fullPage: true,
    });
  };
  const flashes = async () => (await page.locator(".flashes li").allTextContents()).map((s) => s.trim());

  // Home.
  let res = await page.goto(`${base}/`);
  assert.equal(res?.status(), 200);
  assert.equal(await page.locator("h1").textContent(), "A small real site on Phial");
  // The stylesheet loaded (a real browser fetched /static/style.css and applied it).
  const brandColor = await page.locator("header.top .brand").evaluate(
    // Runs in the page, where getComputedStyle is a global (this project's types are Node's, not the DOM's).
    (el) =>
      (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(el)
        .color,
  );
  assert.equal(brandColor, "rgb(107, 63, 160)");
  await snap("home");

  // Sign up through the form: signed in, with a flash.
  await page.getByRole("link", { name: "Sign up" }).first().click();
  await page.locator("#username").fill("alice");
  await page.locator("#password").fill("wonderland-42");
  await page.locator("#confirm").fill("wonderland-42");
  await snap("signup-form");
  await Promise.all([
    page.waitForURL(`${base}/profile`),
    page.getByRole("button", { name: "Create the account" }).click(),
  ]);
  assert.deepEqual(await flashes(), ["Welcome, alice! Your account is ready."]);
  await snap("signed-up");

  // Sign out, then a wrong password.
  await Promise.all([page.waitForURL(`${base}/`), page.getByRole("button", { name: "Sign out" }).click()]);
  assert.deepEqual(await flashes(), ["You are signed out."]);
  await page.getByRole("link", { name: "Sign in" }).first().click();
  await page.locator("#username").fill("alice");
  await page.locator("#password").fill("wrong password");
  const [wrong] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${base}/signin` && r.request().method() === "POST"),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  assert.equal(wrong.status(), 401);
  await page.waitForSelector(".form-error");
  assert.equal((await page.locator(".form-error").textContent())?.trim(), "Wrong username or password.");
  assert.equal(await page.locator("#username").inputValue(), "alice", "the name is kept");
  await snap("wrong-password");

  // The right password: the profile, with the flash.
  await page.locator("#password").fill("wonderland-42");
  await Promise.all([
    page.waitForURL(`${base}/profile`),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  assert.deepEqual(await flashes(), ["Welcome back, alice!"]);
  assert.equal(await page.locator("h1").textContent(), "alice");
  await snap("signed-in-flash");

  // The session holds across pages; the flash was shown once.
  await page.goto(`${base}/seed/hello`);
  assert.equal(await page.locator("h1").textContent(), "Hello, alice!");
  assert.deepEqual(await flashes(), []);
  assert.equal((await page.locator("header .who").textContent())?.trim(), "alice");
  const cookies = await context.cookies(base);
  assert.deepEqual(
    cookies.map((c) => c.name),
    ["session"],
    "one cookie: the signed session",
  );
  assert.equal(cookies[0]!.httpOnly, true);
  assert.doesNotMatch(decodeURIComponent(cookies[0]!.value), /wonderland/);

  // Upload a binary file, see it listed.
  await page.getByRole("link", { name: "Files", exact: true }).click();
  await page.waitForURL(`${base}/files`);
  assert.match((await page.locator(".empty").textContent()) ?? "", /No files yet/);
  const data = payload(300_000);
  await page
    .locator("#file")
    .setInputFiles({ name: "rabbit hole.bin", mimeType: "application/octet-stream", buffer: data });
  await Promise.all([
    page.waitForURL(`${base}/files`),
    page.getByRole("button", { name: "Upload", exact: true }).click(),
  ]);
  assert.deepEqual(await flashes(), ["Uploaded rabbit_hole.bin (293 KB)."]);
  assert.equal(await page.locator("table.files tbody tr").count(), 1);
  await snap("uploaded");

  // Download it back: byte-identical, under its name.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "rabbit_hole.bin" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "rabbit_hole.bin");
  const saved = await download.path();
  assert.ok(saved !== null, (await download.failure()) ?? "the download failed");
  assert.deepEqual(readFileSync(saved), data, "the download is the uploaded bytes");

  // The API sees the same session.
  res = await page.goto(`${base}/api/files`);
  assert.equal(res?.status(), 200);
  const api = JSON.parse((await page.locator("body").textContent()) ?? "") as {
    user: string;
    files: { size: number }[];
  };
  assert.equal(api.user, "alice");
  assert.deepEqual(
    api.files.map((f) => f.size),
    [data.length],
  );
  await snap("api-files");

  // A friendly 404.
  res = await page.goto(`${base}/no/such/page`);
  assert.equal(res?.status(), 404);
  assert.equal(await page.locator(".error-page .code").textContent(), "404");
  await snap("not-found");

  // Sign out: the file area asks for a sign-in again.
  await page.goto(`${base}/files`);
  await Promise.all([page.waitForURL(`${base}/`), page.getByRole("button", { name: "Sign out" }).click()]);
  assert.deepEqual(await flashes(), ["You are signed out."]);
  await snap("signed-out");
  await page.goto(`${base}/files`);
  assert.equal(new URL(page.url()).pathname, "/signin");
  assert.deepEqual(await flashes(), ["Please sign in to see that page."]);
  await snap("files-needs-sign-in");
});
