// Checking a password the way a real app must, for the seed's sign-in examples.
//
// The seed compares `request.form['password'] == 'password'`: the password sits in the source in plain
// text, and `==` returns as soon as a character differs, so response times leak how much of a guess
// was right. Here the app keeps only a salted scrypt hash (as it would in a database row) and
// compares hashes with `timingSafeEqual`, which takes the same time whatever the bytes. demo/users.ts
// does the same for a whole user store (sign-up, a file on disk, no timing hint of who exists).

import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

/** scrypt cost N=2^14, r=8, p=1 (OWASP's minimum), 32-byte keys: about 50 ms per check. */
const PARAMS = { N: 16384, r: 8, p: 1 };

/**
 * Makes a stored form (`salt$hash`, both base64) of a password; run once, keep the result:
 * `npx tsx -e 'import("./passwords.ts").then(m => console.log(m.hashPassword("s3cret")))'`.
 */
export function hashPassword(password: string, salt = randomBytes(16)): string {
  return `${salt.toString("base64")}$${scryptSync(password, salt, 32, PARAMS).toString("base64")}`;
}

/** True when `password` hashes to `stored` (from `hashPassword`); constant time in the hash bytes. */
export function checkPassword(password: string, stored: string): boolean {
  const [salt, hash] = stored.split("$") as [string, string];
  const expected = Buffer.from(hash, "base64");
  const actual = scryptSync(password.slice(0, 1024), Buffer.from(salt, "base64"), expected.length, PARAMS);
  return timingSafeEqual(actual, expected);
}

/** The seed's users, as hashes: admin / "password" (app.ts) and 123 / "456" (cookies.ts). */
export const USERS: Readonly<Record<string, string>> = {
  admin: "zODmCuELpom7TylxQpOcNQ==$u70vZNbg6aoMtd7fyQ/AThERPkc59MMESdqvIA2QUzY=",
  "123": "O8d1Gzy9f3E1KD+oRq3/3A==$jY8HbQ5NMIO6IJ19UMyW0l/MKGx3rtjZgvr0ml/qElE=",
};

/** The user's name when the password is right. An unknown user costs a hash too (no timing hint). */
export function signIn(username: string, password: string): string | undefined {
  const stored = Object.hasOwn(USERS, username) ? USERS[username]! : USERS.admin!;
  const ok = checkPassword(password, stored);
  return ok && Object.hasOwn(USERS, username) ? username : undefined;
}
