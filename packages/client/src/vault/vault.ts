// The key vault on a device: provider API keys encrypted here, stored and synced by the server as ciphertext.
// The passphrase, the key derived from it and the vault key never leave this device.
import { TRPCClientError } from "@trpc/client";

import type { ApiClient } from "../client.ts";
import type { RouterOutputs } from "../router-types.ts";
import {
  createVaultKey,
  decryptEntry,
  encryptEntry,
  rewrapVaultKey,
  unlockVaultKey,
  VAULT_KDF_ITERATIONS,
  vaultEntryId,
  type KeyMaterial,
  type VaultCryptoKey,
} from "./crypto.ts";
import { VaultError, VaultIntegrityError, VaultLockedError, VaultRollbackError } from "./errors.ts";

type VaultState = RouterOutputs["vault"]["get"];
type VaultKeyRow = NonNullable<VaultState["key"]>;
type VaultEntryRow = VaultState["entries"][number];
type EntryVersion = { id: string; version: number };

/** An entry encrypted on this device: the input of `vault.putEntry` (directly, or queued through sync.push). */
export interface SealedEntry {
  id: string;
  provider: string;
  version: number;
  /** The vault key version this device unlocked: the server refuses the write once the key changed. */
  keyVersion: number;
  ciphertext: string;
  iv: string;
}

/** The shortest passphrase a new vault (or a passphrase change) accepts. */
export const VAULT_PASSPHRASE_MIN_LENGTH = 8;

export interface OpenVaultOptions {
  /** The signed-in user's id, when the app has it (saves a call to `auth.me`). */
  userId?: string;
  /** PBKDF2 iterations of a new vault or a new passphrase (default and minimum: 600,000). */
  iterations?: number;
}

/**
 * Opens the signed-in user's vault with the passphrase, creating it on first use. A wrong passphrase is a
 * VaultPassphraseError; key material that fails its integrity check is a VaultIntegrityError.
 */
export async function openVault(client: ApiClient, passphrase: string, options: OpenVaultOptions = {}): Promise<Vault> {
  const userId = options.userId ?? (await client.auth.me.query()).user.id;
  const iterations = options.iterations ?? VAULT_KDF_ITERATIONS;
  const state = await client.vault.get.query();
  if (state.key) return unlock(client, userId, passphrase, state.key, iterations, [...state.entries, ...state.deleted]);

  checkNewPassphrase(passphrase);
  const keyVersion = state.keyVersion + 1;
  const { material, vaultKey } = await createVaultKey(passphrase, userId, keyVersion, iterations);
  try {
    const key = await client.vault.setup.mutate({ ...material, keyVersion });
    return new Vault(client, userId, vaultKey, key, iterations, state.deleted);
  } catch (error) {
    // Another device made the vault first: this passphrase must open that one.
    const current = conflictDetails(error)?.current as VaultKeyRow | undefined;
    if (!current) throw error;
    return unlock(client, userId, passphrase, current, iterations, state.deleted);
  }
}

async function unlock(
  client: ApiClient,
  userId: string,
  passphrase: string,
  key: VaultKeyRow,
  iterations: number,
  seen: readonly EntryVersion[],
): Promise<Vault> {
  const vaultKey = await unlockVaultKey(passphrase, userId, key.keyVersion, key);
  return new Vault(client, userId, vaultKey, key, iterations, seen);
}

function checkNewPassphrase(passphrase: string): void {
  if ([...passphrase.normalize("NFC")].length < VAULT_PASSPHRASE_MIN_LENGTH) {
    throw new VaultError(`A vault passphrase has at least ${VAULT_PASSPHRASE_MIN_LENGTH} characters`);
  }
}

function conflictDetails(error: unknown): Record<string, unknown> | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data = error.data as { code?: string; details?: Record<string, unknown> } | undefined;
  return data?.code === "CONFLICT" ? data.details : undefined;
}

/**
 * An open vault. Every read asks the server for the current entries and decrypts them here; every write
 * encrypts here. It remembers the highest version it has seen of the key and of each entry, so an older one
 * served later (a rollback) is refused for as long as it is open.
 */
export class Vault {
  #client: ApiClient;
  #userId: string;
  #vaultKey: VaultCryptoKey | null;
  #key: KeyMaterial & { keyVersion: number };
  #iterations: number;
  /** Highest version seen per entry id (live or deleted). */
  #seen = new Map<string, number>();

  /** @internal Made by openVault. */
  constructor(
    client: ApiClient,
    userId: string,
    vaultKey: VaultCryptoKey,
    key: VaultKeyRow,
    iterations: number,
    seen: readonly EntryVersion[],
  ) {
    this.#client = client;
    this.#userId = userId;
    this.#vaultKey = vaultKey;
    this.#key = keyMaterialOf(key);
    this.#iterations = iterations;
    for (const entry of seen) this.#see(entry.id, entry.version);
  }

  /** The providers that have a secret, sorted; never the secrets. */
  async list(): Promise<string[]> {
    const state = await this.#load();
    return state.entries.map((entry) => entry.provider).sort();
  }

  /** The provider's secret, or undefined when none is stored. */
  async get(provider: string): Promise<string | undefined> {
    const state = await this.#load();
    const entry = state.entries.find((candidate) => candidate.provider === provider);
    return entry ? this.#decrypt(entry) : undefined;
  }

  /** Every secret by provider: what the model-settings adapter puts back into `model-settings` on this device. */
  async entries(): Promise<Record<string, string>> {
    const state = await this.#load();
    const pairs = await Promise.all(state.entries.map(async (entry) => [entry.provider, await this.#decrypt(entry)]));
    return Object.fromEntries(pairs) as Record<string, string>;
  }

  /**
   * Stores the provider's secret. A write another device made meanwhile is replaced (the user just chose this
   * value), never merged: the entry then moves to the version after that one.
   */
  async set(provider: string, secret: string): Promise<void> {
    const write = async (version: number) => {
      const stored = await this.#client.vault.putEntry.mutate(await this.#seal(provider, secret, version));
      this.#see(stored.id, stored.version);
    };
    await this.#writeNextVersion(await vaultEntryId(this.#userId, provider), write);
  }

  /**
   * The provider's secret sealed for the next version this device knows of, without calling the server: the
   * input of a `vault.putEntry` mutation to queue offline (`engine.write({ op: "vault.putEntry", input })`).
   * If another device wrote that entry first, the push answers `conflict`; call `set` then.
   */
  async sealEntry(provider: string, secret: string): Promise<SealedEntry> {
    const id = await vaultEntryId(this.#userId, provider);
    return this.#seal(provider, secret, (this.#seen.get(id) ?? 0) + 1);
  }

  async #seal(provider: string, secret: string, version: number): Promise<SealedEntry> {
    const id = await vaultEntryId(this.#userId, provider);
    const at = { userId: this.#userId, entryId: id, provider, version };
    const sealed = await encryptEntry(this.#unlocked(), at, secret);
    return { id, provider, version, keyVersion: this.#key.keyVersion, ...sealed };
  }

  /** Deletes the provider's secret; false when there was none. */
  async delete(provider: string): Promise<boolean> {
    this.#unlocked();
    const id = await vaultEntryId(this.#userId, provider);
    const state = await this.#load();
    if (!state.entries.some((entry) => entry.id === id)) return false;
    await this.#writeNextVersion(id, async (version) => {
      const deleted = await this.#client.vault.deleteEntry.mutate({ id, version });
      this.#see(id, deleted.version);
    });
    return true;
  }

  /**
   * Wraps the vault key under a new passphrase (entries are not re-encrypted). Other devices' open vaults lock
   * and must be opened again, with the new passphrase only.
   */
  async changePassphrase(oldPassphrase: string, newPassphrase: string): Promise<void> {
    this.#unlocked();
    checkNewPassphrase(newPassphrase);
    const state = await this.#load();
    const current = state.key!;
    const material = await rewrapVaultKey(
      oldPassphrase,
      newPassphrase,
      this.#userId,
      current.keyVersion,
      current,
      this.#iterations,
    );
    const key = await this.#client.vault.rewrap.mutate({ ...material, keyVersion: current.keyVersion + 1 });
    this.#key = keyMaterialOf(key);
  }

  /**
   * Deletes the vault (for a forgotten passphrase: nobody can recover it) after checking the account password.
   * The rest of the account is untouched; this vault is locked.
   */
  async reset(accountPassword: string): Promise<void> {
    await this.#client.vault.reset.mutate({ password: accountPassword });
    this.lock();
  }

  /** Forgets the vault key on this device; every later call is a VaultLockedError. */
  lock(): void {
    this.#vaultKey = null;
  }

  #unlocked(): VaultCryptoKey {
    if (!this.#vaultKey) throw new VaultLockedError("The vault is locked: open it again with its passphrase");
    return this.#vaultKey;
  }

  /** The server's current vault, checked against what this device has seen. */
  async #load(): Promise<VaultState> {
    this.#unlocked();
    const state = await this.#client.vault.get.query();
    const key = state.key;
    if (!key) {
      this.lock();
      throw new VaultLockedError("The vault was reset: open it again to make a new one");
    }
    if (key.keyVersion < this.#key.keyVersion) {
      throw new VaultRollbackError("vault key", this.#key.keyVersion, key.keyVersion);
    }
    // A passphrase change or a reset elsewhere: this device must prove it knows the current passphrase.
    if (key.keyVersion > this.#key.keyVersion) throw this.#keyChanged();
    if (key.wrappedKey !== this.#key.wrappedKey || key.verifier !== this.#key.verifier) {
      throw new VaultIntegrityError("vault key", "the key row changed without a new key version");
    }
    for (const entry of [...state.entries, ...state.deleted]) {
      const seen = this.#seen.get(entry.id) ?? 0;
      if (entry.version < seen)
        throw new VaultRollbackError(
          `entry ${entry.provider} (${entry.id})`,
          seen,
          entry.version,
          entry.provider,
          entry.id,
        );
      this.#see(entry.id, entry.version);
    }
    return state;
  }

  #see(id: string, version: number): void {
    this.#seen.set(id, Math.max(version, this.#seen.get(id) ?? 0));
  }

  async #decrypt(entry: VaultEntryRow): Promise<string> {
    const at = { userId: this.#userId, entryId: entry.id, provider: entry.provider, version: entry.version };
    return decryptEntry(this.#unlocked(), at, entry);
  }

  /** Writes at the next version; if another device wrote first, once more after its version. */
  async #writeNextVersion(id: string, write: (version: number) => Promise<void>): Promise<void> {
    const state = await this.#load();
    const known = [...state.entries, ...state.deleted].find((entry) => entry.id === id);
    try {
      await write((known?.version ?? 0) + 1);
    } catch (error) {
      const details = conflictDetails(error);
      if (typeof details?.keyVersion === "number") throw this.#keyChanged();
      const current = details?.current as { version?: unknown } | undefined;
      if (typeof current?.version !== "number") throw error;
      this.#see(id, current.version);
      await write(current.version + 1);
    }
  }

  #keyChanged(): VaultLockedError {
    this.lock();
    return new VaultLockedError(
      "The vault's key changed on another device (a new passphrase or a reset): open it again",
    );
  }
}

function keyMaterialOf(key: VaultKeyRow): KeyMaterial & { keyVersion: number } {
  const { kdf, kdfIterations, kdfSalt, wrappedKey, wrapIv, verifier, keyVersion } = key;
  return { kdf, kdfIterations, kdfSalt, wrappedKey, wrapIv, verifier, keyVersion };
}
