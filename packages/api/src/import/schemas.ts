// The app's own localStorage shapes (shared/client-shapes), validated before anything is written.
import { z } from "zod";

import { findInputProblem } from "../lib/input-guard.ts";
import {
  GROUP_STATUSES,
  ITERATION_DIRECTION_MAX,
  MODEL_FIELD_MAX,
  OPTIMIZED_PROMPT_MAX,
  PROMPT_MAX,
  REASONING_MAX,
  VERSION_STATUSES,
} from "../prompts/schemas.ts";
import { TEMPLATE_CONTENT_MAX, TEMPLATE_NAME_MAX, zTemplateMetadata } from "../templates/schemas.ts";

export const MAX_IMPORT_GROUPS = 5_000;
export const MAX_IMPORT_VERSIONS = 10_000;
export const MAX_IMPORT_TEMPLATES = 1_000;

/** The app's ids: base-36 time + random (`mgqba7eok9p34y6n3wd`), or names such as `optimize_task-zh`. */
const zLegacyId = z.string().min(1).max(100);
/** Epoch milliseconds, between 2000 and 2100. */
const zEpochMs = z.number().int().min(946_684_800_000).max(4_102_444_800_000);

const zLegacyGroup = z.object({
  id: zLegacyId,
  originalPrompt: z.string().max(PROMPT_MAX),
  currentVersionNumber: z.number().int().min(0).max(100_000),
  status: z.enum(GROUP_STATUSES),
  createdAt: zEpochMs,
  updatedAt: zEpochMs,
});

const zLegacyVersion = z.object({
  id: zLegacyId,
  number: z.number().int().min(1).max(100_000),
  groupId: zLegacyId,
  originalPrompt: z.string().max(PROMPT_MAX),
  optimizedPrompt: z.string().max(OPTIMIZED_PROMPT_MAX),
  reasoning: z.string().max(REASONING_MAX).optional(),
  iterationDirection: z.string().max(ITERATION_DIRECTION_MAX).optional(),
  modelId: z.string().max(MODEL_FIELD_MAX),
  provider: z.string().max(MODEL_FIELD_MAX),
  modelName: z.string().max(MODEL_FIELD_MAX),
  status: z.enum(VERSION_STATUSES),
  timestamp: zEpochMs,
  favorite: z.boolean().optional(),
  tags: z.array(z.string().max(80)).max(40).optional(),
});

/** `PROMPT_STORE`: groups by id, each group's versions by group id. */
export const zLegacyHistory = z
  .object({
    groups: z.record(zLegacyId, zLegacyGroup),
    versions: z.record(zLegacyId, z.array(zLegacyVersion)),
    activeGroupId: zLegacyId.nullish(),
    activeVersionNumber: z.number().int().min(0).max(100_000).nullish(),
  })
  .superRefine((history, ctx) => {
    const groups = Object.entries(history.groups);
    if (groups.length > MAX_IMPORT_GROUPS) {
      ctx.addIssue({ code: "custom", path: ["groups"], message: `at most ${MAX_IMPORT_GROUPS} groups per import` });
    }
    for (const [key, group] of groups) {
      if (group.id !== key)
        ctx.addIssue({ code: "custom", path: ["groups", key, "id"], message: "differs from its key" });
    }
    let total = 0;
    const versionIds = new Set<string>();
    for (const [groupId, versions] of Object.entries(history.versions)) {
      total += versions.length;
      if (!(groupId in history.groups)) {
        ctx.addIssue({ code: "custom", path: ["versions", groupId], message: "has no group with this id in `groups`" });
      }
      const numbers = new Set<number>();
      versions.forEach((version, index) => {
        const path = ["versions", groupId, index];
        if (version.groupId !== groupId) {
          ctx.addIssue({
            code: "custom",
            path: [...path, "groupId"],
            message: `is not the group it is filed under (${groupId})`,
          });
        }
        if (numbers.has(version.number)) {
          ctx.addIssue({
            code: "custom",
            path: [...path, "number"],
            message: `version ${version.number} appears twice in this group`,
          });
        }
        numbers.add(version.number);
        if (versionIds.has(version.id)) {
          ctx.addIssue({ code: "custom", path: [...path, "id"], message: "appears twice" });
        }
        versionIds.add(version.id);
      });
    }
    if (total > MAX_IMPORT_VERSIONS) {
      ctx.addIssue({
        code: "custom",
        path: ["versions"],
        message: `at most ${MAX_IMPORT_VERSIONS} versions per import; send the history in chunks of groups`,
      });
    }
  });
export type LegacyHistory = z.infer<typeof zLegacyHistory>;

const zLegacyTemplate = z
  .object({
    id: zLegacyId,
    name: z.string().trim().min(1).max(TEMPLATE_NAME_MAX),
    content: z.string().min(1).max(TEMPLATE_CONTENT_MAX),
    metadata: z
      .object({
        version: z.string().max(50).optional(),
        lastModified: zEpochMs.optional(),
        author: z.string().max(200).optional(),
        description: z.string().max(2_000).optional(),
        templateType: z.string().trim().min(1).max(50).optional(),
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

export const zLegacyTemplates = z.record(zLegacyId, zLegacyTemplate).superRefine((templates, ctx) => {
  const entries = Object.entries(templates);
  if (entries.length > MAX_IMPORT_TEMPLATES) {
    ctx.addIssue({ code: "custom", message: `at most ${MAX_IMPORT_TEMPLATES} templates per import` });
  }
  for (const [key, template] of entries) {
    if (template.id !== key) ctx.addIssue({ code: "custom", path: [key, "id"], message: "differs from its key" });
  }
});

/** localStorage values are strings; the app stores JSON ones (`model-settings`) as text, so accept both. */
const zJsonText = z.union([z.string().max(256 * 1024), z.record(z.string(), z.unknown())]).transform((value, ctx) => {
  if (typeof value !== "string") return value;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      // Parsed here, so the input guard has not seen it yet: the same rules, before anything is stored.
      const problem = findInputProblem(parsed);
      if (!problem) return parsed as Record<string, unknown>;
      ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
      return z.NEVER;
    }
  } catch {
    // reported below
  }
  ctx.addIssue({ code: "custom", message: "must be a JSON object (or its text)" });
  return z.NEVER;
});

export const zLegacySettings = z
  .object({
    "model-settings": zJsonText.optional(),
    "my-app-theme": z.enum(["light", "dark", "system"]).optional(),
    i18nextLng: z.string().trim().min(2).max(35).optional(),
  })
  // selectedTemplateId, testResultModelId and any other key the app keeps: short values, kept as they are.
  .catchall(z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]));
export type LegacySettings = z.infer<typeof zLegacySettings>;

export const zImportInput = z
  .object({
    history: zLegacyHistory.optional(),
    templates: zLegacyTemplates.optional(),
    settings: zLegacySettings.optional(),
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
  errors: z.array(zItemRef.extend({ message: z.string() })),
  /** Where provider API keys were found and left out: they are never stored in plain text. */
  secretsRemoved: z.array(z.string()),
  /** The user's revision once every item was in place: a device that has pulled up to it has them all. */
  revision: z.number().int(),
});
export type ImportOutput = z.infer<typeof zImportOutput>;
