// JSON for the command line without a round trip through JS values: `JSON.parse` would round
// integers above 2^53 and keep only the last of duplicate keys. Here the text is scanned (strictly,
// RFC 8259, in one pass, no regexes) and re-indented token by token, so numbers, strings and keys
// come out byte for byte as they were sent.

import type { Palette } from "./io.ts";

/** Deepest nesting formatted; deeper text is shown as it came. */
const MAX_DEPTH = 1000;

const PLAIN: Palette = {
  bold: (s) => s,
  dim: (s) => s,
  red: (s) => s,
  green: (s) => s,
  yellow: (s) => s,
  blue: (s) => s,
  magenta: (s) => s,
  cyan: (s) => s,
};

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** End (exclusive) of the string starting at `i` (a quote), or -1. */
function scanString(t: string, i: number): number {
  const n = t.length;
  for (let j = i + 1; j < n; j++) {
    const c = t.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c < 0x20) return -1;
    if (c === 0x5c) {
      const e = t.charCodeAt(++j);
      if (e === 0x75) {
        if (
          !(
            isHex(t.charCodeAt(j + 1)) &&
            isHex(t.charCodeAt(j + 2)) &&
            isHex(t.charCodeAt(j + 3)) &&
            isHex(t.charCodeAt(j + 4))
          )
        )
          return -1;
        j += 4;
      } else if (
        e !== 0x22 &&
        e !== 0x5c &&
        e !== 0x2f &&
        e !== 0x62 &&
        e !== 0x66 &&
        e !== 0x6e &&
        e !== 0x72 &&
        e !== 0x74
      )
        return -1;
    }
  }
  return -1;
}

function digits(t: string, i: number): number {
  while (i < t.length) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  return i;
}

/** End (exclusive) of the number starting at `i`, or -1. */
function scanNumber(t: string, i: number): number {
  if (t.charCodeAt(i) === 0x2d) i++;
  const c = t.charCodeAt(i);
  if (c === 0x30) i++;
  else if (c >= 0x31 && c <= 0x39) i = digits(t, i + 1);
  else return -1;
  if (t.charCodeAt(i) === 0x2e) {
    const j = digits(t, i + 1);
    if (j === i + 1) return -1;
    i = j;
  }
  const e = t.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const s = t.charCodeAt(i);
    if (s === 0x2b || s === 0x2d) i++;
    const j = digits(t, i);
    if (j === i) return -1;
    i = j;
  }
  return i;
}

/**
 * Re-indents JSON text (two spaces, colours from `c`), keeping every token as sent: big integers,
 * duplicate keys and escapes survive. Returns undefined when the text is not exactly one JSON value.
 */
export function formatJson(text: string, c: Palette = PLAIN, indent = "  "): string | undefined {
  const t = text;
  const n = t.length;
  let i = 0;
  let out = "";
  const stack: boolean[] = []; // true: inside an object
  let expectValue = true;
  const skipWs = () => {
    while (i < n && isWs(t.charCodeAt(i))) i++;
  };
  const newline = () => `\n${indent.repeat(stack.length)}`;
  /** Reads `"key":` at i (after whitespace); false when it is not there. */
  const key = (): boolean => {
    skipWs();
    if (t.charCodeAt(i) !== 0x22) return false;
    const end = scanString(t, i);
    if (end < 0) return false;
    out += `${c.blue(t.slice(i, end))}: `;
    i = end;
    skipWs();
    if (t.charCodeAt(i) !== 0x3a) return false;
    i++;
    return true;
  };
  for (;;) {
    skipWs();
    if (expectValue) {
      const ch = t.charCodeAt(i);
      if (ch === 0x7b || ch === 0x5b) {
        const obj = ch === 0x7b;
        i++;
        skipWs();
        if (t.charCodeAt(i) === (obj ? 0x7d : 0x5d)) {
          i++;
          out += obj ? "{}" : "[]";
          expectValue = false;
          continue;
        }
        if (stack.length >= MAX_DEPTH) return undefined;
        stack.push(obj);
        out += (obj ? "{" : "[") + newline();
        if (obj && !key()) return undefined;
        continue;
      }
      let end: number;
      if (ch === 0x22) {
        end = scanString(t, i);
        if (end < 0) return undefined;
        out += c.green(t.slice(i, end));
      } else {
        if (ch === 0x74 && t.startsWith("true", i)) end = i + 4;
        else if (ch === 0x66 && t.startsWith("false", i)) end = i + 5;
        else if (ch === 0x6e && t.startsWith("null", i)) end = i + 4;
        else end = scanNumber(t, i);
        if (end < 0) return undefined;
        out += c.magenta(t.slice(i, end));
      }
      i = end;
      expectValue = false;
      continue;
    }
    if (stack.length === 0) return i === n ? out : undefined;
    const obj = stack[stack.length - 1]!;
    const ch = t.charCodeAt(i);
    if (ch === 0x2c) {
      i++;
      out += `,${newline()}`;
      if (obj && !key()) return undefined;
      expectValue = true;
    } else if (ch === (obj ? 0x7d : 0x5d)) {
      i++;
      stack.pop();
      out += newline() + (obj ? "}" : "]");
    } else {
      return undefined;
    }
  }
}

/** True when `text` is exactly one JSON value (RFC 8259). */
export function isJson(text: string): boolean {
  return formatJson(text) !== undefined;
}
