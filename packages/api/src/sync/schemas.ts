import { z } from "zod";

import { zId } from "../lib/schemas.ts";
import {
  zAddVersionInput,
  zCreatePromptInput,
  zGroup,
  zPromptIdInput,
  zUpdateVersionInput,
  zVersion,
} from "../prompts/schemas.ts";
import { zSettings, zUpdateSettingsInput } from "../settings/schemas.ts";
import { zCreateTemplateInput, zTemplate, zTemplateIdInput, zUpdateTemplateInput } from "../templates/schemas.ts";
import { zDeleteVaultEntryInput, zPutVaultEntryInput, zVaultEntry, zVaultKey } from "../vault/schemas.ts";

export const SYNC_ENTITIES = [
  "settings",
  "template",
  "promptGroup",
  "promptVersion",
  "vaultKey",
  "vaultEntry",
] as const;
export const zSyncEntity = z.enum(SYNC_ENTITIES);
export type SyncEntity = z.infer<typeof zSyncEntity>;

export const MAX_PULL_LIMIT = 1_000;
export const DEFAULT_PULL_LIMIT = 500;

const zRevision = z.number().int().min(0).max(2_147_483_647);

export const zPullInput = z
  .object({
    /** The cursor of the previous pull; omitted = a full snapshot of the live rows. */
    since: zRevision.optional(),
    limit: z.number().int().min(1).max(MAX_PULL_LIMIT).default(DEFAULT_PULL_LIMIT),
    /**
     * Set while paging through a snapshot (the first page had no `since`): the rows a snapshot could not
     * have shown are not asked about, so an old cursor is not a reason to start over.
     */
    snapshot: z.boolean().optional(),
  })
  .strict()
  .default({ limit: DEFAULT_PULL_LIMIT });
export type PullInput = z.output<typeof zPullInput>;

const upsert = <E extends SyncEntity, T extends z.ZodType>(entity: E, data: T) =>
  z.object({ entity: z.literal(entity), id: zId, rev: z.number().int(), deleted: z.literal(false), data });

export const zTombstone = z.object({ entity: zSyncEntity, id: zId, rev: z.number().int(), deleted: z.literal(true) });

/** One change: a whole row (`data`) for an upsert, or a tombstone (`deleted: true`, no `data`). */
export const zSyncChange = z.union([
  upsert("settings", zSettings),
  upsert("template", zTemplate),
  upsert("promptGroup", zGroup),
  upsert("promptVersion", zVersion),
  // The key vault: ciphertext and key material only (see vault/schemas.ts).
  upsert("vaultKey", zVaultKey),
  upsert("vaultEntry", zVaultEntry),
  zTombstone,
]);
export type SyncChange = z.infer<typeof zSyncChange>;

export const zPullOutput = z.object({
  changes: z.array(zSyncChange),
  /** Pass as `since` next time: every change up to this revision has been delivered. */
  cursor: z.number().int(),
  /** More changes wait past `cursor`: pull again at once. */
  hasMore: z.boolean(),
});
export type PullOutput = z.infer<typeof zPullOutput>;

export const zSubscribeInput = z
  .object({
    /** Set by the SSE client on a reconnect (the id of the last signal it received). */
    lastEventId: z.string().max(20).nullish(),
  })
  .optional();

export const zRevisionSignal = z.object({ revision: z.number().int() });
export type RevisionSignal = z.infer<typeof zRevisionSignal>;

// ---- sync.push: offline writes, each applied on its own, each once ----

export const MAX_PUSH_MUTATIONS = 100;

/** The device's id for a mutation: unique per user (a UUID by convention), the key of its result. */
export const zMutationId = z.string().min(1).max(64);

const mutation = <O extends string, T extends z.ZodType>(op: O, input: T) =>
  z.object({ mutationId: zMutationId, op: z.literal(op), input }).strict();

/**
 * One offline write, as the client validates it before queueing and the server before applying it. Creates
 * carry the client's UUID, so the row's id is known on the device before the server has seen it.
 */
export const zPushMutation = z.discriminatedUnion("op", [
  mutation("template.create", zCreateTemplateInput.required({ id: true })),
  mutation("template.update", zUpdateTemplateInput),
  mutation("template.delete", zTemplateIdInput),
  mutation("prompt.create", zCreatePromptInput.required({ id: true })),
  mutation("prompt.addVersion", zAddVersionInput.required({ id: true })),
  mutation("prompt.updateVersion", zUpdateVersionInput),
  mutation("prompt.delete", zPromptIdInput),
  mutation("settings.update", zUpdateSettingsInput),
  // Key vault entries sealed on the device (Vault.sealEntry); `version` orders them as in vault.putEntry.
  mutation("vault.putEntry", zPutVaultEntryInput),
  mutation("vault.deleteEntry", zDeleteVaultEntryInput),
]);
export type PushMutation = z.infer<typeof zPushMutation>;
/** A mutation as written by the app, before zod's defaults and transforms. */
export type PushMutationInput = z.input<typeof zPushMutation>;
export const PUSH_OPS = zPushMutation.options.map((option) => option.shape.op.value);
export type PushOp = PushMutation["op"];

/**
 * The call's input checks only the envelope: each mutation's `op` and `input` are validated on their own,
 * so one a server refuses is answered `rejected` (by its mutationId) and never fails the others.
 */
export const zPushEnvelope = z.object({ mutationId: zMutationId, op: z.string().max(64), input: z.unknown() }).strict();
export const zPushInput = z.object({ mutations: z.array(zPushEnvelope).min(1).max(MAX_PUSH_MUTATIONS) }).strict();
export type PushInput = z.infer<typeof zPushInput>;

const zResultError = z.object({
  /** A tRPC error code: BAD_REQUEST, NOT_FOUND, FORBIDDEN, CONFLICT, INTERNAL_SERVER_ERROR… */
  code: z.string(),
  message: z.string(),
  /** Bad input: the messages per field, keyed by the dotted path inside the mutation's `input`. */
  fieldErrors: z.record(z.string(), z.array(z.string())).optional(),
});

export const zPushApplied = z.object({
  mutationId: z.string(),
  status: z.literal("applied"),
  /** The revision the change was written at. */
  rev: z.number().int(),
  /** prompt.create (1) and prompt.addVersion: the number the server gave the version. */
  number: z.number().int().optional(),
  /** Device times the server did not keep (more than 5 minutes in the future: set to the server's time). */
  adjusted: z.array(z.string()).optional(),
});
export const zPushConflict = z.object({
  mutationId: z.string(),
  status: z.literal("conflict"),
  error: zResultError,
  /** The row as it is now (a tombstone if it was deleted), when there is one to show. */
  current: zSyncChange.optional(),
});
export const zPushRejected = z.object({
  mutationId: z.string(),
  status: z.literal("rejected"),
  /** INTERNAL_SERVER_ERROR: a fault of the server, not of the mutation; it may apply if sent again. */
  error: zResultError,
});

export type PushApplied = z.infer<typeof zPushApplied>;
export type PushConflict = z.infer<typeof zPushConflict>;
export type PushRejected = z.infer<typeof zPushRejected>;

/** One answer per mutation, in the order sent. A resent mutationId gets the answer it got the first time. */
export const zPushResult = z.discriminatedUnion("status", [zPushApplied, zPushConflict, zPushRejected]);
export type PushResult = z.infer<typeof zPushResult>;
export const zPushOutput = z.object({ results: z.array(zPushResult) });
export type PushOutput = z.infer<typeof zPushOutput>;
