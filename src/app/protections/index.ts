// The web's everyday protections, in the core: CORS policies (cors.ts), CSRF checks and tokens
// (csrf.ts), security headers and CSP nonces (security-headers.ts), origins (origin.ts).
//
// May import the wrappers, the request context and the wire's media-type parser; nothing from dispatch
// or app (the Phial type only). The dispatch pipeline calls them; the templates get `csrfToken()` and
// `cspNonce()` as globals.

export { addVary, type CorsOptions, CorsPolicy, compileCors, isPreflight } from "./cors.ts";
export {
  CSRFError,
  checkCsrf,
  checkCsrfOrigin,
  checkCsrfToken,
  csrfToken,
  csrfTokenInBody,
  simpleBody,
  unsafeMethod,
} from "./csrf.ts";
export { originAllowed, ownOrigin } from "./origin.ts";
export { applySecurityHeaders, cspNonce, type SecurityHeadersOptions } from "./security-headers.ts";
