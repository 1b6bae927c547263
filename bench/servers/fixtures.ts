// What every bench app serves, defined once so that each row answers the same bytes for the same work.
// The runner checks each row's answers against these before it measures anything.

import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Nunjucks from "nunjucks";

const HERE = dirname(fileURLToPath(import.meta.url));

export const HELLO = "Hello, World!";

/** `GET /user/<int:id>`: the id is parsed as an integer and sent back in a small JSON object. */
export function userJson(id: number): { id: number; name: string; active: boolean } {
  return { id, name: `User ${id}`, active: true };
}
export const USER_ID = 42;

/** A decimal id of 1 to 15 digits, or undefined: what the hand-written rows use for `<int:id>`. */
export function parseId(s: string): number | undefined {
  const n = s.length;
  if (n === 0 || n > 15) return undefined;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(s);
}

/** A deterministic JSON document of exactly 1,024 bytes, for the POST echo. */
export const POST_BODY: string = makePostBody(1024);

function makePostBody(size: number): string {
  const doc = {
    id: 7,
    customer: { name: "Ada Lovelace", email: "ada@example.test", tier: "gold" },
    items: Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i + 1, price: 9.5 + i })),
    tags: ["bench", "echo", "json"],
    note: "",
  };
  const base = JSON.stringify(doc).length;
  if (base > size) throw new Error(`POST body skeleton is ${base} bytes, over ${size}`);
  doc.note = "x".repeat(size - base);
  const s = JSON.stringify(doc);
  if (Buffer.byteLength(s) !== size) throw new Error("POST body size drifted");
  return s;
}

/** What the POST echo answers: the body parsed and serialized again. */
export const POST_REPLY: string = JSON.stringify(JSON.parse(POST_BODY));

/** The folder served at `/static/`, and the 64 KiB file in it (made on first use, not committed). */
export const STATIC_DIR = join(HERE, "static");
export const STATIC_NAME = "64k.txt";
export const STATIC_SIZE = 64 * 1024;
export const STATIC_FILE = join(STATIC_DIR, STATIC_NAME);

/** Writes the static file if it is missing or not the expected bytes. Idempotent. */
export function ensureStaticFile(): void {
  const want = staticBytes();
  try {
    if (statSync(STATIC_FILE).size === STATIC_SIZE && readFileSync(STATIC_FILE).equals(want)) return;
  } catch {
    // missing: written below
  }
  mkdirSync(STATIC_DIR, { recursive: true });
  writeFileSync(STATIC_FILE, want);
}

/** The static file's content: lines of printable ASCII, deterministic. */
export function staticBytes(): Buffer {
  const line = "phial bench static payload 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUV\n";
  const out = Buffer.alloc(STATIC_SIZE);
  for (let off = 0; off < STATIC_SIZE; off += line.length) out.write(line, off, "latin1");
  return out;
}

/** Templates for the render scenario (Nunjucks, autoescaped, as phial's `renderTemplate`). */
export const TEMPLATE_DIR = join(HERE, "templates");
export const TEMPLATE_NAME = "page.html";

export interface PageData {
  title: string;
  user: { name: string };
  items: { name: string; price: string; tags: string[] }[];
}

export const PAGE_DATA: PageData = {
  title: "Phial & friends <bench>",
  user: { name: "Ada <admin>" },
  items: Array.from({ length: 20 }, (_, i) => ({
    name: `Item ${i} <b>${i % 3 === 0 ? "sale" : "new"}</b>`,
    price: (9.99 + i * 1.25).toFixed(2),
    tags: ["a&b", `t${i}`],
  })),
};

let env: Nunjucks.Environment | undefined;

/**
 * The Nunjucks environment every peer renders with: compiled templates are cached after first use.
 * Loaded only by the template scenario: loading Nunjucks changes the whole process (V8 turns
 * String.prototype into a slow dictionary, see src/app/templates/environment.ts), which the other scenarios of
 * every row should not carry.
 */
export function templateEnv(): Nunjucks.Environment {
  if (env === undefined) {
    const nunjucks = createRequire(import.meta.url)("nunjucks") as typeof Nunjucks;
    env = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATE_DIR, { noCache: false }), {
      autoescape: true,
    });
  }
  return env;
}

/** Renders the page the way a peer app would in its handler. */
export function renderPage(): string {
  return templateEnv().render(TEMPLATE_NAME, PAGE_DATA);
}
