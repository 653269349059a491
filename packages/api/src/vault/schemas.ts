// The key vault's wire shapes. Everything in them was made on a device: the server stores bytes it cannot
// read (as base64) and checks only their form and size, and the versions that order writes.
import { z } from "zod";

import { zDateOut, zId } from "../lib/schemas.ts";

/** The one KDF a vault is made with today (WebCrypto has it in browsers, Electron and Node). */
export const VAULT_KDFS = ["PBKDF2-SHA-256"] as const;
/** OWASP's 2023 floor for PBKDF2-HMAC-SHA-256; the ceiling keeps a hostile row from hanging a device. */
export const VAULT_MIN_ITERATIONS = 600_000;
export const VAULT_MAX_ITERATIONS = 10_000_000;

export const VAULT_SALT_BYTES = 16;
export const VAULT_IV_BYTES = 12;
/** A wrapped 256-bit vault key: 32 bytes of AES-GCM ciphertext and its 16-byte tag. */
export const VAULT_WRAPPED_KEY_BYTES = 48;
export const VAULT_VERIFIER_BYTES = 32;
/** An entry's ciphertext: a padded secret of at most 4 KiB plus the tag, with room to spare. */
export const VAULT_CIPHERTEXT_MAX_BYTES = 8_192;
/** Live entries per user (the app has a handful of providers and some custom interfaces). */
export const VAULT_MAX_ENTRIES = 200;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 (with padding) of `min`..`max` bytes. */
export function zBase64(min: number, max = min) {
  const message = min === max ? `must be base64 of exactly ${min} bytes` : `must be base64 of ${min} to ${max} bytes`;
  return z
    .string()
    .max(Math.ceil(max / 3) * 4, message)
    .regex(BASE64, "must be standard base64 (A–Z a–z 0–9 + /, padded with =)")
    .refine((text) => {
      const bytes = (text.length / 4) * 3 - (text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0);
      return bytes >= min && bytes <= max;
    }, message);
}

/** The app's id of a provider or custom interface ("openai", "mgrdx3k1q8z4n2v7c0a"). */
export const zVaultProvider = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/, "may contain only letters, digits and . _ : @ / -");

const zVersion = z.number().int().min(1).max(2_147_483_647);

/** What a device needs to unlock the vault, exactly as that device made it. */
const keyMaterial = {
  kdf: z.enum(VAULT_KDFS),
  kdfIterations: z.number().int().min(VAULT_MIN_ITERATIONS).max(VAULT_MAX_ITERATIONS),
  kdfSalt: zBase64(VAULT_SALT_BYTES),
  wrappedKey: zBase64(VAULT_WRAPPED_KEY_BYTES),
  wrapIv: zBase64(VAULT_IV_BYTES),
  verifier: zBase64(VAULT_VERIFIER_BYTES),
};
export const zVaultKeyMaterial = z.object(keyMaterial).strict();
export type VaultKeyMaterial = z.infer<typeof zVaultKeyMaterial>;

/** First use: the vault's key material at `keyVersion` 1, or after a reset the retired key's version plus one. */
export const zSetupVaultInput = zVaultKeyMaterial.extend({ keyVersion: zVersion }).strict();
export type SetupVaultInput = z.infer<typeof zSetupVaultInput>;

/** A passphrase change: the same vault key wrapped anew; `keyVersion` is the current one plus one. */
export const zRewrapVaultInput = zVaultKeyMaterial.extend({ keyVersion: zVersion }).strict();
export type RewrapVaultInput = z.infer<typeof zRewrapVaultInput>;

/**
 * Writes a secret: `version` is the entry's current version plus one (1 for a provider never stored);
 * `keyVersion` is the vault key version the device unlocked, so a write sealed before a reset elsewhere (under
 * a vault key that no longer exists) is refused instead of stored unreadable.
 */
export const zPutVaultEntryInput = z
  .object({
    id: zId,
    provider: zVaultProvider,
    ciphertext: zBase64(17, VAULT_CIPHERTEXT_MAX_BYTES),
    iv: zBase64(VAULT_IV_BYTES),
    version: zVersion,
    keyVersion: zVersion,
  })
  .strict();
export type PutVaultEntryInput = z.infer<typeof zPutVaultEntryInput>;

/** Deletes a secret: `version` is the entry's current version plus one, as for a write. */
export const zDeleteVaultEntryInput = z.object({ id: zId, version: zVersion }).strict();
export type DeleteVaultEntryInput = z.infer<typeof zDeleteVaultEntryInput>;

/** The account password, checked again before the vault is thrown away. */
export const zResetVaultInput = z.object({ password: z.string().min(1, "is required").max(256) }).strict();
export type ResetVaultInput = z.infer<typeof zResetVaultInput>;

export const zVaultKey = z.object({
  ...keyMaterial,
  id: zId,
  keyVersion: z.number().int(),
  rev: z.number().int(),
  createdAt: zDateOut,
  updatedAt: zDateOut,
});
export type VaultKey = z.infer<typeof zVaultKey>;

export const zVaultEntry = z.object({
  id: zId,
  provider: z.string(),
  ciphertext: z.string(),
  iv: z.string(),
  version: z.number().int(),
  rev: z.number().int(),
  createdAt: zDateOut,
  updatedAt: zDateOut,
});
export type VaultEntry = z.infer<typeof zVaultEntry>;

/** A deleted entry: its version, so that the next write of the provider knows which version comes next. */
export const zVaultEntryTombstone = z.object({ id: zId, provider: z.string(), version: z.number().int() });

/** The whole vault: the key (null before first use and after a reset), the live entries and the deleted ones. */
export const zVault = z.object({
  key: zVaultKey.nullable(),
  /** The key's version: the live key's, or the retired one's after a reset (0 before first use). */
  keyVersion: z.number().int(),
  entries: z.array(zVaultEntry),
  deleted: z.array(zVaultEntryTombstone),
});
export type Vault = z.infer<typeof zVault>;

export const zVaultEntryDeleted = z.object({
  id: zId,
  deleted: z.literal(true),
  version: z.number().int(),
  rev: z.number().int(),
});
export type VaultEntryDeleted = z.infer<typeof zVaultEntryDeleted>;

export const zVaultResetOut = z.object({ entriesDeleted: z.number().int(), rev: z.number().int() });
export type VaultResetOut = z.infer<typeof zVaultResetOut>;
