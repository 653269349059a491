// The key vault: provider API keys end-to-end encrypted (see SECURITY.md, "Key vault").
export { openVault, Vault, VAULT_PASSPHRASE_MIN_LENGTH } from "./vault.ts";
export type { OpenVaultOptions, SealedEntry } from "./vault.ts";
export { VAULT_KDF, VAULT_KDF_ITERATIONS, VAULT_SECRET_MAX_BYTES, vaultEntryId } from "./crypto.ts";
export {
  VaultError,
  VaultIntegrityError,
  VaultLockedError,
  VaultPassphraseError,
  VaultRollbackError,
} from "./errors.ts";
