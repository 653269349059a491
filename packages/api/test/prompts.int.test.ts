import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { PROMPT_MAX } from "../src/prompts/schemas.ts";
import { createCaller } from "../src/root.ts";
import { manualClock, testContext, userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";
import { idsOfAllPages } from "./support/pages.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

const firstVersion = {
  optimizedPrompt: "# Task\nSummarise.",
  modelId: "m1",
  provider: "openai",
  modelName: "gpt-4o-mini",
};
const create = (originalPrompt = "Summarise the meeting") => ({ originalPrompt, firstVersion });
const iteration = {
  optimizedPrompt: "Better",
  iterationDirection: "shorter",
  modelId: "m1",
  provider: "openai",
  modelName: "gpt",
};

describe("prompt history", () => {
  it("creates a group with version 1, iterates, reads and completes a pending version", async () => {
    const { caller } = await userCaller(t.db);
    const group = await caller.prompts.create({
      ...create(),
      firstVersion: { ...firstVersion, favorite: true, tags: [" A "] },
    });
    expect(group).toMatchObject({
      originalPrompt: "Summarise the meeting",
      currentVersionNumber: 1,
      status: "completed",
    });
    expect(group.versions).toHaveLength(1);
    expect(group.versions[0]).toMatchObject({
      number: 1,
      originalPrompt: "Summarise the meeting",
      status: "completed",
      favorite: true,
      tags: ["a"],
      reasoning: null,
      iterationDirection: null,
    });

    const v2 = await caller.prompts.addVersion({
      groupId: group.id,
      ...iteration,
      status: "pending",
      optimizedPrompt: "__PENDING__",
    });
    expect(v2).toMatchObject({
      number: 2,
      groupId: group.id,
      originalPrompt: "Summarise the meeting",
      status: "pending",
    });
    const done = await caller.prompts.updateVersion({
      id: v2.id,
      optimizedPrompt: "Final",
      status: "completed",
      favorite: true,
    });
    expect(done).toMatchObject({
      number: 2,
      optimizedPrompt: "Final",
      status: "completed",
      favorite: true,
      iterationDirection: "shorter",
    });
    expect(done.rev).toBeGreaterThan(v2.rev);

    const full = await caller.prompts.get({ id: group.id });
    expect(full.currentVersionNumber).toBe(2);
    expect(full.versions.map((v) => v.number)).toEqual([1, 2]);
    expect(await caller.prompts.version({ id: v2.id })).toEqual(done);

    const page1 = await caller.prompts.versions({ groupId: group.id, limit: 1 });
    expect(page1.items.map((v) => v.number)).toEqual([1]);
    const page2 = await caller.prompts.versions({ groupId: group.id, limit: 1, cursor: page1.nextCursor! });
    expect(page2).toMatchObject({ items: [{ number: 2 }], nextCursor: null });
  });

  it("gives 20 concurrent addVersion calls the numbers 2..21, losing none", async () => {
    const { caller } = await userCaller(t.db);
    const group = await caller.prompts.create(create());
    const added = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        caller.prompts.addVersion({ groupId: group.id, ...iteration, optimizedPrompt: `v${i}` }),
      ),
    );
    expect(added.map((v) => v.number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const full = await caller.prompts.get({ id: group.id });
    expect(full.currentVersionNumber).toBe(21);
    expect(new Set(full.versions.map((v) => v.optimizedPrompt)).size).toBe(21);
  });

  it("lists newest first with the latest version, filters, and pages by cursor", async () => {
    // Each create a minute after the last, by the clock the service reads: no two can tie.
    const clock = manualClock();
    const { caller } = await userCaller(t.db, { clock });
    const groups: Awaited<ReturnType<typeof caller.prompts.create>>[] = [];
    for (let i = 0; i < 5; i += 1) {
      clock.advance(60_000);
      groups.push(await caller.prompts.create(create(`Prompt ${i}`)));
    }
    clock.advance(60_000);
    await caller.prompts.addVersion({ groupId: groups[1]!.id, ...iteration, optimizedPrompt: "iterated" });
    await caller.prompts.updateVersion({ id: groups[3]!.versions[0]!.id, favorite: true });
    await caller.prompts.create({ ...create("Waiting"), status: "enhancing" });

    const all = await caller.prompts.list({ limit: 100 });
    expect(all.items.map((g) => g.originalPrompt)).toEqual([
      "Waiting",
      "Prompt 4",
      "Prompt 3",
      "Prompt 2",
      "Prompt 1",
      "Prompt 0",
    ]);
    const one = all.items.find((g) => g.id === groups[1]!.id)!;
    expect(one.latestVersion).toMatchObject({ number: 2, optimizedPrompt: "iterated" });

    const seen = await idsOfAllPages((cursor) => caller.prompts.list({ limit: 4, cursor }));
    expect(seen).toEqual(all.items.map((g) => g.id));

    expect((await caller.prompts.list({ favorite: true })).items.map((g) => g.id)).toEqual([groups[3]!.id]);
    expect((await caller.prompts.list({ favorite: false })).items).toHaveLength(5);
    expect((await caller.prompts.list({ status: "enhancing" })).items.map((g) => g.originalPrompt)).toEqual([
      "Waiting",
    ]);
    expect((await caller.prompts.list({ q: "ITERATED" })).items.map((g) => g.id)).toEqual([groups[1]!.id]);
    expect((await caller.prompts.list({ q: "prompt 2" })).items.map((g) => g.id)).toEqual([groups[2]!.id]);
  });

  it("orders prompts created in the same millisecond by id, newest-first order kept across cursor pages", async () => {
    const clock = manualClock();
    const { caller } = await userCaller(t.db, { clock });
    const older = await caller.prompts.create(create("Older"));
    clock.advance(1);
    const tied = [];
    for (let i = 0; i < 4; i += 1) tied.push(await caller.prompts.create(create(`Tied ${i}`)));
    expect(new Set(tied.map((g) => g.createdAt.getTime())).size).toBe(1);
    // The tie-break is the id, descending: the newest time first, then the greater id.
    const expected = [
      ...tied
        .map((g) => g.id)
        .sort()
        .reverse(),
      older.id,
    ];
    expect((await caller.prompts.list({ limit: 100 })).items.map((g) => g.id)).toEqual(expected);
    expect(await idsOfAllPages((cursor) => caller.prompts.list({ limit: 1, cursor }))).toEqual(expected);
  });

  it("makes the group's status follow its latest version, at the version's revision", async () => {
    const { caller } = await userCaller(t.db);
    // The app's enhance flow: a pending first version, completed when the model has answered.
    const group = await caller.prompts.create({ ...create(), firstVersion: { ...firstVersion, status: "pending" } });
    expect(group.status).toBe("enhancing");
    const first = group.versions[0]!;
    const completed = await caller.prompts.updateVersion({
      id: first.id,
      optimizedPrompt: "Done",
      status: "completed",
    });
    expect(await caller.prompts.get({ id: group.id })).toMatchObject({ status: "completed", rev: completed.rev });

    // An iteration: pending → iterating, then error; a new status of an older version changes nothing.
    const v2 = await caller.prompts.addVersion({ groupId: group.id, ...iteration, status: "pending" });
    expect(await caller.prompts.get({ id: group.id })).toMatchObject({ status: "iterating", rev: v2.rev });
    const failed = await caller.prompts.updateVersion({ id: v2.id, status: "error" });
    expect(await caller.prompts.get({ id: group.id })).toMatchObject({ status: "error", rev: failed.rev });
    await caller.prompts.updateVersion({ id: first.id, status: "pending" });
    await caller.prompts.updateVersion({ id: v2.id, favorite: true });
    expect(await caller.prompts.get({ id: group.id })).toMatchObject({ status: "error", rev: failed.rev });
    const v3 = await caller.prompts.addVersion({ groupId: group.id, ...iteration });
    expect(await caller.prompts.get({ id: group.id })).toMatchObject({ status: "completed", rev: v3.rev });

    // A first version that failed; an explicit status at create is kept until a version says otherwise.
    expect(
      (await caller.prompts.create({ ...create(), firstVersion: { ...firstVersion, status: "error" } })).status,
    ).toBe("error");
    const idle = await caller.prompts.create({ ...create(), status: "idle" });
    expect(idle.status).toBe("idle");
    await caller.prompts.updateVersion({ id: idle.versions[0]!.id, status: "completed" });
    expect((await caller.prompts.get({ id: idle.id })).status).toBe("completed");
  });

  it("keeps the device's times, unless more than 5 minutes ahead of the server's clock", async () => {
    const clock = manualClock(new Date("2026-03-01T09:00:00Z"));
    const { caller } = await userCaller(t.db, { clock });
    const written = new Date("2026-02-27T18:30:00Z");
    const offline = await caller.prompts.create({ ...create(), createdAt: written });
    // The first version's time defaults to the group's, and its createdAt follows its timestamp.
    expect(offline.createdAt).toEqual(written);
    expect(offline.versions[0]).toMatchObject({ timestamp: written, createdAt: written });
    const later = new Date(written.getTime() + 60_000);
    const v2 = await caller.prompts.addVersion({ groupId: offline.id, ...iteration, timestamp: later });
    expect(v2).toMatchObject({ timestamp: later, createdAt: later });

    const ahead = new Date(clock.now().getTime() + 5 * 60_000);
    const drifting = await caller.prompts.create({ ...create(), firstVersion: { ...firstVersion, timestamp: ahead } });
    expect(drifting).toMatchObject({ createdAt: ahead, versions: [{ timestamp: ahead, createdAt: ahead }] });
    const future = await caller.prompts.create({
      ...create(),
      createdAt: new Date("2030-01-01T00:00:00Z"),
      firstVersion: { ...firstVersion, timestamp: new Date(ahead.getTime() + 1) },
    });
    expect(future).toMatchObject({ createdAt: clock.now(), versions: [{ timestamp: clock.now() }] });

    // Listed by when they were written: the offline prompt sorts before the others.
    const listed = await caller.prompts.list({});
    expect(listed.items.map((item) => item.id).at(-1)).toBe(offline.id);
  });

  it("deletes a group and its versions as tombstones", async () => {
    const { caller } = await userCaller(t.db);
    const group = await caller.prompts.create(create());
    const v2 = await caller.prompts.addVersion({ groupId: group.id, ...iteration });
    const deleted = await caller.prompts.delete({ id: group.id });
    expect(deleted).toMatchObject({ id: group.id, deleted: true });
    await expectAppError(caller.prompts.get({ id: group.id }), "NOT_FOUND");
    await expectAppError(caller.prompts.version({ id: v2.id }), "NOT_FOUND");
    await expectAppError(caller.prompts.versions({ groupId: group.id }), "NOT_FOUND");
    await expectAppError(caller.prompts.addVersion({ groupId: group.id, ...iteration }), "NOT_FOUND");
    await expectAppError(caller.prompts.updateVersion({ id: v2.id, favorite: true }), "NOT_FOUND");
    expect((await caller.prompts.list({})).items.map((g) => g.id)).not.toContain(group.id);
    const rows = await t.db.prisma.promptVersion.findMany({ where: { groupId: group.id } });
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ deletedAt: expect.any(Date), rev: deleted.rev });
  });

  it("makes creates with client ids idempotent, and a different content CONFLICT", async () => {
    const { caller, user } = await userCaller(t.db);
    const id = randomUUID();
    const versionId = randomUUID();
    const input = { id, originalPrompt: "Same", firstVersion: { ...firstVersion, id: versionId } };
    const first = await caller.prompts.create(input);
    expect(first.id).toBe(id);
    expect(first.versions[0]!.id).toBe(versionId);
    expect(await caller.prompts.create(input)).toEqual(first);
    await expectAppError(caller.prompts.create({ ...input, originalPrompt: "Different" }), "CONFLICT");
    await expectAppError(
      caller.prompts.create({ ...input, firstVersion: { ...input.firstVersion, modelId: "m2" } }),
      "CONFLICT",
    );
    expect(await t.db.prisma.promptGroup.count({ where: { userId: user.id } })).toBe(1);

    const addId = randomUUID();
    const v2 = await caller.prompts.addVersion({ groupId: id, id: addId, ...iteration });
    expect(await caller.prompts.addVersion({ groupId: id, id: addId, ...iteration })).toEqual(v2);
    await expectAppError(
      caller.prompts.addVersion({ groupId: id, id: addId, ...iteration, optimizedPrompt: "other" }),
      "CONFLICT",
    );
    expect((await caller.prompts.get({ id })).currentVersionNumber).toBe(2);

    const other = await userCaller(t.db);
    await expectAppError(other.caller.prompts.create(input), "CONFLICT");
  });

  it("keeps another user's history NOT_FOUND for every procedure", async () => {
    const owner = await userCaller(t.db);
    const other = await userCaller(t.db);
    const group = await owner.caller.prompts.create(create("Private"));
    const version = group.versions[0]!;
    await expectAppError(other.caller.prompts.get({ id: group.id }), "NOT_FOUND");
    await expectAppError(other.caller.prompts.versions({ groupId: group.id }), "NOT_FOUND");
    await expectAppError(other.caller.prompts.addVersion({ groupId: group.id, ...iteration }), "NOT_FOUND");
    await expectAppError(other.caller.prompts.version({ id: version.id }), "NOT_FOUND");
    await expectAppError(other.caller.prompts.updateVersion({ id: version.id, favorite: true }), "NOT_FOUND");
    await expectAppError(other.caller.prompts.delete({ id: group.id }), "NOT_FOUND");
    expect((await other.caller.prompts.list({})).items).toHaveLength(0);
    expect((await owner.caller.prompts.get({ id: group.id })).versions[0]).toEqual(version);
  });

  it("is UNAUTHORIZED without a session, for every procedure", async () => {
    const anonymous = createCaller(testContext(t.db));
    const id = randomUUID();
    await expectAppError(anonymous.prompts.list({}), "UNAUTHORIZED");
    await expectAppError(anonymous.prompts.create(create()), "UNAUTHORIZED");
    await expectAppError(anonymous.prompts.get({ id }), "UNAUTHORIZED");
    await expectAppError(anonymous.prompts.delete({ id }), "UNAUTHORIZED");
    await expectAppError(anonymous.prompts.versions({ groupId: id }), "UNAUTHORIZED");
    await expectAppError(anonymous.prompts.addVersion({ groupId: id, ...iteration }), "UNAUTHORIZED");
    await expectAppError(anonymous.prompts.version({ id }), "UNAUTHORIZED");
    await expectAppError(anonymous.prompts.updateVersion({ id, favorite: true }), "UNAUTHORIZED");
  });

  describe("bad input", () => {
    const id = randomUUID();
    it.each([
      ["create", "originalPrompt", { firstVersion }],
      ["create", "originalPrompt", { originalPrompt: "", firstVersion }],
      ["create", "originalPrompt", { originalPrompt: "p".repeat(PROMPT_MAX + 1), firstVersion }],
      ["create", "originalPrompt", { originalPrompt: ["p"], firstVersion }],
      ["create", "status", { ...create(), status: "done" }],
      ["create", "id", { ...create(), id: "mgqba7eok9p34y6n3wd" }],
      ["create", "firstVersion", { originalPrompt: "p" }],
      ["create", "firstVersion.modelId", { originalPrompt: "p", firstVersion: { ...firstVersion, modelId: "" } }],
      [
        "create",
        "firstVersion.provider",
        { originalPrompt: "p", firstVersion: { ...firstVersion, provider: undefined } },
      ],
      [
        "create",
        "firstVersion.modelName",
        { originalPrompt: "p", firstVersion: { ...firstVersion, modelName: "m".repeat(201) } },
      ],
      [
        "create",
        "firstVersion.optimizedPrompt",
        { originalPrompt: "p", firstVersion: { ...firstVersion, optimizedPrompt: 1 } },
      ],
      [
        "create",
        "firstVersion.status",
        { originalPrompt: "p", firstVersion: { ...firstVersion, status: "iterating" } },
      ],
      ["create", "firstVersion.favorite", { originalPrompt: "p", firstVersion: { ...firstVersion, favorite: "true" } }],
      ["create", "firstVersion.tags", { originalPrompt: "p", firstVersion: { ...firstVersion, tags: [1] } }],
      ["create", "firstVersion.id", { originalPrompt: "p", firstVersion: { ...firstVersion, id: "x" } }],
      ["addVersion", "groupId", { ...iteration, groupId: "x" }],
      ["addVersion", "optimizedPrompt", { groupId: id, ...iteration, optimizedPrompt: undefined }],
      ["addVersion", "iterationDirection", { groupId: id, ...iteration, iterationDirection: "d".repeat(10_001) }],
      ["addVersion", "reasoning", { groupId: id, ...iteration, reasoning: 3 }],
      ["addVersion", "status", { groupId: id, ...iteration, status: "idle" }],
      ["create", "createdAt", { ...create(), createdAt: "yesterday" }],
      ["create", "createdAt", { ...create(), createdAt: "2026-01-01T00:00:00" }],
      ["create", "firstVersion.timestamp", { originalPrompt: "p", firstVersion: { ...firstVersion, timestamp: 0 } }],
      ["addVersion", "timestamp", { groupId: id, ...iteration, timestamp: "0000-01-01T00:00:00Z" }],
      ["addVersion", "timestamp", { groupId: id, ...iteration, timestamp: new Date("x") }],
      ["updateVersion", "id", { id: "", favorite: true }],
      ["updateVersion", "favorite", { id, favorite: 1 }],
      ["updateVersion", "status", { id, status: "enhancing" }],
      ["updateVersion", "tags", { id, tags: ["x".repeat(41)] }],
      ["get", "id", { id: "1" }],
      ["delete", "id", {}],
      ["version", "id", { id: null }],
      ["versions", "groupId", { groupId: "g" }],
      ["versions", "cursor", { groupId: id, cursor: "!!" }],
      ["list", "status", { status: "finished" }],
      ["list", "favorite", { favorite: "maybe" }],
      ["list", "limit", { limit: 1000 }],
      ["list", "cursor", { cursor: "e30" }],
    ] as const)("%s: a bad %s is BAD_REQUEST naming it", async (procedure, field, input) => {
      const { caller } = await userCaller(t.db);
      await expectAppError(
        (caller.prompts[procedure] as (input: unknown) => Promise<unknown>)(input),
        "BAD_REQUEST",
        field,
      );
    });
  });
});
