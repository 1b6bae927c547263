// Sessions and flash messages: itsdangerous-style signing (signing.ts), the signed-cookie session and
// its cookie codec (secure-cookie.ts), and their binding to the app and the request: the default
// `CookieSessionInterface`, `flash`, `getFlashedMessages`, the test client's `sessionTransaction`
// (app-sessions.ts).
//
// May import the wrappers and the request context; the session interface's contract (`SessionInterface`)
// and `Phial` are imported as types only. signing.ts and secure-cookie.ts import nothing of the app.

export { CookieSessionInterface, flash, getFlashedMessages, sessionTransaction } from "./app-sessions.ts";
export {
  type Flash,
  type FlashedOptions,
  SecureCookieSession,
  SecureCookieSessionInterface,
  type Session,
  type SessionConfig,
  type SessionData,
} from "./secure-cookie.ts";
export { BadSignature, SignatureExpired, TimedSerializer, TimestampSigner } from "./signing.ts";
