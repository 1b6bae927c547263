// The domain a request is matched on under host or subdomain matching, as Werkzeug's
// `Map.bind_to_environ` computes it: the Host in lower case, the scheme's default port left out; for
// subdomains, what comes before the server name (`config.serverName`, Flask's SERVER_NAME).

/**
 * True when a (normalised) host is made of what a host and port may hold: letters, digits, `-`, `.`,
 * `_`, `:` and the brackets of an IPv6 literal. A Host with `/`, spaces, `@` or escapes matches no rule.
 */
export function isHostText(host: string): boolean {
  if (host.length === 0 || host.length > 255) return false;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (
      !(
        (c >= 0x61 && c <= 0x7a) ||
        (c >= 0x30 && c <= 0x3a) || // digits and ":"
        c === 0x2d ||
        c === 0x2e ||
        c === 0x5f ||
        c === 0x5b ||
        c === 0x5d
      )
    )
      return false;
  }
  return true;
}

/** `Alice.Example.com:80` over http → `alice.example.com`; `:443` is left out for https (and wss). */
export function normalHost(host: string, scheme: string): string {
  let h = host.toLowerCase();
  if ((scheme === "http" || scheme === "ws") && h.endsWith(":80")) h = h.slice(0, -3);
  else if ((scheme === "https" || scheme === "wss") && h.endsWith(":443")) h = h.slice(0, -4);
  return h;
}

/**
 * The subdomain of a normalised host under a normalised server name: `""` for the server name itself,
 * `alice` for `alice.example.com` under `example.com` (empty labels dropped, as Werkzeug does), or
 * undefined when the host is not under the server name (Werkzeug matches such a request as the
 * subdomain `"<invalid>"`; here nothing matches it: a 404).
 */
export function subdomainOf(host: string, serverName: string): string | undefined {
  if (host === serverName) return "";
  if (host.length <= serverName.length + 1 || !host.endsWith(serverName)) return undefined;
  if (host.charCodeAt(host.length - serverName.length - 1) !== 0x2e) return undefined;
  const sub = host.slice(0, host.length - serverName.length - 1);
  return sub.indexOf("..") === -1 && !sub.startsWith(".")
    ? sub
    : sub
        .split(".")
        .filter((s) => s !== "")
        .join(".");
}
