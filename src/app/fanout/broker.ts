// Publish/subscribe between instances. A message is delivered at once to this process's listeners, and
// through Redis pub/sub to every other instance's (each instance skips its own messages coming back, so
// a listener sees a message once). Redis pub/sub keeps nothing: a message sent while an instance's
// subscriber connection is down never reaches that instance (at most once, as Flask-SocketIO's Redis
// queue); node-redis subscribes again by itself once it reconnects.

import { randomBytes } from "node:crypto";
import type { RedisLike } from "../redis/index.ts";

/** Receives the messages of a channel. */
export type BrokerListener = (message: string, channel: string) => void;

/** What a broker offers: the same for one process and for many. */
export interface Broker {
  /** Sends `message` to every listener of `channel`, here and (for a shared broker) on every instance. */
  publish(channel: string, message: string): Promise<void>;
  /** Listens to `channel`; resolves (once listening everywhere) with the function that stops it. */
  subscribe(channel: string, listener: BrokerListener): Promise<() => Promise<void>>;
  /**
   * The channel's messages as an async iterable, ended by `signal` (pass `req.signal` in a streamed
   * response, so the subscription ends when the client leaves). At most `maxQueued` messages wait for a
   * slow reader (default 1000); past that the oldest are dropped.
   */
  events(
    channel: string,
    options?: { signal?: AbortSignal; maxQueued?: number },
  ): AsyncIterableIterator<string>;
  /** Stops every subscription of this broker. */
  close(): Promise<void>;
}

/** Listeners by channel, and the iterator that both brokers share. */
abstract class BaseBroker implements Broker {
  protected readonly listeners = new Map<string, Set<BrokerListener>>();

  abstract publish(channel: string, message: string): Promise<void>;
  protected abstract listen(channel: string): Promise<void>;
  protected abstract unlisten(channel: string): Promise<void>;

  protected deliver(channel: string, message: string): void {
    const set = this.listeners.get(channel);
    if (set === undefined) return;
    for (const fn of [...set]) {
      try {
        fn(message, channel);
      } catch (err) {
        queueMicrotask(() => {
          throw err; // a listener's bug: reported as an uncaught error, other listeners still get the message
        });
      }
    }
  }

  async subscribe(channel: string, listener: BrokerListener): Promise<() => Promise<void>> {
    checkChannel(channel);
    let set = this.listeners.get(channel);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    if (first) {
      try {
        await this.listen(channel);
      } catch (err) {
        set.delete(listener);
        if (set.size === 0 && this.listeners.get(channel) === set) this.listeners.delete(channel);
        throw err;
      }
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const s = this.listeners.get(channel);
      if (s === undefined || !s.delete(listener) || s.size > 0) return;
      this.listeners.delete(channel);
      await this.unlisten(channel);
    };
  }

  events(
    channel: string,
    options: { signal?: AbortSignal; maxQueued?: number } = {},
  ): AsyncIterableIterator<string> {
    const max = options.maxQueued ?? 1000;
    const signal = options.signal;
    const queue: string[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let stop: (() => Promise<void>) | undefined;
    const ready = this.subscribe(channel, (m) => {
      queue.push(m);
      if (queue.length > max) queue.shift();
      wake?.();
    }).then((s) => {
      stop = s;
      if (ended) void s();
    });
    const end = () => {
      if (ended) return;
      ended = true;
      signal?.removeEventListener("abort", end);
      wake?.();
      if (stop !== undefined) void stop();
    };
    if (signal?.aborted) end();
    else signal?.addEventListener("abort", end, { once: true });
    const it: AsyncIterableIterator<string> = {
      async next(): Promise<IteratorResult<string>> {
        await ready;
        while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (queue.length > 0 && !ended) return { value: queue.shift()!, done: false };
        return { value: undefined, done: true };
      },
      async return(): Promise<IteratorResult<string>> {
        end();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }

  async close(): Promise<void> {
    const channels = [...this.listeners.keys()];
    this.listeners.clear();
    await Promise.all(channels.map((c) => this.unlisten(c)));
  }
}

function checkChannel(channel: string): void {
  if (typeof channel !== "string" || channel.length === 0 || channel.length > 1024) {
    throw new TypeError("A channel is a non-empty string of at most 1024 characters");
  }
}

/** Messages between the listeners of this process only (one instance, or tests). */
export class LocalBroker extends BaseBroker {
  async publish(channel: string, message: string): Promise<void> {
    checkChannel(channel);
    this.deliver(channel, message);
  }
  protected async listen(): Promise<void> {}
  protected async unlisten(): Promise<void> {}
}

/**
 * The subscriber side of a node-redis client: a connection of its own in subscriber mode
 * (`client.duplicate()`, connected), as Redis requires.
 */
export interface RedisSubscriber {
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

export interface RedisBrokerOptions {
  /** Publishes (any connected client; the one the sessions use is fine). */
  publisher: RedisLike;
  /** Receives: a connection of its own (`publisher.duplicate()`, connected). */
  subscriber: RedisSubscriber;
  /** Prefix of the Redis channels, so several apps can share one Redis. Default `"phial:"`. */
  prefix?: string;
}

/**
 * Fan-out through Redis pub/sub: `new RedisBroker({ publisher: client, subscriber: sub })` with
 * `const sub = client.duplicate(); await sub.connect()`. One Redis subscription per channel in use,
 * however many listeners it has here.
 */
export class RedisBroker extends BaseBroker {
  /** This instance's id: its own messages coming back from Redis are skipped (delivered here already). */
  readonly origin = randomBytes(9).toString("base64url");
  private readonly publisher: RedisLike;
  private readonly subscriber: RedisSubscriber;
  readonly prefix: string;

  constructor(options: RedisBrokerOptions) {
    super();
    if (
      typeof options?.publisher?.sendCommand !== "function" ||
      typeof options.subscriber?.subscribe !== "function"
    ) {
      throw new TypeError(
        "RedisBroker needs { publisher, subscriber }: a connected node-redis client and a duplicate of it " +
          "(const subscriber = client.duplicate(); await subscriber.connect())",
      );
    }
    this.publisher = options.publisher;
    this.subscriber = options.subscriber;
    this.prefix = options.prefix ?? "phial:";
  }

  /** Delivers here at once, then to the other instances; rejects when Redis did not take it. */
  async publish(channel: string, message: string): Promise<void> {
    checkChannel(channel);
    if (typeof message !== "string") throw new TypeError("A message is a string (JSON.stringify objects)");
    this.deliver(channel, message);
    // origin, one space, the message: the origin never holds a space.
    await this.publisher.sendCommand(["PUBLISH", this.prefix + channel, `${this.origin} ${message}`]);
  }

  protected async listen(channel: string): Promise<void> {
    await this.subscriber.subscribe(this.prefix + channel, (raw) => {
      const sp = raw.indexOf(" ");
      if (sp === -1 || raw.slice(0, sp) === this.origin) return;
      this.deliver(channel, raw.slice(sp + 1));
    });
  }

  protected async unlisten(channel: string): Promise<void> {
    await this.subscriber.unsubscribe(this.prefix + channel);
  }
}
