// sync.push: a device's offline writes, applied in order through the ordinary services, each reported.
//
// "Each once": a device resends a batch whose answer it lost, so every mutation must be safe to replay.
// Creates carry the client's UUID (the services return the existing row for the same id and content); a
// create or delete whose row is already a tombstone was applied before; an update whose baseRev is stale
// but whose fields already hold the wanted values was applied before. (Without a ledger of mutation ids:
// a version update replayed after its prompt was deleted reports NOT_FOUND — the end state is the same.)
import { isDatabaseUnavailable } from "../lib/db-errors.ts";
import { AppError } from "../lib/errors.ts";
import { jsonEqual } from "../lib/json.ts";
import type { ServiceDeps } from "../lib/service.ts";
import * as prompts from "../prompts/service.ts";
import * as settings from "../settings/service.ts";
import * as templates from "../templates/service.ts";
import type { PushInput, PushMutation, PushOutput, PushResult } from "./schemas.ts";

export interface PushDeps extends ServiceDeps {
  /** Told of a mutation that failed unexpectedly: its result says only "internal error". */
  reportError?: ((error: unknown, message: string) => void) | undefined;
}

export async function push(deps: PushDeps, userId: string, input: PushInput): Promise<PushOutput> {
  const results: PushResult[] = [];
  // In order: a later mutation may depend on an earlier one (a version added to a prompt created offline).
  for (const mutation of input.mutations) results.push(await applyOne(deps, userId, mutation));
  return { results };
}

async function applyOne(deps: PushDeps, userId: string, mutation: PushMutation): Promise<PushResult> {
  const { mutationId } = mutation;
  try {
    const rev = await apply(deps, userId, mutation);
    return { mutationId, status: "applied", rev };
  } catch (error) {
    // An outage stops the whole push (503, retried later: what committed is replay-safe). Any other
    // unexpected failure is this mutation's alone — its own transaction rolled back — and the rest go on.
    if (isDatabaseUnavailable(error)) throw error;
    if (!(error instanceof AppError)) {
      deps.reportError?.(error, `sync.push: mutation ${mutationId} (${mutation.op}) failed`);
      return {
        mutationId,
        status: "error",
        error: { code: "INTERNAL_SERVER_ERROR", message: "This change could not be applied (a server error)" },
      };
    }
    const { details } = error;
    const replayed = await alreadyApplied(deps, userId, mutation, error, details);
    if (replayed !== null) return { mutationId, status: "applied", rev: replayed };
    return {
      mutationId,
      status: error.code === "CONFLICT" ? "conflict" : "error",
      error: { code: error.code, message: error.message, ...(details && { details }) },
    };
  }
}

async function apply(deps: ServiceDeps, userId: string, mutation: PushMutation): Promise<number> {
  switch (mutation.op) {
    case "template.create":
      return (await templates.createTemplate(deps, userId, mutation.input)).rev;
    case "template.update":
      return (await templates.updateTemplate(deps, userId, mutation.input)).rev;
    case "template.delete":
      return (await templates.deleteTemplate(deps, userId, mutation.input)).rev;
    case "prompt.create":
      return (await prompts.createPrompt(deps, userId, mutation.input)).rev;
    case "prompt.addVersion":
      return (await prompts.addVersion(deps, userId, mutation.input)).rev;
    case "prompt.updateVersion":
      return (await prompts.updateVersion(deps, userId, mutation.input)).rev;
    case "prompt.delete":
      return (await prompts.deletePrompt(deps, userId, mutation.input)).rev;
    case "settings.update":
      return (await settings.updateSettings(deps, userId, mutation.input)).rev;
  }
}

/** The revision of the row when a failed mutation turns out to be a replay of one already applied. */
async function alreadyApplied(
  deps: ServiceDeps,
  userId: string,
  mutation: PushMutation,
  error: AppError,
  details: Record<string, unknown> | undefined,
): Promise<number | null> {
  switch (mutation.op) {
    case "template.update":
    case "settings.update": {
      const current = details?.current as Record<string, unknown> | undefined;
      if (error.code !== "CONFLICT" || !current) return null;
      const { baseRev: _, ...wanted } = mutation.input as Record<string, unknown>;
      delete wanted.id;
      const same = Object.entries(wanted).every(([key, value]) => jsonEqual(current[key] ?? null, value ?? null));
      return same ? (current.rev as number) : null;
    }
    // A create or delete whose row is now a tombstone of this user was applied before (and the row deleted
    // since, by this batch or another device): a client UUID is never reused for another row.
    case "template.create":
    case "template.delete":
      return error.code === "CONFLICT" || error.code === "NOT_FOUND"
        ? tombstoneRev(deps, "template", userId, mutation.input.id)
        : null;
    case "prompt.create":
    case "prompt.delete":
      return error.code === "CONFLICT" || error.code === "NOT_FOUND"
        ? tombstoneRev(deps, "group", userId, mutation.input.id)
        : null;
    case "prompt.addVersion":
      return error.code === "CONFLICT" || error.code === "NOT_FOUND"
        ? tombstoneRev(deps, "version", userId, mutation.input.id)
        : null;
    default:
      return null;
  }
}

async function tombstoneRev(
  deps: ServiceDeps,
  table: "template" | "group" | "version",
  userId: string,
  id: string,
): Promise<number | null> {
  const where = { id, userId, deletedAt: { not: null } };
  const select = { rev: true };
  const row =
    table === "template"
      ? await deps.db.template.findFirst({ where, select })
      : table === "group"
        ? await deps.db.promptGroup.findFirst({ where, select })
        : await deps.db.promptVersion.findFirst({ where, select });
  return row?.rev ?? null;
}
