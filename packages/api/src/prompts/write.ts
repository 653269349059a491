// Writing prompt history. Each write is one userWrite: a transaction holding the user's row lock, so one
// user's writes (and so version numbers within a group) are serialised; (groupId, number) is unique as well.
//
// A group's status follows its latest version: when a version is added, or the latest version's status
// changes, the group becomes pending → `enhancing` (version 1) or `iterating` (a later one), completed →
// `completed`, error → `error`, in the same transaction and at the same revision as the version. So the
// app's enhance flow (create with a pending first version, then complete it) ends with a completed group.
// A status given explicitly at create is kept until then; `idle` is never derived.
//
// Device times: a prompt written offline keeps when it was written (the group's createdAt, a version's
// timestamp; a version's createdAt follows its timestamp), unless the time is more than
// MAX_DEVICE_TIME_AHEAD_MS ahead of the server's clock (a wrong device clock): then the server's time is
// used, and the write says which input fields it replaced (`adjusted`, reported by sync.push).
import { AppError, idTaken, notFound } from "../lib/errors.ts";
import { jsonEqual } from "../lib/json.ts";
import { groupSelect, toGroup, toVersion, versionSelect, type VersionRow } from "../lib/rows.ts";
import type { Deleted } from "../lib/schemas.ts";
import { isRecordNotFound, isUniqueViolation } from "../lib/db-errors.ts";
import type { Clock } from "../lib/clock.ts";
import type { ServiceDeps } from "../lib/service.ts";
import { userWrite, type Tx } from "../lib/write.ts";
import { loadPrompt, ownGroup } from "./read.ts";
import {
  MAX_DEVICE_TIME_AHEAD_MS,
  type AddVersionInput,
  type CreatePromptInput,
  type GroupStatus,
  type GroupWithVersions,
  type PromptIdInput,
  type UpdateVersionInput,
  type Version,
  type VersionFieldsInput,
  type VersionStatus,
} from "./schemas.ts";

/** A write's answer, and the input fields (dotted paths) of device times it replaced with the server's. */
export interface Written<T> {
  value: T;
  adjusted: string[];
}

/** A group is created with its version 1, so a version added to it is number 2 or later. */
const ADDED_VERSION_NUMBER_AT_LEAST = 2;

/** The group's status when version `number` is its latest and has `status` (see the file header). */
export function groupStatusOf(status: VersionStatus, number: number): GroupStatus {
  if (status === "pending") return number === 1 ? "enhancing" : "iterating";
  return status;
}

/** Device times as kept: each one too far ahead becomes the server's now, its path noted in `adjusted`. */
function deviceTimes<K extends string>(clock: Clock, times: Record<K, Date | undefined>) {
  const now = clock.now();
  const adjusted: string[] = [];
  const kept = {} as Record<K, Date | undefined>;
  for (const path of Object.keys(times) as K[]) {
    const time = times[path];
    const tooFar = time !== undefined && time.getTime() - now.getTime() > MAX_DEVICE_TIME_AHEAD_MS;
    if (tooFar) adjusted.push(path);
    kept[path] = tooFar ? now : time;
  }
  return { kept, adjusted };
}

/** A group and its version 1, in one transaction. Idempotent for a client-chosen group id. */
export async function createPrompt(
  deps: ServiceDeps,
  userId: string,
  input: CreatePromptInput,
): Promise<GroupWithVersions> {
  return (await writePrompt(deps, userId, input)).value;
}

/** createPrompt, also saying which device times it replaced (for sync.push). */
export async function writePrompt(
  deps: ServiceDeps,
  userId: string,
  input: CreatePromptInput,
): Promise<Written<GroupWithVersions>> {
  const { firstVersion } = input;
  const { kept, adjusted } = deviceTimes(deps.clock, {
    createdAt: input.createdAt,
    "firstVersion.timestamp": firstVersion.timestamp,
  });
  // Either time stands for the other when only one is sent; neither: the clock's now, for both (lists order by it).
  const createdAt = kept.createdAt ?? kept["firstVersion.timestamp"] ?? deps.clock.now();
  const timestamp = kept["firstVersion.timestamp"] ?? createdAt;
  const version = { number: 1, ...newVersionData(firstVersion, input.originalPrompt) };
  const group = {
    originalPrompt: input.originalPrompt,
    status: input.status ?? groupStatusOf(version.status, 1),
  };
  const groupId = input.id;
  // A repeated create answers the group as it was made (its times included): nothing was adjusted now.
  if (groupId && (await isSamePrompt(deps.db, userId, groupId, group, { ...version, id: firstVersion.id }))) {
    return { value: await loadPrompt(deps.db, userId, groupId), adjusted: [] };
  }
  try {
    return await userWrite(deps, userId, async (tx, rev) => {
      if (groupId && (await isSamePrompt(tx, userId, groupId, group, { ...version, id: firstVersion.id }))) {
        return { value: await loadPrompt(tx, userId, groupId), adjusted: [] };
      }
      const created = await tx.promptGroup.create({
        data: { ...group, id: groupId, userId, currentVersionNumber: 1, rev, createdAt },
        select: groupSelect,
      });
      const first = await tx.promptVersion.create({
        data: { ...version, id: firstVersion.id, groupId: created.id, userId, rev, timestamp, createdAt: timestamp },
        select: versionSelect,
      });
      return { value: { ...toGroup(created), versions: [toVersion(first)] }, adjusted };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw idTaken("prompt");
    throw error;
  }
}

type VersionFields = Omit<VersionRow, "id" | "groupId" | "timestamp" | "rev" | "createdAt" | "updatedAt">;

/** What of a version's fields becomes its columns' content (its marks aside). */
type StatedVersion = Pick<
  VersionFieldsInput,
  "optimizedPrompt" | "reasoning" | "iterationDirection" | "modelId" | "provider" | "modelName" | "status"
>;

/**
 * A version's content columns from what a client states: the one mapping of prompts.create,
 * prompts.addVersion and import (absent reasoning and direction are null, the status completed).
 */
export function versionContent(stated: StatedVersion, originalPrompt: string) {
  return {
    originalPrompt,
    optimizedPrompt: stated.optimizedPrompt,
    reasoning: stated.reasoning ?? null,
    iterationDirection: stated.iterationDirection ?? null,
    modelId: stated.modelId,
    provider: stated.provider,
    modelName: stated.modelName,
    status: stated.status ?? "completed",
  };
}

/** A new version's columns, its marks included: prompts.create's first version, and import's versions. */
export function newVersionData(
  stated: StatedVersion & Pick<VersionFieldsInput, "favorite" | "tags">,
  originalPrompt: string,
): Omit<VersionFields, "number"> {
  return { ...versionContent(stated, originalPrompt), favorite: stated.favorite ?? false, tags: stated.tags ?? [] };
}

/**
 * Whether `id` already holds this very prompt (a retried create); CONFLICT if it holds anything else. The
 * group's status is not compared: it follows the versions since (see the file header), and times neither.
 */
async function isSamePrompt(
  db: Tx,
  userId: string,
  id: string,
  group: { originalPrompt: string },
  version: VersionFields & { id: string | undefined },
): Promise<boolean> {
  const existing = await db.promptGroup.findUnique({
    where: { id },
    select: { userId: true, deletedAt: true, originalPrompt: true },
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
  return (await writeVersion(deps, userId, input)).value;
}

/** addVersion, also saying which device times it replaced (for sync.push). */
export async function writeVersion(
  deps: ServiceDeps,
  userId: string,
  input: AddVersionInput,
): Promise<Written<Version>> {
  const { groupId, id, timestamp: sentTimestamp, ...fields } = input;
  const {
    kept: { timestamp },
    adjusted,
  } = deviceTimes(deps.clock, { timestamp: sentTimestamp });
  try {
    return await userWrite(deps, userId, async (tx, rev) => {
      if (id) {
        const existing = await tx.promptVersion.findUnique({
          where: { id },
          select: { ...versionSelect, userId: true },
        });
        if (existing) {
          // A replayed add (or an id in use): the group must still be this user's, then the content the same.
          const group = await ownGroup(tx, userId, groupId);
          // No marks: a replayed add must still match a version favourited or tagged since.
          const wanted = versionContent(fields, fields.originalPrompt ?? group.originalPrompt);
          const { userId: owner, ...row } = existing;
          if (owner !== userId || row.groupId !== groupId || !sameVersionContent(row, wanted)) {
            throw new AppError("CONFLICT", "A different version already has this id");
          }
          return { value: toVersion(row), adjusted: [] };
        }
      }
      // The group takes the next number and its new status in one statement (not a read, then an update);
      // under the user's row lock no other write of theirs runs in between.
      const status = fields.status ?? "completed";
      const group = await tx.promptGroup
        .update({
          where: { id: groupId, userId, deletedAt: null },
          data: {
            currentVersionNumber: { increment: 1 },
            status: groupStatusOf(status, ADDED_VERSION_NUMBER_AT_LEAST),
            rev,
          },
          select: { originalPrompt: true, currentVersionNumber: true },
        })
        .catch((error: unknown) => {
          throw isRecordNotFound(error) ? notFound("Prompt") : error;
        });
      const number = group.currentVersionNumber;
      const wanted = versionContent(fields, fields.originalPrompt ?? group.originalPrompt);
      const version = await tx.promptVersion.create({
        data: { ...wanted, id, groupId, userId, number, rev, timestamp, createdAt: timestamp },
        select: versionSelect,
      });
      return { value: toVersion(version), adjusted };
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AppError("CONFLICT", "Another version was added at the same moment, or the id is in use; try again");
    }
    throw error;
  }
}

/**
 * Changes a version's result or marks: favourite, tags, status (a pending version is completed this way).
 * A new status of the group's latest version becomes the group's too.
 */
export async function updateVersion(deps: ServiceDeps, userId: string, input: UpdateVersionInput): Promise<Version> {
  const { id, ...fields } = input;
  return userWrite(deps, userId, async (tx, rev) => {
    const found = await tx.promptVersion.findFirst({
      where: { id, userId, deletedAt: null },
      select: { groupId: true, number: true, group: { select: { currentVersionNumber: true, status: true } } },
    });
    if (!found) throw notFound("Version");
    const row = await tx.promptVersion.update({ where: { id }, data: { ...fields, rev }, select: versionSelect });
    const groupStatus = groupStatusOf(row.status, row.number);
    if (found.group.currentVersionNumber === found.number && fields.status && groupStatus !== found.group.status) {
      await tx.promptGroup.update({ where: { id: found.groupId }, data: { status: groupStatus, rev } });
    }
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
