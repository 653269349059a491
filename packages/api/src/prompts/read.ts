// Reading prompt history: every query is scoped to the user and served by an index (see schema.prisma).
import { Prisma } from "@prompt-booster/db";

import { page } from "../lib/cursor.ts";
import { notFound } from "../lib/errors.ts";
import { groupSelect, toGroup, toVersion, versionSelect, type GroupRow, type VersionRow } from "../lib/rows.ts";
import { likePattern } from "../lib/search.ts";
import type { ServiceDeps } from "../lib/service.ts";
import type { Tx } from "../lib/write.ts";
import type {
  GroupWithVersions,
  ListPromptsInput,
  ListVersionsInput,
  PromptIdInput,
  PromptPage,
  Version,
  VersionPage,
} from "./schemas.ts";

/** A row of the prompt page: the group's columns, then its latest version's (null when it has none). */
interface PageRow {
  id: string;
  originalPrompt: string;
  currentVersionNumber: number;
  status: GroupRow["status"];
  rev: number;
  createdAt: Date;
  updatedAt: Date;
  v_id: string | null;
  v_originalPrompt: string;
  v_optimizedPrompt: string;
  v_reasoning: string | null;
  v_iterationDirection: string | null;
  v_modelId: string;
  v_provider: string;
  v_modelName: string;
  v_status: VersionRow["status"];
  v_favorite: boolean;
  v_tags: string[];
  v_timestamp: Date;
  v_rev: number;
  v_createdAt: Date;
  v_updatedAt: Date;
}

/** How many of the newest groups a search looks through before it asks the trigram indexes instead. */
export const SEARCH_WINDOW = 100;

/**
 * The user's groups, newest first, each with its latest version: one query (the latest version by a lateral
 * join on the unique (groupId, number)), in SQL checked by hand — through the Prisma client it was two
 * queries and most of the request's CPU (bench/run.ts). The groups come by (userId, createdAt desc, id desc)
 * from the cursor on. The same page as the Prisma client query it replaces (test/prompt-page.int.test.ts).
 */
export function listPrompts(deps: ServiceDeps, userId: string, input: ListPromptsInput): Promise<PromptPage> {
  return promptPage(deps.db, userId, input, SEARCH_WINDOW);
}

/**
 * `q` two ways, as each is cheap: a common word fills a page within the newest groups, so the first
 * `searchWindow` groups (after the cursor and the other filters) are checked in list order, stopping at a
 * full page; a rarer one does not, and then its matches come from the per-user trigram indexes (original
 * prompts, live optimized prompts), which for a common word would recheck thousands of rows — neither way
 * alone serves both (bench/lib/search.ts). Either answers the same page.
 */
export async function promptPage(db: Tx, userId: string, input: ListPromptsInput, searchWindow: number) {
  const { limit, cursor } = input;
  const filters: Prisma.Sql[] = [];
  if (input.status) filters.push(Prisma.sql`AND g.status = ${input.status}::"PromptGroupStatus"`);
  if (input.favorite !== undefined) {
    const favourite = Prisma.sql`EXISTS (SELECT 1 FROM "PromptVersion" f
      WHERE f."groupId" = g.id AND f.favorite AND f."deletedAt" IS NULL)`;
    filters.push(input.favorite ? Prisma.sql`AND ${favourite}` : Prisma.sql`AND NOT ${favourite}`);
  }
  if (cursor) {
    filters.push(Prisma.sql`AND (g."createdAt", g.id) < (${cursor.t}::timestamptz, ${cursor.id}::uuid)`);
  }
  const listed = Prisma.sql`g."userId" = ${userId}::uuid AND g."deletedAt" IS NULL ${
    filters.length > 0 ? Prisma.join(filters, " ", "", "") : Prisma.empty
  }`;
  const toPage = (rows: PageRow[]) =>
    page(
      rows,
      limit,
      (row) => ({ ...toGroup(groupOf(row)), latestVersion: row.v_id === null ? null : toVersion(versionOf(row)) }),
      (row) => ({ t: row.createdAt.toISOString(), id: row.id }),
    );
  const groups = Prisma.sql`"PromptGroup" g`;
  if (!input.q) return toPage(await pageRows(db, { from: groups, where: listed, limit }));

  const pattern = likePattern(input.q);
  const newest = Prisma.sql`(
      SELECT * FROM "PromptGroup" g WHERE ${listed} ORDER BY g."createdAt" DESC, g.id DESC LIMIT ${searchWindow}
    ) g`;
  const matches = Prisma.sql`(g."originalPrompt" ILIKE ${pattern} OR EXISTS (SELECT 1 FROM "PromptVersion" m
      WHERE m."groupId" = g.id AND m."optimizedPrompt" ILIKE ${pattern} AND m."deletedAt" IS NULL))`;
  const found = await pageRows(db, { from: newest, where: matches, limit });
  // A full page (and one more) among the newest: nothing further down could come before these.
  if (found.length > limit) return toPage(found);
  const indexed = Prisma.sql`${listed} AND g.id IN (
      SELECT m.id FROM "PromptGroup" m WHERE m."userId" = ${userId}::uuid AND m."originalPrompt" ILIKE ${pattern}
      UNION
      SELECT m."groupId" FROM "PromptVersion" m
       WHERE m."userId" = ${userId}::uuid AND m."optimizedPrompt" ILIKE ${pattern} AND m."deletedAt" IS NULL)`;
  return toPage(await pageRows(db, { from: groups, where: indexed, limit }));
}

/** The page's rows (one more than `limit`): groups `from` a table or subquery named g, `where` they match. */
function pageRows(
  db: Tx,
  { from, where, limit }: { from: Prisma.Sql; where: Prisma.Sql; limit: number },
): Promise<PageRow[]> {
  return db.$queryRaw<PageRow[]>`
    SELECT g.id, g."originalPrompt", g."currentVersionNumber", g.status::text AS status, g.rev, g."createdAt",
           g."updatedAt", v.id AS "v_id", v."originalPrompt" AS "v_originalPrompt",
           v."optimizedPrompt" AS "v_optimizedPrompt", v.reasoning AS "v_reasoning",
           v."iterationDirection" AS "v_iterationDirection", v."modelId" AS "v_modelId", v.provider AS "v_provider",
           v."modelName" AS "v_modelName", v.status::text AS "v_status", v.favorite AS "v_favorite",
           v.tags AS "v_tags", v.timestamp AS "v_timestamp", v.rev AS "v_rev", v."createdAt" AS "v_createdAt",
           v."updatedAt" AS "v_updatedAt"
      FROM ${from}
      LEFT JOIN LATERAL (
        SELECT * FROM "PromptVersion" l
         WHERE l."groupId" = g.id AND l.number = g."currentVersionNumber" AND l."deletedAt" IS NULL
      ) v ON true
     WHERE ${where}
     ORDER BY g."createdAt" DESC, g.id DESC
     LIMIT ${limit + 1}`;
}

// The page row split back into the client query's rows, keys in the order of groupSelect and versionSelect.
function groupOf(row: PageRow): GroupRow {
  const { id, originalPrompt, currentVersionNumber, status, rev, createdAt, updatedAt } = row;
  return { id, originalPrompt, currentVersionNumber, status, rev, createdAt, updatedAt };
}

function versionOf(row: PageRow): VersionRow {
  return {
    id: row.v_id!,
    groupId: row.id,
    number: row.currentVersionNumber,
    originalPrompt: row.v_originalPrompt,
    optimizedPrompt: row.v_optimizedPrompt,
    reasoning: row.v_reasoning,
    iterationDirection: row.v_iterationDirection,
    modelId: row.v_modelId,
    provider: row.v_provider,
    modelName: row.v_modelName,
    status: row.v_status,
    favorite: row.v_favorite,
    tags: row.v_tags,
    timestamp: row.v_timestamp,
    rev: row.v_rev,
    createdAt: row.v_createdAt,
    updatedAt: row.v_updatedAt,
  };
}

/** A group with all its versions, oldest first. */
export function getPrompt(deps: ServiceDeps, userId: string, { id }: PromptIdInput): Promise<GroupWithVersions> {
  return loadPrompt(deps.db, userId, id);
}

export async function loadPrompt(db: Tx, userId: string, id: string): Promise<GroupWithVersions> {
  const group = await db.promptGroup.findFirst({
    where: { id, userId, deletedAt: null },
    select: {
      ...groupSelect,
      versions: { where: { deletedAt: null }, orderBy: { number: "asc" }, select: versionSelect },
    },
  });
  if (!group) throw notFound("Prompt");
  const { versions, ...rest } = group;
  return { ...toGroup(rest), versions: versions.map(toVersion) };
}

/** A group's versions in number order, paged. */
export async function listVersions(deps: ServiceDeps, userId: string, input: ListVersionsInput): Promise<VersionPage> {
  await ownGroup(deps.db, userId, input.groupId);
  const rows = await deps.db.promptVersion.findMany({
    where: { groupId: input.groupId, deletedAt: null, ...(input.cursor ? { number: { gt: input.cursor.n } } : {}) },
    orderBy: { number: "asc" },
    take: input.limit + 1,
    select: versionSelect,
  });
  return page(rows, input.limit, toVersion, (row) => ({ n: row.number }));
}

export async function getVersion(deps: ServiceDeps, userId: string, { id }: PromptIdInput): Promise<Version> {
  const row = await deps.db.promptVersion.findFirst({ where: { id, userId, deletedAt: null }, select: versionSelect });
  if (!row) throw notFound("Version");
  return toVersion(row);
}

/** The user's live group, or NOT_FOUND (also for another user's group: it does not exist for this one). */
export async function ownGroup(db: Tx, userId: string, id: string) {
  const group = await db.promptGroup.findFirst({ where: { id, userId, deletedAt: null }, select: groupSelect });
  if (!group) throw notFound("Prompt");
  return group;
}
