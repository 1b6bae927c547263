// The Date header value, formatted at most once per second (RFC 9110 §6.6.1 needs second precision).

let cached = "";
let cachedLine = "";
let validUntil = 0;

/** The current time as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
export function httpDateNow(): string {
  const now = Date.now();
  if (now >= validUntil) {
    cached = new Date(now).toUTCString();
    cachedLine = `Date: ${cached}\r\n`;
    validUntil = now - (now % 1000) + 1000;
  }
  return cached;
}

/** The whole `Date` field line of a response head (name, value, CRLF), cached with the value. */
export function httpDateLine(): string {
  httpDateNow();
  return cachedLine;
}
