// One settings change (an update or an import) merged into the stored settings: the columns it sets, the
// merge patch of `settingsData`, and the paths it touches and changes (see field-revs.ts). Pure.
import type { Prisma, Theme } from "@prompt-booster/db";

import { jsonEqual } from "../lib/json.ts";
import { readFieldRevs, recordChanges } from "./field-revs.ts";
import { applyMergePatch, patchLeaves, toPointer, valueAt } from "./merge-patch.ts";
import { zSettingsDocument } from "./schemas.ts";

export interface SettingsPatch {
  theme?: Theme | undefined;
  language?: string | undefined;
  defaultModel?: string | null | undefined;
  /** An RFC 7396 merge patch of the stored `settingsData`. */
  settingsData?: Record<string, unknown> | undefined;
}

/** The columns a patch can change, as stored. */
export interface SettingsColumns {
  theme: Theme;
  language: string;
  defaultModel: string | null;
  settingsData: unknown;
}

/** What a merge reads of the stored row. */
export interface StoredSettings extends SettingsColumns {
  fieldRevs: unknown;
  fieldRevsFloor: number;
}

/** A row with no settings yet (or a deleted one, revived): the defaults registration writes. */
export const DEFAULT_SETTINGS = {
  theme: "light",
  language: "en",
  defaultModel: null,
  settingsData: {},
  fieldRevs: {},
  fieldRevsFloor: 0,
} satisfies StoredSettings;

const COLUMNS = ["theme", "language", "defaultModel"] as const;

/** Every path the patch touches, as JSON Pointers into the settings: `/theme`, `/settingsData/<key>/…`. */
export function touchedPointers(patch: SettingsPatch): string[] {
  return [
    ...COLUMNS.filter((column) => patch[column] !== undefined).map((column) => `/${column}`),
    ...patchLeaves(patch.settingsData ?? {}).map((path) => toPointer(["settingsData", ...path])),
  ];
}

export type SettingsMerge =
  | { ok: true; columns: SettingsColumns; changed: string[] }
  /** The merged `settingsData` is out of bounds (too big, too many keys): what is wrong. */
  | { ok: false; problem: string };

/** `patch` merged into `current`, and the paths whose value it changed. */
export function mergeSettings(current: SettingsColumns, patch: SettingsPatch): SettingsMerge {
  const changedColumns = COLUMNS.filter((column) => patch[column] !== undefined && patch[column] !== current[column]);
  const data = patch.settingsData ?? {};
  const settingsData = applyMergePatch(current.settingsData, data);
  const checked = zSettingsDocument.safeParse(settingsData);
  if (!checked.success) {
    const [issue] = checked.error.issues;
    const where = issue?.path.length ? ` (at ${issue.path.join(".")})` : "";
    return {
      ok: false,
      problem: `merged into the stored settings, the result ${issue?.message ?? "is invalid"}${where}`,
    };
  }
  const changedData = patchLeaves(data).filter(
    (path) => !jsonEqual(valueAt(current.settingsData, path), valueAt(settingsData, path)),
  );
  const changed = [
    ...changedColumns.map((column) => `/${column}`),
    ...changedData.map((path) => toPointer(["settingsData", ...path])),
  ];
  return {
    ok: true,
    columns: {
      theme: patch.theme ?? current.theme,
      language: patch.language ?? current.language,
      defaultModel: patch.defaultModel === undefined ? current.defaultModel : patch.defaultModel,
      settingsData,
    },
    changed,
  };
}

/** The row's new columns at `rev`, for Prisma: the merged ones, and what changed recorded at `rev`. */
export function settingsWrite(current: StoredSettings, merge: Extract<SettingsMerge, { ok: true }>, rev: number) {
  const { columns, changed } = merge;
  const fieldRevs = recordChanges(readFieldRevs(current.fieldRevs, current.fieldRevsFloor), changed, rev);
  return {
    ...columns,
    settingsData: columns.settingsData as Prisma.InputJsonObject,
    fieldRevs: fieldRevs.revs,
    fieldRevsFloor: fieldRevs.floor,
    rev,
  };
}
