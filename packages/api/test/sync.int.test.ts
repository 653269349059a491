import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { createLocalChangeEvents } from "../src/lib/events.ts";
import { pruneTombstones } from "../src/sync/prune.ts";
import type { SyncChange } from "../src/sync/schemas.ts";
import { revisionSignals } from "../src/sync/signals.ts";
import { manualClock, userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

type Caller = Awaited<ReturnType<typeof userCaller>>["caller"];

const version = { optimizedPrompt: "Better prompt", modelId: "openai", provider: "OpenAI", modelName: "gpt-4o-mini" };
const newPrompt = (caller: Caller, text = "Write a haiku") =>
  caller.prompts.create({ originalPrompt: text, firstVersion: version });

/** A device's local copy: applies pulled changes the way a client would. */
function replica() {
  const rows = new Map<string, SyncChange>();
  let cursor: number | undefined;
  return {
    rows,
    get cursor() {
      return cursor;
    },
    async syncWith(caller: Caller, limit?: number) {
      const seen: number[] = [];
      for (;;) {
        const page = await caller.sync.pull({ since: cursor, limit });
        for (const change of page.changes) {
          // Every change is newer than what this device had, and pages come in revision order.
          expect(change.rev).toBeGreaterThan(cursor ?? 0);
          expect(change.rev).toBeLessThanOrEqual(page.cursor);
          seen.push(change.rev);
          const key = `${change.entity}:${change.id}`;
          if (change.deleted) rows.delete(key);
          else rows.set(key, change);
        }
        expect(page.cursor).toBeGreaterThanOrEqual(cursor ?? 0);
        cursor = page.cursor;
        if (!page.hasMore) return seen;
      }
    },
  };
}

async function snapshot(caller: Caller): Promise<Map<string, SyncChange>> {
  const fresh = replica();
  await fresh.syncWith(caller);
  return fresh.rows;
}

describe("sync.pull", () => {
  it("gives a full snapshot, then only what changed, in revision order, with tombstones for deletes", async () => {
    const { caller } = await userCaller(t.db);
    const template = await caller.templates.create({ name: "Mine", content: "You are…" });
    const prompt = await newPrompt(caller);

    const first = await caller.sync.pull();
    expect(first.hasMore).toBe(false);
    expect(first.changes.map((c) => [c.entity, c.rev])).toEqual([
      ["template", template.rev],
      ["promptGroup", prompt.rev],
      ["promptVersion", prompt.rev],
    ]);
    const group = first.changes[1]!;
    expect(group.deleted).toBe(false);
    if (!group.deleted) expect(group.data).toMatchObject({ id: prompt.id, originalPrompt: "Write a haiku" });
    expect(first.cursor).toBe(prompt.rev);

    const updated = await caller.templates.update({ id: template.id, name: "Renamed", baseRev: template.rev });
    await caller.prompts.delete({ id: prompt.id });
    const next = await caller.sync.pull({ since: first.cursor });
    expect(next.changes.map((c) => [c.entity, c.deleted])).toEqual([
      ["template", false],
      ["promptGroup", true],
      ["promptVersion", true],
    ]);
    expect(next.changes[0]).toMatchObject({ data: { name: "Renamed", rev: updated.rev } });
    expect(next.changes[1]).not.toHaveProperty("data");

    // Nothing new: the cursor stays, and a snapshot no longer shows deleted rows.
    expect(await caller.sync.pull({ since: next.cursor })).toEqual({
      changes: [],
      cursor: next.cursor,
      hasMore: false,
    });
    expect((await caller.sync.pull()).changes.map((c) => c.entity)).toEqual(["template"]);
  });

  it("pages on whole revisions: a group and its first version never land on different pages", async () => {
    const { caller } = await userCaller(t.db);
    for (let i = 0; i < 5; i++) await newPrompt(caller, `prompt ${i}`);
    const pages: SyncChange[][] = [];
    let since: number | undefined;
    for (;;) {
      const page: Awaited<ReturnType<Caller["sync"]["pull"]>> = await caller.sync.pull({ since, limit: 3 });
      pages.push(page.changes);
      since = page.cursor;
      if (!page.hasMore) break;
    }
    // 3 rows per page would split a revision (2 rows each): every page holds one whole revision instead.
    expect(pages.map((page) => page.length)).toEqual([2, 2, 2, 2, 2]);
    for (const page of pages) expect(new Set(page.map((c) => c.rev)).size).toBe(1);

    // A revision larger than the page goes out whole.
    const one = await caller.sync.pull({ limit: 1 });
    expect(one.changes).toHaveLength(2);
    expect(one.hasMore).toBe(true);
  });

  it("never skips a revision with 10 concurrent writers and a puller in a loop", async () => {
    const { caller } = await userCaller(t.db);
    const device = replica();
    let writing = true;
    const puller = (async () => {
      while (writing) await device.syncWith(caller, 7);
    })();
    await Promise.all(
      Array.from({ length: 10 }, async (_, writer) => {
        for (let i = 0; i < 6; i++) {
          const prompt = await newPrompt(caller, `writer ${writer} #${i}`);
          if (i % 2 === 0) await caller.prompts.addVersion({ groupId: prompt.id, ...version, optimizedPrompt: "v2" });
          if (i % 3 === 0) await caller.prompts.delete({ id: prompt.id });
        }
      }),
    );
    writing = false;
    await puller;
    await device.syncWith(caller);
    const server = await snapshot(caller);
    expect(server.size).toBeGreaterThan(0);
    expect(new Map([...device.rows].sort())).toEqual(new Map([...server].sort()));
  });

  it("answers a cursor older than the pruned tombstones with reset required; snapshots still work", async () => {
    const clock = manualClock(new Date());
    const { caller, user } = await userCaller(t.db, { clock });
    const keep = await caller.templates.create({ name: "Keep", content: "x" });
    const gone = await caller.templates.create({ name: "Gone", content: "y" });
    const before = await caller.sync.pull();
    await caller.templates.delete({ id: gone.id });
    for (let i = 0; i < 3; i++) await newPrompt(caller, `p${i}`);

    // Nothing is old enough yet: the tombstone stays and old cursors work.
    expect((await pruneTombstones(t.db.prisma, new Date(Date.now() - 60_000))).removed).toBe(0);
    await caller.sync.pull({ since: before.cursor });

    const pruned = await pruneTombstones(t.db.prisma, new Date(Date.now() + 60_000));
    expect(pruned.removed).toBeGreaterThanOrEqual(1);
    expect(await t.db.prisma.template.findUnique({ where: { id: gone.id } })).toBeNull();
    const { syncHorizon } = await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(syncHorizon).toBeGreaterThan(before.cursor);

    const error = await expectAppError(caller.sync.pull({ since: before.cursor }), "CONFLICT");
    expect(error.message).toMatch(/reset required/i);
    expect(error.details).toMatchObject({ resetRequired: true, horizon: syncHorizon });

    // Starting over: a snapshot paged past the horizon (continued with `snapshot: true`) completes.
    const first = await caller.sync.pull({ limit: 2 });
    expect(first.hasMore).toBe(true);
    expect(first.cursor).toBeLessThan(syncHorizon);
    const rest = await caller.sync.pull({ since: first.cursor, snapshot: true });
    const names = [...first.changes, ...rest.changes].flatMap((c) =>
      c.entity === "template" && !c.deleted ? [c.data.name] : [],
    );
    expect(names).toEqual([keep.name]);
    // And from a fresh cursor, incremental pulls work again.
    expect((await caller.sync.pull({ since: rest.cursor })).changes).toEqual([]);
  });

  it("answers a cursor from the future (a restored database) with reset required", async () => {
    const { caller } = await userCaller(t.db);
    const error = await expectAppError(caller.sync.pull({ since: 99 }), "CONFLICT");
    expect(error.details).toMatchObject({ resetRequired: true, revision: 0 });
  });

  it("names a bad field", async () => {
    const { caller } = await userCaller(t.db);
    await expectAppError(caller.sync.pull({ since: -1 }), "BAD_REQUEST", "since");
    await expectAppError(caller.sync.pull({ limit: 5_000 }), "BAD_REQUEST", "limit");
  });
});

describe("revision signals", () => {
  /** The revisions the user's event stream would be sent, until `abort`. */
  const signalsOf = (who: Awaited<ReturnType<typeof userCaller>>, abort: AbortController) =>
    revisionSignals(
      { db: t.db.prisma, events: who.ctx.events },
      { userId: who.user.id, sessionId: who.ctx.auth!.session.id },
      abort.signal,
    );

  it("sends the current revision on connect, then each newer one of that user only", async () => {
    const events = createLocalChangeEvents();
    const alice = await userCaller(t.db, { events });
    const bob = await userCaller(t.db, { events });
    await newPrompt(alice.caller);
    const abort = new AbortController();
    const signals = signalsOf(alice, abort);

    const first = await signals.next();
    expect(first.value).toBe(1);
    await newPrompt(bob.caller);
    const next = signals.next();
    const created = await alice.caller.templates.create({ name: "t", content: "c" });
    expect((await next).value).toBe(created.rev);

    // A stale or repeated signal is not sent again.
    void events.publish({ userId: alice.user.id, revision: 1 });
    const pending = signals.next();
    abort.abort();
    expect((await pending).done).toBe(true);
  });

  it("never lets a stale signal hide a newer one the device has not been sent yet", async () => {
    const events = createLocalChangeEvents();
    const alice = await userCaller(t.db, { events });
    await newPrompt(alice.caller);
    const abort = new AbortController();
    const signals = signalsOf(alice, abort);
    expect((await signals.next()).value).toBe(1);
    // While the device is busy (no next() pending): a write, then a late copy of an old signal.
    const created = await alice.caller.templates.create({ name: "t", content: "c" });
    void events.publish({ userId: alice.user.id, revision: 1 });
    void events.publish({ userId: alice.user.id, revision: created.rev });
    void events.publish({ userId: alice.user.id, revision: 1 });
    const pending = signals.next();
    abort.abort();
    expect(await pending).toEqual({ value: created.rev, done: false });
  });
});

describe("sync.push", () => {
  it("applies offline writes in order, each once even when the batch is sent again, and reports each", async () => {
    const { caller, user } = await userCaller(t.db);
    const templateId = crypto.randomUUID();
    const groupId = crypto.randomUUID();
    const versionId = crypto.randomUUID();
    const batch = {
      mutations: [
        { mutationId: "m1", op: "template.create", input: { id: templateId, name: "Offline", content: "c" } },
        { mutationId: "m2", op: "template.update", input: { id: templateId, name: "Renamed", baseRev: 0 } },
        { mutationId: "m3", op: "prompt.create", input: { id: groupId, originalPrompt: "p", firstVersion: version } },
        {
          mutationId: "m4",
          op: "prompt.addVersion",
          input: { id: versionId, groupId, ...version, optimizedPrompt: "v2", iterationDirection: "shorter" },
        },
        { mutationId: "m5", op: "prompt.delete", input: { id: groupId } },
        { mutationId: "m6", op: "settings.update", input: { theme: "dark" } },
      ],
    };
    const first = await caller.sync.push(batch);
    // m2 names a revision the template never had at that point (0): a stale write is a conflict, not an overwrite.
    expect(first.results.map((r) => [r.mutationId, r.status])).toEqual([
      ["m1", "applied"],
      ["m2", "conflict"],
      ["m3", "applied"],
      ["m4", "applied"],
      ["m5", "applied"],
      ["m6", "applied"],
    ]);
    expect(first.results[1]).toMatchObject({
      error: { code: "CONFLICT" },
      current: { entity: "template", id: templateId, deleted: false, data: { name: "Offline" } },
    });
    expect(first.results[2]).toMatchObject({ number: 1 });
    expect(first.results[3]).toMatchObject({ number: 2 });

    const { revision } = await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    // The replay answers what the first push answered, and writes nothing.
    expect(await caller.sync.push(batch)).toEqual(first);
    expect((await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).revision).toBe(revision);
    expect(await t.db.prisma.template.count({ where: { userId: user.id } })).toBe(1);
    expect(await t.db.prisma.promptVersion.count({ where: { groupId } })).toBe(2);

    // The device resolves the conflict with the current rev: a new mutation, applied once.
    const rev = first.results[0]!.status === "applied" ? first.results[0]!.rev : -1;
    const update = {
      mutations: [
        { mutationId: "u1", op: "template.update", input: { id: templateId, name: "Renamed", baseRev: rev } },
      ],
    };
    const applied = (await caller.sync.push(update)).results[0]!;
    expect(applied).toMatchObject({ status: "applied", rev: revision + 1 });
    expect((await caller.sync.push(update)).results[0]).toEqual(applied);
  });

  it("rejects a create without a client id by its mutationId, naming the field", async () => {
    const { caller } = await userCaller(t.db);
    const { results } = await caller.sync.push({
      mutations: [{ mutationId: "x", op: "template.create", input: { name: "n", content: "c" } }],
    });
    expect(results).toEqual([
      {
        mutationId: "x",
        status: "rejected",
        error: {
          code: "BAD_REQUEST",
          message: expect.stringMatching(/^id: /),
          fieldErrors: { id: [expect.any(String)] },
        },
      },
    ]);
  });

  it("still refuses a malformed envelope as a whole, naming the field", async () => {
    const { caller } = await userCaller(t.db);
    await expectAppError(
      caller.sync.push({ mutations: [{ mutationId: "", op: "template.create", input: {} }] }),
      "BAD_REQUEST",
      "mutations.0.mutationId",
    );
    await expectAppError(caller.sync.push({ mutations: [] }), "BAD_REQUEST", "mutations");
  });
});
