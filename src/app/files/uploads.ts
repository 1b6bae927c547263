// The framework's side of uploads: a multipart/form-data body is parsed as it arrives (never buffered
// whole) into `req.form` and `req.files`, within the app's limits, and its temp files are removed
// when the request is over (`req.callOnClose`), whatever happened in between.

import { MultiDict } from "../wrappers/datastructures.ts";
import { BadRequest, RequestEntityTooLarge } from "../wrappers/exceptions.ts";
import { type FileStorage, limit, type Request, tooLarge } from "../wrappers/request.ts";
import { MultipartError, parseMultipart } from "./multipart.ts";

/**
 * The body loader for `multipart/form-data` (installed in `Phial.defaultBodyLoaders`). Limits come
 * from `app.config`: `maxContentLength` (whole body; a route's `maxContentLength` option wins),
 * `maxFormMemorySize` (one field), `maxFormParts`,
 * `maxFormFiles`, `maxFileSize`; files above `uploadMemorySize` go to temp files in `uploadTempDir`.
 */
export async function loadMultipart(req: Request): Promise<void> {
  const c = req.app.config;
  // The route's own limit (a large-upload route) else the app's; null (Flask's None) means none.
  const max = req.maxBodyBytes;
  if (req.source.contentLength > max) throw tooLarge(max);
  let parsed: Awaited<ReturnType<typeof parseMultipart>>;
  try {
    parsed = await parseMultipart(req.contentType ?? "", req.source, {
      maxBodySize: max,
      maxFieldSize: limit(c.maxFormMemorySize),
      maxParts: limit(c.maxFormParts),
      maxFiles: limit(c.maxFormFiles),
      maxFileSize: limit(c.maxFileSize),
      memoryFileSize: c.uploadMemorySize ?? undefined,
      tempDir: c.uploadTempDir ?? undefined,
    });
  } catch (err) {
    if (err instanceof MultipartError) {
      throw err.status === 413 ? new RequestEntityTooLarge(err.message) : new BadRequest(err.message);
    }
    throw err; // the body itself failed (RequestAbortedError): the app answers it
  }
  req.callOnClose(parsed.cleanup);
  req.parsedForm = MultiDict.fromPairs(parsed.fields).freeze();
  req.parsedFiles = MultiDict.fromPairs<FileStorage>(parsed.files).freeze();
}
