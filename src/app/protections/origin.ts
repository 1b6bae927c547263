// Origins: the request's own (`scheme://host`, as the client sees it behind a trusted proxy) and
// whether a browser's `Origin` is that one or a trusted one. Shared by CSRF and WebSocket upgrades.

import type { Request } from "../wrappers/request.ts";

/** `https://example.com` / `http://127.0.0.1:5000`: the origin the client addressed. */
export function ownOrigin(req: Request): string {
  return `${req.scheme}://${req.host}`.toLowerCase();
}

/** True when `origin` is the request's own origin or one of `trusted` (compared case-insensitively). */
export function originAllowed(req: Request, origin: string, trusted: readonly string[]): boolean {
  const o = origin.toLowerCase();
  if (o === ownOrigin(req)) return true;
  for (const t of trusted) if (t.toLowerCase() === o) return true;
  return false;
}
