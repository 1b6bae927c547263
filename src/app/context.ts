// The request context behind Flask-style globals (`request`, `g`, `session`), on AsyncLocalStorage.
// Explicit `req` stays the first-class way; the globals are for code ported from Flask.

import { AsyncLocalStorage } from "node:async_hooks";
import type { Request } from "./request.ts";

/** Per-request scratch space, as Flask's `g`. */
export type G = Record<string, unknown>;

/** What the context holds for one request. */
export interface RequestContext {
  readonly app: AppLike;
  readonly request: Request;
  readonly g: G;
}

/** The little of an app the context needs (kept narrow to avoid a cycle with app.ts). */
export interface AppLike {
  readonly name: string;
}

export const contextStorage = new AsyncLocalStorage<RequestContext>();

/** The current request context, or undefined outside a request. */
export function currentContext(): RequestContext | undefined {
  return contextStorage.getStore();
}

function outside(what: string): Error {
  return new Error(
    `Working outside of request context: \`${what}\` is only available while a request is handled. ` +
      "Use the `req` argument of your handler, or call this from inside a handler, hook or template.",
  );
}

/** Builds a proxy that forwards to the current request's object. */
function contextProxy<T extends object>(what: string, pick: (ctx: RequestContext) => T): T {
  const target = Object.create(null) as T;
  return new Proxy(target, {
    get(_t, key) {
      const ctx = contextStorage.getStore();
      if (ctx === undefined) {
        if (key === Symbol.toPrimitive || key === "then" || key === Symbol.toStringTag) return undefined;
        throw outside(what);
      }
      const obj = pick(ctx) as Record<PropertyKey, unknown>;
      const v = Reflect.get(obj, key, obj);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(obj) : v;
    },
    set(_t, key, value) {
      const ctx = contextStorage.getStore();
      if (ctx === undefined) throw outside(what);
      return Reflect.set(pick(ctx) as object, key, value);
    },
    has(_t, key) {
      const ctx = contextStorage.getStore();
      if (ctx === undefined) throw outside(what);
      return Reflect.has(pick(ctx) as object, key);
    },
    deleteProperty(_t, key) {
      const ctx = contextStorage.getStore();
      if (ctx === undefined) throw outside(what);
      return Reflect.deleteProperty(pick(ctx) as object, key);
    },
    ownKeys() {
      const ctx = contextStorage.getStore();
      if (ctx === undefined) throw outside(what);
      return Reflect.ownKeys(pick(ctx) as object);
    },
    getOwnPropertyDescriptor(_t, key) {
      const ctx = contextStorage.getStore();
      if (ctx === undefined) throw outside(what);
      const d = Reflect.getOwnPropertyDescriptor(pick(ctx) as object, key);
      if (d !== undefined) d.configurable = true;
      return d;
    },
  });
}

/** The request being handled (Flask's `request`). Prefer the handler's `req` argument. */
export const request: Request = contextProxy("request", (ctx) => ctx.request);

/** Scratch space for the current request (Flask's `g`). */
export const g: G = contextProxy("g", (ctx) => ctx.g);
