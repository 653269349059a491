// Tombstones are kept for a retention window so that devices learn of deletes; after it they are removed,
// and each user's `syncHorizon` records the highest revision removed, so an older cursor gets "reset required".
// sync.push's ledger (SyncMutation) is kept for the same window: a device that was away longer starts over
// from a snapshot anyway, and its queued mutations are then new to the server.
// The key vault's tombstones are not pruned: at most one per provider and one key per user, with no
// ciphertext left in them, they keep each entry's version rising for good (a version is bound into its
// ciphertext: were it to start again at 1, an old ciphertext of that entry could be served as current).
import type { PrismaClient } from "@prompt-booster/db";

export interface PruneResult {
  /** Tombstones removed. */
  removed: number;
  /** Users whose horizon moved. */
  users: number;
  /** sync.push ledger rows removed (answers recorded before the cutoff). */
  mutations: number;
}

/**
 * Removes every tombstone deleted before `cutoff`, raising the owners' horizons in the same statement, and
 * the ledger rows of mutations answered before it.
 */
export async function pruneTombstones(db: PrismaClient, cutoff: Date): Promise<PruneResult> {
  // One statement, so a horizon is never behind the rows it accounts for. Versions go before their groups
  // (a group's delete would otherwise cascade to version tombstones without counting them).
  const [result] = await db.$queryRaw<PruneResult[]>`
    WITH versions AS (
      DELETE FROM "PromptVersion" WHERE "deletedAt" < ${cutoff} RETURNING "userId", rev
    ), groups AS (
      DELETE FROM "PromptGroup" g WHERE g."deletedAt" < ${cutoff}
        AND NOT EXISTS (SELECT 1 FROM "PromptVersion" v WHERE v."groupId" = g.id AND (v."deletedAt" IS NULL OR v."deletedAt" >= ${cutoff}))
      RETURNING "userId", rev
    ), templates AS (
      DELETE FROM "Template" WHERE "deletedAt" < ${cutoff} RETURNING "userId", rev
    ), settings AS (
      DELETE FROM "UserSettings" WHERE "deletedAt" < ${cutoff} RETURNING "userId", rev
    ), removed AS (
      SELECT * FROM versions UNION ALL SELECT * FROM groups UNION ALL SELECT * FROM templates
      UNION ALL SELECT * FROM settings
    ), horizons AS (
      UPDATE "User" u SET "syncHorizon" = GREATEST(u."syncHorizon", h.rev)
      FROM (SELECT "userId", max(rev) AS rev FROM removed GROUP BY "userId") h
      WHERE u.id = h."userId"
      RETURNING u.id
    ), mutations AS (
      DELETE FROM "SyncMutation" WHERE "createdAt" < ${cutoff} RETURNING 1
    )
    SELECT (SELECT count(*) FROM removed)::int AS removed, (SELECT count(*) FROM horizons)::int AS users,
      (SELECT count(*) FROM mutations)::int AS mutations`;
  return result ?? { removed: 0, users: 0, mutations: 0 };
}
