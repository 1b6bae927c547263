// The Content-Type of each part of a multipart body as the client sent it, parameters included
// (`text/plain; charset=utf-8`), which busboy reduces to `text/plain`. Werkzeug's FileStorage keeps the
// whole value, so this scanner reads the part heads from the same bytes busboy gets, in order: a
// linear search for the delimiter (Buffer.indexOf), each head bounded, nothing kept of the contents.

const MAX_HEAD = 16 * 1024;

/** One part's head: its Content-Type value (undefined when it has none). */
export interface PartHead {
  contentType: string | undefined;
}

export class PartHeadScanner {
  /** Part heads seen, not yet taken (busboy reports a part after its head reached us). */
  readonly heads: PartHead[] = [];
  private readonly delimiter: Buffer;
  /** Bytes kept from the previous chunk: a delimiter may span two chunks. */
  private tail: Buffer;
  private head: Buffer[] | undefined;
  private headSize = 0;
  private done = false;

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, "latin1");
    this.tail = Buffer.from("\r\n"); // the first delimiter has no CRLF before it
  }

  /** Reads the next chunk of the body. */
  push(chunk: Uint8Array): void {
    if (this.done) return;
    const buf = this.tail.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.tail, chunk]);
    this.tail = EMPTY;
    let pos = 0;
    for (;;) {
      if (this.head !== undefined) {
        const end = buf.indexOf("\r\n\r\n", pos, "latin1");
        if (end === -1) {
          // Keep 3 bytes to find a CRLFCRLF across chunks; bounded.
          this.headSize += buf.length - pos;
          if (this.headSize > MAX_HEAD) {
            this.stop();
            return;
          }
          this.head.push(buf.subarray(pos, Math.max(pos, buf.length - 3)));
          this.tail = Buffer.from(buf.subarray(Math.max(pos, buf.length - 3)));
          return;
        }
        this.head.push(buf.subarray(pos, end));
        const h = parseHead(Buffer.concat(this.head).toString("latin1"));
        if (h !== undefined) this.heads.push(h); // busboy skips a part that is not form-data too
        this.head = undefined;
        this.headSize = 0;
        pos = end + 4;
        continue;
      }
      const d = this.delimiter;
      const at = buf.indexOf(d, pos);
      if (at === -1) {
        this.tail = Buffer.from(buf.subarray(Math.max(pos, buf.length - d.length - 1)));
        return;
      }
      // As busboy: the delimiter is followed by CRLF or `--` at once (no transport padding).
      const i = at + d.length;
      if (i + 2 > buf.length) {
        this.tail = Buffer.from(buf.subarray(at));
        return;
      }
      if (buf[i] === 0x2d && buf[i + 1] === 0x2d) {
        this.stop(); // the closing delimiter
        return;
      }
      if (buf[i] === 0x0d && buf[i + 1] === 0x0a) {
        this.head = [];
        pos = i + 2;
      } else {
        pos = at + 1; // not a delimiter after all
      }
    }
  }

  private stop(): void {
    this.done = true;
    this.head = undefined;
    this.tail = EMPTY;
  }

  /** The next part's head, in order; undefined when the scanner lost track (the head was too long). */
  take(): PartHead | undefined {
    return this.heads.shift();
  }
}

const EMPTY = Buffer.alloc(0);

function parseHead(text: string): PartHead | undefined {
  let contentType: string | undefined;
  let formData = false;
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-type") contentType ??= value;
    else if (name === "content-disposition" && /^form-data\s*(;|$)/i.test(value)) formData = true;
  }
  return formData ? { contentType } : undefined;
}
