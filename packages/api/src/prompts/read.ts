// Reading prompt history: every query is scoped to the user and served by an index (see schema.prisma).
import type { Prisma } from "@prompt-booster/db";

import { page } from "../lib/cursor.ts";
import { notFound } from "../lib/errors.ts";
import { groupSelect, toGroup, toVersion, versionSelect } from "../lib/rows.ts";
import { containsText } from "../lib/search.ts";
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

/**
 * The user's groups, newest first, each with its latest version. Two index scans per page whatever the
 * history size: the groups by (userId, createdAt desc, id desc) from the cursor on, then their latest
 * versions by the unique (groupId, number).
 */
export async function listPrompts(deps: ServiceDeps, userId: string, input: ListPromptsInput): Promise<PromptPage> {
  const { limit, cursor } = input;
  const filters: Prisma.PromptGroupWhereInput[] = [];
  if (input.status) filters.push({ status: input.status });
  if (input.favorite !== undefined) {
    const favourites = { some: { favorite: true, deletedAt: null } };
    filters.push(
      input.favorite ? { versions: favourites } : { versions: { none: { favorite: true, deletedAt: null } } },
    );
  }
  if (input.q) {
    const contains = containsText(input.q);
    filters.push({
      OR: [{ originalPrompt: contains }, { versions: { some: { optimizedPrompt: contains, deletedAt: null } } }],
    });
  }
  if (cursor) {
    filters.push({ OR: [{ createdAt: { lt: cursor.t } }, { createdAt: cursor.t, id: { lt: cursor.id } }] });
  }
  const groups = await deps.db.promptGroup.findMany({
    where: { userId, deletedAt: null, AND: filters },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit + 1,
    select: groupSelect,
  });
  const shown = groups.slice(0, limit);
  const latest =
    shown.length === 0
      ? []
      : await deps.db.promptVersion.findMany({
          where: { deletedAt: null, OR: shown.map((g) => ({ groupId: g.id, number: g.currentVersionNumber })) },
          select: versionSelect,
        });
  const byGroup = new Map(latest.map((version) => [version.groupId, version]));
  return page(
    groups,
    limit,
    (group) => {
      const version = byGroup.get(group.id);
      return { ...toGroup(group), latestVersion: version ? toVersion(version) : null };
    },
    (group) => ({ t: group.createdAt.toISOString(), id: group.id }),
  );
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
