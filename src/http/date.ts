// The Date header value, formatted at most once per second (RFC 9110 §6.6.1 needs second precision).
// A timer (unref'd: it never keeps the process alive) drops the cached value at the next second, so
// a response doesn't read the clock; as node:http does.

let cached = "";
let cachedLine = "";

function expire(): void {
  cached = "";
}

function refresh(): void {
  const now = Date.now();
  cached = new Date(now).toUTCString();
  cachedLine = `Date: ${cached}\r\n`;
  // A timer that fires a little early only makes the next call format the same second again and
  // wait for the rest of it.
  setTimeout(expire, 1000 - (now % 1000)).unref();
}

/** The current time as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
export function httpDateNow(): string {
  if (cached === "") refresh();
  return cached;
}

/** The whole `Date` field line of a response head (name, value, CRLF), cached with the value. */
export function httpDateLine(): string {
  if (cached === "") refresh();
  return cachedLine;
}
