import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "@prompt-booster/db";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { importedId, uuidV5 } from "../src/import/items.ts";
import { createImportLimiter } from "../src/import/limiter.ts";
import type { ImportOutput } from "../src/import/schemas.ts";
import { createLocalChangeEvents } from "../src/lib/events.ts";
import { manualClock, userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";
import { generatedHistory } from "./support/import-payload.ts";

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

    expect(result.imported).toEqual({ promptGroups: 2, promptVersions: 4, templates: 0, settings: 1 });
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

  it("changes nothing when the same data is imported again, and answers the same", async () => {
    const { caller, user } = await userCaller(t.db);
    const first = await caller.import.localData({ history, templates, settings });
    const before = await stateOf(user.id);

    const again = await caller.import.localData({ history, templates, settings });
    expect(again).toEqual(first);
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
    expect(a.imported.templates).toBe(2);
    expect(b.imported.templates).toBe(2);
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
    const first = await caller.import.localData({ history });
    const later = structuredClone(history);
    const groupId = Object.keys(later.groups)[0]!;
    const versions = later.versions[groupId];
    versions.push({ ...versions.at(-1), id: "mgzzzzzzzzzzzzz0001", number: 4, timestamp: 1760500000000 });
    later.groups[groupId].currentVersionNumber = 4;

    const result = await caller.import.localData({ history: later });
    expect(result.imported).toMatchObject({ promptGroups: 2, promptVersions: 5 });
    // The new version and the group's new latest number: two revisions.
    expect(result.revision).toBe(first.revision + 2);
    const group = await t.db.prisma.promptGroup.findUniqueOrThrow({
      where: { id: importedId(user.id, "group", groupId) },
    });
    expect(group.currentVersionNumber).toBe(4);
  });

  describe("a payload that is not the app's shape gets a clear error and writes nothing", () => {
    const cases: [string, () => unknown, string | undefined][] = [
      ["history that is not an object", () => ({ history: 42, settings }), "history"],
      ["groups that are a list", () => ({ history: { ...history, groups: [] }, settings }), "history.groups"],
      ["versions that are not lists", () => ({ history: { ...history, versions: { a: {} } } }), "history.versions.a"],
      ["history text that is not JSON", () => ({ history: "{not json", settings }), "history"],
      ["templates that are not a record", () => ({ templates: "optimize_task", settings }), "templates"],
      ["an unknown top-level key", () => ({ history, extra: true }), undefined],
      // The input guard sees the whole payload before any schema: still a 400 naming the field.
      [
        "a NUL character in one version",
        () => {
          const h = structuredClone(history);
          h.versions.mgqba7eok9p34y6n3wd[1].originalPrompt = "a\u0000b";
          return { history: h };
        },
        "history.versions.mgqba7eok9p34y6n3wd.1.originalPrompt",
      ],
      [
        "a NUL character inside history text",
        () => {
          const h = structuredClone(history);
          h.groups.mgqba7eok9p34y6n3wd.originalPrompt = "a\u0000b";
          return { history: JSON.stringify(h) };
        },
        "history.groups.mgqba7eok9p34y6n3wd.originalPrompt",
      ],
    ];
    for (const [what, input, field] of cases) {
      it(what, async () => {
        const { caller, user } = await userCaller(t.db);
        const before = await stateOf(user.id);
        await expectAppError(caller.import.localData(input() as never), "BAD_REQUEST", field);
        expect(await stateOf(user.id)).toEqual(before);
      });
    }
  });
});

/** A user's rows without what differs between users (ids, owner) or comes from the database's clock. */
async function contentOf(userId: string) {
  const { revision, groups, versions, templates: rows, settings: settingsRows } = await stateOf(userId);
  const strip = <T extends { rev: number }>(items: T[], ...keys: string[]) =>
    items
      .sort((a, b) => a.rev - b.rev)
      .map((item) => Object.fromEntries(Object.entries(item).filter(([key]) => !keys.includes(key))));
  return {
    revision,
    groups: strip(groups, "id", "userId"),
    versions: strip(versions, "id", "userId", "groupId"),
    templates: strip(rows, "id", "userId"),
    settings: strip(settingsRows, "id", "userId", "createdAt", "updatedAt"),
  };
}

/** An answer without the server ids, which are per user. */
const withoutIds = (answer: ImportOutput) => ({
  ...answer,
  skipped: answer.skipped.map(({ id: _id, ...item }) => item),
  errors: answer.errors.map(({ id: _id, ...item }) => item),
  ids: Object.fromEntries(Object.entries(answer.ids).map(([kind, map]) => [kind, Object.keys(map).sort()])),
});

describe("import.localData, several at once", () => {
  // Several batches of rows, templates of the user's own, settings: every kind of row an import writes.
  const payload = () => ({
    history: generatedHistory(150, 2, "race"),
    templates: {
      ...templates,
      "my-template": {
        id: "my-template",
        name: "My reviewer",
        content: "Review the code",
        metadata: { lastModified: 1760000000000, templateType: "custom" },
      },
    },
    settings,
  });

  it("two (or three) imports of one payload at once both succeed, answering and writing as one after the other", async () => {
    const clock = manualClock();
    const racing = await userCaller(t.db, { clock });
    const answers = await Promise.all([1, 2, 3].map(() => racing.caller.import.localData(payload())));

    const alone = await userCaller(t.db, { clock });
    const first = await alone.caller.import.localData(payload());
    expect(await alone.caller.import.localData(payload())).toEqual(first);

    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    expect(withoutIds(answers[0]!)).toEqual(withoutIds(first));
    expect(first.imported).toEqual({ promptGroups: 150, promptVersions: 300, templates: 1, settings: 1 });
    // The same rows, with the same revisions, as the user who imported alone.
    expect(await contentOf(racing.user.id)).toEqual(await contentOf(alone.user.id));
    expect(await racing.caller.import.localData(payload())).toEqual(answers[0]);
  });

  it("lets another user's settings.get through while imports run, even with more imports than connections", async () => {
    // PostgreSQL: a pool of 2 connections and 3 imports. PGlite: its one connection, shared by everything.
    const small = t.url ? await createDb({ databaseUrl: t.url, dataDir: "", pool: { max: 2 } }) : t.db;
    try {
      const importLimiter = createImportLimiter({ concurrency: 1, queueMax: 10 });
      const importers = await Promise.all([1, 2, 3].map(() => userCaller(small, { importLimiter })));
      const other = await userCaller(small);
      const big = { history: generatedHistory(200, 2, "big") };
      const finished: string[] = [];
      const imports = importers.map(({ caller }, index) =>
        caller.import.localData(big).then(() => finished.push(`import ${index}`)),
      );
      // Once an import is under way (its first rows are visible), the other user asks for their settings.
      const importerIds = importers.map(({ user }) => user.id);
      while ((await t.db.prisma.promptGroup.count({ where: { userId: { in: importerIds } } })) === 0) await sleep(5);
      await other.caller.settings.get();
      finished.push("settings.get");
      await Promise.all(imports);
      expect(finished[0]).toBe("settings.get");
    } finally {
      if (small !== t.db) await small.close();
    }
  });

  it("refuses an import with TOO_MANY_REQUESTS while the queue is full, writing nothing", async () => {
    const importLimiter = createImportLimiter({ concurrency: 1, queueMax: 1 });
    const { caller, user } = await userCaller(t.db, { importLimiter });
    let finish!: () => void;
    const running = importLimiter.run(() => new Promise<void>((resolve) => (finish = resolve)));
    const queued = importLimiter.run(async () => "queued ran");

    const refused = await expectAppError(caller.import.localData({ history }), "TOO_MANY_REQUESTS");
    expect(refused.message).toMatch(/busy with other imports/);
    expect((await stateOf(user.id)).groups).toEqual([]);

    finish();
    await running;
    expect(await queued).toBe("queued ran");
    expect((await caller.import.localData({ history })).imported.promptGroups).toBe(2);
  });
});

describe("import.localData cut short", () => {
  it("tells devices of every batch that committed, also when a later one fails; sent again, it finishes as one import would", async () => {
    const events = createLocalChangeEvents();
    const { caller, user } = await userCaller(t.db, { events });
    const heard: number[] = [];
    events.subscribe({
      userId: user.id,
      sessionId: "device",
      onChange: (event) => heard.push(event.revision),
      onSessionsEnded: () => {},
      onEvicted: () => {},
    });
    // 120 groups of 2 versions: 360 rows in batches of 100, the fourth holding a version the database refuses.
    const history = generatedHistory(120, 2, "cut");
    history.versions.cutg110![0]!.optimizedPrompt = "REFUSED BY THE DATABASE";
    const db = t.db.prisma;
    await db.$executeRawUnsafe(
      `ALTER TABLE "PromptVersion" ADD CONSTRAINT import_cut CHECK ("optimizedPrompt" <> 'REFUSED BY THE DATABASE') NOT VALID`,
    );
    try {
      await expect(caller.import.localData({ history })).rejects.toThrow();
    } finally {
      await db.$executeRawUnsafe(`ALTER TABLE "PromptVersion" DROP CONSTRAINT import_cut`);
    }

    // Three whole batches stayed, each announced once it committed; nothing of the fourth.
    const cut = await stateOf(user.id);
    expect(cut.revision).toBe(300);
    expect(cut.groups.length + cut.versions.length).toBe(300);
    expect(heard).toEqual([100, 200, 300]);

    const retried = await caller.import.localData({ history });
    expect(retried.errors).toEqual([]);
    expect(retried.imported).toEqual({ promptGroups: 120, promptVersions: 240, templates: 0, settings: 0 });
    expect(heard).toEqual([100, 200, 300, 360]);
    expect(retried.revision).toBe(360);

    const alone = await userCaller(t.db);
    const whole = await alone.caller.import.localData({ history });
    expect(withoutIds(retried)).toEqual(withoutIds(whole));
    expect(await contentOf(user.id)).toEqual(await contentOf(alone.user.id));
  });
});
