// The key vault's services. The server keeps what devices encrypted and orders their writes; it never sees a
// passphrase, a vault key or a secret, and nothing here could decrypt one. Versions order the writes: every
// write of the key or of an entry names the version it makes (the current one plus one), so a device that
// missed another's write gets CONFLICT with the current row instead of silently undoing it.
import { confirmPassword } from "../auth/service.ts";
import type { AuthRateLimits } from "../context.ts";
import { isUniqueViolation } from "../lib/db-errors.ts";
import { AppError, idTaken, notFound } from "../lib/errors.ts";
import type { ServiceDeps } from "../lib/service.ts";
import { userWrite, type Tx } from "../lib/write.ts";
import { toVaultEntry, toVaultKey, vaultEntrySelect, vaultKeySelect } from "./rows.ts";
import {
  VAULT_MAX_ENTRIES,
  type DeleteVaultEntryInput,
  type PutVaultEntryInput,
  type RewrapVaultInput,
  type SetupVaultInput,
  type Vault,
  type VaultEntry,
  type VaultEntryDeleted,
  type VaultKey,
  type VaultResetOut,
} from "./schemas.ts";

/** Tombstones listed by `getVault` (one per provider ever deleted and not yet pruned). */
const MAX_LISTED_TOMBSTONES = 1_000;

export async function getVault(deps: ServiceDeps, userId: string): Promise<Vault> {
  const [key, rows] = await deps.db.$transaction([
    deps.db.vaultKey.findUnique({ where: { userId }, select: { ...vaultKeySelect, deletedAt: true } }),
    deps.db.vaultEntry.findMany({
      where: { userId },
      orderBy: [{ deletedAt: { sort: "desc", nulls: "first" } }, { provider: "asc" }],
      take: VAULT_MAX_ENTRIES + MAX_LISTED_TOMBSTONES,
      select: { ...vaultEntrySelect, deletedAt: true },
    }),
  ]);
  return {
    key: key && !key.deletedAt ? toVaultKey(key) : null,
    keyVersion: key?.keyVersion ?? 0,
    entries: rows.filter((row) => !row.deletedAt).map(toVaultEntry),
    deleted: rows.filter((row) => row.deletedAt).map(({ id, provider, version }) => ({ id, provider, version })),
  };
}

/**
 * First use (or the first after a reset): stores the key material a device made. A live vault is CONFLICT
 * with its key, so a second device that raced the first unlocks that vault instead of replacing it.
 */
export async function setupVault(deps: ServiceDeps, userId: string, input: SetupVaultInput): Promise<VaultKey> {
  const { keyVersion, ...material } = input;
  return userWrite(deps, userId, async (tx, rev) => {
    const current = await tx.vaultKey.findUnique({ where: { userId }, select: { ...vaultKeySelect, deletedAt: true } });
    if (current && !current.deletedAt) {
      throw new AppError("CONFLICT", "This account already has a vault: unlock it with its passphrase", {
        current: toVaultKey(current),
      });
    }
    expectVersion("keyVersion", keyVersion, current?.keyVersion ?? 0, { keyVersion: current?.keyVersion ?? 0 });
    const data = { ...material, keyVersion, rev, deletedAt: null };
    const row = current
      ? await tx.vaultKey.update({ where: { userId }, data, select: vaultKeySelect })
      : await tx.vaultKey.create({ data: { ...data, userId }, select: vaultKeySelect });
    return toVaultKey(row);
  });
}

/** A passphrase change: the same vault key, wrapped under a key from the new passphrase. Entries stay as they are. */
export async function rewrapVault(deps: ServiceDeps, userId: string, input: RewrapVaultInput): Promise<VaultKey> {
  const { keyVersion, ...material } = input;
  return userWrite(deps, userId, async (tx, rev) => {
    const current = await liveKey(tx, userId);
    expectVersion("keyVersion", keyVersion, current.keyVersion, { current: toVaultKey(current) });
    const row = await tx.vaultKey.update({
      where: { userId },
      data: { ...material, keyVersion, rev },
      select: vaultKeySelect,
    });
    return toVaultKey(row);
  });
}

/** Stores a provider's encrypted secret, as a new entry or as the next version of its entry. */
export async function putVaultEntry(deps: ServiceDeps, userId: string, input: PutVaultEntryInput): Promise<VaultEntry> {
  const { id, provider, ciphertext, iv, version, keyVersion } = input;
  try {
    return await userWrite(deps, userId, async (tx, rev) => {
      const key = await liveKey(tx, userId);
      if (key.keyVersion !== keyVersion) {
        throw new AppError(
          "CONFLICT",
          `keyVersion: the vault's key is at version ${key.keyVersion} (a passphrase change or a reset since): open the vault again`,
          { keyVersion: key.keyVersion },
        );
      }
      const current = await tx.vaultEntry.findUnique({
        where: { id },
        select: { ...vaultEntrySelect, userId: true, deletedAt: true },
      });
      if (current && current.userId !== userId) throw idTaken("vault entry");
      if (current && current.provider !== provider) {
        throw new AppError("CONFLICT", `id: this entry holds the secret of another provider (${current.provider})`);
      }
      expectVersion("version", version, current?.version ?? 0, { current: current && entryState(current) });
      if (!current || current.deletedAt) await makeRoomForEntry(tx, userId);
      const data = { ciphertext, iv, version, rev, deletedAt: null };
      const row = current
        ? await tx.vaultEntry.update({ where: { id }, data, select: vaultEntrySelect })
        : await tx.vaultEntry.create({ data: { ...data, id, userId, provider }, select: vaultEntrySelect });
      return toVaultEntry(row);
    });
  } catch (error) {
    // Another row of this user holds the provider: its id was not derived the way every device derives it.
    if (isUniqueViolation(error)) {
      throw new AppError("CONFLICT", `provider: another entry holds this provider's secret; write to that entry`);
    }
    throw error;
  }
}

/** Deletes a provider's secret: the row becomes a tombstone (no ciphertext left) at the next version. */
export async function deleteVaultEntry(
  deps: ServiceDeps,
  userId: string,
  { id, version }: DeleteVaultEntryInput,
): Promise<VaultEntryDeleted> {
  return userWrite(deps, userId, async (tx, rev) => {
    const current = await tx.vaultEntry.findFirst({
      where: { id, userId, deletedAt: null },
      select: { ...vaultEntrySelect, deletedAt: true },
    });
    if (!current) throw notFound("Vault entry");
    expectVersion("version", version, current.version, { current: entryState(current) });
    await tx.vaultEntry.update({
      where: { id },
      data: { ciphertext: null, iv: null, version, rev, deletedAt: deps.clock.now() },
    });
    return { id, deleted: true as const, version, rev };
  });
}

/**
 * Throws the vault away after the account password is confirmed: the key and every entry become tombstones
 * (their ciphertext erased) in one write, so every device learns of it; the rest of the account is untouched.
 */
export async function resetVault(
  deps: ServiceDeps & { limits?: AuthRateLimits | undefined },
  userId: string,
  password: string,
): Promise<VaultResetOut> {
  await confirmPassword(deps, userId, password, "password");
  return userWrite(deps, userId, async (tx, rev) => {
    const deletedAt = deps.clock.now();
    const key = await tx.vaultKey.updateMany({
      where: { userId, deletedAt: null },
      data: { wrappedKey: null, wrapIv: null, verifier: null, rev, deletedAt },
    });
    const entries = await tx.vaultEntry.updateMany({
      where: { userId, deletedAt: null },
      data: { ciphertext: null, iv: null, version: { increment: 1 }, rev, deletedAt },
    });
    if (key.count === 0 && entries.count === 0) throw notFound("Vault");
    return { entriesDeleted: entries.count, rev };
  });
}

async function liveKey(tx: Tx, userId: string) {
  const key = await tx.vaultKey.findFirst({ where: { userId, deletedAt: null }, select: vaultKeySelect });
  if (!key) throw new AppError("NOT_FOUND", "Vault not found: set one up first");
  return key;
}

/** What a CONFLICT on an entry shows: its version and whether it is deleted, enough to write the next one. */
function entryState(row: { id: string; provider: string; version: number; rev: number; deletedAt: Date | null }) {
  return { id: row.id, provider: row.provider, version: row.version, rev: row.rev, deleted: row.deletedAt !== null };
}

function expectVersion(field: string, sent: number, current: number, details: Record<string, unknown>): void {
  if (sent === current + 1) return;
  throw new AppError(
    "CONFLICT",
    `${field}: the current version is ${current}, so this write must be version ${current + 1} (you sent ${sent})`,
    details,
  );
}

async function makeRoomForEntry(tx: Tx, userId: string): Promise<void> {
  const live = await tx.vaultEntry.count({ where: { userId, deletedAt: null } });
  if (live >= VAULT_MAX_ENTRIES) {
    throw new AppError("BAD_REQUEST", `The vault holds at most ${VAULT_MAX_ENTRIES} secrets: delete one first`);
  }
}
