// import.localData: the app's localStorage data → ordinary synced rows, idempotently, in short batches.
//
// Each batch is one userWriteBatch: under the user's row lock it looks at what is already there, writes
// only what is missing (taking one revision per row), commits and tells the user's devices. So an import
// never holds a connection, or the user's lock, for more than one batch; other requests (on PGlite, every
// other request) run in between; an import cut short leaves whole batches behind (already announced) and a
// retry finishes it; and two imports of one payload at once each find what the other wrote, and answer alike.
import { jsonEqual } from "../lib/json.ts";
import type { ServiceDeps } from "../lib/service.ts";
import { userWriteBatch, type Tx, type UserRevisions } from "../lib/write.ts";
import {
  DEFAULT_SETTINGS,
  mergeSettings,
  settingsWrite,
  type SettingsMerge,
  type StoredSettings,
} from "../settings/merge.ts";
import { groupColumns, insertRows, templateColumns, versionColumns } from "./insert.ts";
import {
  importItems,
  type GroupItem,
  type ImportItem,
  type SettingsItem,
  type TemplateItem,
  type VersionItem,
} from "./items.ts";
import type { ImportInput, ImportOutput } from "./schemas.ts";

export { importedId, uuidV5 } from "./items.ts";

/** Rows per transaction: small enough that a batch takes tens of milliseconds, large enough to be cheap. */
const BATCH_ROWS = 100;
/** And text per transaction, for payloads of few but long prompts. */
const BATCH_CHARS = 200_000;

export async function importLocalData(deps: ServiceDeps, userId: string, input: ImportInput): Promise<ImportOutput> {
  const result: ImportOutput = {
    imported: { promptGroups: 0, promptVersions: 0, templates: 0, settings: 0 },
    skipped: [],
    errors: [],
    secretsRemoved: [],
    revision: 0,
    ids: { promptGroups: {}, promptVersions: {}, templates: {} },
  };
  const items = importItems(userId, input, deps.clock.now(), result);
  let revision: number | null = null;
  for (const batch of batches(items)) {
    const written = await userWriteBatch(deps, userId, (tx, revisions) => writeBatch(tx, userId, revisions, batch));
    batch.forEach((item, index) => record(result, item, written.result[index]!));
    revision = written.revision;
    // PGlite runs in this thread and answers through promises alone: without a turn of the event loop
    // here, back-to-back batches would keep every other request (even reading its socket) waiting.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  result.revision =
    revision ?? (await deps.db.user.findUniqueOrThrow({ where: { id: userId }, select: { revision: true } })).revision;
  return result;
}

function* batches(items: ImportItem[]): Generator<ImportItem[]> {
  let batch: ImportItem[] = [];
  let chars = 0;
  for (const item of items) {
    const size = item.kind === "settings" ? JSON.stringify(item.fields).length : textLength(item.row);
    if (batch.length > 0 && (batch.length >= BATCH_ROWS || chars + size > BATCH_CHARS)) {
      yield batch;
      batch = [];
      chars = 0;
    }
    batch.push(item);
    chars += size;
  }
  if (batch.length > 0) yield batch;
}

function textLength(row: object): number {
  let length = 0;
  for (const value of Object.values(row)) {
    if (typeof value === "string") length += value.length;
    else if (value && typeof value === "object" && !(value instanceof Date)) length += JSON.stringify(value).length;
  }
  return length;
}

type Outcome =
  | { kind: "imported" }
  | { kind: "skipped"; reason: string }
  /** `present`: the item's row is on the server all the same (its id goes into the id map). */
  | { kind: "error"; message: string; present?: boolean };

const DELETED = "deleted on the server since it was imported";

/** The import's settings merged into the user's (see settings/merge.ts). */
interface SettingsChange {
  base: StoredSettings;
  merge: Extract<SettingsMerge, { ok: true }>;
  write: boolean;
}

/**
 * Writes what of `batch` is missing and tells what became of each item (one outcome per item, in order).
 * Runs under the user's row lock: what it finds stays true until it commits, whoever else is importing.
 */
async function writeBatch(tx: Tx, userId: string, revisions: UserRevisions, batch: ImportItem[]): Promise<Outcome[]> {
  const found = await readExisting(tx, userId, batch);

  const newGroups: GroupItem[] = [];
  const newVersions: VersionItem[] = [];
  const newTemplates: TemplateItem[] = [];
  /** Groups whose latest number moves up with a version added now (group id → number). */
  const raised = new Map<string, number>();
  let newSettings: SettingsChange | null = null;

  const outcomes = batch.map((item): Outcome => {
    switch (item.kind) {
      case "promptGroup": {
        const group = found.groups.get(item.id);
        if (group?.deletedAt) return { kind: "skipped", reason: DELETED };
        if (!group) {
          newGroups.push(item);
          found.groups.set(item.id, { deletedAt: null, currentVersionNumber: item.latestNumber });
        }
        return { kind: "imported" };
      }
      case "promptVersion": {
        const group = found.groups.get(item.groupId);
        // Only if the group vanished between batches (a tombstone pruned meanwhile).
        if (!group) return { kind: "error", message: "its prompt is no longer on the server" };
        if (group.deletedAt) return { kind: "skipped", reason: "its prompt was deleted" };
        const version = found.versions.get(item.id);
        if (version) return version.deletedAt ? { kind: "skipped", reason: DELETED } : { kind: "imported" };
        if (found.numbers.has(`${item.groupId}:${item.number}`)) {
          return { kind: "error", message: `version ${item.number} of this prompt already exists on the server` };
        }
        newVersions.push(item);
        if (group.currentVersionNumber < item.latestNumber) {
          // Versions made locally after an earlier import: the group's latest number moves with them.
          group.currentVersionNumber = item.latestNumber;
          raised.set(item.groupId, item.latestNumber);
        }
        return { kind: "imported" };
      }
      case "template": {
        const template = found.templates.get(item.id);
        if (!template) {
          newTemplates.push(item);
          return { kind: "imported" };
        }
        if (template.deletedAt) return { kind: "skipped", reason: DELETED };
        const same =
          template.name === item.row.name &&
          template.content === item.row.content &&
          jsonEqual(template.metadata, item.row.metadata);
        return same
          ? { kind: "imported" }
          : {
              kind: "error",
              message: "changed on the server since it was imported; the server copy was kept",
              present: true,
            };
      }
      case "settings": {
        const change = found.settingsChange(item);
        if ("problem" in change) return { kind: "error", message: `cannot be stored: settingsData ${change.problem}` };
        if (change.write) newSettings = change;
        return { kind: "imported" };
      }
    }
  });

  const settings = newSettings as SettingsChange | null;
  const count = newGroups.length + newVersions.length + raised.size + newTemplates.length + (settings ? 1 : 0);
  if (count === 0) return outcomes;

  // Groups before their versions, so a device pulling in revision order never sees a version without its group.
  let next = await revisions.take(count);
  const withRev = <R extends object>(items: { row: R }[]) => items.map((item) => ({ ...item.row, rev: next++ }));
  await insertRows(tx, "PromptGroup", groupColumns, withRev(newGroups));
  await insertRows(tx, "PromptVersion", versionColumns, withRev(newVersions));
  for (const [id, currentVersionNumber] of raised) {
    await tx.promptGroup.update({ where: { id }, data: { currentVersionNumber, rev: next++ } });
  }
  await insertRows(tx, "Template", templateColumns, withRev(newTemplates));
  if (settings) {
    const data = settingsWrite(settings.base, settings.merge, next++);
    await tx.userSettings.upsert({
      where: { userId },
      create: { userId, ...data },
      update: { ...data, deletedAt: null },
    });
  }
  return outcomes;
}

/** What of the batch's rows (and of the groups its versions belong to) the user already has. */
async function readExisting(tx: Tx, userId: string, batch: ImportItem[]) {
  const ofKind = <K extends ImportItem["kind"]>(kind: K) =>
    batch.filter((item): item is Extract<ImportItem, { kind: K }> => item.kind === kind);
  const versions = ofKind("promptVersion");
  const templates = ofKind("template");
  const groupIds = [...new Set([...ofKind("promptGroup").map((g) => g.id), ...versions.map((v) => v.groupId)])];
  const versionGroupIds = [...new Set(versions.map((v) => v.groupId))];

  const groupRows = groupIds.length
    ? await tx.promptGroup.findMany({
        where: { id: { in: groupIds }, userId },
        select: { id: true, deletedAt: true, currentVersionNumber: true },
      })
    : [];
  const versionRows = versions.length
    ? await tx.promptVersion.findMany({
        where: { id: { in: versions.map((v) => v.id) }, userId },
        select: { id: true, deletedAt: true },
      })
    : [];
  const numberRows = versions.length
    ? await tx.promptVersion.findMany({
        where: { groupId: { in: versionGroupIds }, number: { in: [...new Set(versions.map((v) => v.number))] } },
        select: { groupId: true, number: true },
      })
    : [];
  const templateRows = templates.length
    ? await tx.template.findMany({
        where: { id: { in: templates.map((t) => t.id) }, userId },
        select: { id: true, deletedAt: true, name: true, content: true, metadata: true },
      })
    : [];
  const settingsRow = batch.some((item) => item.kind === "settings")
    ? await tx.userSettings.findUnique({ where: { userId } })
    : null;

  return {
    groups: new Map<string, { deletedAt: Date | null; currentVersionNumber: number }>(
      groupRows.map(({ id, ...row }) => [id, row]),
    ),
    versions: new Map(versionRows.map((row) => [row.id, row])),
    /** `groupId:number` of every version row holding a number this batch brings. */
    numbers: new Set(numberRows.map((row) => `${row.groupId}:${row.number}`)),
    templates: new Map(templateRows.map((row) => [row.id, row])),
    /**
     * The item merged into the settings there are (the defaults when there are none): written when it
     * changes something or the row must be made, so importing the same settings again writes nothing.
     */
    settingsChange(item: SettingsItem): SettingsChange | { problem: string } {
      const live = settingsRow && !settingsRow.deletedAt ? settingsRow : null;
      const base = live ?? DEFAULT_SETTINGS;
      const merge = mergeSettings(base, item.fields);
      if (!merge.ok) return { problem: merge.problem };
      return { base, merge, write: !live || merge.changed.length > 0 };
    },
  };
}

function record(result: ImportOutput, item: ImportItem, outcome: Outcome) {
  const ref = { kind: item.kind, legacyId: item.legacyId, ...(item.kind !== "settings" && { id: item.id }) };
  if (outcome.kind === "skipped") result.skipped.push({ ...ref, reason: outcome.reason });
  else if (outcome.kind === "error") result.errors.push({ ...ref, message: outcome.message });
  else result.imported[COUNTED[item.kind]]++;
  const present = outcome.kind === "imported" || (outcome.kind === "error" && outcome.present === true);
  if (present && item.kind !== "settings") result.ids[COUNTED[item.kind]][item.legacyId] = item.id;
}

const COUNTED = {
  promptGroup: "promptGroups",
  promptVersion: "promptVersions",
  template: "templates",
  settings: "settings",
} as const;
