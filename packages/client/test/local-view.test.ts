// The overlay rules, without a server: confirmed rows in, the rows the app shows out.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";

import type { WriteMutation } from "../src/sync-engine.ts";
import { validateMutation } from "../src/validate.ts";
import {
  LocalView,
  mergePatch,
  overlayRows,
  type GroupRow,
  type Overlay,
  type SettingsRow,
  type VersionRow,
} from "../src/local-view.ts";
import { rowKey, type StoredRow } from "../src/sync-store.ts";

const at = new Date("2026-01-02T03:04:05Z");
const earlier = new Date("2025-12-01T00:00:00Z");

const overlay = (mutation: WriteMutation, extra: Partial<Overlay> = {}): Overlay => ({
  mutation: validateMutation({ mutationId: randomUUID(), ...mutation }),
  at,
  ...extra,
});

function rows(...list: StoredRow[]) {
  return new Map(list.map((row) => [rowKey(row), row]));
}

const group = (data: Partial<GroupRow> & { id: string }): StoredRow => {
  const row: GroupRow = {
    originalPrompt: "Plan a trip",
    currentVersionNumber: 1,
    status: "completed",
    rev: 3,
    createdAt: earlier,
    updatedAt: earlier,
    ...data,
  };
  return { entity: "promptGroup", id: row.id, rev: row.rev, deleted: false, data: row };
};

const version = (data: Partial<VersionRow> & { id: string; groupId: string }): StoredRow => {
  const row: VersionRow = {
    number: 1,
    originalPrompt: "Plan a trip",
    optimizedPrompt: "A 3-day plan",
    reasoning: null,
    iterationDirection: null,
    modelId: "openai",
    provider: "OpenAI",
    modelName: "gpt-4o-mini",
    status: "completed",
    favorite: false,
    tags: [],
    timestamp: earlier,
    rev: 3,
    createdAt: earlier,
    updatedAt: earlier,
    ...data,
  };
  return { entity: "promptVersion", id: row.id, rev: row.rev, deleted: false, data: row };
};

const settingsRow = (settingsData: Record<string, unknown>): StoredRow => {
  const row: SettingsRow = {
    id: randomUUID(),
    theme: "light",
    language: "en",
    defaultModel: null,
    settingsData,
    rev: 2,
    createdAt: earlier,
    updatedAt: earlier,
  };
  return { entity: "settings", id: row.id, rev: row.rev, deleted: false, data: row };
};

const firstVersion = { optimizedPrompt: "", modelId: "openai", provider: "OpenAI", modelName: "gpt-4o-mini" };

function viewOf(confirmed: Map<string, StoredRow>, overlays: Overlay[]) {
  return new LocalView(() => ({ confirmed, overlays }));
}

describe("the local view", () => {
  it("shows a created prompt (group and version 1) and marks both pending", () => {
    const groupId = randomUUID();
    const versionId = randomUUID();
    const view = viewOf(rows(), [
      overlay({
        op: "prompt.create",
        input: {
          id: groupId,
          originalPrompt: "Plan",
          firstVersion: { ...firstVersion, id: versionId, status: "pending" },
        },
      }),
    ]);
    expect(view.get("promptGroup", groupId)).toMatchObject({ currentVersionNumber: 1, status: "enhancing" });
    expect(view.versions(groupId)).toMatchObject([{ id: versionId, number: 1, status: "pending", tags: [] }]);
    expect([view.isPending(groupId), view.isPending(versionId), view.isPending(randomUUID())]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it("numbers an added version after the group's current one, and the group follows its status", () => {
    const groupId = randomUUID();
    const confirmed = rows(
      group({ id: groupId, currentVersionNumber: 2 }),
      version({ id: randomUUID(), groupId }),
      version({ id: randomUUID(), groupId, number: 2 }),
    );
    const added = randomUUID();
    const add = overlay({
      op: "prompt.addVersion",
      input: { groupId, id: added, ...firstVersion, status: "pending", iterationDirection: "shorter" },
    });
    const view = viewOf(confirmed, [add]);
    expect(view.get("promptVersion", added)).toMatchObject({ number: 3, originalPrompt: "Plan a trip" });
    expect(view.get("promptGroup", groupId)).toMatchObject({ currentVersionNumber: 3, status: "iterating" });

    // Completed: the group is completed too. Once applied, the server's number wins over the guess.
    const complete = overlay({
      op: "prompt.updateVersion",
      input: { id: added, status: "completed", optimizedPrompt: "x" },
    });
    const applied = viewOf(confirmed, [{ ...add, appliedRev: 9, number: 4 }, complete]);
    expect(applied.get("promptVersion", added)).toMatchObject({ number: 4, status: "completed", optimizedPrompt: "x" });
    expect(applied.get("promptGroup", groupId)).toMatchObject({ currentVersionNumber: 4, status: "completed" });
    expect([applied.isPending(added), applied.isPending(groupId)]).toEqual([true, false]);
    // The confirmed rows are untouched.
    expect(confirmed.get(rowKey({ entity: "promptGroup", id: groupId }))?.data).toMatchObject({
      currentVersionNumber: 2,
    });
  });

  it("an update of an older version leaves the group's status alone; an error on the latest sets it", () => {
    const groupId = randomUUID();
    const [v1, v2] = [randomUUID(), randomUUID()];
    const confirmed = rows(
      group({ id: groupId, currentVersionNumber: 2, status: "iterating" }),
      version({ id: v1, groupId }),
      version({ id: v2, groupId, number: 2, status: "pending" }),
    );
    const old = viewOf(confirmed, [
      overlay({ op: "prompt.updateVersion", input: { id: v1, favorite: true, tags: [" A  b "] } }),
    ]);
    expect(old.get("promptVersion", v1)).toMatchObject({ favorite: true, tags: ["a b"] });
    expect(old.get("promptGroup", groupId)?.status).toBe("iterating");
    const failed = viewOf(confirmed, [overlay({ op: "prompt.updateVersion", input: { id: v2, status: "error" } })]);
    expect(failed.get("promptGroup", groupId)?.status).toBe("error");
  });

  it("a deleted prompt takes its versions with it", () => {
    const groupId = randomUUID();
    const confirmed = rows(group({ id: groupId }), version({ id: randomUUID(), groupId }));
    const view = viewOf(confirmed, [overlay({ op: "prompt.delete", input: { id: groupId } })]);
    expect([view.list("promptGroup"), view.list("promptVersion")]).toEqual([[], []]);
  });

  it("templates: create with the server's defaults, update the fields given, delete", () => {
    const id = randomUUID();
    const created = overlayRows(rows(), [
      overlay({ op: "template.create", input: { id, name: "Mine", content: "c" } }),
    ]);
    expect(created.rows.get(rowKey({ entity: "template", id }))?.data).toMatchObject({
      name: "Mine",
      description: null,
      isPublic: false,
      tags: [],
      metadata: {},
      isOwner: true,
    });
    const view = viewOf(created.rows, [overlay({ op: "template.update", input: { id, content: "new", baseRev: 1 } })]);
    expect(view.get("template", id)).toMatchObject({ name: "Mine", content: "new" });
    expect(view.get("template", id)).not.toHaveProperty("baseRev");
    expect(viewOf(created.rows, [overlay({ op: "template.delete", input: { id } })]).list("template")).toEqual([]);
  });

  it("settings: fields replace, settingsData merges as a patch (null deletes, absent untouched)", () => {
    const confirmed = rows(
      settingsRow({ "model-settings": { state: { activeModel: "openai", lastUpdate: 1 } }, keep: 1 }),
    );
    const view = viewOf(confirmed, [
      overlay({ op: "settings.update", input: { theme: "dark" } }),
      overlay({
        op: "settings.update",
        input: {
          language: "zh-cn",
          settingsData: { "model-settings": { state: { activeModel: "claude" } }, keep: null },
        },
      }),
    ]);
    expect(view.settings()).toMatchObject({
      theme: "dark",
      language: "zh-CN",
      settingsData: { "model-settings": { state: { activeModel: "claude", lastUpdate: 1 } } },
    });
    expect(view.settings()?.settingsData).not.toHaveProperty("keep");
    expect(view.isPending("settings")).toBe(true);
    // Before the first pull, a settings write shows on a row with the server's defaults.
    expect(viewOf(rows(), [overlay({ op: "settings.update", input: { theme: "dark" } })]).settings()).toMatchObject({
      theme: "dark",
      language: "en",
    });
  });

  it("merge patches follow RFC 7396", () => {
    expect(mergePatch({ a: "b", c: { d: "e", f: "g" } }, { a: "z", c: { f: null } })).toEqual({
      a: "z",
      c: { d: "e" },
    });
    expect(mergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    expect(mergePatch({ a: "b" }, { a: { c: 1 } })).toEqual({ a: { c: 1 } });
    expect(mergePatch("x", { a: 1 })).toEqual({ a: 1 });
  });

  it("recomputes only after invalidate()", () => {
    const id = randomUUID();
    const overlays: Overlay[] = [];
    const view = viewOf(rows(), overlays);
    expect(view.list("template")).toEqual([]);
    overlays.push(overlay({ op: "template.create", input: { id, name: "Later", content: "c" } }));
    expect(view.list("template")).toEqual([]);
    view.invalidate();
    expect(view.list("template").map((template) => template.name)).toEqual(["Later"]);
  });
});
