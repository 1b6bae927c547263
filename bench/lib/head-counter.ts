// Counts HTTP request heads in a byte stream without parsing them: each head ends with CRLF CRLF.
// Only for the canned ceiling, whose requests carry no CRLF CRLF in their bodies.

const END = Buffer.from("\r\n\r\n", "latin1");
const CR = 13;

export class HeadCounter {
  /** Bytes of CRLF CRLF matched at the end of what was read so far (0 to 3). */
  private state = 0;

  /** Steps the matcher over one byte; true when it completes a CRLF CRLF. */
  private step(b: number): boolean {
    if (b === END[this.state]) {
      this.state++;
      if (this.state === 4) {
        this.state = 0;
        return true;
      }
      return false;
    }
    // Only CR can start the pattern again (it doesn't overlap itself otherwise).
    this.state = b === CR ? 1 : 0;
    return false;
  }

  /** Request heads completed by `buf`. */
  count(buf: Buffer): number {
    let n = 0;
    let i = 0;
    const len = buf.length;
    // Finish a match that began in an earlier read.
    while (this.state > 0 && i < len) {
      if (this.step(buf[i++]!)) n++;
    }
    if (i === len) return n;
    let from = i;
    for (;;) {
      const at = buf.indexOf(END, from);
      if (at < 0) break;
      n++;
      from = at + 4;
    }
    // A partial match at the very end, for the next read.
    for (let j = Math.max(from, len - 3); j < len; j++) this.step(buf[j]!);
    return n;
  }
}
