// The demo's user store: one JSON file in a data folder it creates, nothing to install. Passwords are
// hashed with scrypt and a random salt per user and compared in constant time; the password itself is
// never stored, logged or put in a cookie (the seed put it in a cookie).

import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>;

/** scrypt cost: N=2^14, r=8, p=1 (OWASP's minimum for scrypt), 32-byte keys. */
const PARAMS = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_BYTES = 32;

interface StoredUser {
  username: string;
  salt: string;
  hash: string;
  created: string;
}

/** What may be shown of a user: never the salt or the hash. */
export type PublicUser = {
  id: number;
  username: string;
  created: string;
};

/** Why a sign-up was refused, in words for the form. */
export class SignupError extends Error {}

/** Starts with a letter or digit, so a name is never `...` or `.hidden` as a folder name. */
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;

export class UserStore {
  private readonly file: string;
  private users: Promise<Map<string, StoredUser>> | undefined;
  /** A hash to compare against when the user doesn't exist, so timing doesn't reveal who does. */
  private dummy: Promise<StoredUser> | undefined;

  constructor(readonly dataDir: string) {
    this.file = join(dataDir, "users.json");
  }

  private load(): Promise<Map<string, StoredUser>> {
    // One read, shared: two first requests at once must not each build (and later save) their own map.
    this.users ??= (async () => {
      const users = new Map<string, StoredUser>();
      try {
        const list = JSON.parse(await readFile(this.file, "utf8")) as StoredUser[];
        for (const u of list) users.set(u.username.toLowerCase(), u);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
          this.users = undefined; // try again next time
          throw err;
        }
      }
      return users;
    })();
    return this.users;
  }

  /** The last write; writes run one after another, so an older snapshot never lands last. */
  private writing: Promise<void> = Promise.resolve();

  private save(users: Map<string, StoredUser>): Promise<void> {
    const write = async () => {
      await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      // Write a temporary file and rename it: a crash mid-write never leaves half a file.
      const tmp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
      await writeFile(tmp, `${JSON.stringify([...users.values()], null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.file);
    };
    const next = this.writing.then(write, write);
    this.writing = next;
    return next;
  }

  /** Every user's public part (no salt, no hash), ids counting from 1 in sign-up order. */
  async list(): Promise<PublicUser[]> {
    return [...(await this.load()).values()].map((u, i) => ({
      id: i + 1,
      username: u.username,
      created: u.created,
    }));
  }

  /** One user's public part, by name (any case). */
  async get(username: string): Promise<PublicUser | undefined> {
    const key = username.toLowerCase();
    return (await this.list()).find((u) => u.username.toLowerCase() === key);
  }

  async exists(username: string): Promise<boolean> {
    return (await this.load()).has(username.toLowerCase());
  }

  async create(username: string, password: string): Promise<void> {
    if (!USERNAME.test(username)) {
      throw new SignupError(
        "A username has 3 to 32 letters, digits, dots, dashes or underscores, and starts with a letter or digit.",
      );
    }
    if (password.length < 8) throw new SignupError("A password needs at least 8 characters.");
    if (password.length > 1024) throw new SignupError("That password is too long.");
    const users = await this.load();
    if (users.has(username.toLowerCase())) throw new SignupError("That username is taken.");
    const salt = randomBytes(16);
    const hash = await scrypt(password, salt, KEY_BYTES, PARAMS);
    // Checked again: another sign-up of the same name may have finished while this one hashed.
    if (users.has(username.toLowerCase())) throw new SignupError("That username is taken.");
    users.set(username.toLowerCase(), {
      username,
      salt: salt.toString("base64"),
      hash: hash.toString("base64"),
      created: new Date().toISOString(),
    });
    await this.save(users);
  }

  /** The user's name as registered when the password is right, else undefined. */
  async verify(username: string, password: string): Promise<string | undefined> {
    const users = await this.load();
    let user = users.get(username.toLowerCase());
    const known = user !== undefined;
    if (user === undefined) {
      this.dummy ??= (async () => {
        const salt = randomBytes(16);
        return { username: "", salt: salt.toString("base64"), hash: "", created: "" };
      })();
      user = await this.dummy;
    }
    const candidate = await scrypt(
      password.slice(0, 1024),
      Buffer.from(user.salt, "base64"),
      KEY_BYTES,
      PARAMS,
    );
    const stored = known ? Buffer.from(user.hash, "base64") : Buffer.alloc(KEY_BYTES);
    return known && stored.length === KEY_BYTES && timingSafeEqual(candidate, stored)
      ? user.username
      : undefined;
  }
}
