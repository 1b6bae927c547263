// Rate limit strings as Flask-Limiter writes them: "5 per minute", "5/minute", "100 per 2 hours",
// several joined by ";" or ",". Parsed once, when the limit is declared.

/** One limit: `amount` hits per `windowMs`. */
export interface RateLimitItem {
  readonly amount: number;
  readonly windowMs: number;
  /** As written, normalized: "5 per 1 minute". */
  readonly text: string;
}

const UNITS: Readonly<Record<string, number>> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  month: 30 * 86_400_000,
  year: 365 * 86_400_000,
};

// "<amount> per|/ [<multiple>] <unit>[s]": linear, anchored, no nested quantifiers.
const ONE = /^\s*(\d{1,9})\s*(?:\/|\bper\b)\s*(\d{1,9})?\s*(second|minute|hour|day|month|year)s?\s*$/i;

/** Parses "5 per minute; 100/day" into its limits. Throws a TypeError that shows the expected form. */
export function parseLimits(spec: string | readonly string[]): RateLimitItem[] {
  const parts = typeof spec === "string" ? spec.split(/[;,]/) : spec.flatMap((s) => s.split(/[;,]/));
  const out: RateLimitItem[] = [];
  for (const part of parts) {
    if (part.trim() === "") continue;
    const m = ONE.exec(part);
    if (m === null) {
      throw new TypeError(
        `Can't read the rate limit ${JSON.stringify(part.trim())}: write it as "5 per minute", "5/minute" ` +
          `or "100 per 2 hours" (units: ${Object.keys(UNITS).join(", ")})`,
      );
    }
    const amount = Number(m[1]);
    const multiple = m[2] === undefined ? 1 : Number(m[2]);
    if (amount < 1 || multiple < 1)
      throw new TypeError(`A rate limit needs at least 1 hit per at least 1 unit: ${part}`);
    const unit = m[3]!.toLowerCase();
    out.push({ amount, windowMs: multiple * UNITS[unit]!, text: `${amount} per ${multiple} ${unit}` });
  }
  if (out.length === 0)
    throw new TypeError(`No rate limit in ${JSON.stringify(spec)}: write e.g. "5 per minute"`);
  return out;
}
