// The app's localStorage data → the rows it becomes, in the order they are written (a group before its
// versions). Each item is checked on its own: one that fails goes into the answer's `errors` (with its
// legacy id and field) and the rest is imported. Pure: what is already on the server is decided later,
// batch by batch (see service.ts).
import { createHash } from "node:crypto";

import type { Prisma } from "@prompt-booster/db";

import { newVersionData } from "../prompts/write.ts";
import type { SettingsPatch } from "../settings/merge.ts";
import { zLanguage, zSettingsData } from "../settings/schemas.ts";
import { blankSecrets } from "../settings/secrets.ts";
import { templateData } from "../templates/service.ts";
import { BUILTIN_TEMPLATE_HASHES } from "./builtin-templates.ts";
import {
  legacyTemplateMetadata,
  zLegacyGroup,
  zLegacySettings,
  zLegacyTemplate,
  zLegacyVersion,
  type HistoryPayload,
  type ImportInput,
  type ImportOutput,
  type LegacyGroup,
  type LegacySettings,
  type LegacyTemplate,
  type LegacyVersion,
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
  "id" | "userId" | "name" | "content" | "description" | "isPublic" | "tags" | "category" | "createdAt" | "updatedAt"
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
  /** Merged into the user's settings as settings.update merges a patch, keeping other devices' keys. */
  fields: SettingsPatch & { settingsData: Record<string, unknown> };
}

export type ImportItem = GroupItem | VersionItem | TemplateItem | SettingsItem;

/** Everything of the payload to write, in writing order; what is left out on sight goes into `result`. */
export function importItems(userId: string, input: ImportInput, now: Date, result: ImportOutput): ImportItem[] {
  const settings = input.settings ? settingsItem(input.settings, result) : null;
  return [
    ...(input.history ? historyItems(userId, input.history, result) : []),
    ...(input.templates ? templateItems(userId, input.templates, now, result) : []),
    ...(settings ? [settings] : []),
  ];
}

interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

/** One entry per item: the first issue's field, and any others in the message. */
function reportInvalid(
  result: ImportOutput,
  kind: ImportItem["kind"],
  legacyId: string,
  at: readonly PropertyKey[],
  issues: readonly Issue[],
) {
  const fieldOf = (issue: Issue) => [...at, ...issue.path].map(String).join(".");
  const [first, ...others] = issues;
  if (!first) return;
  const also = others.map((issue) => `; also ${fieldOf(issue)}: ${issue.message}`).join("");
  result.errors.push({ kind, legacyId, field: fieldOf(first), message: `${first.message}${also}` });
}

function historyItems(userId: string, history: HistoryPayload, result: ImportOutput): ImportItem[] {
  const groups = new Map<string, LegacyGroup>();
  for (const [key, raw] of Object.entries(history.groups)) {
    const parsed = zLegacyGroup.safeParse(raw);
    const issues = !parsed.success
      ? parsed.error.issues
      : parsed.data.id !== key
        ? [{ path: ["id"], message: "differs from its key" }]
        : [];
    if (issues.length > 0) reportInvalid(result, "promptGroup", key, ["history", "groups", key], issues);
    else groups.set(key, parsed.data!);
  }

  const versionsOf = new Map<string, LegacyVersion[]>();
  const versionIds = new Set<string>();
  for (const [groupKey, list] of Object.entries(history.versions)) {
    const kept: LegacyVersion[] = [];
    const numbers = new Set<number>();
    list.forEach((raw, index) => {
      const at = ["history", "versions", groupKey, index];
      const legacyId = typeof raw.id === "string" ? raw.id : at.join(".");
      if (!groups.has(groupKey)) {
        const message = Object.hasOwn(history.groups, groupKey)
          ? "its prompt group could not be imported"
          : "has no group with this id in `groups`";
        reportInvalid(result, "promptVersion", legacyId, at, [{ path: [], message }]);
        return;
      }
      const parsed = zLegacyVersion.safeParse(raw);
      if (!parsed.success) return reportInvalid(result, "promptVersion", legacyId, at, parsed.error.issues);
      const version = parsed.data;
      const issue: Issue | null =
        version.groupId !== groupKey
          ? { path: ["groupId"], message: `is not the group it is filed under (${groupKey})` }
          : numbers.has(version.number)
            ? { path: ["number"], message: `version ${version.number} appears twice in this group` }
            : versionIds.has(version.id)
              ? { path: ["id"], message: "appears twice" }
              : null;
      if (issue) return reportInvalid(result, "promptVersion", legacyId, at, [issue]);
      numbers.add(version.number);
      versionIds.add(version.id);
      kept.push(version);
    });
    versionsOf.set(groupKey, kept);
  }

  const items: ImportItem[] = [];
  for (const [key, group] of groups) {
    const id = importedId(userId, "group", group.id);
    const versions = (versionsOf.get(key) ?? []).sort((a, b) => a.number - b.number);
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
    for (const version of versions) items.push(versionItem(userId, id, latestNumber, version));
  }
  return items;
}

function versionItem(userId: string, groupId: string, latestNumber: number, version: LegacyVersion): VersionItem {
  const id = importedId(userId, "version", version.id);
  const at = new Date(version.timestamp);
  return {
    kind: "promptVersion",
    legacyId: version.id,
    id,
    groupId,
    number: version.number,
    latestNumber,
    row: {
      id,
      groupId,
      userId,
      number: version.number,
      ...newVersionData(version, version.originalPrompt),
      timestamp: at,
      createdAt: at,
      updatedAt: at,
    },
  };
}

/**
 * A built-in is one of the app's shipped templates as it shipped: same id, same content. Timestamps say
 * nothing (the app sets them when it loads its built-ins), and an edited built-in is the user's own.
 */
function isShippedBuiltin(template: LegacyTemplate): boolean {
  if (!Object.hasOwn(BUILTIN_TEMPLATE_HASHES, template.id)) return false;
  const hash = createHash("sha256").update(template.content, "utf8").digest("hex");
  return BUILTIN_TEMPLATE_HASHES[template.id]!.includes(hash);
}

function templateItems(
  userId: string,
  templates: NonNullable<ImportInput["templates"]>,
  now: Date,
  result: ImportOutput,
): ImportItem[] {
  const items: ImportItem[] = [];
  for (const [key, raw] of Object.entries(templates)) {
    const parsed = zLegacyTemplate.safeParse(raw);
    const issues = !parsed.success
      ? parsed.error.issues
      : parsed.data.id !== key
        ? [{ path: ["id"], message: "differs from its key" }]
        : [];
    if (issues.length > 0) {
      reportInvalid(result, "template", key, ["templates", key], issues);
      continue;
    }
    const template = parsed.data!;
    const id = importedId(userId, "template", template.id);
    if (isShippedBuiltin(template)) {
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
        // As templates.create would make it from the same fields.
        ...templateData({
          name: template.name,
          content: template.content,
          description: metadata.description,
          category: metadata.templateType,
          metadata: legacyTemplateMetadata(template),
        }),
        createdAt: created,
        updatedAt: new Date(template.updatedAt ?? metadata.lastModified ?? created.getTime()),
      },
    });
  }
  return items;
}

/** The settings keys that pass their checks; each one that does not is reported and left out. */
function validSettings(raw: Record<string, unknown>, result: ImportOutput): LegacySettings | null {
  const checked = zLegacySettings.safeParse(raw);
  if (checked.success) return checked.data;
  const failed = new Map<string, Issue[]>();
  for (const issue of checked.error.issues) {
    const key = String(issue.path[0] ?? "");
    failed.set(key, [...(failed.get(key) ?? []), { ...issue, path: issue.path.slice(1) }]);
  }
  for (const [key, issues] of failed) reportInvalid(result, "settings", key || "settings", ["settings", key], issues);
  if (failed.has("")) return null;
  const rest = zLegacySettings.safeParse(Object.fromEntries(Object.entries(raw).filter(([key]) => !failed.has(key))));
  return rest.success ? rest.data : null;
}

/**
 * The data with no `null` object member at any depth. A device's settings are merged into the server's as a
 * merge patch, where `null` deletes: but a device's null (a key it never set) is no reason to delete what
 * another device set, so an import only ever sets keys. (Arrays are values: their elements stay as they are.)
 */
function withoutNullMembers(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const members = Object.entries(value).filter(([, member]) => member !== null);
  return Object.fromEntries(members.map(([key, member]) => [key, withoutNullMembers(member)]));
}

/** The app's settings keys → a merge patch of the settings row; API keys are blanked (and reported). */
function settingsItem(raw: Record<string, unknown>, result: ImportOutput): SettingsItem | null {
  const settings = validSettings(raw, result);
  if (!settings) return null;
  const { "my-app-theme": theme, i18nextLng, ...rest } = settings;
  const blanked = blankSecrets(rest);
  result.secretsRemoved.push(...blanked.found.map((path) => path.join(".")));
  const settingsData = blanked.value as Record<string, unknown>;
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
      settingsData: withoutNullMembers(checked.data) as Record<string, unknown>,
    },
  };
}
