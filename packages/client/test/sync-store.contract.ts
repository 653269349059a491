// The SyncStore contract, as one suite any store runs: `open(scope)` returns a store over the scope's storage,
// and a second `open` of the same scope is the app after a restart (a fresh instance reading what the first
// one left). Run by store.test.ts (memory and file stores) and, for IndexedDbSyncStore, in Chromium by
// apps/server/test/browser-store.e2e.test.ts.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";

import type { QueuedMutation, RejectedMutation, StoredRow, SyncChange, SyncStore } from "../src/sync-store.ts";

export interface StoreUnderTest {
  /** A store over `scope`'s storage; called again with the same scope, a new instance over the same data. */
  open(scope: string): SyncStore | Promise<SyncStore>;
  /** Whether a reopened store sees the data (false for the memory store, which keeps nothing). */
  persistent: boolean;
}

/** A live template row with Date fields, as sync.pull delivers it. */
export function templateRow(name: string, rev: number, id: string = randomUUID()): StoredRow {
  return {
    entity: "template",
    id,
    rev,
    deleted: false,
    data: {
      id,
      name,
      content: `Content of ${name}`,
      description: null,
      isPublic: false,
      tags: ["a"],
      category: null,
      metadata: {},
      isOwner: true,
      rev,
      createdAt: new Date("2026-01-02T03:04:05.678Z"),
      updatedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, rev)),
    },
  };
}

export const tombstone = (row: StoredRow, rev: number): SyncChange => ({
  entity: row.entity,
  id: row.id,
  rev,
  deleted: true,
});

export function createMutation(name: string): QueuedMutation {
  return { mutationId: randomUUID(), op: "template.create", input: { id: randomUUID(), name, content: "x" } };
}

export function refusal(mutation: QueuedMutation, at: number): RejectedMutation {
  return {
    mutation,
    result: { mutationId: mutation.mutationId, status: "rejected", error: { code: "BAD_REQUEST", message: "no" } },
    at,
  };
}

const byId = (rows: StoredRow[]) => [...rows].sort((a, b) => a.id.localeCompare(b.id));

export function syncStoreContract(name: string, subject: StoreUnderTest): void {
  const scope = () => `scope-${randomUUID()}`;
  /** The store after a restart, or the same one where nothing survives a restart. */
  const reopen = async (where: string, store: SyncStore) => (subject.persistent ? subject.open(where) : store);

  describe(`${name}: the SyncStore contract`, () => {
    it("loads an empty state from storage never written", async () => {
      const store = await subject.open(scope());
      expect(await store.load()).toEqual({ cursor: undefined, rows: [], pending: [], rejected: [] });
    });

    it("keeps pulled rows and the cursor together; a later page replaces rows and moves the cursor", async () => {
      const where = scope();
      const store = await subject.open(where);
      const first = templateRow("First", 1);
      const second = templateRow("Second", 2);
      await store.apply([first, second], 2);
      const renamed = templateRow("First, renamed", 3, first.id);
      await store.apply([renamed], 3);
      const state = await (await reopen(where, store)).load();
      expect(state.cursor).toBe(3);
      expect(byId(state.rows)).toEqual(byId([renamed, second]));
    });

    it("deletes a row on its tombstone, also within one page", async () => {
      const store = await subject.open(scope());
      const kept = templateRow("Kept", 1);
      const gone = templateRow("Gone", 2);
      await store.apply([kept, gone], 2);
      const shortLived = templateRow("Short-lived", 4);
      await store.apply([tombstone(gone, 3), shortLived, tombstone(shortLived, 5)], 5);
      // A tombstone of a row the device never had is fine too.
      await store.apply([tombstone(templateRow("Never seen", 6), 6)], 6);
      const state = await store.load();
      expect(state.rows).toEqual([kept]);
      expect(state.cursor).toBe(6);
    });

    it("reset forgets rows and cursor but keeps the queue and the rejected list", async () => {
      const where = scope();
      const store = await subject.open(where);
      await store.apply([templateRow("Row", 1)], 1);
      const waiting = createMutation("Waiting");
      const refused = createMutation("Refused");
      await store.enqueue(refused);
      await store.enqueue(waiting);
      await store.settle([refused.mutationId], [refusal(refused, 1_000)]);
      await store.reset();
      const state = await (await reopen(where, store)).load();
      expect(state).toEqual({ cursor: undefined, rows: [], pending: [waiting], rejected: [refusal(refused, 1_000)] });
    });

    it("keeps the queue in the order written, and settle removes the answered ones, moving refusals aside", async () => {
      const where = scope();
      const store = await subject.open(where);
      const mutations = ["a", "b", "c", "d", "e"].map(createMutation);
      for (const mutation of mutations) await store.enqueue(mutation);
      expect((await store.load()).pending).toEqual(mutations);

      const [a, b, c, d, e] = mutations as [
        QueuedMutation,
        QueuedMutation,
        QueuedMutation,
        QueuedMutation,
        QueuedMutation,
      ];
      await store.settle([a.mutationId, c.mutationId, d.mutationId], [refusal(c, 10)]);
      await store.settle([], [refusal(d, 20)]);
      const state = await (await reopen(where, store)).load();
      expect(state.pending).toEqual([b, e]);
      expect(state.rejected).toEqual([refusal(c, 10), refusal(d, 20)]);
    });

    it("forgetRejected drops the named entries only", async () => {
      const where = scope();
      const store = await subject.open(where);
      const [x, y, z] = ["x", "y", "z"].map(createMutation) as [QueuedMutation, QueuedMutation, QueuedMutation];
      for (const mutation of [x, y, z]) await store.enqueue(mutation);
      await store.settle(
        [x.mutationId, y.mutationId, z.mutationId],
        [x, y, z].map((m) => refusal(m, 5)),
      );
      await store.forgetRejected([y.mutationId, "not-there"]);
      const state = await (await reopen(where, store)).load();
      expect(state.pending).toEqual([]);
      expect(state.rejected.map((entry) => entry.mutation)).toEqual([x, z]);
    });

    it("gives back Date objects, and what it returned does not change with later writes", async () => {
      const where = scope();
      const store = await subject.open(where);
      const row = templateRow("Dated", 7);
      await store.apply([row], 7);
      const before = await store.load();
      await store.apply([templateRow("Another", 8)], 8);
      await store.enqueue(createMutation("Later"));
      expect(before.rows).toHaveLength(1);
      expect(before.pending).toHaveLength(0);

      const [loaded] = (await (await reopen(where, store)).load()).rows.filter((r) => r.id === row.id);
      if (loaded?.entity !== "template") throw new Error("the template row is missing");
      expect(loaded.data.createdAt).toBeInstanceOf(Date);
      expect(loaded.data.updatedAt.toISOString()).toBe(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 7)).toISOString());
    });

    it("applies calls in the order they were made, even when not awaited one by one", async () => {
      const where = scope();
      const store = await subject.open(where);
      const mutations = Array.from({ length: 20 }, (_, i) => createMutation(`m${i}`));
      const row = templateRow("Raced", 1);
      await Promise.all([
        ...mutations.map((mutation) => store.enqueue(mutation)),
        store.apply([row], 1),
        store.apply([tombstone(row, 2)], 2),
        store.settle([mutations[0]!.mutationId], []),
      ]);
      const state = await (await reopen(where, store)).load();
      expect(state.pending).toEqual(mutations.slice(1));
      expect(state).toMatchObject({ cursor: 2, rows: [] });
    });
  });
}
