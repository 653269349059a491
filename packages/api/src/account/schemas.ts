// account.export: the input, and the two documents it writes. The documents are written piece by piece
// (export.ts), never built as one value; these schemas describe them for the OpenAPI document and for
// readers (tests parse an export with them).
import { z } from "zod";

import { zLegacyGroup, zLegacyVersion } from "../import/schemas.ts";
import { GROUP_STATUSES, VERSION_STATUSES } from "../prompts/schemas.ts";
import { THEMES } from "../settings/schemas.ts";

export const EXPORT_FORMATS = ["full", "local"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const FULL_EXPORT_FORMAT = "prompt-booster-export";
export const LOCAL_EXPORT_FORMAT = "prompt-booster-local";
/** Raised when a document's shape changes in a way a reader must know of. */
export const EXPORT_VERSION = 1;

export const zExportInput = z
  .object({
    format: z
      .enum(EXPORT_FORMATS)
      .default("full")
      .describe("`full` (default): every row as the server keeps it; `local`: the app's own localStorage shapes"),
  })
  .optional();
export type ExportInput = z.input<typeof zExportInput>;

const zIsoDate = z.iso.datetime();

export const zExportUser = z.object({ id: z.uuid(), email: z.string(), username: z.string(), createdAt: zIsoDate });

export const zExportSettings = z.object({
  theme: z.enum(THEMES),
  language: z.string(),
  defaultModel: z.string().nullable(),
  settingsData: z.record(z.string(), z.unknown()),
  createdAt: zIsoDate,
  updatedAt: zIsoDate,
});

export const zExportTemplate = z.object({
  id: z.uuid(),
  name: z.string(),
  content: z.string(),
  description: z.string().nullable(),
  isPublic: z.boolean(),
  tags: z.array(z.string()),
  category: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: zIsoDate,
  updatedAt: zIsoDate,
});

export const zExportVersion = z.object({
  id: z.uuid(),
  number: z.number().int(),
  originalPrompt: z.string(),
  optimizedPrompt: z.string(),
  reasoning: z.string().nullable(),
  iterationDirection: z.string().nullable(),
  modelId: z.string(),
  provider: z.string(),
  modelName: z.string(),
  status: z.enum(VERSION_STATUSES),
  favorite: z.boolean(),
  tags: z.array(z.string()),
  timestamp: zIsoDate,
  createdAt: zIsoDate,
  updatedAt: zIsoDate,
});

export const zExportGroup = z.object({
  id: z.uuid(),
  originalPrompt: z.string(),
  currentVersionNumber: z.number().int(),
  status: z.enum(GROUP_STATUSES),
  createdAt: zIsoDate,
  updatedAt: zIsoDate,
  versions: z.array(zExportVersion).describe("Every live version of the group, by number"),
});

export const zExportVaultKey = z.object({
  kdf: z.string(),
  kdfIterations: z.number().int(),
  kdfSalt: z.string(),
  wrappedKey: z.string(),
  wrapIv: z.string(),
  verifier: z.string(),
  keyVersion: z.number().int(),
  createdAt: zIsoDate,
  updatedAt: zIsoDate,
});

export const zExportVaultEntry = z.object({
  id: z.uuid(),
  provider: z.string(),
  ciphertext: z.string(),
  iv: z.string(),
  version: z.number().int(),
  createdAt: zIsoDate,
  updatedAt: zIsoDate,
});

export const zFullExport = z.object({
  format: z.literal(FULL_EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  exportedAt: zIsoDate,
  user: zExportUser,
  settings: zExportSettings.nullable().describe("null when the user has never saved settings"),
  templates: z.array(zExportTemplate),
  promptGroups: z.array(zExportGroup),
  vault: z.object({
    key: zExportVaultKey.nullable().describe("The vault's wrapped key and KDF parameters; null without a vault"),
    entries: z.array(zExportVaultEntry).describe("Encrypted on the device, as stored: the server cannot read them"),
  }),
  identities: z
    .array(z.object({ provider: z.string(), linkedAt: zIsoDate }))
    .describe("Linked sign-in providers (github, google, oidc) and when each was linked; nothing else of them"),
});
export type FullExport = z.infer<typeof zFullExport>;

/** A template in the app's shape (shared/client-shapes); times in epoch milliseconds. */
export const zLocalTemplate = z
  .object({
    id: z.string(),
    name: z.string(),
    content: z.string(),
    metadata: z
      .object({
        lastModified: z.number().int(),
        description: z.string().optional(),
        templateType: z.string().optional(),
      })
      .catchall(z.unknown()),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
  })
  .catchall(z.unknown());

/** What import.localData takes, as the app keeps it: hand `data` to it (or to the client's importLocalData) unchanged. */
export const zLocalExportData = z.object({
  history: z
    .object({
      groups: z.record(z.string(), zLegacyGroup),
      versions: z.record(z.string(), z.array(zLegacyVersion)),
      activeGroupId: z.null(),
      activeVersionNumber: z.null(),
    })
    .describe("PROMPT_STORE"),
  templates: z.record(z.string(), zLocalTemplate).describe("The app's templates record, by id"),
  settings: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("The app's settings keys: model-settings (apiKey always empty), my-app-theme, i18nextLng, …"),
});
export type LocalExportData = z.infer<typeof zLocalExportData>;

export const zLocalExport = z.object({
  format: z.literal(LOCAL_EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  exportedAt: zIsoDate,
  data: zLocalExportData,
});
export type LocalExport = z.infer<typeof zLocalExport>;
