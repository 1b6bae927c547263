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
  let s = filename
    .normalize("NFKD")
    .replace(/[^\x00-\x7f]/g, "")
    .replace(/[/\\]/g, " ");
  s = s
    .split(/\s+/)
    .filter((p) => p.length > 0)
    .join("_")
    .replace(/[^A-Za-z0-9_.-]/g, "");
  s = s.replace(/^[._]+|[._]+$/g, "");
  if (s.length > 0 && isWindowsDeviceName(s)) s = `_${s}`;
  if (s.length > MAX_LENGTH) {
    const dot = s.lastIndexOf(".");
    const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : "";
    s = s.slice(0, MAX_LENGTH - ext.length) + ext;
  }
  return s;
}
