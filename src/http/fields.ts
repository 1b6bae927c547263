// Field grammar of RFC 9110 §5 shared by the parser, the serializer, the client and the framework.
// Lookup tables keep the hot paths to one array index per byte.

/** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export const TOKEN: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~") t[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  return t;
})();

/**
 * Bytes allowed inside a field value: HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5).
 * NUL, CR, LF and the other controls are refused.
 */
export const FIELD_VALUE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  t[0x09] = 1;
  for (let c = 0x20; c <= 0x7e; c++) t[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) t[c] = 1;
  return t;
})();

/**
 * True when two field names are the same name: ASCII case-insensitive, as RFC 9110 §5.1 compares them
 * (no lowercased copies; a non-ASCII character never folds onto an ASCII one).
 */
export function sameFieldName(a: string, b: string): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  if (a === b) return true;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Only letters may differ, and only by case.
      const l = x | 0x20;
      if ((x ^ y) !== 0x20 || l < 0x61 || l > 0x7a) return false;
    }
  }
  return true;
}

/** True when `name` is a non-empty RFC 9110 token. */
export function isToken(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x7f || TOKEN[c] !== 1) return false;
  }
  return true;
}

/**
 * Why `value` can't be sent as a field value, or `undefined` when it can.
 * Values must be Latin-1 (one byte per character on the wire) without CR, LF, NUL or other controls.
 */
export function fieldValueProblem(value: string): string | undefined {
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) return "has characters outside Latin-1; encode it first (e.g. encodeURIComponent)";
    if (FIELD_VALUE[c] !== 1) {
      if (c === 0x0d || c === 0x0a) return "contains CR or LF (header injection)";
      return `contains the control character 0x${c.toString(16).padStart(2, "0")}`;
    }
  }
  return undefined;
}

/*
 * Names and values that passed, in small direct-mapped tables (slot by length): an app sets the same
 * few fields on every response (`Content-Type: text/html; charset=utf-8`), mostly as the same string
 * object, and comparing with the string that passed last is cheaper than scanning it again. A
 * different string in a slot only costs one failed comparison; nothing grows.
 */
const OK_NAMES: (string | undefined)[] = new Array(64).fill(undefined);
const OK_VALUES: (string | undefined)[] = new Array(64).fill(undefined);

/** Throws a TypeError naming the header when the name or value can't go on the wire. */
export function assertValidField(name: string, value: string): void {
  const ns = name.length & 63;
  if (OK_NAMES[ns] !== name) {
    if (!isToken(name)) {
      throw new TypeError(
        `Invalid header name ${JSON.stringify(name)}: header names must be RFC 9110 tokens`,
      );
    }
    OK_NAMES[ns] = name;
  }
  const vs = value.length & 63;
  if (OK_VALUES[vs] !== value) {
    const problem = fieldValueProblem(value);
    if (problem !== undefined) {
      throw new TypeError(`Invalid value for header "${name}": it ${problem}`);
    }
    OK_VALUES[vs] = value;
  }
}
