// The Prompt Booster app's own shapes (its localStorage `PROMPT_STORE` and `model-settings`) to and from the
// synced rows: what the app shows comes from the engine's view, what it changed goes back as mutations.
import type { GroupRow, SettingsRow, VersionRow } from "./local-view.ts";
import { isJsonObject } from "./local-view.ts";
import type { WriteMutation } from "./sync-engine.ts";

// ---- PROMPT_STORE ----

export interface AppPromptGroup {
  id: string;
  originalPrompt: string;
  currentVersionNumber: number;
  status: GroupRow["status"];
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
}

export interface AppPromptVersion {
  id: string;
  number: number;
  groupId: string;
  originalPrompt: string;
  optimizedPrompt: string;
  reasoning?: string;
  iterationDirection?: string;
  modelId: string;
  provider: string;
  modelName: string;
  status: VersionRow["status"];
  /** Epoch milliseconds. */
  timestamp: number;
  favorite?: boolean;
  tags?: string[];
}

/** The app's `PROMPT_STORE`. */
export interface AppPromptStore {
  groups: Record<string, AppPromptGroup>;
  versions: Record<string, AppPromptVersion[]>;
  activeGroupId: string | null;
  activeVersionNumber: number | null;
}

/** The part of the engine's view the prompt adapters read. */
export interface PromptRows {
  list(entity: "promptGroup"): GroupRow[];
  versions(groupId: string): VersionRow[];
}

/**
 * The view's prompt history in the app's shape. `active` (the app's own selection) is kept while its group
 * is still there.
 */
export function toPromptStore(
  view: PromptRows,
  active: Pick<AppPromptStore, "activeGroupId" | "activeVersionNumber"> = {
    activeGroupId: null,
    activeVersionNumber: null,
  },
): AppPromptStore {
  const store: AppPromptStore = { groups: {}, versions: {}, activeGroupId: null, activeVersionNumber: null };
  for (const group of view.list("promptGroup")) {
    store.groups[group.id] = {
      id: group.id,
      originalPrompt: group.originalPrompt,
      currentVersionNumber: group.currentVersionNumber,
      status: group.status,
      createdAt: group.createdAt.getTime(),
      updatedAt: group.updatedAt.getTime(),
    };
    store.versions[group.id] = view.versions(group.id).map(toAppVersion);
  }
  if (active.activeGroupId !== null && active.activeGroupId in store.groups) {
    store.activeGroupId = active.activeGroupId;
    store.activeVersionNumber = active.activeVersionNumber;
  }
  return store;
}

function toAppVersion(version: VersionRow): AppPromptVersion {
  return {
    id: version.id,
    number: version.number,
    groupId: version.groupId,
    originalPrompt: version.originalPrompt,
    optimizedPrompt: version.optimizedPrompt,
    ...(version.reasoning !== null && { reasoning: version.reasoning }),
    ...(version.iterationDirection !== null && { iterationDirection: version.iterationDirection }),
    modelId: version.modelId,
    provider: version.provider,
    modelName: version.modelName,
    status: version.status,
    timestamp: version.timestamp.getTime(),
    ...(version.favorite && { favorite: true }),
    ...(version.tags.length > 0 && { tags: version.tags }),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Only items with UUID ids are synced (the app's older base-36 ids go through the import, which maps them). */
export const isSyncedId = (id: string) => UUID.test(id);

/**
 * The mutations that turn `before` into `after` (two states of the app's `PROMPT_STORE`), for items with UUID
 * ids: new groups (prompt.create with version 1, then prompt.addVersion for the rest), new versions
 * (prompt.addVersion), changed versions (prompt.updateVersion: result, status, favourite, tags) and removed
 * groups (prompt.delete). Device times go along (`createdAt`, `timestamp`), so the server keeps when the
 * user made them rather than when the device came back online. What the API cannot change (a group's text,
 * a removed single version) is left out.
 */
export function promptStoreMutations(before: AppPromptStore, after: AppPromptStore): WriteMutation[] {
  const mutations: WriteMutation[] = [];
  for (const [groupId, group] of Object.entries(after.groups)) {
    if (!isSyncedId(groupId)) continue;
    const versions = [...(after.versions[groupId] ?? [])]
      .filter((version) => isSyncedId(version.id))
      .sort((a, b) => a.number - b.number);
    const known = new Map((before.versions[groupId] ?? []).map((version) => [version.id, version]));
    if (!(groupId in before.groups)) {
      const [first, ...rest] = versions;
      if (first?.number !== 1) continue;
      mutations.push(createPrompt(group, first));
      for (const version of rest) mutations.push(...addVersion(version));
      continue;
    }
    for (const version of versions) {
      const previous = known.get(version.id);
      if (!previous) mutations.push(...addVersion(version));
      else {
        const update = versionUpdate(previous, version);
        if (update) mutations.push(update);
      }
    }
  }
  for (const groupId of Object.keys(before.groups)) {
    if (isSyncedId(groupId) && !(groupId in after.groups)) {
      mutations.push({ op: "prompt.delete", input: { id: groupId } });
    }
  }
  return mutations;
}

// The device times (`createdAt` of a prompt, `timestamp` of a version) are part of the push contract the
// server is adopting; they are added to the inputs here without widening the published input types.
function createPrompt(group: AppPromptGroup, first: AppPromptVersion): WriteMutation {
  const input = {
    id: group.id,
    originalPrompt: group.originalPrompt,
    createdAt: new Date(group.createdAt),
    firstVersion: {
      id: first.id,
      optimizedPrompt: first.optimizedPrompt,
      ...(first.reasoning !== undefined && { reasoning: first.reasoning }),
      modelId: first.modelId,
      provider: first.provider,
      modelName: first.modelName,
      status: first.status,
      timestamp: new Date(first.timestamp),
      ...(first.favorite && { favorite: true }),
      ...(first.tags && first.tags.length > 0 && { tags: first.tags }),
    },
  };
  return { op: "prompt.create", input };
}

function addVersion(version: AppPromptVersion): WriteMutation[] {
  const input = {
    groupId: version.groupId,
    id: version.id,
    originalPrompt: version.originalPrompt,
    optimizedPrompt: version.optimizedPrompt,
    ...(version.reasoning !== undefined && { reasoning: version.reasoning }),
    ...(version.iterationDirection !== undefined && { iterationDirection: version.iterationDirection }),
    modelId: version.modelId,
    provider: version.provider,
    modelName: version.modelName,
    status: version.status,
    timestamp: new Date(version.timestamp),
  };
  const added = { op: "prompt.addVersion", input } as WriteMutation;
  // addVersion carries no marks: a new version already favourited or tagged gets them right after.
  const marks = versionUpdate({ ...version, favorite: false, tags: [] }, version, ["favorite", "tags"]);
  return marks ? [added, marks] : [added];
}

type UpdatableField = "optimizedPrompt" | "status" | "favorite" | "tags";
const UPDATABLE: UpdatableField[] = ["optimizedPrompt", "status", "favorite", "tags"];

function versionUpdate(
  before: AppPromptVersion,
  after: AppPromptVersion,
  fields: UpdatableField[] = UPDATABLE,
): WriteMutation | undefined {
  const changed: Partial<Pick<AppPromptVersion, UpdatableField>> = {};
  if (fields.includes("optimizedPrompt") && before.optimizedPrompt !== after.optimizedPrompt) {
    changed.optimizedPrompt = after.optimizedPrompt;
  }
  if (fields.includes("status") && before.status !== after.status) changed.status = after.status;
  if (fields.includes("favorite") && (before.favorite ?? false) !== (after.favorite ?? false)) {
    changed.favorite = after.favorite ?? false;
  }
  if (fields.includes("tags") && (before.tags ?? []).join("\n") !== (after.tags ?? []).join("\n")) {
    changed.tags = after.tags ?? [];
  }
  if (Object.keys(changed).length === 0) return undefined;
  return { op: "prompt.updateVersion", input: { id: after.id, ...changed } };
}

// ---- model-settings ----

/** A provider's configuration in the app (`configs[provider]`, or one of `customInterfaces`). */
export interface AppModelConfig {
  id: string;
  providerName: string;
  /** Required in the app: "" when the device holds no key. */
  apiKey: string;
  model: string;
  enabled: boolean;
  name?: string;
  baseUrl?: string;
  timeout?: number;
  endpoint?: string;
  [extra: string]: unknown;
}

/** The app's `model-settings` (zustand `persist`'s `{ state, version }`). */
export interface AppModelSettings {
  state: {
    activeModel: string;
    lastUpdate: number;
    configs: Record<string, AppModelConfig>;
    customInterfaces: AppModelConfig[];
    [extra: string]: unknown;
  };
  version: number;
  [extra: string]: unknown;
}

/** Provider API keys kept on the device, by config id (`configs` key, or a custom interface's `id`). */
export type DeviceKeys = Record<string, string>;

/** The settingsData key the app's `model-settings` is stored under. */
export const MODEL_SETTINGS_KEY = "model-settings";

/**
 * The `settingsData` merge patch for settings.update that stores the app's `model-settings` (an object, or
 * the JSON text zustand wrote) with every `apiKey` blanked to "", and the device's keys taken out of it.
 * With `current` (the `model-settings` the view holds), the patch names only what changed — deleted keys as
 * null — so it touches as few paths as possible (a stale write conflicts only where it overlaps); it is `{}`
 * when nothing changed.
 */
export function modelSettingsPatch(
  modelSettings: AppModelSettings | string,
  current?: unknown,
): { settingsData: Record<string, unknown>; deviceKeys: DeviceKeys } {
  const value = (typeof modelSettings === "string" ? JSON.parse(modelSettings) : modelSettings) as AppModelSettings;
  const deviceKeys: DeviceKeys = {};
  const blanked = structuredClone(value);
  for (const [id, config] of configsOf(blanked)) {
    if (typeof config.apiKey === "string" && config.apiKey !== "") deviceKeys[id] = config.apiKey;
    if ("apiKey" in config) config.apiKey = "";
  }
  const patch = current === undefined ? blanked : mergeDiff(current, blanked);
  return { settingsData: patch === undefined ? {} : { [MODEL_SETTINGS_KEY]: patch }, deviceKeys };
}

/**
 * The app's `model-settings` from the synced settings (`view.settings()`), with this device's keys
 * put back: every config gets `apiKey` — its key here, or "" (the field is required in the app).
 * Undefined when no device has stored model settings yet.
 */
export function toModelSettings(
  settings: Pick<SettingsRow, "settingsData"> | undefined,
  deviceKeys: DeviceKeys,
): AppModelSettings | undefined {
  const stored = settings?.settingsData[MODEL_SETTINGS_KEY];
  if (!isJsonObject(stored) || !isJsonObject(stored.state)) return undefined;
  const value = structuredClone(stored) as unknown as AppModelSettings;
  for (const [id, config] of configsOf(value)) config.apiKey = deviceKeys[id] ?? "";
  return value;
}

/**
 * Every provider config of a `model-settings` value with the id its key is kept under: a `configs` entry by
 * its key (the provider), a custom interface by its `id` (both are what the app's `activeModel` names).
 */
function configsOf(value: AppModelSettings): [string, Record<string, unknown>][] {
  const state: Record<string, unknown> = isJsonObject(value.state) ? value.state : {};
  const found: [string, Record<string, unknown>][] = [];
  if (isJsonObject(state.configs)) {
    for (const [key, config] of Object.entries(state.configs)) if (isJsonObject(config)) found.push([key, config]);
  }
  if (Array.isArray(state.customInterfaces)) {
    for (const config of state.customInterfaces as unknown[]) {
      if (isJsonObject(config) && typeof config.id === "string") found.push([config.id, config]);
    }
  }
  return found;
}

/** The RFC 7396 merge patch that turns `before` into `after`; undefined when they are equal. */
export function mergeDiff(before: unknown, after: unknown): unknown {
  if (!isJsonObject(before) || !isJsonObject(after)) return jsonEqual(before, after) ? undefined : after;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const change = key in before ? mergeDiff(before[key], value) : value;
    if (change !== undefined) patch[key] = change;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length && keys.every((key) => key in right && jsonEqual(left[key], right[key]))
  );
}
