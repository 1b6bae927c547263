// Files in and out: `sendFile` / `sendFromDirectory` / static files (send-file.ts), the decisions behind
// them (validators, conditional requests, ranges, disposition: file-response.ts), path checks that never
// leave a folder (safe-join.ts), `secureFilename`, and uploads: the streaming multipart parser
// (multipart.ts, on busboy) and the body loader that spools parts to disk (uploads.ts).
//
// May import the wrappers and the request context (for the current app and request); nothing from
// dispatch or app (the Phial type only). The app installs `loadMultipart` as a body loader.

export {
  encodeMultipart,
  MultipartError,
  type MultipartFile,
  type MultipartLimits,
  parseMultipart,
} from "./multipart.ts";
export { safeJoin } from "./safe-join.ts";
export { secureFilename } from "./secure-filename.ts";
export {
  type SendFileOptions,
  type SendFromDirectoryOptions,
  sendFile,
  sendFromDirectory,
} from "./send-file.ts";
