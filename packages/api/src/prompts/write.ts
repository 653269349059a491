// Writing prompt history. Each write is one userWrite: a transaction holding the user's row lock, so one
// user's writes (and so version numbers within a group) are serialised; (groupId, number) is unique as well.
import { AppError, idTaken, notFound } from "../lib/errors.ts";
import { jsonEqual } from "../lib/json.ts";
import { groupSelect, toGroup, toVersion, versionSelect, type VersionRow } from "../lib/rows.ts";
import type { Deleted } from "../lib/schemas.ts";
import { isUniqueViolation } from "../lib/db-errors.ts";
import type { ServiceDeps } from "../lib/service.ts";
import { userWrite, type Tx } from "../lib/write.ts";
import { loadPrompt, ownGroup } from "./read.ts";
import type {
  AddVersionInput,
  CreatePromptInput,
  GroupWithVersions,
  PromptIdInput,
  UpdateVersionInput,
  Version,
} from "./schemas.ts";

const GROUP_STATUS_OF_VERSION = { pending: "enhancing", completed: "completed", error: "error" } as const;

/** A group and its version 1, in one transaction. Idempotent for a client-chosen group id. */
export async function createPrompt(
  deps: ServiceDeps,
  userId: string,
  input: CreatePromptInput,
): Promise<GroupWithVersions> {
  const { firstVersion } = input;
  const versionStatus = firstVersion.status ?? "completed";
  const group = {
    originalPrompt: input.originalPrompt,
    status: input.status ?? GROUP_STATUS_OF_VERSION[versionStatus],
  };
  const version = {
    number: 1,
    originalPrompt: input.originalPrompt,
    optimizedPrompt: firstVersion.optimizedPrompt,
    reasoning: firstVersion.reasoning ?? null,
    iterationDirection: null,
    modelId: firstVersion.modelId,
    provider: firstVersion.provider,
    modelName: firstVersion.modelName,
    status: versionStatus,
    favorite: firstVersion.favorite ?? false,
    tags: firstVersion.tags ?? [],
  };
  const groupId = input.id;
  if (groupId && (await isSamePrompt(deps.db, userId, groupId, group, { ...version, id: firstVersion.id }))) {
    return loadPrompt(deps.db, userId, groupId);
  }
  try {
    return await userWrite(deps, userId, async (tx, rev) => {
      if (groupId && (await isSamePrompt(tx, userId, groupId, group, { ...version, id: firstVersion.id }))) {
        return loadPrompt(tx, userId, groupId);
      }
      const created = await tx.promptGroup.create({
        data: { ...group, id: groupId, userId, currentVersionNumber: 1, rev },
        select: groupSelect,
      });
      const first = await tx.promptVersion.create({
        data: { ...version, id: firstVersion.id, groupId: created.id, userId, rev },
        select: versionSelect,
      });
      return { ...toGroup(created), versions: [toVersion(first)] };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw idTaken("prompt");
    throw error;
  }
}

type VersionFields = Omit<VersionRow, "id" | "groupId" | "timestamp" | "rev" | "createdAt" | "updatedAt">;

/** Whether `id` already holds this very prompt (a retried create); CONFLICT if it holds anything else. */
async function isSamePrompt(
  db: Tx,
  userId: string,
  id: string,
  group: { originalPrompt: string; status: string },
  version: VersionFields & { id: string | undefined },
): Promise<boolean> {
  const existing = await db.promptGroup.findUnique({
    where: { id },
    select: { userId: true, deletedAt: true, originalPrompt: true, status: true },
  });
  if (!existing) return false;
  if (existing.userId !== userId) throw idTaken("prompt");
  if (existing.deletedAt) throw new AppError("CONFLICT", "A prompt with this id was deleted; create it with a new id");
  const first = await db.promptVersion.findUnique({
    where: { groupId_number: { groupId: id, number: 1 } },
    select: versionSelect,
  });
  const same =
    existing.originalPrompt === group.originalPrompt &&
    existing.status === group.status &&
    first !== null &&
    (version.id === undefined || first.id === version.id) &&
    sameVersionContent(first, version);
  if (!same) throw new AppError("CONFLICT", "A different prompt already has this id");
  return true;
}

function sameVersionContent(row: VersionRow, wanted: Partial<VersionFields>): boolean {
  return (Object.keys(wanted) as (keyof VersionFields)[]).every(
    (key) => key === "number" || wanted[key] === undefined || jsonEqual(row[key], wanted[key]),
  );
}

/**
 * Appends version `currentVersionNumber + 1` to a group and bumps the group. Concurrent calls queue on the
 * user's row lock, so each sees the number the previous one wrote: no duplicate, no lost version.
 */
export async function addVersion(deps: ServiceDeps, userId: string, input: AddVersionInput): Promise<Version> {
  const { groupId, id, ...fields } = input;
  try {
    return await userWrite(deps, userId, async (tx, rev) => {
      const group = await ownGroup(tx, userId, groupId);
      const wanted = {
        originalPrompt: fields.originalPrompt ?? group.originalPrompt,
        optimizedPrompt: fields.optimizedPrompt,
        reasoning: fields.reasoning ?? null,
        iterationDirection: fields.iterationDirection ?? null,
        modelId: fields.modelId,
        provider: fields.provider,
        modelName: fields.modelName,
        status: fields.status ?? "completed",
      };
      if (id) {
        const existing = await tx.promptVersion.findUnique({
          where: { id },
          select: { ...versionSelect, userId: true },
        });
        if (existing) {
          const { userId: owner, ...row } = existing;
          if (owner !== userId || row.groupId !== groupId || !sameVersionContent(row, wanted)) {
            throw new AppError("CONFLICT", "A different version already has this id");
          }
          return toVersion(row);
        }
      }
      const number = group.currentVersionNumber + 1;
      const version = await tx.promptVersion.create({
        data: { ...wanted, id, groupId, userId, number, rev },
        select: versionSelect,
      });
      await tx.promptGroup.update({ where: { id: groupId }, data: { currentVersionNumber: number, rev } });
      return toVersion(version);
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AppError("CONFLICT", "Another version was added at the same moment, or the id is in use; try again");
    }
    throw error;
  }
}

/** Changes a version's result or marks: favourite, tags, status (a pending version is completed this way). */
export async function updateVersion(deps: ServiceDeps, userId: string, input: UpdateVersionInput): Promise<Version> {
  const { id, ...fields } = input;
  return userWrite(deps, userId, async (tx, rev) => {
    const found = await tx.promptVersion.findFirst({ where: { id, userId, deletedAt: null }, select: { id: true } });
    if (!found) throw notFound("Version");
    const row = await tx.promptVersion.update({ where: { id }, data: { ...fields, rev }, select: versionSelect });
    return toVersion(row);
  });
}

/** Deletes a group and its versions: tombstones, so the user's other devices learn of it through sync. */
export async function deletePrompt(deps: ServiceDeps, userId: string, { id }: PromptIdInput): Promise<Deleted> {
  return userWrite(deps, userId, async (tx, rev) => {
    await ownGroup(tx, userId, id);
    const deletedAt = deps.clock.now();
    await tx.promptGroup.update({ where: { id }, data: { deletedAt, rev } });
    await tx.promptVersion.updateMany({ where: { groupId: id, deletedAt: null }, data: { deletedAt, rev } });
    return { id, deleted: true as const, rev };
  });
}
