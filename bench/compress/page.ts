// The page of the compression bench: 64 KiB of HTML (a table of rows that differ), deterministic, so that
// gzip and brotli have real work to do (it compresses to about a tenth, as pages do), and its file.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PAGE_SIZE = 64 * 1024;

export function pageHtml(): string {
  let html = "<!doctype html>\n<html><head><title>Orders</title></head><body><table>\n";
  let i = 0;
  let seed = 7;
  while (html.length < PAGE_SIZE - 200) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    html += `<tr class="row-${i % 7}"><td>${i}</td><td>order ${seed.toString(36)}</td><td>${(seed % 100000) / 100} EUR</td><td>status ${["new", "paid", "sent", "closed"][seed % 4]}</td></tr>\n`;
    i++;
  }
  html += "</table></body></html>\n";
  return html.padEnd(PAGE_SIZE, " ");
}

/** The folder with `page.html` (written once per run). */
export function pageDir(): string {
  const dir = join(tmpdir(), "phial-bench-compress");
  const file = join(dir, "page.html");
  const want = pageHtml();
  try {
    if (readFileSync(file, "utf8") === want) return dir;
  } catch {
    // missing: written below
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, want);
  return dir;
}
