// The request context behind Flask-style globals (`request`, `g`, `session`). Explicit `req` stays the
// first-class way; the globals are for code ported from Flask.
//
// Cost matters here: the first AsyncLocalStorage.run() switches on promise hooks for the whole process,
// which roughly triples the cost of every `await` afterwards (Node 20). So a sync handler or hook runs
// with the request in a plain variable for the duration of the call, and only async functions (whose
// continuations need it) and streamed bodies run inside AsyncLocalStorage. An app of sync views never
// pays for it. Once the storage is on, every call uses it (a sync view returning a promise then keeps
// the context in its callbacks too).

import { AsyncLocalStorage } from "node:async_hooks";
import type { Phial } from "./app.ts";
import type { Request, SessionLike } from "./wrappers/request.ts";
import { defaultJson, setCurrentHostLookup, setJsonProviderLookup } from "./wrappers/response.ts";

/** Per-request scratch space, as Flask's `g`. */
export type G = Record<string, unknown>;

const storage = new AsyncLocalStorage<Request>();
/** The request of the sync call in progress, if any. */
let slot: Request | undefined;
/** True once `storage` was used (before that, `getStore()` can only be undefined). */
let storageUsed = false;

const AsyncFunction = (async () => {}).constructor;

/** True for `async function` / `async () =>` (their continuations need AsyncLocalStorage). */
export function isAsyncFunction(fn: unknown): boolean {
  return typeof fn === "function" && fn.constructor === AsyncFunction;
}

/** The request being handled, or undefined outside a request. */
export function currentRequest(): Request | undefined {
  if (slot !== undefined) return slot;
  return storageUsed ? storage.getStore() : undefined;
}

/**
 * Calls user code (a view, hook or error handler) with `req` as the current request. Async functions
 * run inside AsyncLocalStorage so that the globals work after their awaits; sync ones don't need it.
 */
export function invoke<A, B, R>(req: Request, isAsync: boolean, fn: (a: A, b: B) => R, a: A, b: B): R {
  // Once AsyncLocalStorage is on (its cost is then paid anyway), sync functions use it too, so that a
  // sync view returning a promise chain (`() => renderTemplate(...)`) keeps the context in its callbacks.
  if (isAsync || storageUsed) {
    storageUsed = true;
    return storage.run(req, fn, a, b);
  }
  const prev = slot;
  slot = req;
  try {
    return fn(a, b);
  } finally {
    slot = prev;
  }
}

/** Runs `fn` inside AsyncLocalStorage with `req` (streamed bodies, templates, anything async). */
export function runWithRequest<R, A extends unknown[] = []>(
  req: Request,
  fn: (...args: A) => R,
  ...args: A
): R {
  storageUsed = true;
  return storage.run(req, fn, ...args);
}

function outside(what: string): Error {
  return new Error(
    `Working outside of request context: \`${what}\` is only available while a request is handled. ` +
      "Use the `req` argument of your handler, or call this from inside a handler, hook or template " +
      "(a plain function that returns a promise loses the context in its callbacks: make it `async`).",
  );
}

/** Builds a proxy that forwards to an object of the current request. */
function contextProxy<T extends object>(what: string, pick: (req: Request) => T): T {
  const target = Object.create(null) as T;
  const current = (): object => {
    const req = currentRequest();
    if (req === undefined) throw outside(what);
    return pick(req);
  };
  return new Proxy(target, {
    get(_t, key) {
      const req = currentRequest();
      if (req === undefined) {
        // Let inspection (console.log, await, String()) work outside a request.
        if (typeof key === "symbol" || key === "then" || key === "toJSON") return undefined;
        throw outside(what);
      }
      const obj = pick(req) as Record<PropertyKey, unknown>;
      const v = Reflect.get(obj, key, obj);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(obj) : v;
    },
    set(_t, key, value) {
      return Reflect.set(current(), key, value);
    },
    has(_t, key) {
      return Reflect.has(current(), key);
    },
    deleteProperty(_t, key) {
      return Reflect.deleteProperty(current(), key);
    },
    ownKeys() {
      return Reflect.ownKeys(current());
    },
    getPrototypeOf() {
      const req = currentRequest();
      return req === undefined ? null : (Object.getPrototypeOf(pick(req)) as object | null);
    },
    getOwnPropertyDescriptor(_t, key) {
      const d = Reflect.getOwnPropertyDescriptor(current(), key);
      if (d !== undefined) d.configurable = true;
      return d;
    },
  });
}

/** The request being handled (Flask's `request`). Prefer the handler's `req` argument. */
export const request: Request = contextProxy("request", (req) => req);

/** Scratch space for the current request (Flask's `g`). */
export const g: G = contextProxy("g", (req) => req.g);

/** The current request's session (Flask's `session`). Needs the sessions module and `secretKey`. */
export const session: SessionLike = contextProxy("session", (req) => req.session);

let lastApp: Phial | undefined;

/** @internal the app of the current request, else the last one created (for urlFor outside requests). */
export function currentApp(): Phial | undefined {
  return currentRequest()?.app ?? lastApp;
}

/** @internal called by each new app: `urlFor` and `sendFile` outside a request use the newest one. */
export function setLastApp(app: Phial): void {
  lastApp = app;
}

// `jsonify` and `redirect` (in wrappers/response.ts, below the context) reach the current request this way.
setJsonProviderLookup(() => currentApp()?.json ?? defaultJson);
setCurrentHostLookup(() => currentRequest()?.host);
