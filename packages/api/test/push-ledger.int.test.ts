// sync.push answers every mutation on its own and applies each exactly once: its mutationId's answer is kept
// in the ledger (SyncMutation), written in the same transaction as the change.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { pruneTombstones } from "../src/sync/prune.ts";
import type { PushMutationInput, PushResult } from "../src/sync/schemas.ts";
import { manualClock, userCaller } from "./support/context.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

type Caller = Awaited<ReturnType<typeof userCaller>>["caller"];
type Envelope = { mutationId: string; op: string; input: unknown };

const version = { optimizedPrompt: "Better prompt", modelId: "openai", provider: "OpenAI", modelName: "gpt-4o-mini" };

const mutation = (op: PushMutationInput["op"], input: Record<string, unknown>): Envelope => ({
  mutationId: randomUUID(),
  op,
  input,
});
const push = (caller: Caller, mutations: Envelope[]) => caller.sync.push({ mutations });

/** What the server holds for the user: the revision counter, every row (tombstones too) and the ledger. */
async function stateOf(userId: string) {
  const db = t.db.prisma;
  const where = { where: { userId } };
  return {
    revision: (await db.user.findUniqueOrThrow({ where: { id: userId }, select: { revision: true } })).revision,
    templates: await db.template.findMany({ ...where, orderBy: { id: "asc" } }),
    groups: await db.promptGroup.findMany({ ...where, orderBy: { id: "asc" } }),
    versions: await db.promptVersion.findMany({ ...where, orderBy: { id: "asc" } }),
    settings: await db.userSettings.findMany(where),
    ledger: await db.syncMutation.findMany({ ...where, orderBy: { mutationId: "asc" } }),
  };
}

const statuses = (results: PushResult[]) => results.map((result) => result.status);

describe("sync.push, one mutation at a time", () => {
  it("applies the valid mutations around refused ones and names each refused one's fields", async () => {
    const { caller, user } = await userCaller(t.db);
    const first = mutation("template.create", { id: randomUUID(), name: "First", content: "c" });
    const apiKey = mutation("settings.update", {
      settingsData: { "model-settings": { state: { configs: { openai: { apiKey: "sk-live-123" } } } } },
    });
    const unknownOp: Envelope = { mutationId: randomUUID(), op: "template.explode", input: {} };
    const badInput = mutation("prompt.create", { originalPrompt: "", firstVersion: { ...version, status: "done" } });
    const last = mutation("template.create", { id: randomUUID(), name: "Last", content: "c" });
    const { results } = await push(caller, [first, apiKey, unknownOp, badInput, last]);

    expect(results.map((result) => [result.mutationId, result.status])).toEqual([
      [first.mutationId, "applied"],
      [apiKey.mutationId, "rejected"],
      [unknownOp.mutationId, "rejected"],
      [badInput.mutationId, "rejected"],
      [last.mutationId, "applied"],
    ]);
    const [, refusedKey, refusedOp, refusedInput] = results;
    const path = "settingsData.model-settings.state.configs.openai.apiKey";
    expect(refusedKey).toMatchObject({ error: { code: "BAD_REQUEST", fieldErrors: { [path]: [expect.any(String)] } } });
    if (refusedKey?.status !== "rejected") throw new Error("expected a rejection");
    expect(refusedKey.error.message).toContain(path);
    expect(refusedOp).toMatchObject({ error: { code: "BAD_REQUEST", fieldErrors: { op: [expect.any(String)] } } });
    expect(refusedInput).toMatchObject({ error: { code: "BAD_REQUEST" } });
    if (refusedInput?.status !== "rejected") throw new Error("expected a rejection");
    expect(Object.keys(refusedInput.error.fieldErrors ?? {}).sort()).toEqual([
      "firstVersion.status",
      "id",
      "originalPrompt",
    ]);

    const names = await t.db.prisma.template.findMany({ where: { userId: user.id }, select: { name: true } });
    expect(names.map((row) => row.name).sort()).toEqual(["First", "Last"]);
    // The settings were never written: no row, and two revisions only (the two templates).
    expect(await t.db.prisma.userSettings.count({ where: { userId: user.id } })).toBe(0);
    expect((await stateOf(user.id)).revision).toBe(2);
  });

  it("answers a service's refusal by its code, a CONFLICT with the row as it is now", async () => {
    const { caller } = await userCaller(t.db);
    const id = randomUUID();
    const create = mutation("template.create", { id, name: "Mine", content: "c" });
    const stale = mutation("template.update", { id, name: "Stale", baseRev: 0 });
    const takenOtherContent = mutation("template.create", { id, name: "Other", content: "x" });
    const missing = mutation("prompt.delete", { id: randomUUID() });
    const deletedGroup = randomUUID();
    const createGroup = mutation("prompt.create", { id: deletedGroup, originalPrompt: "p", firstVersion: version });
    const deleteGroup = mutation("prompt.delete", { id: deletedGroup });
    const recreate = mutation("prompt.create", { id: deletedGroup, originalPrompt: "p", firstVersion: version });
    const { results } = await push(caller, [
      create,
      stale,
      takenOtherContent,
      missing,
      createGroup,
      deleteGroup,
      recreate,
    ]);
    expect(statuses(results)).toEqual([
      "applied",
      "conflict",
      "conflict",
      "rejected",
      "applied",
      "applied",
      "conflict",
    ]);
    const rev = results[0]!.status === "applied" ? results[0]!.rev : -1;
    for (const conflict of [results[1], results[2]]) {
      expect(conflict).toMatchObject({
        error: { code: "CONFLICT" },
        current: { entity: "template", id, rev, deleted: false, data: { name: "Mine", rev } },
      });
    }
    expect(results[3]).toMatchObject({ error: { code: "NOT_FOUND", message: "Prompt not found" } });
    // Settings: the current row from the service's CONFLICT, as a change of the settings entity.
    const dark = await push(caller, [mutation("settings.update", { theme: "dark" })]);
    const darkRev = dark.results[0]!.status === "applied" ? dark.results[0]!.rev : -1;
    const staleTheme = await push(caller, [mutation("settings.update", { theme: "system", baseRev: darkRev - 1 })]);
    expect(staleTheme.results[0]).toMatchObject({
      status: "conflict",
      current: { entity: "settings", rev: darkRev, deleted: false, data: { theme: "dark" } },
    });
    // A create of a deleted id: the current row is its tombstone.
    const deletedAt = results[5]!.status === "applied" ? results[5]!.rev : -1;
    expect(results[6]).toMatchObject({
      current: { entity: "promptGroup", id: deletedGroup, rev: deletedAt, deleted: true },
    });
  });
});

describe("sync.push, exactly once by mutationId", () => {
  it("answers a resent batch of every op with the recorded results and writes nothing", async () => {
    const { caller, user } = await userCaller(t.db);
    const template = randomUUID();
    const doomedTemplate = randomUUID();
    const group = randomUUID();
    const doomedGroup = randomUUID();
    const v2 = randomUUID();
    const batch = [
      mutation("template.create", { id: template, name: "Offline", content: "c" }),
      mutation("template.create", { id: doomedTemplate, name: "Doomed", content: "c" }),
      mutation("template.update", { id: template, name: "Renamed" }),
      mutation("template.update", { id: template, name: "Stale", baseRev: 0 }),
      mutation("template.delete", { id: doomedTemplate }),
      mutation("prompt.create", { id: group, originalPrompt: "p", firstVersion: { ...version, status: "pending" } }),
      mutation("prompt.addVersion", { id: v2, groupId: group, ...version, optimizedPrompt: "v2" }),
      mutation("prompt.updateVersion", { id: v2, favorite: true }),
      mutation("prompt.create", { id: doomedGroup, originalPrompt: "q", firstVersion: version }),
      mutation("prompt.delete", { id: doomedGroup }),
      mutation("prompt.delete", { id: randomUUID() }),
      mutation("settings.update", { theme: "dark" }),
      mutation("settings.update", { theme: "bright" }),
    ];
    const first = await push(caller, batch);
    expect(statuses(first.results)).toEqual([
      "applied",
      "applied",
      "applied",
      "conflict",
      "applied",
      "applied",
      "applied",
      "applied",
      "applied",
      "applied",
      "rejected",
      "applied",
      "rejected",
    ]);
    expect(first.results[5]).toMatchObject({ number: 1 });
    expect(first.results[6]).toMatchObject({ number: 2 });
    const before = await stateOf(user.id);
    expect(before.ledger).toHaveLength(batch.length);

    const again = await push(caller, batch);
    expect(again).toEqual(first);
    expect(await stateOf(user.id)).toEqual(before);

    // Resent one at a time, in another order, mixed with a new one: the same answers, only the new one applies.
    const fresh = mutation("template.update", { id: template, name: "Fresh" });
    const mixed = await push(caller, [batch[6]!, fresh, batch[0]!]);
    expect(mixed.results[0]).toEqual(first.results[6]);
    expect(mixed.results[1]).toMatchObject({ status: "applied", rev: before.revision + 1 });
    expect(mixed.results[2]).toEqual(first.results[0]);
    expect((await stateOf(user.id)).revision).toBe(before.revision + 1);
  });

  it("answers a mutationId repeated inside one batch with the first one's answer", async () => {
    const { caller, user } = await userCaller(t.db);
    const id = randomUUID();
    const update = mutation("template.update", { id, name: "Twice" });
    const { results } = await push(caller, [
      mutation("template.create", { id, name: "Once", content: "c" }),
      update,
      { ...update, input: { id, name: "Changed its mind" } },
    ]);
    expect(results[2]).toEqual(results[1]);
    expect((await stateOf(user.id)).revision).toBe(2);
    expect((await t.db.prisma.template.findUniqueOrThrow({ where: { id } })).name).toBe("Twice");
  });

  it("records a create that found its row already there (no write) as applied", async () => {
    const { caller, user } = await userCaller(t.db);
    const group = await caller.prompts.create({ id: randomUUID(), originalPrompt: "p", firstVersion: version });
    const create = mutation("prompt.create", { id: group.id, originalPrompt: "p", firstVersion: version });
    const { results } = await push(caller, [create]);
    expect(results).toEqual([{ mutationId: create.mutationId, status: "applied", rev: group.rev, number: 1 }]);
    expect(await t.db.prisma.syncMutation.count({ where: { userId: user.id } })).toBe(1);
  });

  it("applies a mutation pushed by several devices at once exactly once", async () => {
    const { caller, user } = await userCaller(t.db);
    const template = await caller.templates.create({ name: "Shared", content: "c" });
    const group = await caller.prompts.create({ originalPrompt: "p", firstVersion: version });
    const before = await stateOf(user.id);
    const batch = [
      // Neither is idempotent by itself: each application would take a revision, the second a version number.
      mutation("template.update", { id: template.id, name: "Renamed" }),
      mutation("prompt.addVersion", { id: randomUUID(), groupId: group.id, ...version, optimizedPrompt: "v2" }),
      mutation("settings.update", { theme: "dark" }),
    ];
    const answers = await Promise.all(Array.from({ length: 6 }, () => push(caller, batch)));
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(statuses(answers[0]!.results)).toEqual(["applied", "applied", "applied"]);
    const after = await stateOf(user.id);
    expect(after.revision).toBe(before.revision + 3);
    expect(after.versions).toHaveLength(2);
    expect(after.ledger).toHaveLength(3);
  });

  it("prunes ledger rows with the tombstones; a pruned mutationId is new again", async () => {
    const clock = manualClock(new Date(Date.now() - 3 * 86_400_000));
    const { caller, user } = await userCaller(t.db, { clock });
    const id = randomUUID();
    const old = mutation("template.create", { id, name: "Old", content: "c" });
    await push(caller, [old]);
    clock.advance(3 * 86_400_000);
    const recent = mutation("template.update", { id, name: "Recent" });
    await push(caller, [recent]);

    const pruned = await pruneTombstones(t.db.prisma, new Date(Date.now() - 86_400_000));
    expect(pruned.mutations).toBeGreaterThanOrEqual(1);
    const left = await t.db.prisma.syncMutation.findMany({ where: { userId: user.id }, select: { mutationId: true } });
    expect(left.map((row) => row.mutationId)).toEqual([recent.mutationId]);

    // The old create, sent again, finds its row (another content now): an ordinary conflict, recorded anew.
    const { results } = await push(caller, [old]);
    expect(results[0]).toMatchObject({ status: "conflict", current: { data: { name: "Recent" } } });
  });
});

describe("sync.push of prompts written offline", () => {
  it("keeps device times, replaces those over 5 minutes ahead with the server's and says which", async () => {
    const clock = manualClock(new Date("2026-06-01T12:00:00Z"));
    const { caller } = await userCaller(t.db, { clock });
    const kept = randomUUID();
    const clamped = randomUUID();
    const written = new Date("2026-05-30T08:00:00Z");
    const { results } = await push(caller, [
      mutation("prompt.create", {
        id: kept,
        originalPrompt: "p",
        createdAt: written,
        firstVersion: { ...version, timestamp: new Date(written.getTime() + 1_000) },
      }),
      // Serialised by a device's queue as JSON: ISO strings. 4 minutes ahead is a clock's drift, kept.
      mutation("prompt.addVersion", {
        id: randomUUID(),
        groupId: kept,
        ...version,
        timestamp: "2026-06-01T12:04:00.000Z",
      }),
      mutation("prompt.create", {
        id: clamped,
        originalPrompt: "q",
        createdAt: "2026-06-01T14:00:00+02:00",
        firstVersion: { ...version, timestamp: "2027-01-01T00:00:00Z" },
      }),
      mutation("prompt.addVersion", {
        id: randomUUID(),
        groupId: clamped,
        ...version,
        timestamp: "2026-06-01T12:06:00Z",
      }),
    ]);
    expect(results.map((result) => (result.status === "applied" ? (result.adjusted ?? []) : result.status))).toEqual([
      [],
      [],
      ["firstVersion.timestamp"],
      ["timestamp"],
    ]);

    const first = await caller.prompts.get({ id: kept });
    expect(first.createdAt).toEqual(written);
    expect(first.versions.map((v) => [v.timestamp.toISOString(), v.createdAt.toISOString()])).toEqual([
      ["2026-05-30T08:00:01.000Z", "2026-05-30T08:00:01.000Z"],
      ["2026-06-01T12:04:00.000Z", "2026-06-01T12:04:00.000Z"],
    ]);
    const second = await caller.prompts.get({ id: clamped });
    // 14:00+02:00 is the server's noon: kept.
    expect(second.createdAt).toEqual(clock.now());
    expect(second.versions.map((v) => v.timestamp)).toEqual([clock.now(), clock.now()]);
  });

  it("gives two offline 'version 2's the numbers 2 and 3, each device learning its own from its result", async () => {
    const { caller } = await userCaller(t.db);
    const group = randomUUID();
    await push(caller, [mutation("prompt.create", { id: group, originalPrompt: "p", firstVersion: version })]);
    const fromLaptop = mutation("prompt.addVersion", { id: randomUUID(), groupId: group, ...version });
    const fromPhone = mutation("prompt.addVersion", { id: randomUUID(), groupId: group, ...version });
    const laptop = await push(caller, [fromLaptop]);
    const phone = await push(caller, [fromPhone]);
    expect(laptop.results[0]).toMatchObject({ status: "applied", number: 2 });
    expect(phone.results[0]).toMatchObject({ status: "applied", number: 3 });
    // The phone resends (its answer was lost): still 3.
    expect((await push(caller, [fromPhone])).results).toEqual(phone.results);
  });

  it("ends the app's enhance flow with a completed group", async () => {
    const { caller } = await userCaller(t.db);
    const group = randomUUID();
    const first = randomUUID();
    const { results } = await push(caller, [
      mutation("prompt.create", {
        id: group,
        originalPrompt: "p",
        firstVersion: { ...version, id: first, optimizedPrompt: "__PENDING__", status: "pending" },
      }),
    ]);
    expect((await caller.prompts.get({ id: group })).status).toBe("enhancing");
    const done = await push(caller, [
      mutation("prompt.updateVersion", { id: first, optimizedPrompt: "Final", status: "completed" }),
    ]);
    const prompt = await caller.prompts.get({ id: group });
    expect(prompt.status).toBe("completed");
    // The group moved with its version, at the same revision.
    expect(done.results[0]).toMatchObject({ status: "applied", rev: prompt.rev });
    expect(prompt.rev).toBeGreaterThan(results[0]!.status === "applied" ? results[0]!.rev : Infinity);
  });
});
