// Vault rows → what clients get: one select per model, shared by the vault's services and by sync.
import type { Prisma } from "@prompt-booster/db";

import type { VaultEntry, VaultKey } from "./schemas.ts";

export const vaultKeySelect = {
  id: true,
  kdf: true,
  kdfIterations: true,
  kdfSalt: true,
  wrappedKey: true,
  wrapIv: true,
  verifier: true,
  keyVersion: true,
  rev: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.VaultKeySelect;
export type VaultKeyRow = Prisma.VaultKeyGetPayload<{ select: typeof vaultKeySelect }>;

export const vaultEntrySelect = {
  id: true,
  provider: true,
  ciphertext: true,
  iv: true,
  version: true,
  rev: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.VaultEntrySelect;
export type VaultEntryRow = Prisma.VaultEntryGetPayload<{ select: typeof vaultEntrySelect }>;

/** A live key row (a tombstone has no key material and is never sent as one). */
export function toVaultKey(row: VaultKeyRow): VaultKey {
  const { id, kdf, kdfIterations, kdfSalt, wrappedKey, wrapIv, verifier, keyVersion, rev, createdAt, updatedAt } = row;
  if (wrappedKey === null || wrapIv === null || verifier === null) throw new Error(`vault key ${id} is a tombstone`);
  const known = kdf as VaultKey["kdf"];
  return {
    id,
    kdf: known,
    kdfIterations,
    kdfSalt,
    wrappedKey,
    wrapIv,
    verifier,
    keyVersion,
    rev,
    createdAt,
    updatedAt,
  };
}

/** A live entry (a tombstone has no ciphertext and is never sent as one). */
export function toVaultEntry(row: VaultEntryRow): VaultEntry {
  const { id, provider, ciphertext, iv, version, rev, createdAt, updatedAt } = row;
  if (ciphertext === null || iv === null) throw new Error(`vault entry ${id} is a tombstone`);
  return { id, provider, ciphertext, iv, version, rev, createdAt, updatedAt };
}
