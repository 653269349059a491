// Password hashing: argon2id through @node-rs/argon2, whose async functions run on libuv's thread pool,
// so a hash (tens of milliseconds by design) never blocks the event loop.
import { hash, parseOptions, verify, type Options } from "@node-rs/argon2";

/** `Algorithm.Argon2id` of @node-rs/argon2 (a `const enum`, which isolated modules cannot import). */
const ARGON2ID = 2;

/** OWASP's argon2id minimum (m = 19 MiB, t = 2, p = 1). Raising them upgrades every hash at its next login. */
export const PASSWORD_HASH_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

const hashOptions: Options = { algorithm: ARGON2ID, ...PASSWORD_HASH_PARAMS };

export function hashPassword(password: string): Promise<string> {
  return hash(password, hashOptions);
}

/** False for a wrong password and for a hash this library cannot read; never throws on bad input. */
export async function verifyPassword(hashed: string, password: string): Promise<boolean> {
  try {
    return await verify(hashed, password);
  } catch {
    return false;
  }
}

/** True when the stored hash was made with other parameters than today's, so login should replace it. */
export function needsRehash(hashed: string): boolean {
  try {
    const params = parseOptions(hashed);
    return (
      Number(params.algorithm) !== ARGON2ID ||
      params.memoryCost !== PASSWORD_HASH_PARAMS.memoryCost ||
      params.timeCost !== PASSWORD_HASH_PARAMS.timeCost ||
      params.parallelism !== PASSWORD_HASH_PARAMS.parallelism
    );
  } catch {
    return true;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies against a hash of a random password with today's parameters: login runs this for an unknown
 * account, so that answering "wrong email or password" costs the same time whether or not the email exists.
 */
export async function verifyDummyPassword(password: string): Promise<void> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  await verifyPassword(await dummyHash, password);
}
