// import.localData: the app's localStorage data → ordinary synced rows, in one transaction, idempotently.
import { createHash } from "node:crypto";

import type { Prisma } from "@prompt-booster/db";

import { jsonEqual } from "../lib/json.ts";
import { normaliseTag } from "../lib/schemas.ts";
import type { ServiceDeps } from "../lib/service.ts";
import { takeRevisions, type Tx } from "../lib/write.ts";
import { zLanguage, zSettingsData } from "../settings/schemas.ts";
import type { ImportCounts, ImportInput, ImportOutput, LegacySettings, LegacyTemplate } from "./schemas.ts";

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

const zeroCounts = (): ImportCounts => ({ promptGroups: 0, promptVersions: 0, templates: 0, settings: 0 });
const SECRET_KEY = /^api[-_]?key$/i;

export async function importLocalData(deps: ServiceDeps, userId: string, input: ImportInput): Promise<ImportOutput> {
  const result: ImportOutput = {
    created: zeroCounts(),
    unchanged: zeroCounts(),
    skipped: [],
    errors: [],
    secretsRemoved: [],
    revision: null,
  };
  const settings = input.settings ? settingsRow(input.settings, result) : null;

  const revision = await deps.db.$transaction(
    async (tx) => {
      const writes: ((rev: () => number) => Promise<unknown>)[] = [];
      if (input.history) await planHistory(tx, userId, input.history, result, writes);
      if (input.templates) await planTemplates(tx, userId, input.templates, result, writes, deps.clock.now());
      if (settings) await planSettings(tx, userId, settings, result, writes);
      if (writes.length === 0) return null;
      // One revision per row, in order (a group before its versions), under the user's row lock.
      let next = await takeRevisions(tx, userId, writes.length);
      for (const write of writes) await write(() => next++);
      return next - 1;
    },
    { timeout: 120_000 },
  );
  result.revision = revision;
  if (revision !== null) deps.events.publish({ userId, revision });
  return result;
}

type Writes = ((rev: () => number) => Promise<unknown>)[];

async function planHistory(
  tx: Tx,
  userId: string,
  history: NonNullable<ImportInput["history"]>,
  result: ImportOutput,
  writes: Writes,
) {
  const groups = Object.values(history.groups);
  const groupIds = groups.map((group) => importedId(userId, "group", group.id));
  const existingGroups = new Map(
    (
      await tx.promptGroup.findMany({
        where: { id: { in: groupIds }, userId },
        select: { id: true, deletedAt: true, currentVersionNumber: true },
      })
    ).map((row) => [row.id, row]),
  );
  const legacyVersions = Object.values(history.versions).flat();
  const existingVersions = new Map(
    (
      await tx.promptVersion.findMany({
        where: { id: { in: legacyVersions.map((v) => importedId(userId, "version", v.id)) }, userId },
        select: { id: true, deletedAt: true, number: true, optimizedPrompt: true, groupId: true },
      })
    ).map((row) => [row.id, row]),
  );
  const takenNumbers = await tx.promptVersion.findMany({
    where: { groupId: { in: [...existingGroups.keys()] } },
    select: { groupId: true, number: true, id: true },
  });

  for (const group of groups) {
    const id = importedId(userId, "group", group.id);
    const versions = (history.versions[group.id] ?? []).slice().sort((a, b) => a.number - b.number);
    const existing = existingGroups.get(id);
    if (existing?.deletedAt) {
      result.skipped.push({
        kind: "promptGroup",
        legacyId: group.id,
        id,
        reason: "deleted on the server since it was imported",
      });
      for (const version of versions) {
        const versionId = importedId(userId, "version", version.id);
        result.skipped.push({
          kind: "promptVersion",
          legacyId: version.id,
          id: versionId,
          reason: "its prompt was deleted",
        });
      }
      continue;
    }
    const maxNumber = Math.max(group.currentVersionNumber, ...versions.map((v) => v.number), 0);
    if (existing) result.unchanged.promptGroups++;
    else {
      result.created.promptGroups++;
      writes.push((rev) =>
        tx.promptGroup.create({
          data: {
            id,
            userId,
            originalPrompt: group.originalPrompt,
            currentVersionNumber: maxNumber,
            status: group.status,
            rev: rev(),
            createdAt: new Date(group.createdAt),
            updatedAt: new Date(group.updatedAt),
          },
        }),
      );
    }

    let addedToExisting = false;
    for (const version of versions) {
      const versionId = importedId(userId, "version", version.id);
      const ref = { kind: "promptVersion" as const, legacyId: version.id, id: versionId };
      const found = existingVersions.get(versionId);
      if (found) {
        if (found.deletedAt) result.skipped.push({ ...ref, reason: "deleted on the server since it was imported" });
        else result.unchanged.promptVersions++;
        continue;
      }
      const clash = takenNumbers.find(
        (row) => row.groupId === id && row.number === version.number && row.id !== versionId,
      );
      if (clash) {
        result.errors.push({
          ...ref,
          message: `version ${version.number} of this prompt already exists on the server`,
        });
        continue;
      }
      result.created.promptVersions++;
      addedToExisting ||= existing !== undefined;
      const at = new Date(version.timestamp);
      writes.push((rev) =>
        tx.promptVersion.create({
          data: {
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
            rev: rev(),
            createdAt: at,
            updatedAt: at,
          },
        }),
      );
    }
    if (existing && addedToExisting) {
      // Versions made locally after an earlier import: the group's latest number moves with them.
      writes.push((rev) =>
        tx.promptGroup.update({
          where: { id },
          data: { currentVersionNumber: Math.max(existing.currentVersionNumber, maxNumber), rev: rev() },
        }),
      );
    }
  }
}

/** A built-in template counts as the user's own once they saved it (its updatedAt is past its release). */
function isUneditedBuiltin(template: LegacyTemplate): boolean {
  if (template.isBuiltin !== true) return false;
  const released = template.metadata.lastModified ?? template.createdAt ?? 0;
  return template.updatedAt === undefined || template.updatedAt <= released;
}

async function planTemplates(
  tx: Tx,
  userId: string,
  templates: NonNullable<ImportInput["templates"]>,
  result: ImportOutput,
  writes: Writes,
  now: Date,
) {
  const wanted = Object.values(templates).map((template) => ({
    template,
    id: importedId(userId, "template", template.id),
  }));
  const existing = new Map(
    (
      await tx.template.findMany({
        where: { id: { in: wanted.map((w) => w.id) }, userId },
        select: { id: true, deletedAt: true, name: true, content: true, metadata: true },
      })
    ).map((row) => [row.id, row]),
  );
  for (const { template, id } of wanted) {
    const ref = { kind: "template" as const, legacyId: template.id, id };
    if (isUneditedBuiltin(template)) {
      result.skipped.push({ ...ref, reason: "a built-in template the app ships; only edited ones are imported" });
      continue;
    }
    const { isBuiltin: _b, createdAt, updatedAt, id: _id, name, content, metadata, ...extra } = template;
    const data = { name, content, metadata: { ...extra, ...metadata, importedFrom: template.id } };
    const found = existing.get(id);
    if (found?.deletedAt) {
      result.skipped.push({ ...ref, reason: "deleted on the server since it was imported" });
      continue;
    }
    if (found) {
      if (found.name === data.name && found.content === data.content && jsonEqual(found.metadata, data.metadata)) {
        result.unchanged.templates++;
      } else {
        result.errors.push({
          ...ref,
          message: "changed on the server since it was imported; the server copy was kept",
        });
      }
      continue;
    }
    result.created.templates++;
    const created = new Date(createdAt ?? metadata.lastModified ?? now.getTime());
    writes.push((rev) =>
      tx.template.create({
        data: {
          id,
          userId,
          ...data,
          metadata: data.metadata as Prisma.InputJsonObject,
          description: metadata.description ?? null,
          category: metadata.templateType ?? null,
          rev: rev(),
          createdAt: created,
          updatedAt: new Date(updatedAt ?? metadata.lastModified ?? created.getTime()),
        },
      }),
    );
  }
}

interface SettingsRow {
  theme?: string;
  language?: string;
  defaultModel?: string | null;
  settingsData: Record<string, unknown>;
}

/** The app's settings keys → the settings row; API keys are left out (and reported). */
function settingsRow(settings: LegacySettings, result: ImportOutput): SettingsRow | null {
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
  return {
    theme,
    language: language?.success ? language.data : undefined,
    defaultModel: typeof activeModel === "string" ? activeModel.slice(0, 200) : undefined,
    settingsData: checked.data,
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

async function planSettings(tx: Tx, userId: string, row: SettingsRow, result: ImportOutput, writes: Writes) {
  const current = await tx.userSettings.findUnique({ where: { userId } });
  const fields = {
    ...(row.theme !== undefined && { theme: row.theme }),
    ...(row.language !== undefined && { language: row.language }),
    ...(row.defaultModel !== undefined && { defaultModel: row.defaultModel }),
    settingsData: row.settingsData as Prisma.InputJsonObject,
  };
  const same =
    current &&
    !current.deletedAt &&
    Object.entries(fields).every(([key, value]) =>
      jsonEqual(current[key as keyof typeof current] ?? null, value ?? null),
    );
  if (same) {
    result.unchanged.settings++;
    return;
  }
  result.created.settings++;
  writes.push((rev) => {
    const at = rev();
    return tx.userSettings.upsert({
      where: { userId },
      create: { userId, ...fields, rev: at },
      update: { ...fields, deletedAt: null, rev: at },
    });
  });
}
