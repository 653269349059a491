import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { createCaller } from "../src/root.ts";
import { testContext, userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

describe("settings", () => {
  it("creates the row with defaults when registration did not, once", async () => {
    const { caller, user } = await userCaller(t.db);
    const [a, b] = await Promise.all([caller.settings.get(), caller.settings.get()]);
    expect(a).toMatchObject({ theme: "light", language: "en", defaultModel: null, settingsData: {} });
    expect(b.id).toBe(a.id);
    expect(await t.db.prisma.userSettings.count({ where: { userId: user.id } })).toBe(1);
    expect(a.createdAt).toBeInstanceOf(Date);
  });

  it("updates only the given fields, bumps the revision and canonicalises the language", async () => {
    const { caller } = await userCaller(t.db);
    const before = await caller.settings.get();
    const after = await caller.settings.update({ theme: "dark", language: "zh-cn", baseRev: before.rev });
    expect(after).toMatchObject({ theme: "dark", language: "zh-CN", defaultModel: null });
    expect(after.rev).toBeGreaterThan(before.rev);
    const data = {
      "model-settings": { state: { activeModel: "x", configs: { openai: { apiKey: "", model: "gpt" } } } },
    };
    const again = await caller.settings.update({ defaultModel: "gpt-4o-mini", settingsData: data });
    expect(again).toMatchObject({ theme: "dark", language: "zh-CN", defaultModel: "gpt-4o-mini", settingsData: data });
    expect(await caller.settings.get()).toEqual(again);
  });

  it("answers a stale baseRev with CONFLICT carrying the current settings", async () => {
    const { caller } = await userCaller(t.db);
    const first = await caller.settings.get();
    const second = await caller.settings.update({ theme: "system", baseRev: first.rev });
    const error = await expectAppError(caller.settings.update({ theme: "dark", baseRev: first.rev }), "CONFLICT");
    expect(error.details?.current).toMatchObject({
      rev: second.rev,
      theme: "system",
    });
    expect((await caller.settings.get()).theme).toBe("system");
  });

  it("refuses a provider apiKey, saying why and where", async () => {
    const { caller } = await userCaller(t.db);
    const settingsData = { "model-settings": { state: { configs: { openai: { apiKey: "sk-live-123" } } } } };
    const error = await expectAppError(
      caller.settings.update({ settingsData }),
      "BAD_REQUEST",
      "settingsData.model-settings.state.configs.openai.apiKey",
    );
    expect(error.message).toMatch(/plain text/);
    await expectAppError(
      caller.settings.update({ settingsData: { list: [{ api_key: "k" }] } }),
      "BAD_REQUEST",
      "settingsData.list.0.api_key",
    );
  });

  it.each([
    ["theme", { theme: "blue" }],
    ["theme", { theme: 1 }],
    ["language", { language: "not a language!" }],
    ["language", { language: "x".repeat(40) }],
    ["defaultModel", { defaultModel: "m".repeat(201) }],
    ["defaultModel", { defaultModel: 5 }],
    ["settingsData", { settingsData: [] }],
    ["settingsData", { settingsData: "{}" }],
    ["settingsData", { settingsData: { big: "x".repeat(70_000) } }],
    ["settingsData", { settingsData: { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: { k: 1 } } } } } } } } } } } }],
    ["settingsData", { settingsData: { when: new Date() } }],
    ["baseRev", { baseRev: "1" }],
    ["baseRev", { baseRev: -1 }],
    ["unknownField", { unknownField: true }],
  ])("rejects a bad %s with BAD_REQUEST naming it", async (field, input) => {
    const { caller } = await userCaller(t.db);
    const call = caller.settings.update(input as never);
    if (field === "unknownField") {
      const error = await expectAppError(call, "BAD_REQUEST");
      expect(error.message).toContain("unknownField");
    } else {
      await expectAppError(call, "BAD_REQUEST", field);
    }
  });

  it("is UNAUTHORIZED without a session", async () => {
    const anonymous = createCaller(testContext(t.db));
    await expectAppError(anonymous.settings.get(), "UNAUTHORIZED");
    await expectAppError(anonymous.settings.update({ theme: "dark" }), "UNAUTHORIZED");
  });

  it("gives each user their own settings", async () => {
    const alice = await userCaller(t.db);
    const bob = await userCaller(t.db);
    await alice.caller.settings.update({ theme: "dark" });
    expect((await bob.caller.settings.get()).theme).toBe("light");
  });
});
