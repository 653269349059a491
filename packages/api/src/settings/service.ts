import type { Prisma } from "@prompt-booster/db";

import { staleRevision } from "../lib/errors.ts";
import { settingsSelect, toSettings } from "../lib/rows.ts";
import type { ServiceDeps } from "../lib/service.ts";
import { userWrite, type Tx } from "../lib/write.ts";
import type { Settings, UpdateSettingsInput } from "./schemas.ts";

/** The user's settings; made with defaults if registration did not (e.g. a user from before settings existed). */
export async function getSettings(deps: ServiceDeps, userId: string): Promise<Settings> {
  const row = await deps.db.userSettings.findUnique({ where: { userId }, select: liveSelect });
  if (row && !row.deletedAt) return toSettings(row);
  return userWrite(deps, userId, async (tx, rev) => toSettings(await ensureSettings(tx, userId, rev)));
}

/** A partial update. With `baseRev`, the write happens only if nobody wrote since: else CONFLICT with the current settings. */
export async function updateSettings(deps: ServiceDeps, userId: string, input: UpdateSettingsInput): Promise<Settings> {
  const { baseRev, settingsData, ...fields } = input;
  return userWrite(deps, userId, async (tx, rev) => {
    // Under the user's row lock (taken by userWrite), so nobody can write between this read and the update.
    const current = await ensureSettings(tx, userId, rev);
    const createdNow = current.rev === rev;
    if (baseRev !== undefined && baseRev !== current.rev && !createdNow) {
      throw staleRevision("The settings were", baseRev, toSettings(current));
    }
    const row = await tx.userSettings.update({
      where: { userId },
      data: { ...fields, ...(settingsData ? { settingsData: settingsData as Prisma.InputJsonObject } : {}), rev },
      select: settingsSelect,
    });
    return toSettings(row);
  });
}

const liveSelect = { ...settingsSelect, deletedAt: true } as const;

/** The settings row, created (or revived) with defaults at `rev` when missing. */
async function ensureSettings(tx: Tx, userId: string, rev: number) {
  const existing = await tx.userSettings.findUnique({ where: { userId }, select: liveSelect });
  if (existing && !existing.deletedAt) return existing;
  return tx.userSettings.upsert({
    where: { userId },
    create: { userId, rev },
    update: { theme: "light", language: "en", defaultModel: null, settingsData: {}, deletedAt: null, rev },
    select: liveSelect,
  });
}
