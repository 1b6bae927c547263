// What file serving learns from the disk, kept for a moment (nginx's `open_file_cache`, for Phial):
// for a (folder, name) pair or a trusted path, the resolved path and its `Stats`, and for small files
// their bytes. Without it every static request costs realpath, stat, open, read and close on libuv's
// thread pool (five round trips) — more than the whole rest of the request.
//
// Correctness rules:
// - An entry is believed for `ttl` ms (default 1 s; 0 turns the cache off). After that the next request
//   resolves the name again (realpath inside the folder, stat): the folder checks are redone, and the
//   bytes are kept only if the file is the same one (device, inode, size, mtime and ctime unchanged).
//   A file changed on disk is therefore served new within `ttl`, and a name that was made to point
//   outside its folder stops being served within `ttl`. That window is documented (docs/files.md).
// - Bytes are cached only when they were read from an open descriptor whose `fstat` matches the entry's
//   stats, so a file rewritten between the stat and the read is never cached under the old validators.
// - Only hits are kept (a 404 is never cached), entries and bytes are bounded (`maxEntries`,
//   `maxBytes`, oldest out first), files above `maxFileBytes` are never held in memory.

import type { Stats } from "node:fs";
import { open } from "node:fs/promises";

export interface FileCacheOptions {
  /** Bytes of file contents held at most, all files together. */
  maxBytes: number;
  /** Largest file whose bytes are held in memory. */
  maxFileBytes: number;
  /** Most entries. */
  maxEntries: number;
}

/** How long an entry is believed by default, in ms (`config.fileCacheTtl`). */
export const DEFAULT_FILE_CACHE_TTL = 1000;

export const DEFAULT_FILE_CACHE: Readonly<FileCacheOptions> = Object.freeze({
  maxBytes: 32 * 1024 * 1024,
  maxFileBytes: 64 * 1024,
  maxEntries: 10_000,
});

export interface CachedFile {
  /** The resolved path (symlinks followed, checked inside its folder). */
  readonly path: string;
  readonly stats: Stats;
  /** The whole file, when it is small and was read since the entry was made. */
  data: Buffer | undefined;
  /** `Date.now()` until which the entry is believed. */
  until: number;
}

/**
 * Resolves a key with the disk (`a`, `b`: e.g. the folder and the name): the file's path and stats, or
 * undefined when it is not to be served.
 */
export type Resolver = (a: string, b: string) => Promise<{ path: string; stats: Stats } | undefined>;

function sameFile(a: Stats, b: Stats): boolean {
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}

export class FileCache {
  readonly options: FileCacheOptions;
  private readonly entries = new Map<string, CachedFile>();
  private bytes = 0;

  constructor(options: Partial<FileCacheOptions> = {}) {
    this.options = { ...DEFAULT_FILE_CACHE, ...options };
  }

  /** Bytes of file contents held now. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The file for `key`: from memory while its entry is fresh, else from `resolve(a, b)` (the folder
   * checks and a stat), keeping the bytes already held when the file is the same one. `ttl` (ms) is how
   * long a new or re-checked entry is believed; 0 or less asks the disk every time and keeps nothing.
   */
  async lookup(
    key: string,
    ttl: number,
    resolve: Resolver,
    a: string,
    b: string,
  ): Promise<CachedFile | undefined> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.until > now) return hit;
    const found = await resolve(a, b);
    if (found === undefined) {
      if (hit !== undefined) this.drop(key, hit);
      return undefined;
    }
    if (hit !== undefined && hit.path === found.path && sameFile(hit.stats, found.stats)) {
      hit.until = now + ttl;
      return hit;
    }
    const entry: CachedFile = { path: found.path, stats: found.stats, data: undefined, until: now + ttl };
    if (hit !== undefined) this.drop(key, hit);
    if (ttl <= 0) return entry;
    if (this.entries.size >= this.options.maxEntries) this.evictOldest();
    this.entries.set(key, entry);
    return entry;
  }

  /**
   * The whole file's bytes: held ones, else read now (and held when small, the budget allows and the
   * descriptor's stats still match the entry's). Undefined for a file too large to hold: stream it.
   */
  async contents(key: string, entry: CachedFile): Promise<Buffer | undefined> {
    if (entry.data !== undefined) return entry.data;
    const size = entry.stats.size;
    if (size > this.options.maxFileBytes) return undefined;
    const fh = await open(entry.path, "r");
    let buf: Buffer;
    let same: boolean;
    try {
      buf = Buffer.allocUnsafe(size);
      let off = 0;
      while (off < size) {
        const { bytesRead } = await fh.read(buf, off, size - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      if (off < size) buf = buf.subarray(0, off); // shrank since its stat: send what is there
      same = off === size && sameFile(await fh.stat(), entry.stats);
    } finally {
      await fh.close();
    }
    if (same && this.entries.get(key) === entry && size <= this.options.maxBytes) {
      while (this.bytes + size > this.options.maxBytes && this.evictOldest()) {}
      if (this.entries.get(key) === entry) {
        entry.data = buf;
        this.bytes += size;
      }
    }
    return buf;
  }

  /** Forgets everything (e.g. after a deploy that replaced files in place within the ttl). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private drop(key: string, entry: CachedFile): void {
    this.entries.delete(key);
    if (entry.data !== undefined) this.bytes -= entry.data.length;
  }

  private evictOldest(): boolean {
    for (const [key, entry] of this.entries) {
      this.drop(key, entry);
      return true;
    }
    return false;
  }
}
