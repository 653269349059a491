import { Prisma } from "@prompt-booster/db";

import { page } from "../lib/cursor.ts";
import { AppError, idTaken, notFound, staleRevision } from "../lib/errors.ts";
import { jsonEqual } from "../lib/json.ts";
import { templateSelect, toTemplate, type TemplateRow } from "../lib/rows.ts";
import { likePattern } from "../lib/search.ts";
import { normaliseTags, type Deleted } from "../lib/schemas.ts";
import { isUniqueViolation } from "../lib/db-errors.ts";
import type { ServiceDeps } from "../lib/service.ts";
import { userWrite, type Tx } from "../lib/write.ts";
import type {
  CreateTemplateInput,
  ListTemplatesInput,
  Template,
  TemplateIdInput,
  TemplatePage,
  UpdateTemplateInput,
} from "./schemas.ts";

const liveSelect = { ...templateSelect, deletedAt: true } as const;

/** A template the user may read: their own, or anyone's public one. Others' private ones do not exist for them. */
export async function getTemplate(deps: ServiceDeps, userId: string, { id }: TemplateIdInput): Promise<Template> {
  const row = await deps.db.template.findFirst({
    where: { id, deletedAt: null, OR: [{ userId }, { isPublic: true }] },
    select: templateSelect,
  });
  if (!row) throw notFound("Template");
  return toTemplate(row, userId);
}

export async function listTemplates(
  deps: ServiceDeps,
  userId: string,
  input: ListTemplatesInput,
): Promise<TemplatePage> {
  const rows = await templatePageRows(deps.db, userId, input);
  return page(
    rows,
    input.limit,
    (row) => toTemplate(row, userId),
    (row): Record<string, string> =>
      input.sort === "updated"
        ? { s: "updated", t: row.updatedAt.toISOString(), id: row.id }
        : { s: "name", n: row.name, id: row.id },
  );
}

/**
 * The rows of a template page (one more than `limit`) in SQL checked by hand: one Prisma client query less
 * per request on a hot read. Each filter is the one the client query had (test/template-page.int.test.ts
 * compares the pages); `q` is an ILIKE on each text field, served by their trigram indexes.
 */
function templatePageRows(db: Tx, userId: string, input: ListTemplatesInput): Promise<TemplateRow[]> {
  const { scope, sort, limit, cursor } = input;
  if (cursor && cursor.s !== sort) {
    throw new AppError("BAD_REQUEST", `cursor: belongs to a list sorted by ${cursor.s}, not ${sort}`);
  }
  const tags = normaliseTags(input.tag ?? []);
  const filters: Prisma.Sql[] = [
    scope === "mine"
      ? Prisma.sql`t."userId" = ${userId}::uuid`
      : scope === "public"
        ? Prisma.sql`t."isPublic"`
        : Prisma.sql`(t."userId" = ${userId}::uuid OR t."isPublic")`,
  ];
  if (tags.length > 0) filters.push(Prisma.sql`t.tags @> ${tags}::text[]`);
  if (input.category) filters.push(Prisma.sql`t.category = ${input.category}`);
  if (input.q) {
    const pattern = likePattern(input.q);
    filters.push(Prisma.sql`(t.name ILIKE ${pattern} OR t.description ILIKE ${pattern} OR t.content ILIKE ${pattern})`);
  }
  // Keyset pagination: rows after the last one seen, so inserts never shift or repeat a page.
  if (cursor?.s === "updated") {
    filters.push(Prisma.sql`(t."updatedAt", t.id) < (${cursor.t}::timestamptz, ${cursor.id}::uuid)`);
  } else if (cursor?.s === "name") {
    filters.push(Prisma.sql`(t.name, t.id) > (${cursor.n}, ${cursor.id}::uuid)`);
  }
  const order = sort === "updated" ? Prisma.sql`t."updatedAt" DESC, t.id DESC` : Prisma.sql`t.name ASC, t.id ASC`;
  return db.$queryRaw<TemplateRow[]>`
    SELECT t.id, t."userId", t.name, t.content, t.description, t."isPublic", t.tags, t.category, t.metadata, t.rev,
           t."createdAt", t."updatedAt"
      FROM "Template" t
     WHERE t."deletedAt" IS NULL AND ${Prisma.join(filters, " AND ")}
     ORDER BY ${order}
     LIMIT ${limit + 1}`;
}

/**
 * Creates a template. A client-chosen `id` makes the create idempotent: repeating it with the same content
 * answers the row already made; with different content, CONFLICT.
 */
export async function createTemplate(deps: ServiceDeps, userId: string, input: CreateTemplateInput): Promise<Template> {
  const data = templateData(input);
  const { id } = input;
  if (id) {
    // Fast path for a retried create: no write, no revision, no change event.
    const replay = await existingCreate(deps.db, userId, id, data);
    if (replay) return toTemplate(replay, userId);
  }
  try {
    return await userWrite(deps, userId, async (tx, rev) => {
      const replay = id ? await existingCreate(tx, userId, id, data) : null;
      if (replay) return toTemplate(replay, userId);
      // Times from the clock, not the database: the list orders by updatedAt, and tests must decide ties.
      const now = deps.clock.now();
      const row = await tx.template.create({
        data: { ...data, id, userId, rev, createdAt: now, updatedAt: now },
        select: templateSelect,
      });
      return toTemplate(row, userId);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw idTaken("template");
    throw error;
  }
}

/** A new template's columns from what templates.create states; import builds its rows with it too. */
export function templateData(input: Omit<CreateTemplateInput, "id">): TemplateFields {
  return {
    name: input.name,
    content: input.content,
    description: input.description ?? null,
    isPublic: input.isPublic ?? false,
    tags: input.tags ?? [],
    category: input.category ?? null,
    metadata: (input.metadata ?? {}) as Prisma.InputJsonObject,
  };
}

type TemplateFields = Omit<TemplateRow, "id" | "userId" | "rev" | "createdAt" | "updatedAt" | "metadata"> & {
  metadata: Prisma.InputJsonObject;
};

/** The row a repeated create made before, or CONFLICT if the id holds something else. */
async function existingCreate(db: Tx, userId: string, id: string, data: TemplateFields) {
  const row = await db.template.findUnique({ where: { id }, select: liveSelect });
  if (!row) return null;
  if (row.userId !== userId) throw idTaken("template");
  if (row.deletedAt) throw new AppError("CONFLICT", "A template with this id was deleted; create it with a new id");
  const same =
    row.name === data.name &&
    row.content === data.content &&
    row.description === data.description &&
    row.isPublic === data.isPublic &&
    row.category === data.category &&
    jsonEqual(row.tags, data.tags) &&
    jsonEqual(row.metadata, data.metadata);
  if (!same) {
    throw new AppError("CONFLICT", "A different template already has this id", { current: toTemplate(row, userId) });
  }
  return row;
}

/** Changes the given fields of one of the user's templates; a stale `baseRev` is CONFLICT with the current row. */
export async function updateTemplate(deps: ServiceDeps, userId: string, input: UpdateTemplateInput): Promise<Template> {
  const { id, baseRev, metadata, ...fields } = input;
  return userWrite(deps, userId, async (tx, rev) => {
    const current = await ownTemplate(tx, userId, id);
    if (baseRev !== undefined && baseRev !== current.rev) {
      throw staleRevision("The template was", baseRev, toTemplate(current, userId));
    }
    const row = await tx.template.update({
      where: { id },
      data: {
        ...fields,
        ...(metadata ? { metadata: metadata as Prisma.InputJsonObject } : {}),
        rev,
        updatedAt: deps.clock.now(),
      },
      select: templateSelect,
    });
    return toTemplate(row, userId);
  });
}

/** Deletes one of the user's templates, leaving a tombstone that sync passes to the other devices. */
export async function deleteTemplate(deps: ServiceDeps, userId: string, { id }: TemplateIdInput): Promise<Deleted> {
  return userWrite(deps, userId, async (tx, rev) => {
    await ownTemplate(tx, userId, id);
    await tx.template.update({ where: { id }, data: { deletedAt: deps.clock.now(), rev } });
    return { id, deleted: true as const, rev };
  });
}

/** The user's own live template; others' public ones are FORBIDDEN to change, others' private ones NOT_FOUND. */
async function ownTemplate(tx: Tx, userId: string, id: string) {
  const row = await tx.template.findFirst({ where: { id, deletedAt: null }, select: templateSelect });
  if (!row || (row.userId !== userId && !row.isPublic)) throw notFound("Template");
  if (row.userId !== userId)
    throw new AppError("FORBIDDEN", "This public template belongs to another user: copy it to change it");
  return row;
}
