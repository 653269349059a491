import { z } from "zod";

import { zCursor, zCursorDate, zPageOut } from "../lib/cursor.ts";
import { zDateOut, zId, zLimit, zQueryBool, zTags } from "../lib/schemas.ts";

export const GROUP_STATUSES = ["idle", "enhancing", "iterating", "completed", "error"] as const;
export const VERSION_STATUSES = ["pending", "completed", "error"] as const;
export const zGroupStatus = z.enum(GROUP_STATUSES);
export const zVersionStatus = z.enum(VERSION_STATUSES);
export type GroupStatus = z.infer<typeof zGroupStatus>;
export type VersionStatus = z.infer<typeof zVersionStatus>;

/** The app sets no limit and users paste whole documents; import and the direct API take the same. */
export const PROMPT_MAX = 200_000;
export const OPTIMIZED_PROMPT_MAX = 200_000;
export const REASONING_MAX = 100_000;
export const ITERATION_DIRECTION_MAX = 10_000;
export const MODEL_FIELD_MAX = 200;

export const zOriginalPrompt = z.string().min(1).max(PROMPT_MAX);
/** May be "" (a failed model call) or "__PENDING__" while the app streams, as the app stores it. */
const zOptimizedPrompt = z.string().max(OPTIMIZED_PROMPT_MAX);
const zReasoning = z.string().max(REASONING_MAX).nullable();
const zIterationDirection = z.string().max(ITERATION_DIRECTION_MAX).nullable();
const zModelId = z.string().trim().min(1).max(MODEL_FIELD_MAX);
/** "" for a hand edit, as the app stores it. */
const zModelName = z.string().trim().max(MODEL_FIELD_MAX);

/**
 * A time the device recorded (a prompt written offline keeps when it was written): a Date over tRPC
 * (superjson), an ISO 8601 string with its offset over REST or from a device's stored queue. The server
 * keeps it unless it is more than MAX_DEVICE_TIME_AHEAD_MS ahead of the server's clock (see write.ts).
 */
export const zDeviceTime = z
  .union([z.date(), z.iso.datetime({ offset: true }).transform((value) => new Date(value))])
  .refine((date) => date.getUTCFullYear() >= 1970 && date.getUTCFullYear() <= 9999, "is out of range")
  .meta({ type: "string", format: "date-time", description: "An ISO 8601 time with its offset" });

/** A device time further ahead than this (a wrong clock) is replaced by the server's time. */
export const MAX_DEVICE_TIME_AHEAD_MS = 5 * 60_000;

/**
 * What a new version may state, however it is written: prompts.create's first version and
 * prompts.addVersion take their parts of it, and import checks the app's versions with it (so their
 * limits are the API's).
 */
export const zVersionFields = z.object({
  /** The version's own id, when the client chooses it. */
  id: zId.optional(),
  optimizedPrompt: zOptimizedPrompt,
  reasoning: zReasoning.optional(),
  modelId: zModelId,
  provider: zModelId,
  modelName: zModelName,
  status: zVersionStatus.optional(),
  /** When the device made the version; the server's time if left out. The version's createdAt follows it. */
  timestamp: zDeviceTime.optional(),
  /** Defaults to the group's original prompt. */
  originalPrompt: zOriginalPrompt.optional(),
  iterationDirection: zIterationDirection.optional(),
  favorite: z.boolean().optional(),
  tags: zTags.optional(),
});
export type VersionFieldsInput = z.infer<typeof zVersionFields>;

/** Version 1 takes its original prompt from the group, and iterates on nothing. */
export const zFirstVersionInput = zVersionFields.omit({ originalPrompt: true, iterationDirection: true }).strict();

export const zCreatePromptInput = z
  .object({
    id: zId.optional(),
    originalPrompt: zOriginalPrompt,
    /** Defaults from the first version: pending → enhancing, completed → completed, error → error. */
    status: zGroupStatus.optional(),
    /** When the device started the group; defaults to the first version's timestamp, else the server's time. */
    createdAt: zDeviceTime.optional(),
    firstVersion: zFirstVersionInput,
  })
  .strict();
export type CreatePromptInput = z.infer<typeof zCreatePromptInput>;

/** Marks (favorite, tags) are set on a version once it exists (prompts.updateVersion). */
export const zAddVersionInput = z
  .object({
    /** The group (the `{id}` of /prompts/{id}/versions). */
    groupId: zId,
    ...zVersionFields.omit({ favorite: true, tags: true }).shape,
  })
  .strict();
export type AddVersionInput = z.infer<typeof zAddVersionInput>;

export const zUpdateVersionInput = z
  .object({
    id: zId,
    optimizedPrompt: zOptimizedPrompt.optional(),
    status: zVersionStatus.optional(),
    favorite: z.boolean().optional(),
    tags: zTags.optional(),
  })
  .strict();
export type UpdateVersionInput = z.infer<typeof zUpdateVersionInput>;

export const zPromptIdInput = z.object({ id: zId });
export type PromptIdInput = z.infer<typeof zPromptIdInput>;

export const zListVersionsInput = z
  .object({
    groupId: zId,
    limit: zLimit,
    cursor: zCursor(z.object({ n: z.number().int().min(0).max(2_147_483_647) })).nullish(),
  })
  .strict();
export type ListVersionsInput = z.output<typeof zListVersionsInput>;

export const zListPromptsInput = z
  .object({
    status: zGroupStatus.optional(),
    /** Only groups with a favourite version. */
    favorite: zQueryBool().optional(),
    /** Case-insensitive search in the original prompt and the optimized prompts. */
    q: z.string().trim().max(200).optional(),
    limit: zLimit,
    cursor: zCursor(z.object({ t: zCursorDate, id: zId })).nullish(),
  })
  .strict()
  .default({ limit: 20 });
export type ListPromptsInput = z.output<typeof zListPromptsInput>;

export const zVersion = z.object({
  id: zId,
  groupId: zId,
  number: z.number().int(),
  originalPrompt: z.string(),
  optimizedPrompt: z.string(),
  reasoning: z.string().nullable(),
  iterationDirection: z.string().nullable(),
  modelId: z.string(),
  provider: z.string(),
  modelName: z.string(),
  status: zVersionStatus,
  favorite: z.boolean(),
  tags: z.array(z.string()),
  timestamp: zDateOut,
  rev: z.number().int(),
  createdAt: zDateOut,
  updatedAt: zDateOut,
});
export type Version = z.infer<typeof zVersion>;

export const zGroup = z.object({
  id: zId,
  originalPrompt: z.string(),
  currentVersionNumber: z.number().int(),
  status: zGroupStatus,
  rev: z.number().int(),
  createdAt: zDateOut,
  updatedAt: zDateOut,
});

export const zGroupWithVersions = zGroup.extend({ versions: z.array(zVersion) });
export type GroupWithVersions = z.infer<typeof zGroupWithVersions>;

export const zGroupListItem = zGroup.extend({ latestVersion: zVersion.nullable() });
export const zPromptPage = zPageOut(zGroupListItem);
export type PromptPage = z.infer<typeof zPromptPage>;

export const zVersionPage = zPageOut(zVersion);
export type VersionPage = z.infer<typeof zVersionPage>;
