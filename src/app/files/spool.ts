// A request body read whole, without holding a large one in memory: up to `memory` bytes it is kept
// in a Buffer; past that, what came so far and the rest go to a private temp file as they arrive
// (Werkzeug's SpooledTemporaryFile for form bodies). The caller removes the file when the request is
// over; a body cut short, or one past `max`, leaves no file behind.

import { randomBytes } from "node:crypto";
import { type FileHandle, open, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RequestEntityTooLarge } from "../wrappers/exceptions.ts";
import { type RequestSource, tooLarge } from "../wrappers/request.ts";

/** The body in memory, or the temp file holding it. */
export type SpooledBody =
  | { data: Buffer; path?: undefined }
  | { data?: undefined; path: string; size: number };

/**
 * Reads `source`'s body: at most `max` bytes (413 beyond, before anything is written when the length
 * is declared), in memory up to `memory` bytes, else in a temp file under `dir` (default `os.tmpdir()`).
 */
export async function spoolBody(
  source: RequestSource,
  max: number,
  memory: number,
  dir: string | undefined,
): Promise<SpooledBody> {
  const declared = source.contentLength;
  if (declared > max) throw tooLarge(max);
  // Declared and small: the wire hands it over in one piece.
  if (declared >= 0 && declared <= memory) return { data: await source.body() };
  const parts: Buffer[] = [];
  let total = 0;
  let fh: FileHandle | undefined;
  let path: string | undefined;
  try {
    for await (const chunk of source) {
      total += chunk.length;
      if (total > max) throw tooLarge(max);
      if (fh === undefined) {
        parts.push(chunk);
        if (total <= memory) continue;
        path = join(dir ?? tmpdir(), `phial-body-${randomBytes(9).toString("base64url")}`);
        fh = await open(path, "wx", 0o600).catch(notStored);
        await fh.writev(parts).catch(notStored);
        parts.length = 0;
      } else {
        await fh.write(chunk).catch(notStored);
      }
    }
    if (fh === undefined) return { data: parts.length === 1 ? parts[0]! : Buffer.concat(parts, total) };
    await fh.close().catch(notStored);
    fh = undefined;
    return { path: path!, size: total };
  } catch (err) {
    if (fh !== undefined) await fh.close().catch(() => undefined);
    if (path !== undefined) await unlink(path).catch(() => undefined);
    throw err;
  }
}

/** The temp file could not be written (disk full, a file-size limit): a 413 that says so, as for uploads. */
function notStored(err: unknown): never {
  throw new RequestEntityTooLarge(
    `Could not store the request body: ${(err as Error).message}. Send a smaller body, or try again later.`,
  );
}
