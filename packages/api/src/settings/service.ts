import { AppError, staleRevision } from "../lib/errors.ts";
import { settingsSelect, toSettings, type SettingsRow } from "../lib/rows.ts";
import type { ServiceDeps } from "../lib/service.ts";
import { userWrite, type Tx } from "../lib/write.ts";
import { conflictsWith, readFieldRevs } from "./field-revs.ts";
import { DEFAULT_SETTINGS, mergeSettings, settingsWrite, touchedPointers } from "./merge.ts";
import type { Settings, UpdateSettingsInput } from "./schemas.ts";

/**
 * The user's settings, read only: registration creates the row (and a migration did for older users), so a
 * missing or deleted one is answered as the defaults, at rev 0 (or the tombstone's), without writing: a GET
 * takes no revision and no row lock. The first update creates the row, with the id answered here.
 */
export async function getSettings(deps: ServiceDeps, userId: string): Promise<Settings> {
  // One of the hottest reads (every device asks at start and on focus): hand-checked SQL, the columns of
  // settingsSelect and the tombstone, not a Prisma client query (about twice the CPU for one row).
  // test/settings-read.int.test.ts holds it to the client query's answer.
  const [row] = await deps.db.$queryRaw<(SettingsRow & { deletedAt: Date | null })[]>`
    SELECT id, theme, language, "defaultModel", "settingsData", rev, "createdAt", "updatedAt", "deletedAt"
      FROM "UserSettings"
     WHERE "userId" = ${userId}::uuid`;
  if (row && !row.deletedAt) return toSettings(row);
  const now = deps.clock.now();
  const { fieldRevs: _, fieldRevsFloor: __, ...defaults } = DEFAULT_SETTINGS;
  return toSettings({ ...defaults, id: row?.id ?? userId, rev: row?.rev ?? 0, createdAt: now, updatedAt: now });
}

/**
 * A partial update; `settingsData` is a merge patch (see zUpdateSettingsInput). With `baseRev`, CONFLICT
 * with the current settings when a path it touches changed after that revision (or the revision is older
 * than the per-path record reaches, or newer than the row): other paths may have changed meanwhile.
 */
export async function updateSettings(deps: ServiceDeps, userId: string, input: UpdateSettingsInput): Promise<Settings> {
  const { baseRev, ...patch } = input;
  return userWrite(deps, userId, async (tx, rev) => {
    // Under the user's row lock (taken by userWrite), so nobody can write between this read and the update.
    const current = await ensureSettings(tx, userId, rev);
    const createdNow = current.rev === rev;
    if (baseRev !== undefined && !createdNow) {
      const fieldRevs = readFieldRevs(current.fieldRevs, current.fieldRevsFloor);
      if (baseRev > current.rev || conflictsWith(fieldRevs, baseRev, touchedPointers(patch))) {
        throw staleRevision("The settings were", baseRev, toSettings(current));
      }
    }
    const merge = mergeSettings(current, patch);
    if (!merge.ok) throw new AppError("BAD_REQUEST", `settingsData: ${merge.problem}`);
    const row = await tx.userSettings.update({
      where: { userId },
      data: settingsWrite(current, merge, rev),
      select: settingsSelect,
    });
    return toSettings(row);
  });
}

const liveSelect = { ...settingsSelect, deletedAt: true, fieldRevs: true, fieldRevsFloor: true } as const;

/** The settings row, created (or revived) with defaults at `rev` when missing. */
async function ensureSettings(tx: Tx, userId: string, rev: number) {
  const existing = await tx.userSettings.findUnique({ where: { userId }, select: liveSelect });
  if (existing && !existing.deletedAt) return existing;
  return tx.userSettings.upsert({
    where: { userId },
    // The user's id as the row's: the id a read answered while the row was missing (getSettings).
    create: { id: userId, userId, rev },
    update: { ...DEFAULT_SETTINGS, deletedAt: null, rev },
    select: liveSelect,
  });
}
