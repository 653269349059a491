// The app's localStorage data → the rows it becomes, in the order they are written (a group before its
// versions). Pure: what is already on the server is decided later, batch by batch (see service.ts).
import { createHash } from "node:crypto";

import type { Prisma } from "@prompt-booster/db";

import { normaliseTag } from "../lib/schemas.ts";
import { zLanguage, zSettingsData } from "../settings/schemas.ts";
import {
  legacyTemplateMetadata,
  type ImportInput,
  type ImportOutput,
  type LegacySettings,
  type LegacyTemplate,
} from "./schemas.ts";

/** The namespace of every user's import namespace (a fixed random UUID: changing it would re-import everything). */
const IMPORT_NAMESPACE = "5f0b8a4e-2d7c-4a8e-9a51-3c9d2f6b7e10";

/** RFC 9562 UUIDv5: SHA-1 of namespace and name, with the version and variant bits set. */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash("sha1")
    .update(Buffer.from(namespace.replace(/-/g, ""), "hex"))
    .update(name, "utf8")
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Legacy id → server id: stable for one user (a re-import finds its rows), different for every user. */
export function importedId(userId: string, kind: "group" | "version" | "template", legacyId: string): string {
  return uuidV5(`${kind}:${legacyId}`, uuidV5(userId, IMPORT_NAMESPACE));
}

/** The columns `K` of a row to write, each set (to null where nullable); the revision is given when it is written. */
type Row<T, K extends keyof T> = { [P in K]-?: Exclude<T[P], undefined> };

export type GroupRow = Row<
  Prisma.PromptGroupCreateManyInput,
  "id" | "userId" | "originalPrompt" | "currentVersionNumber" | "status" | "createdAt" | "updatedAt"
>;
export type VersionRow = Row<
  Prisma.PromptVersionCreateManyInput,
  | "id"
  | "groupId"
  | "userId"
  | "number"
  | "originalPrompt"
  | "optimizedPrompt"
  | "reasoning"
  | "iterationDirection"
  | "modelId"
  | "provider"
  | "modelName"
  | "status"
  | "favorite"
  | "tags"
  | "timestamp"
  | "createdAt"
  | "updatedAt"
>;
export type TemplateRow = Row<
  Prisma.TemplateCreateManyInput,
  "id" | "userId" | "name" | "content" | "description" | "category" | "createdAt" | "updatedAt"
> & { metadata: Prisma.InputJsonObject };

export interface GroupItem {
  kind: "promptGroup";
  legacyId: string;
  id: string;
  /** The group's latest version number in this payload. */
  latestNumber: number;
  row: GroupRow;
}

export interface VersionItem {
  kind: "promptVersion";
  legacyId: string;
  id: string;
  groupId: string;
  number: number;
  /** Its group's latest version number in this payload: the group moves up to it when a version is added. */
  latestNumber: number;
  row: VersionRow;
}

export interface TemplateItem {
  kind: "template";
  legacyId: string;
  id: string;
  row: TemplateRow;
}

export interface SettingsItem {
  kind: "settings";
  legacyId: "settings";
  fields: {
    theme?: string;
    language?: string;
    defaultModel?: string | null;
    settingsData: Prisma.InputJsonObject;
  };
}

export type ImportItem = GroupItem | VersionItem | TemplateItem | SettingsItem;

/** Everything of the payload to write, in writing order; what is left out on sight goes into `result`. */
export function importItems(userId: string, input: ImportInput, now: Date, result: ImportOutput): ImportItem[] {
  const settings = input.settings ? settingsItem(input.settings, result) : null;
  return [
    ...(input.history ? historyItems(userId, input.history) : []),
    ...(input.templates ? templateItems(userId, input.templates, now, result) : []),
    ...(settings ? [settings] : []),
  ];
}

function historyItems(userId: string, history: NonNullable<ImportInput["history"]>): ImportItem[] {
  const items: ImportItem[] = [];
  for (const group of Object.values(history.groups)) {
    const id = importedId(userId, "group", group.id);
    const versions = (history.versions[group.id] ?? []).slice().sort((a, b) => a.number - b.number);
    const latestNumber = Math.max(group.currentVersionNumber, ...versions.map((v) => v.number), 0);
    items.push({
      kind: "promptGroup",
      legacyId: group.id,
      id,
      latestNumber,
      row: {
        id,
        userId,
        originalPrompt: group.originalPrompt,
        currentVersionNumber: latestNumber,
        status: group.status,
        createdAt: new Date(group.createdAt),
        updatedAt: new Date(group.updatedAt),
      },
    });
    for (const version of versions) {
      const versionId = importedId(userId, "version", version.id);
      const at = new Date(version.timestamp);
      items.push({
        kind: "promptVersion",
        legacyId: version.id,
        id: versionId,
        groupId: id,
        number: version.number,
        latestNumber,
        row: {
          id: versionId,
          groupId: id,
          userId,
          number: version.number,
          originalPrompt: version.originalPrompt,
          optimizedPrompt: version.optimizedPrompt,
          reasoning: version.reasoning ?? null,
          iterationDirection: version.iterationDirection ?? null,
          modelId: version.modelId,
          provider: version.provider,
          modelName: version.modelName,
          status: version.status,
          favorite: version.favorite ?? false,
          tags: [...new Set((version.tags ?? []).map(normaliseTag).filter(Boolean))],
          timestamp: at,
          createdAt: at,
          updatedAt: at,
        },
      });
    }
  }
  return items;
}

/** A built-in template counts as the user's own once they saved it (its updatedAt is past its release). */
function isUneditedBuiltin(template: LegacyTemplate): boolean {
  if (template.isBuiltin !== true) return false;
  const released = template.metadata.lastModified ?? template.createdAt ?? 0;
  return template.updatedAt === undefined || template.updatedAt <= released;
}

function templateItems(
  userId: string,
  templates: NonNullable<ImportInput["templates"]>,
  now: Date,
  result: ImportOutput,
): ImportItem[] {
  const items: ImportItem[] = [];
  for (const template of Object.values(templates)) {
    const id = importedId(userId, "template", template.id);
    if (isUneditedBuiltin(template)) {
      result.skipped.push({
        kind: "template",
        legacyId: template.id,
        id,
        reason: "a built-in template the app ships; only edited ones are imported",
      });
      continue;
    }
    const { metadata } = template;
    const created = new Date(template.createdAt ?? metadata.lastModified ?? now.getTime());
    items.push({
      kind: "template",
      legacyId: template.id,
      id,
      row: {
        id,
        userId,
        name: template.name,
        content: template.content,
        metadata: legacyTemplateMetadata(template) as Prisma.InputJsonObject,
        description: metadata.description ?? null,
        category: metadata.templateType ?? null,
        createdAt: created,
        updatedAt: new Date(template.updatedAt ?? metadata.lastModified ?? created.getTime()),
      },
    });
  }
  return items;
}

const SECRET_KEY = /^api[-_]?key$/i;

/** The app's settings keys → the settings row; API keys are left out (and reported). */
function settingsItem(settings: LegacySettings, result: ImportOutput): SettingsItem | null {
  const { "my-app-theme": theme, i18nextLng, ...rest } = settings;
  const settingsData = stripSecrets(rest, "", result.secretsRemoved) as Record<string, unknown>;
  const language = i18nextLng === undefined ? undefined : zLanguage.safeParse(i18nextLng);
  if (language && !language.success) {
    result.errors.push({ kind: "settings", legacyId: "i18nextLng", message: "is not a language tag; left as it was" });
  }
  const checked = zSettingsData.safeParse(settingsData);
  if (!checked.success) {
    result.errors.push({
      kind: "settings",
      legacyId: "settings",
      message: `cannot be stored: ${checked.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; ")}`,
    });
    return null;
  }
  const modelSettings = settingsData["model-settings"] as { state?: { activeModel?: unknown } } | undefined;
  const activeModel = modelSettings?.state?.activeModel;
  const defaultModel = typeof activeModel === "string" ? activeModel.slice(0, 200) : undefined;
  return {
    kind: "settings",
    legacyId: "settings",
    fields: {
      ...(theme !== undefined && { theme }),
      ...(language?.success && { language: language.data }),
      ...(defaultModel !== undefined && { defaultModel }),
      settingsData: checked.data as Prisma.InputJsonObject,
    },
  };
}

function stripSecrets(value: unknown, path: string, removed: string[]): unknown {
  if (Array.isArray(value)) return value.map((item, index) => stripSecrets(item, `${path}.${index}`, removed));
  if (!value || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (SECRET_KEY.test(key)) {
      if (typeof item === "string" && item.length > 0) removed.push(at);
      continue;
    }
    out[key] = stripSecrets(item, at, removed);
  }
  return out;
}
