// sync.push: a device's offline writes, applied in order through the ordinary services, each answered.
//
// Each mutation on its own: its envelope is validated against zPushMutation by itself, so bad input or an
// unknown op is that mutation's `rejected` (with per-field messages), never the whole call's failure. A
// service's AppError is the mutation's answer too: CONFLICT → `conflict` with the row as it is now, any other
// code → `rejected`. Only a database outage fails the call (503: the client resends it later).
//
// Exactly once, by mutationId: the ledger (SyncMutation) keeps the answer each mutation got. A known id gets
// its recorded answer back and writes nothing (no revision either). An applied mutation's ledger row is
// inserted in the transaction of its change (userWrite's `record` hook), so neither commits without the
// other; two pushes of one id race for the ledger's primary key, and the loser's transaction — its change
// included — rolls back: it answers the winner's result. Conflicts, rejections and services' answers that
// wrote nothing (a repeated create) are recorded by an insert of their own. An unexpected failure is not
// recorded: it is the server's fault, and the mutation may apply when sent again.
import type { PrismaClient } from "@prompt-booster/db";
import { z } from "zod";

import { isDatabaseUnavailable, isUniqueViolation } from "../lib/db-errors.ts";
import { APP_ERROR_CODES, AppError, type AppErrorCode } from "../lib/errors.ts";
import { UNSAFE_KEYS } from "../lib/input-guard.ts";
import { groupSelect, settingsSelect, templateSelect, toSettings, toTemplate, versionSelect } from "../lib/rows.ts";
import type { ServiceDeps } from "../lib/service.ts";
import type { Tx } from "../lib/write.ts";
import * as prompts from "../prompts/write.ts";
import * as settings from "../settings/service.ts";
import * as templates from "../templates/service.ts";
import { toVaultEntry, toVaultKey, vaultEntrySelect, vaultKeySelect } from "../vault/rows.ts";
import * as vault from "../vault/service.ts";
import {
  PUSH_OPS,
  zPushApplied,
  zPushMutation,
  zPushRejected,
  zSyncChange,
  zSyncEntity,
  type PushApplied,
  type PushConflict,
  type PushInput,
  type PushMutation,
  type PushOutput,
  type PushRejected,
  type SyncChange,
  type SyncEntity,
} from "./schemas.ts";

export interface PushDeps extends ServiceDeps {
  /** Told of a mutation that failed unexpectedly: its result says only "internal error". */
  reportError?: ((error: unknown, message: string) => void) | undefined;
}

type Envelope = PushInput["mutations"][number];
type Applied = Omit<PushApplied, "mutationId">;
type Conflict = Omit<PushConflict, "mutationId">;
type Rejected = Omit<PushRejected, "mutationId">;
/** A mutation's answer, without its mutationId. */
type Answer = Applied | Conflict | Rejected;

/**
 * Which row a conflict is about, so its current state can be shown (again, when the answer is replayed).
 * Settings are one row per user: their id is not needed to find them.
 */
const zRowRef = z.object({ entity: zSyncEntity, id: z.string().nullable() });
type RowRef = z.infer<typeof zRowRef>;

/** An answer as the ledger keeps it: a conflict names its row instead of copying it (it is read when answered). */
const zRecorded = z.discriminatedUnion("status", [
  zPushApplied.omit({ mutationId: true }),
  z.object({
    status: z.literal("conflict"),
    error: zPushRejected.shape.error,
    currentOf: zRowRef.optional(),
  }),
  zPushRejected.omit({ mutationId: true }),
]);
type Recorded = z.infer<typeof zRecorded>;

/** AppErrors that say "not now" rather than "not this": never recorded as a mutation's answer. */
const TRANSIENT: ReadonlySet<AppErrorCode> = new Set(["SERVICE_UNAVAILABLE", "TOO_MANY_REQUESTS", "TIMEOUT"]);

const INTERNAL: Rejected = {
  status: "rejected",
  error: { code: "INTERNAL_SERVER_ERROR", message: "This change could not be applied (a server error)" },
};

/** The ledger's primary key was taken by a concurrent push of the same mutation: its transaction rolls back. */
class AnsweredElsewhere extends Error {
  override readonly name = "AnsweredElsewhere";
}

export async function push(deps: PushDeps, userId: string, input: PushInput): Promise<PushOutput> {
  const ids = [...new Set(input.mutations.map((mutation) => mutation.mutationId))];
  const ledger = await deps.db.syncMutation.findMany({
    where: { userId, mutationId: { in: ids } },
    select: { mutationId: true, result: true },
  });
  const recorded = new Map(ledger.map((row) => [row.mutationId, zRecorded.parse(row.result)]));
  // A mutationId sent twice in one batch gets the first one's answer.
  const answers = new Map<string, Answer>();
  const results: PushOutput["results"] = [];
  // In order: a later mutation may depend on an earlier one (a version added to a prompt created offline).
  for (const envelope of input.mutations) {
    const { mutationId } = envelope;
    const known = recorded.get(mutationId);
    const answer =
      answers.get(mutationId) ??
      (known ? await answerOf(deps.db, userId, known) : await applyOne(deps, userId, envelope));
    answers.set(mutationId, answer);
    results.push({ mutationId, ...answer });
  }
  return { results };
}

async function applyOne(deps: PushDeps, userId: string, envelope: Envelope): Promise<Answer> {
  const mutation = parseMutation(envelope);
  if ("status" in mutation) return record(deps, userId, envelope.mutationId, mutation);
  const { mutationId } = mutation;
  const ledger = ledgerWriter(deps, userId, mutationId);
  try {
    const result = await run({ ...deps, record: ledger.inTransaction }, userId, mutation);
    // A service that answered without writing (a repeated create) ran no transaction to record in.
    return ledger.recorded() ?? (await record(deps, userId, mutationId, appliedOf(result)));
  } catch (error) {
    if (error instanceof AnsweredElsewhere) return answerOfWinner(deps.db, userId, mutationId);
    // The server's condition, not the mutation's: the whole call fails and is resent later.
    if (isDatabaseUnavailable(error) || (error instanceof AppError && TRANSIENT.has(error.code))) throw error;
    if (error instanceof AppError) {
      return record(deps, userId, mutationId, await refusal(deps.db, userId, mutation, error));
    }
    // Its own transaction rolled back; the rest go on.
    deps.reportError?.(error, `sync.push: mutation ${mutationId} (${mutation.op}) failed`);
    return INTERNAL;
  }
}

/** The mutation, or its rejection naming every bad field inside its `input`. */
function parseMutation(envelope: Envelope): PushMutation | Rejected {
  if (!(PUSH_OPS as readonly string[]).includes(envelope.op)) {
    const message = `is not an operation sync.push knows (${PUSH_OPS.join(", ")})`;
    return {
      status: "rejected",
      error: { code: "BAD_REQUEST", message: `op: ${message}`, fieldErrors: { op: [message] } },
    };
  }
  const parsed = zPushMutation.safeParse(envelope);
  if (parsed.success) return parsed.data;
  const byField = new Map<string, string[]>();
  for (const issue of parsed.error.issues) {
    // Paths inside the mutation's input, as the client wrote it ("firstVersion.modelId").
    const inInput = issue.path[0] === "input" ? issue.path.slice(1) : issue.path;
    const path = inInput.length > 0 ? inInput.join(".") : "input";
    const key = UNSAFE_KEYS.has(path) ? `input.${path}` : path;
    byField.set(key, [...(byField.get(key) ?? []), issue.message]);
  }
  const message = [...byField]
    .slice(0, 10)
    .map(([field, messages]) => `${field}: ${messages.join(", ")}`)
    .join("; ");
  return { status: "rejected", error: { code: "BAD_REQUEST", message, fieldErrors: Object.fromEntries(byField) } };
}

/**
 * The `record` hook a mutation's services get: inserts the answer into the ledger inside the change's
 * transaction. `recorded()` is that answer once the hook ran (committed, if the service returned).
 */
function ledgerWriter(deps: ServiceDeps, userId: string, mutationId: string) {
  let answer: Applied | undefined;
  return {
    inTransaction: async (tx: Tx, _rev: number, result: unknown) => {
      const written = appliedOf(result);
      await insertRecord(tx, deps, userId, mutationId, written);
      answer = written;
    },
    recorded: () => answer,
  };
}

async function insertRecord(db: Tx, deps: ServiceDeps, userId: string, mutationId: string, answer: Recorded) {
  try {
    await db.syncMutation.create({
      data: { userId, mutationId, result: answer, createdAt: deps.clock.now() },
      select: { mutationId: true },
    });
  } catch (error) {
    // Not a unique violation once it leaves here: the services turn those into CONFLICTs of their own.
    if (isUniqueViolation(error)) throw new AnsweredElsewhere(`mutation ${mutationId} was answered by another push`);
    throw error;
  }
}

/** Records an answer given outside a change's transaction; a concurrent push that recorded first wins. */
async function record(deps: ServiceDeps, userId: string, mutationId: string, answer: Answer): Promise<Answer> {
  try {
    await insertRecord(deps.db, deps, userId, mutationId, recordedOf(answer));
    return answer;
  } catch (error) {
    if (error instanceof AnsweredElsewhere) return answerOfWinner(deps.db, userId, mutationId);
    throw error;
  }
}

async function answerOfWinner(db: PrismaClient, userId: string, mutationId: string): Promise<Answer> {
  const row = await db.syncMutation.findUniqueOrThrow({
    where: { userId_mutationId: { userId, mutationId } },
    select: { result: true },
  });
  return answerOf(db, userId, zRecorded.parse(row.result));
}

function recordedOf(answer: Answer): Recorded {
  if (answer.status !== "conflict") return answer;
  const { current, ...rest } = answer;
  return { ...rest, ...(current && { currentOf: { entity: current.entity, id: current.id } }) };
}

/** A recorded answer as sent: a conflict shows its row as it is now. */
async function answerOf(db: PrismaClient, userId: string, recorded: Recorded): Promise<Answer> {
  if (recorded.status !== "conflict") return recorded;
  const { currentOf, ...rest } = recorded;
  const current = currentOf && (await currentRow(db, userId, currentOf));
  return { ...rest, ...(current && { current }) };
}

/** A row ({rev}), a version ({rev, number}), a group with its versions (version 1), or prompts' Written. */
const zRowResult = z.object({
  rev: z.number().int(),
  number: z.number().int().optional(),
  versions: z.array(z.unknown()).optional(),
});
const zServiceResult = z.union([z.object({ value: zRowResult, adjusted: z.array(z.string()) }), zRowResult]);

/**
 * The answer for what a service returned (and what its userWrite's work returned: the same value, which
 * the ledger hook sees first). Checked rather than cast: a service changing its answer fails loudly here.
 */
function appliedOf(result: unknown): Applied {
  const parsed = zServiceResult.parse(result);
  const { row, adjusted } =
    "value" in parsed ? { row: parsed.value, adjusted: parsed.adjusted } : { row: parsed, adjusted: [] };
  const number = row.versions ? 1 : row.number;
  return {
    status: "applied",
    rev: row.rev,
    ...(number !== undefined && { number }),
    ...(adjusted.length > 0 && { adjusted }),
  };
}

/** The service call for a mutation; its result is read by appliedOf. */
async function run(deps: ServiceDeps, userId: string, mutation: PushMutation): Promise<unknown> {
  switch (mutation.op) {
    case "template.create":
      return templates.createTemplate(deps, userId, mutation.input);
    case "template.update":
      return templates.updateTemplate(deps, userId, mutation.input);
    case "template.delete":
      return templates.deleteTemplate(deps, userId, mutation.input);
    case "prompt.create":
      return prompts.writePrompt(deps, userId, mutation.input);
    case "prompt.addVersion":
      return prompts.writeVersion(deps, userId, mutation.input);
    case "prompt.updateVersion":
      return prompts.updateVersion(deps, userId, mutation.input);
    case "prompt.delete":
      return prompts.deletePrompt(deps, userId, mutation.input);
    case "settings.update":
      return settings.updateSettings(deps, userId, mutation.input);
    case "vault.putEntry":
      return vault.putVaultEntry(deps, userId, mutation.input);
    case "vault.deleteEntry":
      return vault.deleteVaultEntry(deps, userId, mutation.input);
    default:
      // A new op in zPushMutation must be given its service here (and its row in rowOf).
      return mutation satisfies never;
  }
}

/** The row a mutation is about: its entity, and its id (settings have one row per user: no id needed). */
function rowOf(mutation: PushMutation): RowRef {
  switch (mutation.op) {
    case "template.create":
    case "template.update":
    case "template.delete":
      return { entity: "template", id: mutation.input.id };
    case "prompt.create":
    case "prompt.delete":
      return { entity: "promptGroup", id: mutation.input.id };
    case "prompt.addVersion":
    case "prompt.updateVersion":
      return { entity: "promptVersion", id: mutation.input.id };
    case "settings.update":
      return { entity: "settings", id: null };
    case "vault.putEntry":
    case "vault.deleteEntry":
      return { entity: "vaultEntry", id: mutation.input.id };
  }
}

/** A service's refusal: CONFLICT shows the row as it is now, any other code is a rejection. */
async function refusal(db: PrismaClient, userId: string, mutation: PushMutation, error: AppError): Promise<Answer> {
  const code = APP_ERROR_CODES[error.code].trpc;
  if (error.code !== "CONFLICT") return { status: "rejected", error: { code, message: error.message } };
  const { entity, id } = rowOf(mutation);
  // The row the service saw under the user's lock, when it says; else the row as it is (or none of this user's).
  const shown = error.details?.current;
  const current = changeOf(entity, shown) ?? (await currentRow(db, userId, { entity, id }));
  return { status: "conflict", error: { code, message: error.message }, ...(current && { current }) };
}

/** A live row as a sync change, if `row` is one of `entity`'s. */
function changeOf(entity: SyncEntity, row: unknown): SyncChange | undefined {
  if (typeof row !== "object" || row === null) return undefined;
  const { id, rev } = row as { id?: unknown; rev?: unknown };
  const parsed = zSyncChange.safeParse({ entity, id, rev, deleted: false, data: row });
  return parsed.success ? parsed.data : undefined;
}

/** The user's row as it is now: live, a tombstone, or undefined (none, or another user's). */
async function currentRow(db: PrismaClient, userId: string, { entity, id }: RowRef): Promise<SyncChange | undefined> {
  const tombstone = (row: { id: string; rev: number }): SyncChange => ({
    entity,
    id: row.id,
    rev: row.rev,
    deleted: true,
  });
  if (entity === "settings") {
    const row = await db.userSettings.findUnique({ where: { userId }, select: { ...settingsSelect, deletedAt: true } });
    if (!row) return undefined;
    return row.deletedAt ? tombstone(row) : changeOf(entity, toSettings(row));
  }
  if (id === null) return undefined;
  const where = { id, userId };
  switch (entity) {
    case "template": {
      const row = await db.template.findFirst({ where, select: { ...templateSelect, deletedAt: true } });
      if (!row) return undefined;
      return row.deletedAt ? tombstone(row) : changeOf(entity, toTemplate(row, userId));
    }
    case "promptGroup": {
      const row = await db.promptGroup.findFirst({ where, select: { ...groupSelect, deletedAt: true } });
      if (!row) return undefined;
      return row.deletedAt ? tombstone(row) : changeOf(entity, row);
    }
    case "promptVersion": {
      const row = await db.promptVersion.findFirst({ where, select: { ...versionSelect, deletedAt: true } });
      if (!row) return undefined;
      return row.deletedAt ? tombstone(row) : changeOf(entity, row);
    }
    case "vaultKey": {
      const row = await db.vaultKey.findFirst({ where, select: { ...vaultKeySelect, deletedAt: true } });
      if (!row) return undefined;
      return row.deletedAt ? tombstone(row) : changeOf(entity, toVaultKey(row));
    }
    case "vaultEntry": {
      const row = await db.vaultEntry.findFirst({ where, select: { ...vaultEntrySelect, deletedAt: true } });
      if (!row) return undefined;
      return row.deletedAt ? tombstone(row) : changeOf(entity, toVaultEntry(row));
    }
  }
}
