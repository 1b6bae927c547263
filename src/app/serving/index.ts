// Between a Response and a server: writing it to the wire with backpressure (write.ts), the same app
// behind node:http and fetch-style runtimes (adapters.ts), stopping streamed bodies at once when the
// client leaves (streams.ts), the access log (access-log.ts), and app.run()'s guard: serve only from the
// file Node runs, listen errors in one line (run-guard.ts).
//
// May import src/http and the wrappers; the app only through the small interfaces these modules declare
// (`Handles`) or as a type. Nothing from dispatch or the feature folders.

export { type AccessLogEntry, formatAccessLine } from "./access-log.ts";
