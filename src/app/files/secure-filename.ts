// `secureFilename()`: Werkzeug's `secure_filename` for uploads. A client's file name can be
// `../../etc/passwd`, `C:\boot.ini`, `NUL` or 2 000 characters long; this turns it into a plain ASCII
// name that is safe to join under an upload folder on every platform.

import { isWindowsDeviceName } from "./safe-join.ts";

const MAX_LENGTH = 255; // the usual limit on one path segment, in bytes (ASCII: characters)

/**
 * A version of `filename` safe to store on any file system: accents folded to ASCII (`ü` → `u`),
 * other non-ASCII dropped, separators and whitespace turned into `_`, only `[A-Za-z0-9_.-]` kept,
 * leading and trailing dots and underscores stripped, Windows device names (`NUL`, `com1.txt`)
 * prefixed with `_`, and at most 255 characters (the extension kept).
 *
 * The result may be empty (`secureFilename("../..")` is `""`): generate a name then.
 *
 * ```ts
 * secureFilename("My cool movie.mov")     // "My_cool_movie.mov"
 * secureFilename("../../../etc/passwd")   // "etc_passwd"
 * secureFilename("naïve résumé.pdf")      // "naive_resume.pdf"
 * ```
 */
export function secureFilename(filename: string): string {
  // One pass per step, each linear in the name's length (no regex that can backtrack: a client
  // chooses the name, and one upload can carry many).
  const folded = filename.normalize("NFKD");
  // Runs of kept characters are sliced out whole (appending one character at a time is slow in V8).
  const parts: string[] = [];
  let pendingSep = false;
  let run = -1;
  for (let i = 0; i < folded.length; i++) {
    const c = folded.charCodeAt(i);
    if (isKept(c)) {
      if (pendingSep) {
        parts.push("_");
        pendingSep = false;
      }
      if (run === -1) run = i;
      continue;
    }
    if (run !== -1) {
      parts.push(folded.slice(run, i));
      run = -1;
    }
    if (c > 0x7f) continue; // non-ASCII (accents were split off by NFKD) is dropped
    if (c === 0x2f || c === 0x5c || isSpace(c)) {
      // separators and runs of whitespace become one `_` between words
      pendingSep = parts.length > 0;
      continue;
    }
    // Other ASCII is dropped, but still ends a separator run (as Werkzeug: "a !b" → "a_b").
    if (pendingSep) {
      parts.push("_");
      pendingSep = false;
    }
  }
  if (run !== -1) parts.push(folded.slice(run));
  let s = parts.join("");
  // Leading and trailing dots and underscores.
  let start = 0;
  let end = s.length;
  while (start < end && isDotOrUnderscore(s.charCodeAt(start))) start++;
  while (end > start && isDotOrUnderscore(s.charCodeAt(end - 1))) end--;
  s = s.slice(start, end);
  if (s.length > 0 && isWindowsDeviceName(s)) s = `_${s}`;
  if (s.length > MAX_LENGTH) {
    const dot = s.lastIndexOf(".");
    const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : "";
    s = s.slice(0, MAX_LENGTH - ext.length) + ext;
  }
  return s;
}

/** ASCII whitespace as Python's `str.split()` (Werkzeug) has it: tab, LF, VT, FF, CR, 0x1c–0x1f, space. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}

function isKept(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f ||
    c === 0x2e ||
    c === 0x2d
  );
}

function isDotOrUnderscore(c: number): boolean {
  return c === 0x2e || c === 0x5f;
}
