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

export const SYNC_ENTITIES = ["settings", "template", "promptGroup", "promptVersion"] as const;
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

// ---- sync.push: offline writes, replayed in order ----

export const MAX_PUSH_MUTATIONS = 100;

const mutation = <O extends string, T extends z.ZodType>(op: O, input: T) =>
  z.object({
    /** The client's id for this mutation, echoed in its result. */
    mutationId: z.string().min(1).max(64),
    op: z.literal(op),
    input,
  });

/** Creates carry the client's UUID, so replaying one after a lost answer finds the row instead of doubling it. */
export const zPushMutation = z.discriminatedUnion("op", [
  mutation("template.create", zCreateTemplateInput.required({ id: true })),
  mutation("template.update", zUpdateTemplateInput),
  mutation("template.delete", zTemplateIdInput),
  mutation("prompt.create", zCreatePromptInput.required({ id: true })),
  mutation("prompt.addVersion", zAddVersionInput.required({ id: true })),
  mutation("prompt.updateVersion", zUpdateVersionInput),
  mutation("prompt.delete", zPromptIdInput),
  mutation("settings.update", zUpdateSettingsInput),
]);
export type PushMutation = z.infer<typeof zPushMutation>;

export const zPushInput = z.object({ mutations: z.array(zPushMutation).min(1).max(MAX_PUSH_MUTATIONS) }).strict();
export type PushInput = z.infer<typeof zPushInput>;

export const zPushResult = z.object({
  mutationId: z.string(),
  /** applied: written now or already (a replay); conflict: stale baseRev, `current` holds the row; error: see `error`. */
  status: z.enum(["applied", "conflict", "error"]),
  /** The row's revision after the mutation. */
  rev: z.number().int().optional(),
  error: z
    .object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() })
    .optional(),
});
export type PushResult = z.infer<typeof zPushResult>;
export const zPushOutput = z.object({ results: z.array(zPushResult) });
export type PushOutput = z.infer<typeof zPushOutput>;
