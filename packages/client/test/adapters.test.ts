// The app's own shapes (/work/shared/client-shapes, or the copies CLIENT_SHAPES_DIR names) to synced rows and
// mutations and back, without a server.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

import {
  mergeDiff,
  modelSettingsPatch,
  promptStoreMutations,
  toModelSettings,
  toPromptStore,
  type AppModelSettings,
  type AppPromptStore,
  type AppPromptVersion,
} from "../src/adapters.ts";
import { LocalView, mergePatch, type Overlay } from "../src/local-view.ts";
import { validateMutation } from "../src/validate.ts";
import type { StoredRow } from "../src/sync-store.ts";

const shapesDir = process.env.CLIENT_SHAPES_DIR ?? "/work/shared/client-shapes";
const haveShapes = fs.existsSync(path.join(shapesDir, "history-example.json"));
const readShape = <T>(file: string) => JSON.parse(fs.readFileSync(path.join(shapesDir, file), "utf8")) as T;

/** The example history with UUID ids, as the app makes new items once it syncs. */
function historyWithUuids(): AppPromptStore {
  const legacy = readShape<AppPromptStore>("history-example.json");
  const ids = new Map<string, string>();
  const uuid = (id: string) => ids.get(id) ?? (ids.set(id, randomUUID()), ids.get(id)!);
  const store: AppPromptStore = { groups: {}, versions: {}, activeGroupId: null, activeVersionNumber: null };
  for (const group of Object.values(legacy.groups)) {
    store.groups[uuid(group.id)] = { ...group, id: uuid(group.id) };
    store.versions[uuid(group.id)] = (legacy.versions[group.id] ?? []).map((version) => ({
      ...version,
      id: uuid(version.id),
      groupId: uuid(group.id),
    }));
  }
  store.activeGroupId = legacy.activeGroupId && uuid(legacy.activeGroupId);
  store.activeVersionNumber = legacy.activeVersionNumber;
  return store;
}

const empty: AppPromptStore = { groups: {}, versions: {}, activeGroupId: null, activeVersionNumber: null };

/** The rows the view would show once `mutations` are queued on an empty device. */
function viewAfter(mutations: ReturnType<typeof promptStoreMutations>, confirmed = new Map<string, StoredRow>()) {
  const overlays: Overlay[] = mutations.map((mutation) => ({
    mutation: validateMutation({ ...mutation, mutationId: randomUUID() }),
    at: new Date(),
  }));
  return new LocalView(() => ({ confirmed, overlays }));
}

describe.skipIf(!haveShapes)("PROMPT_STORE", () => {
  it("a new history becomes creates and added versions that the server's schemas accept, with device times", () => {
    const history = historyWithUuids();
    const mutations = promptStoreMutations(empty, history);
    expect(mutations.map((mutation) => mutation.op)).toEqual([
      "prompt.create",
      "prompt.addVersion",
      "prompt.addVersion",
      "prompt.create",
    ]);
    const [group] = Object.values(history.groups);
    const create = mutations[0]!;
    expect(create.input).toMatchObject({ id: group!.id, createdAt: new Date(group!.createdAt) });
    for (const mutation of mutations) expect(() => validateMutation({ ...mutation, mutationId: "m" })).not.toThrow();
  });

  it("round-trips: the view after those mutations reads back as the same PROMPT_STORE", () => {
    const history = historyWithUuids();
    const view = viewAfter(promptStoreMutations(empty, history));
    const back = toPromptStore(view, history);
    expect(back.versions).toEqual(history.versions);
    expect(back.activeGroupId).toBe(history.activeGroupId);
    for (const [id, group] of Object.entries(history.groups)) {
      expect(back.groups[id]).toMatchObject({
        id,
        originalPrompt: group.originalPrompt,
        currentVersionNumber: group.currentVersionNumber,
        status: group.status,
        createdAt: group.createdAt,
      });
    }
    // Optional fields are absent, never null.
    const first = back.versions[Object.keys(history.groups)[0]!]![0]!;
    expect(Object.keys(first)).not.toEqual(expect.arrayContaining(["reasoning"]));
    expect(Object.values(first)).not.toContain(null);
  });

  it("changes: an added pending version, completed later, a favourite, a deleted group; legacy ids are left alone", () => {
    const before = historyWithUuids();
    const [groupId, otherId] = Object.keys(before.groups) as [string, string];
    const legacyGroup = { ...before.groups[otherId]!, id: "mgqba7eok9p34y6n3wd" };
    const withLegacy: AppPromptStore = {
      ...before,
      groups: { ...before.groups, [legacyGroup.id]: legacyGroup },
      versions: { ...before.versions, [legacyGroup.id]: [] },
    };
    const versions = before.versions[groupId]!;
    const pending: AppPromptVersion = {
      ...versions.at(-1)!,
      id: randomUUID(),
      number: 4,
      optimizedPrompt: "__PENDING__",
      status: "pending",
      timestamp: 1_760_600_000_000,
    };
    const enhancing: AppPromptStore = {
      ...withLegacy,
      groups: { ...withLegacy.groups, [groupId]: { ...withLegacy.groups[groupId]!, currentVersionNumber: 4 } },
      versions: {
        ...withLegacy.versions,
        [groupId]: [{ ...versions[0]!, favorite: true }, ...versions.slice(1), pending],
      },
    };
    delete enhancing.groups[otherId];
    delete enhancing.groups[legacyGroup.id];
    expect(promptStoreMutations(withLegacy, enhancing)).toEqual([
      { op: "prompt.updateVersion", input: { id: versions[0]!.id, favorite: true } },
      {
        op: "prompt.addVersion",
        input: expect.objectContaining({
          id: pending.id,
          groupId,
          status: "pending",
          timestamp: new Date(pending.timestamp),
        }),
      },
      { op: "prompt.delete", input: { id: otherId } },
    ]);

    const completed: AppPromptStore = {
      ...enhancing,
      versions: {
        ...enhancing.versions,
        [groupId]: enhancing.versions[groupId]!.map((version) =>
          version.id === pending.id ? { ...version, optimizedPrompt: "Done", status: "completed" as const } : version,
        ),
      },
    };
    expect(promptStoreMutations(enhancing, completed)).toEqual([
      { op: "prompt.updateVersion", input: { id: pending.id, optimizedPrompt: "Done", status: "completed" } },
    ]);
    expect(promptStoreMutations(completed, completed)).toEqual([]);
  });

  it("a new version already favourited and tagged gets its marks in an update right after", () => {
    const before = historyWithUuids();
    const groupId = Object.keys(before.groups)[1]!;
    const added: AppPromptVersion = {
      ...before.versions[groupId]![0]!,
      id: randomUUID(),
      number: 2,
      favorite: true,
      tags: ["english"],
    };
    const after = { ...before, versions: { ...before.versions, [groupId]: [...before.versions[groupId]!, added] } };
    expect(promptStoreMutations(before, after).map((mutation) => [mutation.op, mutation.input])).toEqual([
      ["prompt.addVersion", expect.objectContaining({ id: added.id })],
      ["prompt.updateVersion", { id: added.id, favorite: true, tags: ["english"] }],
    ]);
  });
});

describe.skipIf(!haveShapes)("model-settings", () => {
  const settings = () => readShape<Record<string, unknown>>("settings-example.json");
  const modelSettings = () => settings()["model-settings"] as AppModelSettings;

  it("the patch carries every apiKey blank; the device keeps the keys, by config id", () => {
    const { settingsData, deviceKeys } = modelSettingsPatch(modelSettings());
    expect(deviceKeys).toEqual({
      openai: "sk-EXAMPLE-openai-key-not-real",
      deepseek: "sk-EXAMPLE-deepseek-key-not-real",
      mgrdx3k1q8z4n2v7c0a: "sk-or-EXAMPLE-key-not-real",
    });
    expect(JSON.stringify(settingsData)).not.toMatch(/sk-/);
    const stored = settingsData["model-settings"] as AppModelSettings;
    expect(Object.values(stored.state.configs).every((config) => config.apiKey === "")).toBe(true);
    expect(stored.state.customInterfaces[0]!.apiKey).toBe("");
    // The server's validation takes it (no key in plain text).
    expect(() => validateMutation({ mutationId: "m", op: "settings.update", input: { settingsData } })).not.toThrow();
    // The JSON text zustand stores gives the same.
    expect(modelSettingsPatch(JSON.stringify(modelSettings())).settingsData).toEqual(settingsData);
  });

  it("back in the app's shape with this device's keys; another device's configs get an empty key", () => {
    const original = modelSettings();
    const { settingsData, deviceKeys } = modelSettingsPatch(original);
    const row = { settingsData: mergePatch({}, settingsData) as Record<string, unknown> };
    expect(toModelSettings(row, deviceKeys)).toEqual(original);
    const elsewhere = toModelSettings(row, {});
    expect(Object.values(elsewhere!.state.configs).map((config) => config.apiKey)).toEqual(
      Object.values(original.state.configs).map(() => ""),
    );
    expect(toModelSettings({ settingsData: {} }, deviceKeys)).toBeUndefined();
    expect(toModelSettings(undefined, deviceKeys)).toBeUndefined();
  });

  it("with the stored value, the patch names only what changed (deleted keys as null)", () => {
    const original = modelSettings();
    const stored = modelSettingsPatch(original).settingsData["model-settings"];
    const changed = structuredClone(original);
    changed.state.activeModel = "deepseek";
    changed.state.configs.deepseek!.apiKey = "sk-new-deepseek";
    delete changed.state.configs.hunyuan;
    const { settingsData, deviceKeys } = modelSettingsPatch(changed, stored);
    expect(settingsData).toEqual({
      "model-settings": { state: { activeModel: "deepseek", configs: { hunyuan: null } } },
    });
    expect(deviceKeys.deepseek).toBe("sk-new-deepseek");
    expect(mergePatch(stored, settingsData["model-settings"])).toEqual(
      modelSettingsPatch(changed).settingsData["model-settings"],
    );
    expect(modelSettingsPatch(original, stored).settingsData).toEqual({});
  });

  it("mergeDiff is the inverse of mergePatch", () => {
    const before = { a: 1, b: { c: [1, 2], d: "x" }, e: true };
    const after = { a: 2, b: { c: [1, 2, 3] }, f: { g: 1 } };
    expect(mergePatch(before, mergeDiff(before, { a: 2, b: { c: [1, 2, 3] } }))).toEqual({ a: 2, b: { c: [1, 2, 3] } });
    expect(mergeDiff(before, before)).toBeUndefined();
    expect(mergeDiff(before, after)).toEqual({ a: 2, b: { c: [1, 2, 3], d: null }, e: null, f: { g: 1 } });
  });
});
