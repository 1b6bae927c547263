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

/** Why a sign-up was refused, in words for the form. */
export class SignupError extends Error {}

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;

export class UserStore {
  private readonly file: string;
  private users: Map<string, StoredUser> | undefined;
  /** A hash to compare against when the user doesn't exist, so timing doesn't reveal who does. */
  private dummy: Promise<StoredUser> | undefined;

  constructor(readonly dataDir: string) {
    this.file = join(dataDir, "users.json");
  }

  private async load(): Promise<Map<string, StoredUser>> {
    if (this.users !== undefined) return this.users;
    const users = new Map<string, StoredUser>();
    try {
      const list = JSON.parse(await readFile(this.file, "utf8")) as StoredUser[];
      for (const u of list) users.set(u.username.toLowerCase(), u);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    this.users = users;
    return users;
  }

  private async save(users: Map<string, StoredUser>): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    // Write a temporary file and rename it: a crash mid-write never leaves half a file.
    const tmp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(tmp, `${JSON.stringify([...users.values()], null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
  }

  async exists(username: string): Promise<boolean> {
    return (await this.load()).has(username.toLowerCase());
  }

  async create(username: string, password: string): Promise<void> {
    if (!USERNAME.test(username)) {
      throw new SignupError("A username has 3 to 32 letters, digits, dots, dashes or underscores.");
    }
    if (password.length < 8) throw new SignupError("A password needs at least 8 characters.");
    if (password.length > 1024) throw new SignupError("That password is too long.");
    const users = await this.load();
    if (users.has(username.toLowerCase())) throw new SignupError("That username is taken.");
    const salt = randomBytes(16);
    const hash = await scrypt(password, salt, KEY_BYTES, PARAMS);
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
