// sync.pull: every change of the user's synced rows after a revision, in revision order, paged.
//
// Why it never skips a change: revisions are taken under the user's row lock and the lock is held until
// commit, so once `User.revision` reads R every revision up to R has committed. A pull reads R first and
// then only rows with `since < rev <= R`; rows written later carry revisions above R and come next time.
import { Prisma, type PrismaClient } from "@prompt-booster/db";

import { AppError, signInRequired } from "../lib/errors.ts";
import {
  groupSelect,
  settingsSelect,
  templateSelect,
  toGroup,
  toSettings,
  toTemplate,
  toVersion,
  versionSelect,
  type GroupRow,
  type SettingsRow,
  type TemplateRow,
  type VersionRow,
} from "../lib/rows.ts";
import { toVaultEntry, toVaultKey, vaultEntrySelect, vaultKeySelect } from "../vault/rows.ts";
import type { PullInput, PullOutput, SyncChange, SyncEntity } from "./schemas.ts";

type RevFilter = { gt: number; lte: number } | number;

export interface Scan {
  userId: string;
  rev: RevFilter;
  /** Snapshots leave out tombstones: a fresh device has nothing to delete. */
  liveOnly: boolean;
  take?: number;
}

interface Row {
  id: string;
  rev: number;
  deletedAt: Date | null;
}

function changeOf<R extends Row, D>(entity: SyncEntity, row: R, data: (row: R) => D): SyncChange {
  return (
    row.deletedAt
      ? { entity, id: row.id, rev: row.rev, deleted: true }
      : { entity, id: row.id, rev: row.rev, deleted: false, data: data(row) }
  ) as SyncChange;
}

/** The query every table is read with: the user's rows in the revision range, in revision order. */
export function rangeQuery({ userId, rev, liveOnly, take }: Scan) {
  return { where: { userId, rev, ...(liveOnly && { deletedAt: null }) }, orderBy: { rev: "asc" as const }, take };
}

/** A reader of one synced table: how to fetch its rows (with `deletedAt`), and what a live row sends. */
export function reader<R extends Row>(
  entity: SyncEntity,
  fetch: (db: PrismaClient, scan: Scan) => Promise<R[]>,
  data: (row: R, userId: string) => unknown,
) {
  return async (db: PrismaClient, scan: Scan) =>
    (await fetch(db, scan)).map((row) => changeOf(entity, row, (live) => data(live, scan.userId)));
}

export type Reader = ReturnType<typeof reader>;

/**
 * The range read in SQL checked by hand, for the tables a pull sends most of: the select's columns in its
 * order (enums as their text, as the client gives them) and `deletedAt` — a Prisma client query less per
 * table on every pull (test/sync-pull-sql.int.test.ts compares the rows with the client's).
 */
function sqlRange<R extends Row>(table: string, select: Record<string, true>, enums: string[] = []) {
  const columns = Prisma.raw(
    [...Object.keys(select), "deletedAt"]
      .map((column) => (enums.includes(column) ? `"${column}"::text AS "${column}"` : `"${column}"`))
      .join(", "),
  );
  const from = Prisma.raw(`"${table}"`);
  return (db: PrismaClient, { userId, rev, liveOnly, take }: Scan) =>
    db.$queryRaw<R[]>`
      SELECT ${columns} FROM ${from}
       WHERE "userId" = ${userId}::uuid
         AND ${typeof rev === "number" ? Prisma.sql`rev = ${rev}` : Prisma.sql`rev > ${rev.gt} AND rev <= ${rev.lte}`}
         ${liveOnly ? Prisma.sql`AND "deletedAt" IS NULL` : Prisma.empty}
       ORDER BY rev ${take === undefined ? Prisma.empty : Prisma.sql`LIMIT ${take}`}`;
}

type SettingsRange = SettingsRow & Row;
type TemplateRange = TemplateRow & Row;
type GroupRange = GroupRow & Row;
type VersionRange = VersionRow & Row;

export const sources: Reader[] = [
  reader("settings", sqlRange<SettingsRange>("UserSettings", settingsSelect, ["theme"]), (row) => toSettings(row)),
  reader("template", sqlRange<TemplateRange>("Template", templateSelect), (row, userId) => toTemplate(row, userId)),
  reader("promptGroup", sqlRange<GroupRange>("PromptGroup", groupSelect, ["status"]), ({ deletedAt: _, ...row }) =>
    toGroup(row),
  ),
  reader(
    "promptVersion",
    sqlRange<VersionRange>("PromptVersion", versionSelect, ["status"]),
    ({ deletedAt: _, ...row }) => toVersion(row),
  ),
  reader(
    "vaultKey",
    (db, scan) => db.vaultKey.findMany({ ...rangeQuery(scan), select: { ...vaultKeySelect, deletedAt: true } }),
    (row) => toVaultKey(row),
  ),
  reader(
    "vaultEntry",
    (db, scan) => db.vaultEntry.findMany({ ...rangeQuery(scan), select: { ...vaultEntrySelect, deletedAt: true } }),
    (row) => toVaultEntry(row),
  ),
];

const entityOrder: Record<SyncEntity, number> = {
  settings: 0,
  template: 1,
  promptGroup: 2,
  promptVersion: 3,
  vaultKey: 4,
  vaultEntry: 5,
};

export async function scanAll(db: PrismaClient, scan: Scan, readers: Reader[] = sources): Promise<SyncChange[]> {
  const parts = await Promise.all(readers.map((source) => source(db, scan)));
  // Within one revision (a group and its first version), parents before children.
  return parts.flat().sort((a, b) => a.rev - b.rev || entityOrder[a.entity] - entityOrder[b.entity]);
}

export function resetRequired(message: string, details: Record<string, unknown>): AppError {
  return new AppError("CONFLICT", `Reset required: ${message}. Pull again without \`since\` for a full snapshot.`, {
    resetRequired: true,
    ...details,
  });
}

export async function pull(deps: { db: PrismaClient }, userId: string, input: PullInput): Promise<PullOutput> {
  const { db } = deps;
  const user = await db.user.findUnique({ where: { id: userId }, select: { revision: true, syncHorizon: true } });
  if (!user) throw signInRequired("the account no longer exists");

  const snapshot = input.since === undefined || input.snapshot === true;
  const since = input.since ?? 0;
  if (since > user.revision) {
    throw resetRequired(`the cursor ${since} is ahead of this account's revision ${user.revision}`, {
      revision: user.revision,
    });
  }
  if (!snapshot && since < user.syncHorizon) {
    throw resetRequired(
      `the cursor ${since} is older than the tombstone retention window (deletes up to revision ${user.syncHorizon} were pruned)`,
      { horizon: user.syncHorizon },
    );
  }

  const upTo = user.revision;
  const liveOnly = input.since === undefined;
  // One row more than a page, from each table, is enough to know the first `limit + 1` changes overall.
  const rows = await scanAll(db, { userId, rev: { gt: since, lte: upTo }, liveOnly, take: input.limit + 1 });
  if (rows.length <= input.limit) return { changes: rows, cursor: upTo, hasMore: false };

  // A page ends between two revisions, never inside one: a device applying a page sees whole writes.
  const firstLeftOut = rows[input.limit]!.rev;
  const page = rows.filter((change) => change.rev < firstLeftOut);
  if (page.length > 0) return { changes: page, cursor: page.at(-1)!.rev, hasMore: true };
  // One revision larger than a page: send it whole.
  const whole = await scanAll(db, { userId, rev: firstLeftOut, liveOnly });
  return { changes: whole, cursor: firstLeftOut, hasMore: firstLeftOut < upTo };
}
