// Joining an untrusted relative name (a URL path segment list, decoded once by the router) under a
// trusted folder without ever leaving it. Every refusal is "not found": the caller answers 404,
// never 500, and never says why (that would map the file system for an attacker).
//
// The name is checked lexically first (cheap, no I/O), then the real path of the result is checked
// against the real path of the folder, so a symlink inside the folder that points outside is refused
// too. The same rules apply on every platform: a name that would be dangerous on Windows (`\`, `C:`,
// `NUL`, `con.txt`, trailing dots) is refused on Linux as well, so an app behaves the same wherever it
// is deployed and its tests catch what Windows would let through.

import type { Stats } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import path, { resolve } from "node:path";

/** Windows device names: opening `NUL`, `COM1.txt` or `aux.js` there reaches a device, not a file. */
const DEVICE_NAMES = new Set([
  "CON",
  "PRN",
  "AUX",
  "NUL",
  "CONIN$",
  "CONOUT$",
  "COM0",
  "COM1",
  "COM2",
  "COM3",
  "COM4",
  "COM5",
  "COM6",
  "COM7",
  "COM8",
  "COM9",
  "COM¹",
  "COM²",
  "COM³",
  "LPT0",
  "LPT1",
  "LPT2",
  "LPT3",
  "LPT4",
  "LPT5",
  "LPT6",
  "LPT7",
  "LPT8",
  "LPT9",
  "LPT¹",
  "LPT²",
  "LPT³",
]);

/** True when `segment` names a Windows device (any case, any extension, trailing spaces ignored). */
export function isWindowsDeviceName(segment: string): boolean {
  if (segment.length < 3) return false;
  const dot = segment.indexOf(".");
  const stem = (dot === -1 ? segment : segment.slice(0, dot)).trimEnd().toUpperCase();
  return stem.length >= 3 && stem.length <= 7 && DEVICE_NAMES.has(stem);
}

/**
 * Checks one path segment; false when it must not reach the file system. `.` and empty segments
 * (from `a//b` or a trailing `/`) are the caller's to skip.
 */
function segmentIsSafe(s: string): boolean {
  const n = s.length;
  // Only dots: `..` walks up; Windows also trims `...` to `..`-like names.
  let onlyDots = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // NUL and other controls; `\` (a separator on Windows); `:` (drive letters, NTFS streams `a:$DATA`).
    if (c < 0x20 || c === 0x7f || c === 0x5c || c === 0x3a) return false;
    if (c !== 0x2e) onlyDots = false;
  }
  if (onlyDots) return false;
  // Windows drops trailing dots and spaces: `secret.txt.` opens `secret.txt`, `NUL ` opens NUL.
  const last = s.charCodeAt(n - 1);
  if (last === 0x2e || last === 0x20) return false;
  return !isWindowsDeviceName(s);
}

/**
 * Joins `name` (slash-separated, already percent-decoded once) under `root`, lexically.
 * Returns the absolute path, or undefined when `name` is empty, absolute, or has a `..` segment, a
 * backslash, NUL or another control character, a colon (drive letters, NTFS streams), a Windows
 * device name, or a segment ending in a dot or space. `name` is never decoded again: `%2e%2e` stays a
 * literal (and almost surely missing) file name.
 */
export function safeJoin(root: string, name: string): string | undefined {
  return safeJoinWith(path, root, name);
}

/** @internal `safeJoin` with a given path flavour (`path.win32` lets Linux CI check Windows paths). */
export function safeJoinWith(p: path.PlatformPath, root: string, name: string): string | undefined {
  if (name.length === 0 || name.length > 4096) return undefined;
  if (name.charCodeAt(0) === 0x2f || p.isAbsolute(name)) return undefined;
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= name.length; i++) {
    if (i !== name.length && name.charCodeAt(i) !== 0x2f) continue;
    const s = name.slice(start, i);
    start = i + 1;
    if (s.length === 0 || s === ".") continue;
    if (!segmentIsSafe(s)) return undefined;
    parts.push(s);
  }
  if (parts.length === 0) return undefined;
  const base = p.resolve(root);
  const full = p.resolve(base, ...parts);
  // Belt and braces: the lexical rules above already keep `full` under `base`.
  if (!isInside(base, full, p.sep)) return undefined;
  return full;
}

/** True when `child` is `parent` itself or below it. Both must be absolute and normalized. */
export function isInside(parent: string, child: string, sep: string = path.sep): boolean {
  if (child === parent) return true;
  const prefix = parent.endsWith(sep) ? parent : parent + sep;
  return child.startsWith(prefix);
}

/**
 * `safeJoin`, then the file system: the real path of an existing **regular file** under the real
 * path of `root`, or undefined when there is none or a symlink leads outside. Symlinks that stay
 * inside the folder are followed.
 */
export async function safeResolveFile(root: string, name: string): Promise<string | undefined> {
  return (await safeResolveFileStats(root, name))?.path;
}

/** Real paths of served folders, kept for a second (one realpath less per request). */
const rootCache = new Map<string, { real: string; until: number }>();
const ROOT_TTL_MS = 1000;

async function realRootOf(absRoot: string, fresh: boolean): Promise<string> {
  const now = Date.now();
  const hit = rootCache.get(absRoot);
  if (!fresh && hit !== undefined && hit.until > now) return hit.real;
  const real = await realpath(absRoot);
  if (rootCache.size > 1000) rootCache.clear(); // folders are few; never let it grow unbounded
  rootCache.set(absRoot, { real, until: now + ROOT_TTL_MS });
  return real;
}

/** `safeResolveFile`, with the file's `Stats` (one `stat` for the caller to reuse). */
export async function safeResolveFileStats(
  root: string,
  name: string,
): Promise<{ path: string; stats: Stats } | undefined> {
  const joined = safeJoin(root, name);
  if (joined === undefined) return undefined;
  const absRoot = resolve(root);
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realRootOf(absRoot, false);
    real = await realpath(joined);
    // A miss may come from a root swapped since it was cached (`current -> releases/N`): ask again.
    if (!isInside(realRoot, real)) realRoot = await realRootOf(absRoot, true);
  } catch {
    return undefined; // missing file, missing folder, a loop of links, a name too long: all 404
  }
  if (real === realRoot || !isInside(realRoot, real)) return undefined;
  let stats: Stats;
  try {
    stats = await stat(real);
  } catch {
    return undefined;
  }
  return stats.isFile() ? { path: real, stats } : undefined;
}
