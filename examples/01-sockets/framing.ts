// Message framing over a byte stream. TCP delivers bytes, not messages: one `data` event may hold half
// a message, or three. The seed read "until a chunk is shorter than 1024 bytes", which breaks as soon as
// the network splits a message differently. Here every message is sent as a 4-byte big-endian length
// followed by that many bytes, and the decoder reassembles messages whatever the chunking.

/** Largest message either side accepts; a peer announcing more is refused, not trusted. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Encodes one message: its length (4 bytes, big-endian), then its bytes. */
export function encodeMessage(message: string | Uint8Array): Buffer {
  const body = typeof message === "string" ? Buffer.from(message, "utf8") : Buffer.from(message);
  if (body.length > MAX_MESSAGE_BYTES) {
    throw new RangeError(
      `A message may hold at most ${MAX_MESSAGE_BYTES} bytes; this one has ${body.length}`,
    );
  }
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Reassembles messages from chunks as they arrive. */
export class MessageDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns the messages it completed (possibly none, possibly several). */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      if (this.pending.length < 4) return out;
      const size = this.pending.readUInt32BE(0);
      if (size > MAX_MESSAGE_BYTES) {
        throw new RangeError(`The peer announced a ${size}-byte message; the limit is ${MAX_MESSAGE_BYTES}`);
      }
      if (this.pending.length < 4 + size) return out;
      out.push(this.pending.subarray(4, 4 + size));
      this.pending = this.pending.subarray(4 + size);
    }
  }

  /** True when a message was started but not finished (the peer closed too early). */
  get partial(): boolean {
    return this.pending.length > 0;
  }
}
