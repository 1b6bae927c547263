// Debug mode's error page: the exception, the stack with the app's own source lines, the request; and
// the rule of who may see it (debug mode, a loopback client). Read-only: no console (LESSONS: the
// Werkzeug debugger's PIN bypasses).
//
// May import the wrappers and the config's type; nothing from dispatch or app. The dispatch pipeline
// calls `showDebugPage` and `debugErrorResponse` for unhandled errors.

export { debugErrorResponse, renderDebugHtml, renderDebugText, showDebugPage, wantsHtml } from "./page.ts";
