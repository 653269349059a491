// The vault unlock measurement, one module for both runtimes: imported by bench/vault-unlock.ts in Node, and
// bundled into the Chromium page, so both run the same code on their own WebCrypto.
import { createVaultKey, unlockVaultKey } from "../../../../packages/client/src/vault/crypto.ts";

export interface UnlockFigures {
  /** Median time to unlock a vault: PBKDF2, HKDF, the verifier check and unwrapping the vault key. */
  unlockMs: number;
  /** Median time of one bare PBKDF2-SHA-256 derivation at the same iterations: the floor of an unlock. */
  pbkdf2Ms: number;
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function measureUnlock(iterations: number, rounds: number): Promise<UnlockFigures> {
  const userId = "00000000-0000-4000-8000-000000000000";
  const passphrase = "correct horse battery staple";
  const { material } = await createVaultKey(passphrase, userId, 1, iterations);
  const subtle = globalThis.crypto.subtle;
  const base = await subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveBits"]);
  const unlock: number[] = [];
  const pbkdf2: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let start = performance.now();
    await unlockVaultKey(passphrase, userId, 1, material);
    unlock.push(performance.now() - start);
    const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
    start = performance.now();
    await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, 256);
    pbkdf2.push(performance.now() - start);
  }
  return { unlockMs: median(unlock), pbkdf2Ms: median(pbkdf2) };
}
