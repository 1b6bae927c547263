// Rooms: named groups of WebSocket connections that a message is published to. Membership is kept per
// process; delivery goes through a `PubSub`, so that a shared bus (Redis pub/sub, NATS, Postgres
// LISTEN/NOTIFY) can fan a message out to the members held by every process. The default bus is this
// process only.

/** One message published to a room. */
export interface RoomMessage {
  /** A string is sent as a text frame, bytes as a binary frame. */
  readonly data: string | Uint8Array;
  /** The id of a connection not to deliver to (the sender, for "everyone but me"); ids are UUIDs. */
  readonly except?: string | undefined;
}

/**
 * The bus rooms publish through. The in-process default (`LocalPubSub`) calls the subscribers at once;
 * a distributed one publishes to its server and calls `deliver` for each message it receives on the
 * channel, its own included. The hub subscribes to a room's channel once per process, when the first
 * local member joins, and calls the returned stop function when the last one leaves.
 */
export interface PubSub {
  /** Sends `message` to every subscriber of `channel` (in every process sharing the bus). */
  publish(channel: string, message: RoomMessage): void | Promise<void>;
  /** Delivers the channel's messages to `deliver` until the returned function is called. */
  subscribe(channel: string, deliver: (message: RoomMessage) => void): () => void | Promise<void>;
}

/** The default bus: this process only. Delivery is synchronous, in subscription order. */
export class LocalPubSub implements PubSub {
  private readonly channels = new Map<string, Set<(message: RoomMessage) => void>>();

  publish(channel: string, message: RoomMessage): void {
    const subs = this.channels.get(channel);
    if (subs === undefined) return;
    for (const deliver of subs) deliver(message);
  }

  subscribe(channel: string, deliver: (message: RoomMessage) => void): () => void {
    let subs = this.channels.get(channel);
    if (subs === undefined) {
      subs = new Set();
      this.channels.set(channel, subs);
    }
    subs.add(deliver);
    return () => {
      const s = this.channels.get(channel);
      if (s === undefined) return;
      s.delete(deliver);
      if (s.size === 0) this.channels.delete(channel);
    };
  }
}

/** What a room member must offer: an id (a UUID) and a way to send a frame. */
export interface RoomMember {
  readonly id: string;
  /** Sends one frame; must not throw for a connection that is closing. */
  deliver(data: string | Uint8Array): void;
}

/** Local membership of rooms, and publishing through the app's `PubSub`. */
export class Rooms {
  private readonly members = new Map<string, Set<RoomMember>>();
  private readonly stops = new Map<string, () => void | Promise<void>>();
  private bus: PubSub;
  /** Where errors of the bus go (the app's logger). */
  onError: (message: string, err: unknown) => void = () => undefined;

  constructor(pubsub: PubSub = new LocalPubSub()) {
    this.bus = pubsub;
  }

  /** The bus. Replace it before the first member joins (e.g. at startup, with a Redis one). */
  get pubsub(): PubSub {
    return this.bus;
  }

  set pubsub(bus: PubSub) {
    if (this.members.size > 0) {
      throw new Error("app.websockets.pubsub can only be replaced while no connection is in a room");
    }
    this.bus = bus;
  }

  /** Adds a member to a room (subscribing this process to the room on its first member). */
  join(room: string, member: RoomMember): void {
    let set = this.members.get(room);
    if (set === undefined) {
      set = new Set();
      this.members.set(room, set);
      const local = set;
      this.stops.set(
        room,
        this.bus.subscribe(room, (m) => {
          for (const c of local) if (c.id !== m.except) c.deliver(m.data);
        }),
      );
    }
    set.add(member);
  }

  /** Removes a member from a room (unsubscribing on its last local member). */
  leave(room: string, member: RoomMember): void {
    const set = this.members.get(room);
    if (set === undefined || !set.delete(member)) return;
    if (set.size > 0) return;
    this.members.delete(room);
    const stop = this.stops.get(room);
    this.stops.delete(room);
    if (stop !== undefined) this.settle(stop(), `unsubscribing from room "${room}"`);
  }

  /** Publishes to every member of a room, in every process on the bus; `except` skips one connection. */
  publish(room: string, data: string | Uint8Array, except?: string): void | Promise<void> {
    const r = this.bus.publish(room, except === undefined ? { data } : { data, except });
    if (r !== undefined)
      return r.then(undefined, (err: unknown) => this.onError(`publishing to "${room}"`, err));
    return undefined;
  }

  /** The members of a room in this process. */
  local(room: string): readonly RoomMember[] {
    const set = this.members.get(room);
    return set === undefined ? [] : [...set];
  }

  /** The rooms with members in this process. */
  get rooms(): readonly string[] {
    return [...this.members.keys()];
  }

  private settle(r: void | Promise<void>, what: string): void {
    if (r !== undefined) r.then(undefined, (err: unknown) => this.onError(what, err));
  }
}
