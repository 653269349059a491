// What real installs hold: the id map, the app's stored text (double-encoded too), long prompts, one bad
// item among good ones, built-ins as the app holds them in memory, and API keys blanked but present.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { importedId } from "../src/import/items.ts";
import { PROMPT_MAX } from "../src/prompts/schemas.ts";
import { userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";

const fixture = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "fixtures/client-shapes", `${name}-example.json`), "utf8"));
const history = fixture("history");
const templates = fixture("templates");
const settings = fixture("settings");
const GROUP = "mgqba7eok9p34y6n3wd";
const OTHER_GROUP = "mgrqwlib3dvyrkttnjf";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

const rowsOf = async (userId: string) => ({
  groups: await t.db.prisma.promptGroup.findMany({ where: { userId }, select: { id: true } }),
  versions: await t.db.prisma.promptVersion.findMany({ where: { userId }, select: { id: true } }),
});

describe("the answer's id map", () => {
  it("maps every legacy id to its row, and a re-import (or a later, larger one) returns the same ids", async () => {
    const { caller, user } = await userCaller(t.db);
    const mine = {
      ...templates,
      "my-template": {
        id: "my-template",
        name: "My reviewer",
        content: "Review the code",
        metadata: { lastModified: 1760000000000, templateType: "custom" },
      },
    };
    const first = await caller.import.localData({ history, templates: mine, settings });

    const versionIds = Object.values(history.versions as Record<string, { id: string }[]>).flatMap((list) =>
      list.map((version) => version.id),
    );
    expect(Object.keys(first.ids.promptGroups).sort()).toEqual([GROUP, OTHER_GROUP]);
    expect(Object.keys(first.ids.promptVersions).sort()).toEqual(versionIds.sort());
    // Built-ins are not the user's rows: only the user's own template is mapped.
    expect(first.ids.templates).toEqual({ "my-template": importedId(user.id, "template", "my-template") });
    const rows = await rowsOf(user.id);
    expect(rows.groups.map((row) => row.id).sort()).toEqual(Object.values(first.ids.promptGroups).sort());
    expect(rows.versions.map((row) => row.id).sort()).toEqual(Object.values(first.ids.promptVersions).sort());

    const again = await caller.import.localData({ history, templates: mine, settings });
    expect(again.ids).toEqual(first.ids);

    // One group at a time (as a client sends chunks), then everything: the ids of what was there stay.
    const one = await caller.import.localData({
      history: { groups: { [GROUP]: history.groups[GROUP] }, versions: { [GROUP]: history.versions[GROUP] } },
    });
    expect(one.ids.promptGroups).toEqual({ [GROUP]: first.ids.promptGroups[GROUP] });
    expect(Object.keys(one.ids.promptVersions)).toHaveLength(3);
  });
});

it("keeps in the map a template changed on the server since (its row is there), while reporting it", async () => {
  const { caller, user } = await userCaller(t.db);
  const mine = { mine: { id: "mine", name: "Mine", content: "Do it", metadata: {} } };
  const first = await caller.import.localData({ templates: mine });
  await caller.templates.update({ id: first.ids.templates.mine!, content: "Changed on another device" });

  const again = await caller.import.localData({ templates: mine });
  expect(again.errors).toMatchObject([
    { kind: "template", legacyId: "mine", message: expect.stringMatching(/changed on the server/) },
  ]);
  expect(again.ids.templates).toEqual({ mine: importedId(user.id, "template", "mine") });
});

describe("the app's stored text", () => {
  it("takes PROMPT_STORE as its JSON text and double-encoded (builds before May 2025), answering as for the object", async () => {
    const asObject = await userCaller(t.db);
    const expected = await asObject.caller.import.localData({ history });

    for (const stored of [JSON.stringify(history), JSON.stringify(JSON.stringify(history))]) {
      const { caller, user } = await userCaller(t.db);
      const result = await caller.import.localData({ history: stored });
      expect(result.imported).toEqual(expected.imported);
      expect(result.errors).toEqual([]);
      expect(result.ids.promptGroups[GROUP]).toBe(importedId(user.id, "group", GROUP));
      expect(Object.keys(result.ids.promptVersions).sort()).toEqual(Object.keys(expected.ids.promptVersions).sort());
    }
  });

  it("takes model-settings as its text, double-encoded too, and keeps every apiKey present as an empty string", async () => {
    const stored = { ...settings, "model-settings": JSON.stringify(JSON.stringify(settings["model-settings"])) };
    const { caller, user } = await userCaller(t.db);
    const result = await caller.import.localData({ settings: stored });
    expect(result.imported.settings).toBe(1);
    expect(result.secretsRemoved).toHaveLength(3);

    const row = await t.db.prisma.userSettings.findUniqueOrThrow({ where: { userId: user.id } });
    const modelSettings = (row.settingsData as Record<string, { state: Record<string, unknown> }>)["model-settings"]!;
    const { configs, customInterfaces } = modelSettings.state as {
      configs: Record<string, { apiKey?: unknown; model: string }>;
      customInterfaces: { apiKey?: unknown }[];
    };
    // Every config keeps its apiKey field (the app's ModelConfig requires it), never the key.
    expect(Object.keys(configs).length).toBeGreaterThan(0);
    for (const config of Object.values(configs)) expect(config.apiKey).toBe("");
    for (const custom of customInterfaces) expect(custom.apiKey).toBe("");
    expect(configs.openai!.model).toBe("gpt-4o-mini");
    // The settings API answers with the same shape.
    const read = await caller.settings.get();
    expect(JSON.stringify(read)).not.toMatch(/sk-EXAMPLE/);
    expect(JSON.stringify(read)).toContain('"apiKey":""');
  });
});

describe("long prompts", () => {
  it(`imports a ${PROMPT_MAX.toLocaleString("en")}-character prompt, and the direct API takes one as well`, async () => {
    expect(PROMPT_MAX).toBe(200_000);
    const long = "Paste of a whole document. ".repeat(8_000).slice(0, PROMPT_MAX);
    const h = structuredClone(history);
    h.groups[GROUP].originalPrompt = long;
    h.versions[GROUP][0].originalPrompt = long;
    h.versions[GROUP][1].optimizedPrompt = long;
    const { caller } = await userCaller(t.db);
    const result = await caller.import.localData({ history: h });
    expect(result.errors).toEqual([]);
    expect(result.imported).toMatchObject({ promptGroups: 2, promptVersions: 4 });
    const group = await caller.prompts.get({ id: result.ids.promptGroups[GROUP]! });
    expect(group.originalPrompt).toHaveLength(PROMPT_MAX);

    const created = await caller.prompts.create({
      originalPrompt: long,
      firstVersion: { optimizedPrompt: "short", modelId: "openai", provider: "OpenAI", modelName: "gpt-4o-mini" },
    });
    expect(created.originalPrompt).toHaveLength(PROMPT_MAX);
  });
});

describe("one invalid item among valid ones", () => {
  type Case = [string, (h: typeof history) => void, { kind: string; legacyId: string; field: string }[], number];
  const cases: Case[] = [
    [
      "a version with an unknown status",
      (h) => (h.versions[GROUP][1].status = "done"),
      [{ kind: "promptVersion", legacyId: "mgqbgwexe3p3e2z8iq9", field: `history.versions.${GROUP}.1.status` }],
      3,
    ],
    [
      "a version over the length limit",
      (h) => (h.versions[GROUP][2].originalPrompt = "x".repeat(PROMPT_MAX + 1)),
      [{ kind: "promptVersion", legacyId: "mgqbmn6py7jzb6cn6z4", field: `history.versions.${GROUP}.2.originalPrompt` }],
      3,
    ],
    [
      "a version number that appears twice",
      (h) => (h.versions[GROUP][2].number = 2),
      [{ kind: "promptVersion", legacyId: "mgqbmn6py7jzb6cn6z4", field: `history.versions.${GROUP}.2.number` }],
      3,
    ],
    [
      "a group with a wrong type (its versions cannot go without it)",
      (h) => (h.groups[OTHER_GROUP].createdAt = "yesterday"),
      [
        { kind: "promptGroup", legacyId: OTHER_GROUP, field: `history.groups.${OTHER_GROUP}.createdAt` },
        { kind: "promptVersion", legacyId: "mgrqwlibbf5jxvlsi47", field: `history.versions.${OTHER_GROUP}.0` },
      ],
      3,
    ],
    [
      "versions filed under a group that is not there",
      (h) => delete h.groups[OTHER_GROUP],
      [{ kind: "promptVersion", legacyId: "mgrqwlibbf5jxvlsi47", field: `history.versions.${OTHER_GROUP}.0` }],
      3,
    ],
  ];
  for (const [what, spoil, expected, versionsWritten] of cases) {
    it(`${what}: reported with its legacy id and field, the rest written`, async () => {
      const h = structuredClone(history);
      spoil(h);
      const { caller, user } = await userCaller(t.db);
      const result = await caller.import.localData({ history: h, settings });
      expect(result.errors.map(({ kind, legacyId, field }) => ({ kind, legacyId, field }))).toEqual(expected);
      for (const error of result.errors) expect(error.message.length).toBeGreaterThan(0);
      expect(result.imported.promptVersions).toBe(versionsWritten);
      expect(result.imported.settings).toBe(1);
      expect((await rowsOf(user.id)).versions).toHaveLength(versionsWritten);
      for (const { legacyId } of expected) {
        expect(result.ids.promptVersions[legacyId]).toBeUndefined();
        expect(result.ids.promptGroups[legacyId]).toBeUndefined();
      }
      // Fixed and sent again, the rest follows; what was written stays as it was.
      const fixed = await caller.import.localData({ history, settings });
      expect(fixed.errors).toEqual([]);
    });
  }

  it("a bad template and a bad settings key are reported too, and the others kept", async () => {
    const { caller } = await userCaller(t.db);
    const result = await caller.import.localData({
      templates: {
        mine: { id: "mine", name: "Mine", content: "Do it", metadata: {} },
        broken: { id: "broken", name: "", content: "x", metadata: {} },
      },
      settings: { ...settings, "my-app-theme": "purple" },
    });
    expect(result.errors.map(({ kind, legacyId, field }) => ({ kind, legacyId, field }))).toEqual([
      { kind: "settings", legacyId: "my-app-theme", field: "settings.my-app-theme" },
      { kind: "template", legacyId: "broken", field: "templates.broken.name" },
    ]);
    expect(result.imported).toMatchObject({ templates: 1, settings: 1 });
    expect(Object.keys(result.ids.templates)).toEqual(["mine"]);
    expect((await caller.settings.get()).language).toBe("en-US");
  });
});

describe("what the API refuses, import reports (the same field schemas decide both)", () => {
  const VERSION = "mgqbgwexe3p3e2z8iq9";
  const refused: [string, Record<string, unknown>, string][] = [
    ["21 tags", { tags: Array.from({ length: 21 }, (_, index) => `tag ${index}`) }, "tags"],
    ["a 41-character tag", { tags: ["fine", "x".repeat(41)] }, "tags.1"],
    ["an empty modelId", { modelId: "" }, "modelId"],
    ["a blank provider", { provider: "   " }, "provider"],
  ];
  for (const [what, change, field] of refused) {
    it(`a version with ${what}: listed in errors naming ${field}, the rest imported; prompts.create refuses it too`, async () => {
      const h = structuredClone(history);
      Object.assign(h.versions[GROUP][1], change);
      const { caller, user } = await userCaller(t.db);
      const result = await caller.import.localData({ history: h });
      expect(result.errors).toEqual([
        {
          kind: "promptVersion",
          legacyId: VERSION,
          field: `history.versions.${GROUP}.1.${field}`,
          message: expect.stringMatching(/\w/) as string,
        },
      ]);
      expect(result.imported).toMatchObject({ promptGroups: 2, promptVersions: 3 });
      expect(result.ids.promptVersions[VERSION]).toBeUndefined();
      expect((await rowsOf(user.id)).versions).toHaveLength(3);

      const {
        id: _i,
        groupId: _g,
        number: _n,
        originalPrompt: _o,
        iterationDirection: _d,
        timestamp: _t,
        ...fields
      } = h.versions[GROUP][1];
      const create = caller.prompts.create({ originalPrompt: "The same fields", firstVersion: fields });
      await expectAppError(create, "BAD_REQUEST", `firstVersion.${field}`);
    });
  }

  it("takes 20 tags of 40 characters, stored as the API stores them (normalised)", async () => {
    const tags = Array.from(
      { length: 20 },
      (_, index) => `  Tag  ${String(index).padStart(2, "0")} ${"x".repeat(33)} `,
    );
    expect(tags.map((tag) => tag.trim().replace(/\s+/g, " ")).every((tag) => tag.length === 40)).toBe(true);
    const h = structuredClone(history);
    h.versions[GROUP][1].tags = tags;
    const { caller } = await userCaller(t.db);
    const result = await caller.import.localData({ history: h });
    expect(result.errors).toEqual([]);
    const id = result.ids.promptVersions[VERSION]!;
    const imported = (await caller.prompts.get({ id: result.ids.promptGroups[GROUP]! })).versions.find(
      (version) => version.id === id,
    )!;
    const updated = await caller.prompts.updateVersion({ id, tags });
    expect(imported.tags).toHaveLength(20);
    expect(imported.tags).toEqual(updated.tags);
  });

  it("a group with an empty original prompt: reported, its versions with it, the other group imported", async () => {
    const h = structuredClone(history);
    h.groups[OTHER_GROUP].originalPrompt = "";
    const { caller } = await userCaller(t.db);
    const result = await caller.import.localData({ history: h });
    expect(result.errors.map(({ kind, legacyId, field }) => ({ kind, legacyId, field }))).toEqual([
      { kind: "promptGroup", legacyId: OTHER_GROUP, field: `history.groups.${OTHER_GROUP}.originalPrompt` },
      { kind: "promptVersion", legacyId: "mgrqwlibbf5jxvlsi47", field: `history.versions.${OTHER_GROUP}.0` },
    ]);
    expect(result.imported).toMatchObject({ promptGroups: 1, promptVersions: 3 });
    await expectAppError(
      caller.prompts.create({ originalPrompt: "", firstVersion: history.versions[OTHER_GROUP][0] }),
      "BAD_REQUEST",
      "originalPrompt",
    );
  });
});

describe("built-in templates", () => {
  it("skips the app's built-ins as it holds them in memory (timestamps of the load), imports an edited one", async () => {
    const loadedAt = 1_764_000_000_000;
    const inMemory = Object.fromEntries(
      Object.entries(templates as Record<string, Record<string, unknown>>).map(([id, template]) => [
        id,
        { ...template, createdAt: loadedAt, updatedAt: loadedAt },
      ]),
    );
    const { caller } = await userCaller(t.db);
    const result = await caller.import.localData({ templates: inMemory });
    expect(result.imported.templates).toBe(0);
    expect(result.skipped.map((item) => item.legacyId).sort()).toEqual(Object.keys(templates).sort());
    expect(result.ids.templates).toEqual({});

    // Same timestamps, other content: the user's own now.
    const edited = { ...inMemory, iterate: { ...inMemory.iterate, content: "My own iteration prompt" } };
    const second = await caller.import.localData({ templates: edited });
    expect(second.imported.templates).toBe(1);
    expect(Object.keys(second.ids.templates)).toEqual(["iterate"]);
  });
});
