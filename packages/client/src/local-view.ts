// The rows as the app should show them: the server's rows as last pulled, with the writes the server has not
// confirmed yet applied on top, in the order they were made. Pure: the engine owns the state and tells the
// view when it changed; nothing here talks to the server.
import type { PushMutation } from "@prompt-booster/api/schemas";

import { rowKey, type StoredRow, type SyncEntity } from "./sync-store.ts";

/** The data of a live row of one kind (`view.list("template")` → `TemplateRow[]`). */
export type RowData<E extends SyncEntity> = Extract<StoredRow, { entity: E }>["data"];
export type TemplateRow = RowData<"template">;
export type GroupRow = RowData<"promptGroup">;
export type VersionRow = RowData<"promptVersion">;
export type SettingsRow = RowData<"settings">;

/** A write shown on top of the confirmed rows until a pull brings its effect. */
export interface Overlay {
  /** As validated (zod's output: defaults applied, tags normalised). */
  mutation: PushMutation;
  /** When the device made the write: the times of the rows it creates or changes. */
  at: Date;
  /** Set once the server applied it: the revision it was written at (a pull reaching it ends the overlay). */
  appliedRev?: number;
  /** The version number the server gave (prompt.addVersion), once applied. */
  number?: number;
}

/** What the view shows: overlaid rows, and the ids that queued (not yet answered) writes touch. */
export interface OverlaidRows {
  rows: Map<string, StoredRow>;
  pendingIds: Set<string>;
}

/** The group status the server derives from its latest version (pending: enhancing for the first one). */
export function groupStatusOf(version: Pick<VersionRow, "status" | "number">): GroupRow["status"] {
  if (version.status === "pending") return version.number === 1 ? "enhancing" : "iterating";
  return version.status;
}

/** RFC 7396: `patch` merged into `target` (null deletes a key, an absent key is untouched, arrays replace). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const result: Record<string, unknown> = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The confirmed rows with every overlay applied in order. `confirmed` is not changed. */
export function overlayRows(confirmed: ReadonlyMap<string, StoredRow>, overlays: Iterable<Overlay>): OverlaidRows {
  const rows = new Map(confirmed);
  const pendingIds = new Set<string>();
  for (const overlay of overlays) {
    const touched = applyOverlay(new Rows(rows), overlay);
    if (overlay.appliedRev === undefined) for (const id of touched) pendingIds.add(id);
  }
  return { rows, pendingIds };
}

/** Typed access to the row map. */
class Rows {
  constructor(readonly map: Map<string, StoredRow>) {}
  get<E extends SyncEntity>(entity: E, id: string): RowData<E> | undefined {
    return this.map.get(rowKey({ entity, id }))?.data as RowData<E> | undefined;
  }
  put<E extends SyncEntity>(entity: E, data: RowData<E>): void {
    this.map.set(rowKey({ entity, id: data.id }), {
      entity,
      id: data.id,
      rev: data.rev,
      deleted: false,
      data,
    } as never);
  }
  remove(entity: SyncEntity, id: string): void {
    this.map.delete(rowKey({ entity, id }));
  }
  versionsOf(groupId: string): VersionRow[] {
    const versions: VersionRow[] = [];
    for (const row of this.map.values()) {
      if (row.entity === "promptVersion" && row.data.groupId === groupId) versions.push(row.data);
    }
    return versions;
  }
}

/** Device times the server keeps (prompt.create's `createdAt`, a version's `timestamp`), when the write has them. */
const deviceTime = (input: object, key: "createdAt" | "timestamp"): Date | undefined => {
  const value = (input as Record<string, unknown>)[key];
  return value instanceof Date ? value : undefined;
};

/** Applies one write to `rows`; returns the ids of the rows it touched. */
function applyOverlay(rows: Rows, { mutation, at, number }: Overlay): string[] {
  switch (mutation.op) {
    case "template.create": {
      const { input } = mutation;
      const existing = rows.get("template", input.id);
      rows.put("template", {
        description: null,
        isPublic: false,
        tags: [],
        category: null,
        metadata: {},
        isOwner: true,
        rev: 0,
        createdAt: at,
        ...existing,
        ...definedFields(input),
        id: input.id,
        name: input.name,
        content: input.content,
        updatedAt: at,
      });
      return [input.id];
    }
    case "template.update": {
      const { baseRev: _baseRev, ...input } = mutation.input;
      const existing = rows.get("template", input.id);
      if (existing) rows.put("template", { ...existing, ...definedFields(input), updatedAt: at });
      return [input.id];
    }
    case "template.delete":
      rows.remove("template", mutation.input.id);
      return [mutation.input.id];
    case "prompt.create": {
      const { input } = mutation;
      const { firstVersion } = input;
      const versionId = firstVersion.id ?? `pending:${input.id}:1`;
      const createdAt = deviceTime(input, "createdAt") ?? at;
      const version: VersionRow = {
        id: versionId,
        groupId: input.id,
        number: 1,
        originalPrompt: input.originalPrompt,
        optimizedPrompt: firstVersion.optimizedPrompt,
        reasoning: firstVersion.reasoning ?? null,
        iterationDirection: null,
        modelId: firstVersion.modelId,
        provider: firstVersion.provider,
        modelName: firstVersion.modelName,
        status: firstVersion.status ?? "completed",
        favorite: firstVersion.favorite ?? false,
        tags: firstVersion.tags ?? [],
        timestamp: deviceTime(firstVersion, "timestamp") ?? createdAt,
        rev: 0,
        createdAt,
        updatedAt: at,
      };
      rows.put("promptGroup", {
        id: input.id,
        originalPrompt: input.originalPrompt,
        currentVersionNumber: 1,
        status: input.status ?? groupStatusOf(version),
        rev: 0,
        createdAt,
        updatedAt: at,
      });
      rows.put("promptVersion", version);
      return [input.id, versionId];
    }
    case "prompt.addVersion": {
      const { groupId, id, originalPrompt, ...fields } = mutation.input;
      const group = rows.get("promptGroup", groupId);
      if (!group) return [id, groupId];
      // The server's number once applied; until then the next one after what the view holds.
      const versionNumber = number ?? group.currentVersionNumber + 1;
      const version: VersionRow = {
        id,
        groupId,
        number: versionNumber,
        originalPrompt: originalPrompt ?? group.originalPrompt,
        optimizedPrompt: fields.optimizedPrompt,
        reasoning: fields.reasoning ?? null,
        iterationDirection: fields.iterationDirection ?? null,
        modelId: fields.modelId,
        provider: fields.provider,
        modelName: fields.modelName,
        status: fields.status ?? "completed",
        favorite: false,
        tags: [],
        timestamp: deviceTime(mutation.input, "timestamp") ?? at,
        rev: 0,
        createdAt: at,
        updatedAt: at,
      };
      rows.put("promptVersion", version);
      const latest = Math.max(group.currentVersionNumber, versionNumber);
      rows.put("promptGroup", {
        ...group,
        currentVersionNumber: latest,
        ...(latest === versionNumber && { status: groupStatusOf(version) }),
        updatedAt: at,
      });
      return [id, groupId];
    }
    case "prompt.updateVersion": {
      const { id, ...fields } = mutation.input;
      const existing = rows.get("promptVersion", id);
      if (!existing) return [id];
      const version = { ...existing, ...definedFields(fields), updatedAt: at };
      rows.put("promptVersion", version);
      const group = rows.get("promptGroup", version.groupId);
      if (group && fields.status !== undefined && group.currentVersionNumber === version.number) {
        rows.put("promptGroup", { ...group, status: groupStatusOf(version), updatedAt: at });
      }
      return [id];
    }
    case "prompt.delete": {
      const { id } = mutation.input;
      const versions = rows.versionsOf(id);
      for (const version of versions) rows.remove("promptVersion", version.id);
      rows.remove("promptGroup", id);
      return [id, ...versions.map((version) => version.id)];
    }
    case "settings.update": {
      const { baseRev: _baseRev, settingsData, ...fields } = mutation.input;
      const existing = [...rows.map.values()].find((row) => row.entity === "settings")?.data;
      const settings: SettingsRow = existing ?? {
        id: SETTINGS_PLACEHOLDER_ID,
        theme: "light",
        language: "en",
        defaultModel: null,
        settingsData: {},
        rev: 0,
        createdAt: at,
        updatedAt: at,
      };
      rows.put("settings", {
        ...settings,
        ...definedFields(fields),
        settingsData:
          settingsData === undefined
            ? settings.settingsData
            : (mergePatch(settings.settingsData, settingsData) as SettingsRow["settingsData"]),
        updatedAt: at,
      });
      return [settings.id, SETTINGS_PENDING_ID];
    }
    case "vault.putEntry": {
      // Sealed on this device (Vault.sealEntry): shown as the server will keep it, ciphertext only.
      const { keyVersion: _keyVersion, ...input } = mutation.input;
      const existing = rows.get("vaultEntry", input.id);
      rows.put("vaultEntry", { rev: 0, createdAt: at, ...existing, ...input, updatedAt: at });
      return [input.id];
    }
    case "vault.deleteEntry":
      rows.remove("vaultEntry", mutation.input.id);
      return [mutation.input.id];
  }
}

/** The id of the settings row the view makes up before the first pull brought the real one. */
export const SETTINGS_PLACEHOLDER_ID = "settings";
/** `isPending(SETTINGS_PENDING_ID)`: a settings write waits for the server (whatever the row's id). */
export const SETTINGS_PENDING_ID = "settings";

/** The fields that are set (an optional field left out changes nothing). */
function definedFields<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** What the app reads: the overlaid rows, recomputed only after something changed. */
export class LocalView {
  private cached: OverlaidRows | undefined;

  constructor(
    private readonly source: () => { confirmed: ReadonlyMap<string, StoredRow>; overlays: Iterable<Overlay> },
  ) {}

  /** Drops the computed rows (the engine calls this on every change). */
  invalidate(): void {
    this.cached = undefined;
  }

  private current(): OverlaidRows {
    if (!this.cached) {
      const { confirmed, overlays } = this.source();
      this.cached = overlayRows(confirmed, overlays);
    }
    return this.cached;
  }

  /** The live rows of one kind. */
  list<E extends SyncEntity>(entity: E): RowData<E>[] {
    const rows: RowData<E>[] = [];
    for (const row of this.current().rows.values()) if (row.entity === entity) rows.push(row.data as RowData<E>);
    return rows;
  }

  get<E extends SyncEntity>(entity: E, id: string): RowData<E> | undefined {
    return this.current().rows.get(rowKey({ entity, id }))?.data as RowData<E> | undefined;
  }

  /** The user's settings (undefined before the first pull, unless a settings write is queued). */
  settings(): SettingsRow | undefined {
    return this.list("settings")[0];
  }

  /** A group's versions, by number. */
  versions(groupId: string): VersionRow[] {
    return this.list("promptVersion")
      .filter((version) => version.groupId === groupId)
      .sort((a, b) => a.number - b.number);
  }

  /** Whether a write to this row (or, with "settings", to the settings) waits for the server's answer. */
  isPending(id: string): boolean {
    return this.current().pendingIds.has(id);
  }
}
