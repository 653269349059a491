import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { importedId, uuidV5 } from "../src/import/service.ts";
import { userCaller } from "./support/context.ts";
import { expectError } from "./support/errors.ts";

// Copies of shared/client-shapes: what the app keeps in localStorage today.
const fixture = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "fixtures/client-shapes", `${name}-example.json`), "utf8"));
const history = fixture("history");
const templates = fixture("templates");
const settings = fixture("settings");

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

/** Everything of the user that sync would show, plus the revision counter. */
async function stateOf(userId: string) {
  const db = t.db.prisma;
  const [user, groups, versions, userTemplates, userSettings] = await Promise.all([
    db.user.findUniqueOrThrow({ where: { id: userId }, select: { revision: true } }),
    db.promptGroup.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    db.promptVersion.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    db.template.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    db.userSettings.findMany({ where: { userId } }),
  ]);
  return { revision: user.revision, groups, versions, templates: userTemplates, settings: userSettings };
}

describe("uuidV5", () => {
  it("matches the RFC 9562 example (DNS namespace, www.example.com)", () => {
    expect(uuidV5("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe(
      "2ed6657d-e927-568b-95e1-2665a8aea6a2",
    );
  });
});

describe("import.localData", () => {
  it("imports the app's three example files as synced rows, leaving API keys out", async () => {
    const { caller, user } = await userCaller(t.db);
    const result = await caller.import.localData({ history, templates, settings });

    expect(result.created).toEqual({ promptGroups: 2, promptVersions: 4, templates: 0, settings: 1 });
    // The example's templates are the app's built-ins, unedited: nothing of the user's own to keep.
    expect(result.skipped.map((s) => [s.kind, s.legacyId])).toEqual(
      Object.keys(templates).map((id) => ["template", id]),
    );
    expect(result.errors).toEqual([]);
    expect(result.secretsRemoved.sort()).toEqual([
      "model-settings.state.configs.deepseek.apiKey",
      "model-settings.state.configs.openai.apiKey",
      "model-settings.state.customInterfaces.0.apiKey",
    ]);

    const state = await stateOf(user.id);
    expect(result.revision).toBe(state.revision);
    expect(JSON.stringify(state.settings)).not.toMatch(/sk-/);
    expect(state.settings[0]).toMatchObject({ theme: "dark", language: "en-US", defaultModel: "mgrdx3k1q8z4n2v7c0a" });

    // Legacy ids became stable UUIDs, epoch milliseconds became timestamps.
    const group = state.groups.find((g) => g.id === importedId(user.id, "group", "mgqba7eok9p34y6n3wd"))!;
    expect(group).toMatchObject({ currentVersionNumber: 3, status: "completed" });
    expect(group.createdAt.getTime()).toBe(1760431200000);
    const edit = state.versions.find((v) => v.number === 3 && v.groupId === group.id)!;
    expect(edit).toMatchObject({ provider: "__USEREDIT__", modelName: "", iterationDirection: "__USEREDIT__" });
    expect(edit.timestamp.getTime()).toBe(1760431780321);

    // They reach other devices through sync like any write: a group before its versions.
    const pulled = await caller.sync.pull();
    expect(pulled.changes.filter((c) => c.entity === "promptVersion")).toHaveLength(4);
    const order = pulled.changes.map((c) => `${c.entity}:${c.id}`);
    expect(order.indexOf(`promptGroup:${group.id}`)).toBeLessThan(order.indexOf(`promptVersion:${edit.id}`));
  });

  it("changes nothing when the same data is imported again", async () => {
    const { caller, user } = await userCaller(t.db);
    await caller.import.localData({ history, templates, settings });
    const before = await stateOf(user.id);

    const again = await caller.import.localData({ history, templates, settings });
    expect(again.created).toEqual({ promptGroups: 0, promptVersions: 0, templates: 0, settings: 0 });
    expect(again.unchanged).toEqual({ promptGroups: 2, promptVersions: 4, templates: 0, settings: 1 });
    expect(again.revision).toBeNull();
    expect(await stateOf(user.id)).toEqual(before);
  });

  it("imports the user's own and edited built-in templates; two users' ids never collide", async () => {
    const mine = {
      ...templates,
      "my-template": {
        id: "my-template",
        name: "My reviewer",
        content: "Review the code",
        metadata: { version: "1.0", lastModified: 1760000000000, author: "me", templateType: "custom", color: "red" },
        createdAt: 1760000000000,
        updatedAt: 1760000100000,
      },
      iterate: { ...templates.iterate, content: "My own iteration prompt", updatedAt: 1760000000000 },
    };
    const alice = await userCaller(t.db);
    const bob = await userCaller(t.db);
    const a = await alice.caller.import.localData({ templates: mine });
    const b = await bob.caller.import.localData({ templates: mine });
    expect(a.created.templates).toBe(2);
    expect(b.created.templates).toBe(2);
    const aliceRows = await t.db.prisma.template.findMany({ where: { userId: alice.user.id } });
    const bobRows = await t.db.prisma.template.findMany({ where: { userId: bob.user.id } });
    expect(aliceRows.map((r) => r.id).filter((id) => bobRows.some((row) => row.id === id))).toEqual([]);
    const custom = aliceRows.find((row) => row.name === "My reviewer")!;
    expect(custom).toMatchObject({ category: "custom", content: "Review the code" });
    expect(custom.metadata).toMatchObject({ author: "me", color: "red", importedFrom: "my-template" });
    expect(custom.updatedAt.getTime()).toBe(1760000100000);
  });

  it("imports versions made locally after an earlier import, moving the group's latest number", async () => {
    const { caller, user } = await userCaller(t.db);
    await caller.import.localData({ history });
    const later = structuredClone(history);
    const groupId = Object.keys(later.groups)[0]!;
    const versions = later.versions[groupId];
    versions.push({ ...versions.at(-1), id: "mgzzzzzzzzzzzzz0001", number: 4, timestamp: 1760500000000 });
    later.groups[groupId].currentVersionNumber = 4;

    const result = await caller.import.localData({ history: later });
    expect(result.created).toMatchObject({ promptGroups: 0, promptVersions: 1 });
    const group = await t.db.prisma.promptGroup.findUniqueOrThrow({
      where: { id: importedId(user.id, "group", groupId) },
    });
    expect(group.currentVersionNumber).toBe(4);
  });

  describe("malformed input gets a clear error and writes nothing", () => {
    const cases: [string, () => unknown, string][] = [
      [
        "a wrong type",
        () => ({
          history: {
            ...history,
            groups: { x: { ...history.groups.mgqba7eok9p34y6n3wd, id: "x", createdAt: "yesterday" } },
          },
        }),
        "history.groups.x.createdAt",
      ],
      [
        "an unknown status",
        () => {
          const h = structuredClone(history);
          h.versions.mgqba7eok9p34y6n3wd[0].status = "done";
          return { history: h };
        },
        "history.versions.mgqba7eok9p34y6n3wd.0.status",
      ],
      [
        "duplicate version numbers",
        () => {
          const h = structuredClone(history);
          h.versions.mgqba7eok9p34y6n3wd[1].number = 1;
          return { history: h };
        },
        "history.versions.mgqba7eok9p34y6n3wd.1.number",
      ],
      [
        "a version whose group is missing",
        () => {
          const h = structuredClone(history);
          delete h.groups.mgrqwlib3dvyrkttnjf;
          return { history: h, settings };
        },
        "history.versions.mgrqwlib3dvyrkttnjf",
      ],
      ["an unknown top-level key", () => ({ history, extra: true }), "input"],
    ];
    for (const [what, input, field] of cases) {
      it(what, async () => {
        const { caller, user } = await userCaller(t.db);
        const before = await stateOf(user.id);
        await expectError(
          caller.import.localData(input() as never),
          "BAD_REQUEST",
          field === "input" ? undefined : field,
        );
        expect(await stateOf(user.id)).toEqual(before);
      });
    }
  });
});
