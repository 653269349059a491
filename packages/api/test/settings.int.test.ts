import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { createCaller } from "../src/root.ts";
import { MAX_FIELD_REVS } from "../src/settings/field-revs.ts";
import { testContext, userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

describe("settings", () => {
  it("answers the defaults without writing when the user has no row, and the first update creates it", async () => {
    const { caller, user } = await userCaller(t.db);
    const revision = async () =>
      (await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id }, select: { revision: true } })).revision;
    const [a, b] = await Promise.all([caller.settings.get(), caller.settings.get()]);
    expect(a).toMatchObject({ theme: "light", language: "en", defaultModel: null, settingsData: {}, rev: 0 });
    expect(b.id).toBe(a.id);
    expect(a.createdAt).toBeInstanceOf(Date);
    expect(await t.db.prisma.userSettings.count({ where: { userId: user.id } })).toBe(0);
    expect(await revision()).toBe(0);
    const updated = await caller.settings.update({ language: "zh-cn", baseRev: a.rev });
    expect(updated).toMatchObject({ id: a.id, theme: "light", language: "zh-CN", rev: await revision() });
    expect(await caller.settings.get()).toEqual(updated);
  });

  it("registration creates the row, so a new user's settings.get reads it", async () => {
    const caller = createCaller(testContext(t.db));
    const { user } = await caller.auth.register({
      email: "settings-row@example.com",
      username: "settings_row",
      password: "a long enough passphrase",
    });
    const row = await t.db.prisma.userSettings.findUniqueOrThrow({ where: { userId: user.id } });
    expect(row).toMatchObject({ theme: "light", language: "en", deletedAt: null });
    expect(row.rev).toBeGreaterThan(0);
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

/** Two devices of one user: separate callers, one account. */
async function twoDevices() {
  const first = await userCaller(t.db);
  const second = createCaller(first.ctx);
  return { user: first.user, web: first.caller, desktop: second };
}

async function fieldRevsOf(userId: string) {
  return t.db.prisma.userSettings.findUniqueOrThrow({
    where: { userId },
    select: { fieldRevs: true, fieldRevsFloor: true, rev: true },
  });
}

const modelSettings = (state: Record<string, unknown>) => ({ "model-settings": { state, version: 0 } });

describe("settings.update merges: per-path conflicts", () => {
  it("keeps both when two devices with the same baseRev change theme and language", async () => {
    const { web, desktop } = await twoDevices();
    const { rev } = await web.settings.get();
    await web.settings.update({ theme: "dark", baseRev: rev });
    const after = await desktop.settings.update({ language: "fr-FR", baseRev: rev });
    expect(after).toMatchObject({ theme: "dark", language: "fr-FR" });
  });

  it("answers CONFLICT with the current value when both change the same settingsData leaf", async () => {
    const { web, desktop } = await twoDevices();
    const base = await web.settings.update({ settingsData: modelSettings({ activeModel: "openai", lastUpdate: 1 }) });
    const won = await web.settings.update({
      settingsData: modelSettings({ activeModel: "deepseek" }),
      baseRev: base.rev,
    });
    const error = await expectAppError(
      desktop.settings.update({ settingsData: modelSettings({ activeModel: "ollama" }), baseRev: base.rev }),
      "CONFLICT",
    );
    expect(error.details?.current).toMatchObject({
      rev: won.rev,
      settingsData: modelSettings({ activeModel: "deepseek" }),
    });
    expect(error.message).toContain(`current rev ${won.rev}, you sent ${base.rev}`);
    // Based on the current revision, the same change goes through.
    const retried = await desktop.settings.update({
      settingsData: modelSettings({ activeModel: "ollama" }),
      baseRev: won.rev,
    });
    expect(retried.settingsData).toEqual(modelSettings({ activeModel: "ollama", lastUpdate: 1 }));
  });

  it("keeps both keys when one device changes activeModel and the other selectedTemplateId", async () => {
    const { web, desktop } = await twoDevices();
    const base = await web.settings.update({
      settingsData: {
        ...modelSettings({ activeModel: "openai", customInterfaces: [{ id: "c1", name: "Mine" }] }),
        selectedTemplateId: "optimize_task",
      },
    });
    await desktop.settings.update({ settingsData: modelSettings({ activeModel: "deepseek" }), baseRev: base.rev });
    const after = await web.settings.update({ settingsData: { selectedTemplateId: "iterate" }, baseRev: base.rev });
    expect(after.settingsData).toEqual({
      ...modelSettings({ activeModel: "deepseek", customInterfaces: [{ id: "c1", name: "Mine" }] }),
      selectedTemplateId: "iterate",
    });
    expect(await web.settings.get()).toEqual(after);
  });

  it("conflicts when a change covers or lies inside a path changed since, not beside it", async () => {
    const { web, desktop } = await twoDevices();
    const configs = { openai: { model: "gpt-4o", enabled: true }, ollama: { model: "qwen3", enabled: false } };
    const base = await web.settings.update({ settingsData: modelSettings({ configs }) });
    await web.settings.update({
      settingsData: modelSettings({ configs: { openai: { model: "gpt-4o-mini" } } }),
      baseRev: base.rev,
    });
    // Deleting the whole provider, or replacing the configs, would drop the newer model: refused.
    await expectAppError(
      desktop.settings.update({ settingsData: modelSettings({ configs: { openai: null } }), baseRev: base.rev }),
      "CONFLICT",
    );
    await expectAppError(
      desktop.settings.update({ settingsData: modelSettings({ configs: "none" }), baseRev: base.rev }),
      "CONFLICT",
    );
    // A sibling of the change (and a sibling provider) is fine.
    const after = await desktop.settings.update({
      settingsData: modelSettings({ configs: { openai: { enabled: false }, ollama: { enabled: true } } }),
      baseRev: base.rev,
    });
    expect(after.settingsData).toEqual(
      modelSettings({
        configs: { openai: { model: "gpt-4o-mini", enabled: false }, ollama: { model: "qwen3", enabled: true } },
      }),
    );
  });

  it("conflicts inside a path deleted or replaced since, and forgets what lay inside it", async () => {
    const { user, web, desktop } = await twoDevices();
    const base = await web.settings.update({ settingsData: { a: { b: 1, c: 2 } } });
    const changed = await web.settings.update({ settingsData: { a: { b: 3 } } });
    // Based before the change of a/b: deleting `a` would drop it unseen.
    await expectAppError(desktop.settings.update({ settingsData: { a: null }, baseRev: base.rev }), "CONFLICT");
    const deleted = await web.settings.update({ settingsData: { a: null }, baseRev: changed.rev });
    expect(deleted.settingsData).toEqual({});
    await expectAppError(desktop.settings.update({ settingsData: { a: { c: 5 } }, baseRev: base.rev }), "CONFLICT");
    const { fieldRevs } = await fieldRevsOf(user.id);
    expect(fieldRevs).toEqual({ "/settingsData/a": deleted.rev });
  });

  it("records only paths whose value changed: rewriting the same value conflicts with nobody", async () => {
    const { user, web, desktop } = await twoDevices();
    const base = await web.settings.update({ theme: "dark", settingsData: { selectedTemplateId: "x" } });
    const same = await web.settings.update({
      theme: "dark",
      settingsData: { selectedTemplateId: "x" },
      baseRev: base.rev,
    });
    expect(same.rev).toBeGreaterThan(base.rev);
    const after = await desktop.settings.update({
      theme: "light",
      settingsData: { selectedTemplateId: "y" },
      baseRev: base.rev,
    });
    expect(after).toMatchObject({ theme: "light", settingsData: { selectedTemplateId: "y" } });
    expect((await fieldRevsOf(user.id)).fieldRevs).toEqual({
      "/theme": after.rev,
      "/settingsData/selectedTemplateId": after.rev,
    });
  });

  it("names keys holding / and ~ as JSON Pointers do, so they never collide with nesting", async () => {
    const { user, web, desktop } = await twoDevices();
    const { rev } = await web.settings.get();
    await web.settings.update({ settingsData: { "a/b": 1, "m~n": { x: true } }, baseRev: rev });
    const after = await desktop.settings.update({ settingsData: { a: { b: 2 } }, baseRev: rev });
    expect(after.settingsData).toEqual({ "a/b": 1, "m~n": { x: true }, a: { b: 2 } });
    expect(Object.keys((await fieldRevsOf(user.id)).fieldRevs as object).sort()).toEqual([
      "/settingsData/a/b",
      "/settingsData/a~1b",
      "/settingsData/m~0n/x",
    ]);
  });

  it("checks nothing without baseRev: per path, the last writer wins", async () => {
    const { web, desktop } = await twoDevices();
    await web.settings.update({ theme: "dark", settingsData: { selectedTemplateId: "x" } });
    const after = await desktop.settings.update({ theme: "system", settingsData: { selectedTemplateId: "y" } });
    expect(after).toMatchObject({ theme: "system", settingsData: { selectedTemplateId: "y" } });
  });

  it("still answers CONFLICT for a baseRev the settings never reached", async () => {
    const { web } = await twoDevices();
    const { rev } = await web.settings.update({ theme: "dark" });
    await expectAppError(web.settings.update({ language: "de", baseRev: rev + 5 }), "CONFLICT");
  });

  it("conflicts with any update based below the floor (settings written before per-path revisions)", async () => {
    const { user, web, desktop } = await twoDevices();
    const base = await web.settings.update({ theme: "dark" });
    const legacy = await web.settings.update({ language: "de" });
    // As the migration leaves a row written before fieldRevs existed: nothing recorded, the floor at its rev.
    await t.db.prisma.userSettings.update({
      where: { userId: user.id },
      data: { fieldRevs: {}, fieldRevsFloor: legacy.rev },
    });
    const error = await expectAppError(
      desktop.settings.update({ settingsData: { selectedTemplateId: "x" }, baseRev: base.rev }),
      "CONFLICT",
    );
    expect(error.details?.current).toMatchObject({ rev: legacy.rev, language: "de" });
    const after = await desktop.settings.update({ settingsData: { selectedTemplateId: "x" }, baseRev: legacy.rev });
    expect(after.settingsData).toEqual({ selectedTemplateId: "x" });
  });

  it("bounds fieldRevs: past the limit the oldest paths go and the floor rises to them", async () => {
    const { user, web, desktop } = await twoDevices();
    const keys = (prefix: string, count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, index) => [`${prefix}${index}`, index]));
    const half = MAX_FIELD_REVS / 2 + 100;
    const first = await web.settings.update({ settingsData: { old: keys("k", half) } });
    expect(Object.keys((await fieldRevsOf(user.id)).fieldRevs as object)).toHaveLength(half);
    const second = await web.settings.update({ settingsData: { recent: keys("k", half) } });
    const stored = await fieldRevsOf(user.id);
    const paths = Object.keys(stored.fieldRevs as object);
    expect(paths.length).toBeLessThanOrEqual(MAX_FIELD_REVS);
    expect(paths).toContain("/settingsData/recent/k0");
    expect(paths).not.toContain("/settingsData/old/k0");
    expect(stored.fieldRevsFloor).toBe(first.rev);
    // Below the floor: CONFLICT whatever is touched; at it, only what changed since counts.
    await expectAppError(desktop.settings.update({ theme: "dark", baseRev: first.rev - 1 }), "CONFLICT");
    await expectAppError(
      desktop.settings.update({ settingsData: { recent: { k1: 0 } }, baseRev: first.rev }),
      "CONFLICT",
    );
    const after = await desktop.settings.update({ settingsData: { old: { k1: -1 } }, baseRev: first.rev });
    expect(after.rev).toBeGreaterThan(second.rev);
  });

  it("never shows fieldRevs in an answer", async () => {
    const { web } = await twoDevices();
    const updated = await web.settings.update({ theme: "dark", settingsData: { a: 1 } });
    const error = await expectAppError(web.settings.update({ theme: "light", baseRev: updated.rev - 1 }), "CONFLICT");
    for (const answer of [updated, await web.settings.get(), error.details?.current as object]) {
      expect(Object.keys(answer)).not.toContain("fieldRevs");
      expect(Object.keys(answer)).not.toContain("fieldRevsFloor");
    }
  });
});

describe("settings.update merges: settingsData as an RFC 7396 merge patch", () => {
  it("sets keys present, deletes with null, keeps absent keys, merges objects deeply", async () => {
    const { web } = await twoDevices();
    await web.settings.update({
      settingsData: {
        ...modelSettings({ activeModel: "openai", configs: { openai: { model: "gpt-4o", timeout: 60000 } } }),
        selectedTemplateId: "optimize_task",
        testResultModelId: "deepseek",
      },
    });
    const after = await web.settings.update({
      settingsData: {
        ...modelSettings({ configs: { openai: { model: "gpt-4o-mini", apiKey: "" }, ollama: { model: "qwen3" } } }),
        testResultModelId: null,
        absentAnyway: null,
      },
    });
    expect(after.settingsData).toEqual({
      ...modelSettings({
        activeModel: "openai",
        configs: { openai: { model: "gpt-4o-mini", timeout: 60000, apiKey: "" }, ollama: { model: "qwen3" } },
      }),
      selectedTemplateId: "optimize_task",
    });
  });

  it("replaces arrays whole, and a value by an object", async () => {
    const { web } = await twoDevices();
    await web.settings.update({
      settingsData: modelSettings({ customInterfaces: [{ id: "a" }, { id: "b" }], activeModel: "x" }),
    });
    const after = await web.settings.update({
      settingsData: { ...modelSettings({ customInterfaces: [{ id: "c" }] }), flag: true },
    });
    expect(after.settingsData).toEqual({
      ...modelSettings({ customInterfaces: [{ id: "c" }], activeModel: "x" }),
      flag: true,
    });
    const replaced = await web.settings.update({
      settingsData: { flag: { on: true }, "model-settings": { state: {} } },
    });
    expect(replaced.settingsData).toEqual({
      ...modelSettings({ customInterfaces: [{ id: "c" }], activeModel: "x" }),
      flag: { on: true },
    });
  });

  it("answers BAD_REQUEST naming settingsData when the merged result would be too big, and writes nothing", async () => {
    const { web } = await twoDevices();
    const half = "x".repeat(40_000);
    const before = await web.settings.update({ settingsData: { a: half } });
    const error = await expectAppError(web.settings.update({ settingsData: { b: half } }), "BAD_REQUEST");
    expect(error.message).toMatch(
      /^settingsData: merged into the stored settings, the result is \d+ bytes of JSON; at most 65536/,
    );
    expect(await web.settings.get()).toEqual(before);
    // Deleting one key makes room.
    const after = await web.settings.update({ settingsData: { a: null, b: half } });
    expect(after.settingsData).toEqual({ b: half });
  });

  it("refuses a non-empty API key anywhere in the patch, as before", async () => {
    const { web } = await twoDevices();
    const error = await expectAppError(
      web.settings.update({ settingsData: modelSettings({ configs: { openai: { apiKey: "sk-1" } } }) }),
      "BAD_REQUEST",
      "settingsData.model-settings.state.configs.openai.apiKey",
    );
    expect(error.message).toMatch(/plain text/);
    const deleted = await web.settings.update({
      settingsData: modelSettings({ configs: { openai: { apiKey: null } } }),
    });
    expect(deleted.settingsData).toEqual(modelSettings({ configs: { openai: {} } }));
  });
});
