import { z } from "zod";

import { zCursor, zCursorDate, zPageOut } from "../lib/cursor.ts";
import { zJsonObject } from "../lib/json.ts";
import { MAX_TAG_LENGTH, zBaseRev, zDateOut, zId, zJsonObjectOut, zLimit, zTags, zText } from "../lib/schemas.ts";

/** The app's own template types; any other short category is accepted too. */
export const TEMPLATE_TYPES = ["optimize", "iterate", "analyze", "custom"] as const;

export const TEMPLATE_NAME_MAX = 200;
export const TEMPLATE_CONTENT_MAX = 100_000;
export const TEMPLATE_DESCRIPTION_MAX = 2_000;
export const TEMPLATE_CATEGORY_MAX = 50;

const zName = zText(TEMPLATE_NAME_MAX);
const zContent = z.string().min(1).max(TEMPLATE_CONTENT_MAX);
const zDescription = z.string().trim().max(TEMPLATE_DESCRIPTION_MAX).nullable();
const zCategory = zText(TEMPLATE_CATEGORY_MAX).nullable();
/** version, author, lastModified, templateType… as the app keeps them. */
export const zTemplateMetadata = zJsonObject({ maxBytes: 16 * 1024, maxDepth: 6, maxEntries: 200 });

export const zCreateTemplateInput = z
  .object({
    id: zId.optional(),
    name: zName,
    content: zContent,
    description: zDescription.optional(),
    isPublic: z.boolean().optional(),
    tags: zTags.optional(),
    category: zCategory.optional(),
    metadata: zTemplateMetadata.optional(),
  })
  .strict();
export type CreateTemplateInput = z.infer<typeof zCreateTemplateInput>;

export const zUpdateTemplateInput = z
  .object({
    id: zId,
    name: zName.optional(),
    content: zContent.optional(),
    description: zDescription.optional(),
    isPublic: z.boolean().optional(),
    tags: zTags.optional(),
    category: zCategory.optional(),
    metadata: zTemplateMetadata.optional(),
    baseRev: zBaseRev.optional(),
  })
  .strict();
export type UpdateTemplateInput = z.infer<typeof zUpdateTemplateInput>;

export const zTemplateIdInput = z.object({ id: zId });
export type TemplateIdInput = z.infer<typeof zTemplateIdInput>;

export const TEMPLATE_SCOPES = ["mine", "public", "all"] as const;
export const TEMPLATE_SORTS = ["updated", "name"] as const;

const zTemplateCursor = zCursor(
  z.discriminatedUnion("s", [
    z.object({ s: z.literal("updated"), t: zCursorDate, id: zId }),
    z.object({ s: z.literal("name"), n: z.string().max(TEMPLATE_NAME_MAX), id: zId }),
  ]),
);
export type TemplateCursor = z.output<typeof zTemplateCursor>;

export const zListTemplatesInput = z
  .object({
    /** `mine`: the user's own; `public`: everyone's public ones; `all`: both. */
    scope: z.enum(TEMPLATE_SCOPES).default("mine"),
    /** Templates carrying every one of these tags (`?tag=a&tag=b`). */
    tag: z.array(z.string().max(MAX_TAG_LENGTH)).max(10).optional(),
    category: zText(TEMPLATE_CATEGORY_MAX).optional(),
    /** Case-insensitive text search over name, description and content. */
    q: z.string().trim().max(200).optional(),
    sort: z.enum(TEMPLATE_SORTS).default("updated"),
    limit: zLimit,
    cursor: zTemplateCursor.nullish(),
  })
  .strict()
  .default({ scope: "mine", sort: "updated", limit: 20 });
export type ListTemplatesInput = z.output<typeof zListTemplatesInput>;

export const zTemplate = z.object({
  id: zId,
  name: z.string(),
  content: z.string(),
  description: z.string().nullable(),
  isPublic: z.boolean(),
  tags: z.array(z.string()),
  category: z.string().nullable(),
  metadata: zJsonObjectOut,
  /** Whether the signed-in user owns it (and so may change it). */
  isOwner: z.boolean(),
  rev: z.number().int(),
  createdAt: zDateOut,
  updatedAt: zDateOut,
});
export type Template = z.infer<typeof zTemplate>;

export const zTemplatePage = zPageOut(zTemplate);
export type TemplatePage = z.infer<typeof zTemplatePage>;
