// The app's own localStorage shapes (shared/client-shapes). The payload's shape is checked before anything
// is written (a payload that is not the app's data is refused whole); each item is then checked on its own.
import { z } from "zod";

import { findInputProblem, UNSAFE_KEYS } from "../lib/input-guard.ts";
import { zGroupStatus, zOriginalPrompt, zVersionFields, zVersionStatus } from "../prompts/schemas.ts";
import { zCreateTemplateInput, zTemplateMetadata } from "../templates/schemas.ts";

export const MAX_IMPORT_GROUPS = 5_000;
export const MAX_IMPORT_VERSIONS = 10_000;
export const MAX_IMPORT_TEMPLATES = 1_000;

/** The app's ids: base-36 time + random (`mgqba7eok9p34y6n3wd`), or names such as `optimize_task-zh`. */
const zLegacyId = z
  .string()
  .min(1)
  .max(100)
  // It becomes a key of the answer's id maps.
  .refine((id) => !UNSAFE_KEYS.has(id), "is not allowed as an id");
/** Epoch milliseconds, between 2000 and 2100. */
const zEpochMs = z.number().int().min(946_684_800_000).max(4_102_444_800_000);

// A group, version or template in the app's shape, checked with the API's own field schemas
// (prompts.create, prompts.addVersion, templates.create): what the API would refuse, import reports.
export const zLegacyGroup = z.object({
  id: zLegacyId,
  originalPrompt: zOriginalPrompt,
  currentVersionNumber: z.number().int().min(0).max(100_000),
  status: zGroupStatus,
  createdAt: zEpochMs,
  updatedAt: zEpochMs,
});

export const zLegacyVersion = z
  .object({
    id: zLegacyId,
    number: z.number().int().min(1).max(100_000),
    groupId: zLegacyId,
    originalPrompt: zOriginalPrompt,
    ...zVersionFields.omit({ id: true, originalPrompt: true }).shape,
  })
  // The app always states a version's status, and its time in epoch milliseconds.
  .extend({ status: zVersionStatus, timestamp: zEpochMs });

/** `PROMPT_STORE` with every item valid: what a client may build (and tests generate). */
export const zLegacyHistory = z.object({
  groups: z.record(zLegacyId, zLegacyGroup),
  versions: z.record(zLegacyId, z.array(zLegacyVersion)),
  activeGroupId: zLegacyId.nullish(),
  activeVersionNumber: z.number().int().min(0).max(100_000).nullish(),
});
export type LegacyHistory = z.infer<typeof zLegacyHistory>;
export type LegacyGroup = z.infer<typeof zLegacyGroup>;
export type LegacyVersion = z.infer<typeof zLegacyVersion>;

/** An item as the payload holds it: only its being an object is checked with the payload; the rest item by item. */
const zAnyItem = z.record(z.string(), z.unknown());

/**
 * Parses JSON text until it is an object: localStorage holds text, and builds of the app before May 2025
 * stored PROMPT_STORE as a JSON string of the JSON text (so one parse gives text again). Returns the object,
 * or what is wrong, with the input guard's rules applied to what the text held (the guard saw a string).
 */
export function parseJsonText(
  text: string,
): { value: Record<string, unknown> } | { path: (string | number)[]; message: string; guard?: true } {
  let value: unknown = text;
  for (let depth = 0; depth < 3 && typeof value === "string"; depth++) {
    try {
      value = JSON.parse(value);
    } catch {
      return { path: [], message: "must be a JSON object (or its text)" };
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return { path: [], message: "must be a JSON object (or its text)" };
  }
  const problem = findInputProblem(value);
  return problem ? { ...problem, guard: true } : { value: value as Record<string, unknown> };
}

/**
 * An object, or JSON text that parses to one (once or twice): the guard's rules are applied to what the
 * text held, and what is wrong is reported at its own path.
 */
function objectOrText(text: z.ZodString, what: string) {
  return z
    .union([zAnyItem, text], { error: `must be ${what}: an object, or its JSON text` })
    .transform((value, ctx) => {
      if (typeof value !== "string") return value;
      const parsed = parseJsonText(value);
      if ("value" in parsed) return parsed.value;
      ctx.addIssue({ code: "custom", path: parsed.path, message: parsed.message });
      return z.NEVER;
    });
}

/**
 * `PROMPT_STORE` as the app stored it: groups by id, each group's versions by group id. Only the shape is
 * checked here (and the per-request limits); each group and version is checked on its own, and one that
 * fails is reported in the answer's `errors` while the rest is imported.
 */
const zHistoryShape = z
  .object({
    groups: z.record(z.string(), zAnyItem).describe("PromptGroup by its id"),
    versions: z.record(z.string(), z.array(zAnyItem)).describe("PromptVersion[] by their group's id"),
    activeGroupId: z.unknown().optional(),
    activeVersionNumber: z.unknown().optional(),
  })
  .superRefine((history, ctx) => {
    if (Object.keys(history.groups).length > MAX_IMPORT_GROUPS) {
      ctx.addIssue({ code: "custom", path: ["groups"], message: `at most ${MAX_IMPORT_GROUPS} groups per import` });
    }
    let total = 0;
    for (const versions of Object.values(history.versions)) total += versions.length;
    if (total > MAX_IMPORT_VERSIONS) {
      ctx.addIssue({
        code: "custom",
        path: ["versions"],
        message: `at most ${MAX_IMPORT_VERSIONS} versions per import; send the history in chunks of groups`,
      });
    }
  });
/** PROMPT_STORE as an object, or as the JSON text the app stored (also double-encoded). */
export const zHistoryPayload = objectOrText(z.string(), "PROMPT_STORE").pipe(zHistoryShape);
export type HistoryPayload = z.infer<typeof zHistoryShape>;

const templateFields = zCreateTemplateInput.shape;
export const zLegacyTemplate = z
  .object({
    id: zLegacyId,
    name: templateFields.name,
    content: templateFields.content,
    metadata: z
      .object({
        version: z.string().max(50).optional(),
        lastModified: zEpochMs.optional(),
        author: z.string().max(200).optional(),
        // The template's description and category (templates.create's).
        description: templateFields.description,
        templateType: templateFields.category,
      })
      .catchall(z.unknown()),
    isBuiltin: z.boolean().optional(),
    createdAt: zEpochMs.optional(),
    updatedAt: zEpochMs.optional(),
  })
  .catchall(z.unknown())
  // What is stored as the template's metadata obeys the bounds of the templates API (16 KB, depth 6).
  .superRefine((template, ctx) => {
    const checked = zTemplateMetadata.safeParse(legacyTemplateMetadata(template));
    for (const issue of checked.error?.issues ?? []) {
      ctx.addIssue({ code: "custom", path: ["metadata", ...issue.path], message: issue.message });
    }
  });
export type LegacyTemplate = z.infer<typeof zLegacyTemplate>;

/** The metadata a legacy template is stored with: its own, plus any extra fields the app kept beside it. */
export function legacyTemplateMetadata(template: z.input<typeof zLegacyTemplate>): Record<string, unknown> {
  const { isBuiltin: _b, createdAt: _c, updatedAt: _u, id, name: _n, content: _t, metadata, ...extra } = template;
  return { ...extra, ...metadata, importedFrom: id };
}

/** The app's templates record; each template is checked on its own, like history items. */
export const zTemplatesPayload = z.record(z.string(), zAnyItem).superRefine((templates, ctx) => {
  if (Object.keys(templates).length > MAX_IMPORT_TEMPLATES) {
    ctx.addIssue({ code: "custom", message: `at most ${MAX_IMPORT_TEMPLATES} templates per import` });
  }
});

/** localStorage values are strings; the app stores JSON ones (`model-settings`) as text, so accept both. */
const zJsonText = objectOrText(z.string().max(256 * 1024), "a JSON object");

/** The app's settings keys, each checked on its own: one that fails is reported and left out. */
export const zLegacySettings = z
  .object({
    "model-settings": zJsonText.optional(),
    "my-app-theme": z.enum(["light", "dark", "system"]).optional(),
    i18nextLng: z.string().trim().min(2).max(35).optional(),
  })
  // selectedTemplateId, testResultModelId and any other key the app keeps: short values, kept as they are.
  .catchall(z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]));
export type LegacySettings = z.infer<typeof zLegacySettings>;

/**
 * The app's settings keys, each checked on its own (see zLegacySettings) — except the input guard's rules:
 * `model-settings` text that holds what the guard refuses is refused with the request, as the same object
 * sent as JSON is.
 */
const zSettingsPayload = z
  .record(z.string(), z.unknown())
  .superRefine((settings, ctx) => {
    const text = settings["model-settings"];
    if (typeof text !== "string") return;
    const parsed = parseJsonText(text);
    if ("guard" in parsed)
      ctx.addIssue({ code: "custom", path: ["model-settings", ...parsed.path], message: parsed.message });
  })
  .describe("The app's settings keys: model-settings (an object or its JSON text), my-app-theme, i18nextLng, …");

export const zImportInput = z
  .object({
    history: zHistoryPayload.optional(),
    templates: zTemplatesPayload.optional(),
    settings: zSettingsPayload.optional(),
  })
  .strict();
export type ImportInput = z.infer<typeof zImportInput>;

const zCounts = z.object({
  promptGroups: z.number().int(),
  promptVersions: z.number().int(),
  templates: z.number().int(),
  settings: z.number().int(),
});
export type ImportCounts = z.infer<typeof zCounts>;

const zItemRef = z.object({
  kind: z.enum(["promptGroup", "promptVersion", "template", "settings"]),
  /** The app's own id of the item. */
  legacyId: z.string(),
  /** The server row's id, when the item maps to one. */
  id: z.string().optional(),
});

const zIdMap = z.record(z.string(), z.string());

export const zImportOutput = z.object({
  /**
   * Items of this payload that are on the server as sent: written now, or found from an earlier import of
   * the same data (or a concurrent one). So the answer is the same however often, and however
   * concurrently, one payload is imported.
   */
  imported: zCounts,
  /** Left out on purpose, each with the reason (an unedited built-in template, a row deleted since). */
  skipped: z.array(zItemRef.extend({ reason: z.string() })),
  /** Items that could not be imported, each with the reason (the rest was). */
  errors: z.array(
    zItemRef.extend({
      /** Where in the payload, for an item that failed validation: `history.versions.<groupId>.0.status`. */
      field: z.string().optional(),
      message: z.string(),
    }),
  ),
  /** Where provider API keys were found and left out: they are never stored in plain text. */
  secretsRemoved: z.array(z.string()),
  /** The user's revision once every item was in place: a device that has pulled up to it has them all. */
  revision: z.number().int(),
  /**
   * Legacy id → server id of every item of this payload that is on the server (written now or already
   * there), so the app can map what it still holds (`activeGroupId`, open views) to the synced rows.
   */
  ids: z.object({
    promptGroups: zIdMap,
    promptVersions: zIdMap,
    templates: zIdMap,
  }),
});
export type ImportOutput = z.infer<typeof zImportOutput>;
