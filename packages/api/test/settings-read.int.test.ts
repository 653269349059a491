// settings.get reads its row with SQL written by hand (settings/service.ts). It must answer what the Prisma
// client read of the same row gives, value for value: every column type (the theme enum, a null and a set
// defaultModel, nested JSON with unicode, numbers, arrays and nulls, keys the JSON guard strips), a deleted row
// and a missing one, and another user's row never seen.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { settingsSelect, toSettings } from "../src/lib/rows.ts";
import { getSettings } from "../src/settings/service.ts";
import { testContext, userCaller } from "./support/context.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

/** The settings as the Prisma client reads the live row (what getSettings answered before its SQL). */
async function clientRead(userId: string) {
  const row = await t.db.prisma.userSettings.findUnique({
    where: { userId },
    select: { ...settingsSelect, deletedAt: true },
  });
  return row && !row.deletedAt ? toSettings(row) : null;
}

const deps = () => testContext(t.db);

describe("settings.get's SQL read", () => {
  it("answers the Prisma client's settings for every column type", async () => {
    const { user, caller } = await userCaller(t.db);
    await caller.settings.update({
      theme: "dark",
      language: "zh-CN",
      defaultModel: "gpt-4o",
      settingsData: {
        "model-settings": { state: { activeModel: "deepseek", ratio: 0.75, count: 3, enabled: true, none: null } },
        list: ["a", 1, { deep: ["x", null] }],
        text: '多语言 ✓ \u2028 "quoted" \\ back',
      },
    });
    const expected = await clientRead(user.id);
    expect(expected).not.toBeNull();
    expect(await getSettings(deps(), user.id)).toStrictEqual(expected);
  });

  it("answers a null defaultModel and the light theme as the client does", async () => {
    const { user, caller } = await userCaller(t.db);
    await caller.settings.update({ theme: "light", defaultModel: null });
    expect(await getSettings(deps(), user.id)).toStrictEqual(await clientRead(user.id));
  });

  it("strips the keys the JSON guard refuses from a row stored before it, like the client read", async () => {
    const { user, caller } = await userCaller(t.db);
    await caller.settings.update({ language: "en" });
    // Written around the API, as rows from before the guard were.
    await t.db.prisma.$executeRaw`
      UPDATE "UserSettings" SET "settingsData" = '{"__proto__": {"polluted": true}, "ok": {"constructor": 1, "kept": 2}}'::jsonb
       WHERE "userId" = ${user.id}::uuid`;
    const answer = await getSettings(deps(), user.id);
    expect(answer).toStrictEqual(await clientRead(user.id));
    expect(JSON.stringify(answer.settingsData)).not.toContain("polluted");
  });

  it("answers the defaults at the tombstone's revision for a deleted row, and at rev 0 with the user's id for none", async () => {
    const { user, caller } = await userCaller(t.db);
    const written = await caller.settings.update({ theme: "dark" });
    await t.db.prisma.userSettings.update({ where: { userId: user.id }, data: { deletedAt: new Date() } });
    const deleted = await getSettings(deps(), user.id);
    expect(deleted).toMatchObject({ id: written.id, rev: written.rev, theme: "light", settingsData: {} });

    const { user: bare } = await userCaller(t.db); // made straight in the database: no settings row
    expect(await clientRead(bare.id)).toBeNull();
    expect(await getSettings(deps(), bare.id)).toMatchObject({ id: bare.id, rev: 0, theme: "light", settingsData: {} });
  });

  it("reads only the asking user's row", async () => {
    const { user: a, caller: callerA } = await userCaller(t.db);
    const { user: b, caller: callerB } = await userCaller(t.db);
    await callerA.settings.update({ language: "fr" });
    await callerB.settings.update({ language: "de" });
    expect((await getSettings(deps(), a.id)).language).toBe("fr");
    expect((await getSettings(deps(), b.id)).language).toBe("de");
  });
});
