// Flask's signals (blinker's `Namespace` signals, in Flask's shape): `requestStarted.connect(fn)`, and
// Phial sends them at the same points of a request as Flask. A receiver gets the sender (the app) and
// the signal's values; connecting one to a particular app (`connect(fn, app)`) limits it to that app.
// Receivers are for observing (metrics, logs, tests): what they return is ignored, an error they throw
// goes to the caller as in blinker. With no receiver connected, a request never looks at them.

import { hookVersion } from "./scaffold.ts";
import type { Request } from "./wrappers/request.ts";
import type { Response } from "./wrappers/response.ts";

/** A receiver: the sender (the app) and the values the signal carries. */
export type Receiver<V> = (sender: unknown, values: V) => void;

/** How many receivers all signals have: while 0, requests take the path without them. */
export const signalReceivers = { count: 0 };

export class Signal<V = Record<string, unknown>> {
  readonly name: string;
  /** @internal [receiver, sender filter] */ readonly receivers: [Receiver<V>, unknown][] = [];

  constructor(name: string) {
    this.name = name;
  }

  /**
   * Calls `receiver` each time the signal is sent; with `sender`, only when that app sends it.
   * Returns the receiver, so it also serves as a decorator-like helper.
   */
  connect(receiver: Receiver<V>, sender?: unknown): Receiver<V> {
    if (typeof receiver !== "function")
      throw new TypeError(`${this.name}.connect(receiver): give a function`);
    this.receivers.push([receiver, sender]);
    signalReceivers.count++;
    hookVersion.value++;
    return receiver;
  }

  /** Stops calling `receiver`. */
  disconnect(receiver: Receiver<V>): void {
    const i = this.receivers.findIndex((r) => r[0] === receiver);
    if (i === -1) return;
    this.receivers.splice(i, 1);
    signalReceivers.count--;
    hookVersion.value++;
  }

  /** Connects `receiver` while `fn` runs (Flask's `connected_to`), for tests. */
  async connectedTo<R>(receiver: Receiver<V>, fn: () => R | Promise<R>, sender?: unknown): Promise<R> {
    this.connect(receiver, sender);
    try {
      return await fn();
    } finally {
      this.disconnect(receiver);
    }
  }

  /** Calls every receiver connected for `sender` (or for any sender), in the order they connected. */
  send(sender: unknown, values: V): void {
    const rs = this.receivers;
    if (rs.length === 0) return;
    for (const [fn, only] of rs.slice()) if (only === undefined || only === sender) fn(sender, values);
  }
}

/** A request's context was pushed, before any hook: `{ request }`. */
export const requestStarted = new Signal<{ request: Request }>("requestStarted");
/** The response is made (after afterRequest hooks), before it is sent: `{ request, response }`. */
export const requestFinished = new Signal<{ request: Request; response: Response }>("requestFinished");
/** An error escaped the view or a hook, before the error handlers: `{ request, exception }`. */
export const gotRequestException = new Signal<{ request: Request; exception: unknown }>(
  "gotRequestException",
);
/** The request is being torn down (after teardownRequest hooks): `{ request, exc }`. */
export const requestTearingDown = new Signal<{ request: Request; exc: unknown }>("requestTearingDown");
/** The app context is being torn down (after teardownAppcontext functions): `{ exc }`. */
export const appcontextTearingDown = new Signal<{ exc: unknown }>("appcontextTearingDown");
/** A template is about to render: `{ template, context }` (the template's name). */
export const beforeRenderTemplate = new Signal<{ template: string; context: Record<string, unknown> }>(
  "beforeRenderTemplate",
);
/** A template was rendered: `{ template, context }`. */
export const templateRendered = new Signal<{ template: string; context: Record<string, unknown> }>(
  "templateRendered",
);
/** `flash()` stored a message: `{ message, category }`. */
export const messageFlashed = new Signal<{ message: string; category: string }>("messageFlashed");
