// V8 (11.3, Node 20) turns String.prototype into a dictionary once a library makes an object with it
// as prototype (Nunjucks does, for its SafeString): every string method call in the process is then
// a generic lookup instead of an inlined one (`str.indexOf()` + `str.charCodeAt()` 13 ns instead of
// under 1), for the life of the process. A property lookup that misses through String.prototype, from
// a call site with type feedback (a function called a few dozen times), makes V8 mark it a prototype
// that should be fast and turn it back into one; marked, it stays fast when used as a prototype again.
// Harmless where it changes nothing (another engine, a fixed V8).

const WRAPPER = new String("");

function miss(): unknown {
  return (WRAPPER as unknown as Record<string, unknown>).__phialNoSuchProperty;
}

/** Makes (and keeps) String.prototype fast; the wire does it as it loads. */
export function keepStringPrototypeFast(): void {
  for (let i = 0; i < 64; i++) miss();
}
