// import.localData's settings are merged into the user's as settings.update merges a patch: another
// device's keys survive, and importing the same data again changes nothing.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";

const settings = JSON.parse(
  fs.readFileSync(path.join(import.meta.dirname, "fixtures/client-shapes/settings-example.json"), "utf8"),
) as Record<string, unknown> & { "model-settings": { state: Record<string, unknown> } };
const imported = settings["model-settings"].state;

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

async function stored(userId: string) {
  const [user, row] = await Promise.all([
    t.db.prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { revision: true } }),
    t.db.prisma.userSettings.findUniqueOrThrow({ where: { userId } }),
  ]);
  return { revision: user.revision, row };
}

describe("import.localData settings: merged, not overwritten", () => {
  it("keeps another device's keys, records the imported paths, and re-importing changes nothing", async () => {
    const { user, caller } = await userCaller(t.db);
    // Another device got there first: a key of its own, one inside model-settings, and a template choice.
    const before = await caller.settings.update({
      language: "ja-JP",
      settingsData: {
        "model-settings": { state: { webOnly: { pinned: ["a", "b"] }, activeModel: "older" } },
        otherDevice: "kept",
        selectedTemplateId: "iterate",
      },
    });

    const result = await caller.import.localData({ settings });
    expect(result.imported.settings).toBe(1);
    const after = await caller.settings.get();
    const data = after.settingsData as typeof settings;
    expect(data.otherDevice).toBe("kept");
    expect(data["model-settings"].state).toMatchObject({ webOnly: { pinned: ["a", "b"] } });
    // The import's own keys win where both have one.
    expect(data["model-settings"].state.activeModel).toBe(imported.activeModel);
    expect(data.selectedTemplateId).toBe(settings.selectedTemplateId);
    expect(data["model-settings"].state.customInterfaces).toHaveLength(1);
    expect(after).toMatchObject({ theme: "dark", language: "en-US", defaultModel: imported.activeModel });

    // What the import changed is recorded: a device still at `before` conflicts on it, not beside it.
    const { row } = await stored(user.id);
    expect(row.fieldRevs).toMatchObject({
      "/theme": after.rev,
      "/language": after.rev,
      "/settingsData/model-settings/state/activeModel": after.rev,
      "/settingsData/selectedTemplateId": after.rev,
    });
    await expectAppError(
      caller.settings.update({ settingsData: { selectedTemplateId: "mine" }, baseRev: before.rev }),
      "CONFLICT",
    );
    const beside = await caller.settings.update({ settingsData: { otherDevice: "still" }, baseRev: before.rev });

    const snapshot = await stored(user.id);
    const again = await caller.import.localData({ settings });
    expect(again.imported.settings).toBe(1);
    expect(again.revision).toBe(snapshot.revision);
    expect(await stored(user.id)).toEqual(snapshot);
    expect((await caller.settings.get()).rev).toBe(beside.rev);
  });

  it("writes a first import on a user without settings, then nothing on the second", async () => {
    const { user, caller } = await userCaller(t.db);
    const first = await caller.import.localData({ settings });
    expect(first.imported.settings).toBe(1);
    const snapshot = await stored(user.id);
    expect(snapshot.row.rev).toBe(first.revision);
    const again = await caller.import.localData({ settings });
    expect(again.revision).toBe(first.revision);
    expect(await stored(user.id)).toEqual(snapshot);
  });

  it("never deletes: a key the device has as null leaves the server's value alone", async () => {
    const { caller } = await userCaller(t.db);
    await caller.settings.update({ settingsData: { selectedTemplateId: "iterate", testResultModelId: "ollama" } });
    await caller.import.localData({
      settings: { selectedTemplateId: null, "model-settings": { state: { activeModel: null, lastUpdate: 5 } } },
    });
    expect((await caller.settings.get()).settingsData).toEqual({
      selectedTemplateId: "iterate",
      testResultModelId: "ollama",
      "model-settings": { state: { lastUpdate: 5 } },
    });
  });

  it("reports settings that would be too big merged with the server's, and imports the rest", async () => {
    const { caller } = await userCaller(t.db);
    await caller.settings.update({ settingsData: { notes: "x".repeat(40_000) } });
    const result = await caller.import.localData({
      settings: { "my-app-theme": "dark", big1: "y".repeat(9_000), big2: "y".repeat(9_000), big3: "y".repeat(9_000) },
    });
    expect(result.imported.settings).toBe(0);
    expect(result.errors).toEqual([
      {
        kind: "settings",
        legacyId: "settings",
        message: expect.stringMatching(
          /^cannot be stored: settingsData merged into the stored settings, the result is \d+ bytes/,
        ),
      },
    ]);
    expect(await caller.settings.get()).toMatchObject({ theme: "light", settingsData: { notes: "x".repeat(40_000) } });
  });
});
