// phial/client — an HTTP/1.1 client on phial's own parser: keep-alive pools, redirects, cookies,
// decoding, timeouts and strict response parsing.

import { Client, type RequestOptions, type VerbOptions } from "./client.ts";
import type { ClientResponse } from "./response.ts";

export type { BodyInit, FormInit, MultipartFile, MultipartInit, MultipartValue } from "./body.ts";
export { Client, type ClientOptions, type RequestOptions, type VerbOptions } from "./client.ts";
export { type Cookie, CookieJar } from "./cookies.ts";
export {
  ClientError,
  ConnectError,
  ConnectionClosedError,
  ConnectTimeoutError,
  DecodeError,
  HeadersTimeoutError,
  MalformedResponseError,
  ReadTimeoutError,
  RedirectError,
  RequestAbortedError,
  RequestTimeoutError,
  ResponseTooLargeError,
  TooManyRedirectsError,
} from "./errors.ts";
export { type HeadersInit, ResponseHeaders } from "./headers.ts";
export type { TlsSettings } from "./pool.ts";
export { type ProxyInit, type ProxySettings, proxyFromEnv } from "./proxy.ts";
export { ClientResponse } from "./response.ts";

let shared: Client | undefined;

/** The client behind the module-level functions (created on first use, no cookies, default options). */
export function defaultClient(): Client {
  if (shared === undefined) shared = new Client();
  return shared;
}

/** Sends a request with the shared default client. */
export function request(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
  return defaultClient().request(url, options);
}
export function get(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
  return defaultClient().get(url, options);
}
export function head(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
  return defaultClient().head(url, options);
}
export function post(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
  return defaultClient().post(url, options);
}
export function put(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
  return defaultClient().put(url, options);
}
export function patch(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
  return defaultClient().patch(url, options);
}
/** DELETE (`delete` is a reserved word, so it is exported as `del` and as `delete` through the namespace). */
export function del(url: string | URL, options?: VerbOptions): Promise<ClientResponse> {
  return defaultClient().delete(url, options);
}
export { del as delete };
