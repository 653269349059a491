// The engine's queue, rejections and view against a stand-in server (sync.push / pull / subscribe), so each
// answer is chosen by the test. The real server is in apps/server/test/offline-sync.e2e.test.ts.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";

import type { PushResult } from "@prompt-booster/api/schemas";

import type { ApiClient } from "../src/client.ts";
import { InvalidMutationError, SyncEngine, type ViewChange } from "../src/sync-engine.ts";
import { MemorySyncStore, type QueuedMutation, type SyncChange } from "../src/sync-store.ts";

interface PushCall {
  mutations: QueuedMutation[];
}

/** A server whose push answers come from `answer` and whose pulls hand out `pages`, in turn. */
function fakeServer(answer: (mutation: QueuedMutation) => PushResult | "offline" | "refuse the call") {
  const pushes: PushCall[] = [];
  const pages: { changes: SyncChange[]; cursor: number; hasMore: boolean }[] = [];
  let cursor = 0;
  const client = {
    sync: {
      push: {
        mutate: async (input: PushCall) => {
          pushes.push(input);
          const results = input.mutations.map(answer);
          if (results.includes("offline")) throw new TypeError("fetch failed");
          if (results.includes("refuse the call")) {
            throw Object.assign(new Error("Invalid input"), { data: { code: "BAD_REQUEST" } });
          }
          return { results: results as PushResult[] };
        },
      },
      pull: {
        query: async () => pages.shift() ?? { changes: [], cursor, hasMore: false },
      },
      subscribe: { subscribe: () => ({ unsubscribe: () => {} }) },
    },
  } as unknown as ApiClient;
  return {
    client,
    pushes,
    /** The next pull delivers these changes up to `rev`. */
    deliver(changes: SyncChange[], rev: number) {
      cursor = rev;
      pages.push({ changes, cursor: rev, hasMore: false });
    },
  };
}

const applied =
  (rev: number) =>
  (mutation: QueuedMutation): PushResult => ({
    mutationId: mutation.mutationId,
    status: "applied",
    rev,
  });

const template = (name: string) =>
  ({ op: "template.create", input: { id: randomUUID(), name, content: "c" } }) as const;

describe("SyncEngine", () => {
  it("refuses a write that can never apply, naming the field, and queues nothing", async () => {
    const server = fakeServer(applied(1));
    const engine = new SyncEngine({ client: server.client });
    await engine.start();
    const write = engine.write({
      op: "settings.update",
      input: { settingsData: { "model-settings": { state: { configs: { openai: { apiKey: "sk-real" } } } } } },
    });
    await expect(write).rejects.toBeInstanceOf(InvalidMutationError);
    const error = (await write.catch((caught: unknown) => caught)) as InvalidMutationError;
    expect(Object.keys(error.fieldErrors)).toEqual(["settingsData.model-settings.state.configs.openai.apiKey"]);
    expect(engine.pending()).toEqual([]);
    expect((await engine.store.load()).pending).toEqual([]);
    expect(server.pushes).toEqual([]);
  });

  it("queues as written (with a generated mutationId), pushes, and shows the write until a pull reaches it", async () => {
    const server = fakeServer(applied(7));
    const changes: ViewChange["cause"][] = [];
    const engine = new SyncEngine({ client: server.client, onChange: (change) => changes.push(change.cause) });
    const mutation = template("Mine");
    // Not started: queued (durably) and shown, not pushed.
    const mutationId = await engine.write(mutation);
    expect(mutationId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await engine.store.load()).pending).toEqual([{ ...mutation, mutationId }]);
    expect(engine.view.get("template", mutation.input.id)).toMatchObject({ name: "Mine" });
    expect(engine.view.isPending(mutation.input.id)).toBe(true);

    await engine.start();
    expect(server.pushes).toHaveLength(1);
    expect(engine.pending()).toEqual([]);
    // Applied at 7, but no pull has brought revision 7 yet: still shown, no longer pending.
    expect(engine.view.get("template", mutation.input.id)).toMatchObject({ name: "Mine" });
    expect(engine.view.isPending(mutation.input.id)).toBe(false);

    const row = { ...engine.view.get("template", mutation.input.id)!, name: "Mine (server)", rev: 7 };
    server.deliver([{ entity: "template", id: row.id, rev: 7, deleted: false, data: row }], 7);
    await engine.pull();
    expect(engine.view.list("template").map((item) => item.name)).toEqual(["Mine (server)"]);
    expect(changes).toEqual(["load", "write", "push", "pull"]);
    engine.stop();
  });

  it("a refused write leaves the queue, rolls back, is reported; the writes around it go through", async () => {
    const store = new MemorySyncStore();
    const [first, last] = [template("One"), template("Three")];
    const ids = { first: randomUUID(), refused: randomUUID(), last: randomUUID() };
    // As an old app version might have queued it: straight into the store, never validated.
    await store.enqueue({ ...first, mutationId: ids.first });
    await store.enqueue({
      mutationId: ids.refused,
      op: "settings.update",
      input: { settingsData: { "model-settings": { apiKey: "sk-x" } } },
    });
    await store.enqueue({ ...last, mutationId: ids.last });
    const server = fakeServer((mutation) =>
      mutation.mutationId === ids.refused
        ? {
            mutationId: mutation.mutationId,
            status: "rejected",
            error: {
              code: "BAD_REQUEST",
              message: "no keys",
              fieldErrors: { "settingsData.model-settings.apiKey": ["no"] },
            },
          }
        : applied(3)(mutation),
    );
    const reported: string[] = [];
    const engine = new SyncEngine({
      client: server.client,
      store,
      onRejected: (entry) => reported.push(entry.mutation.mutationId),
    });
    await engine.start();
    expect(reported).toEqual([ids.refused]);
    expect(engine.pending()).toEqual([]);
    expect(engine.rejected().map((entry) => [entry.mutation.mutationId, entry.result.status])).toEqual([
      [ids.refused, "rejected"],
    ]);
    expect((await store.load()).rejected).toHaveLength(1);

    // Later writes flow; a discarded rejection is gone from the store too.
    await engine.write(template("Four"));
    await engine.flush();
    expect(server.pushes.at(-1)!.mutations).toHaveLength(1);
    await engine.discardRejected([ids.refused]);
    expect([engine.rejected(), (await store.load()).rejected]).toEqual([[], []]);
    engine.stop();
  });

  it("a conflict rolls the view back; retryRejected queues it again under a new id", async () => {
    let conflict = true;
    const server = fakeServer((mutation) =>
      conflict
        ? { mutationId: mutation.mutationId, status: "conflict", error: { code: "CONFLICT", message: "stale" } }
        : applied(5)(mutation),
    );
    const engine = new SyncEngine({ client: server.client });
    await engine.start();
    const mutationId = await engine.write({ op: "settings.update", input: { theme: "dark", baseRev: 1 } });
    // write() resolves once queued; the push goes on its own.
    expect(engine.view.settings()?.theme).toBe("dark");
    await engine.flush();
    expect(engine.view.settings()).toBeUndefined();
    expect(engine.rejected()[0]?.result).toMatchObject({ status: "conflict" });

    conflict = false;
    const retried = await engine.retryRejected(mutationId, { theme: "dark", baseRev: 4 });
    await engine.flush();
    expect(retried).not.toBe(mutationId);
    expect(server.pushes.at(-1)!.mutations).toEqual([
      { mutationId: retried, op: "settings.update", input: { theme: "dark", baseRev: 4 } },
    ]);
    expect(engine.rejected()).toEqual([]);
    expect(engine.view.settings()?.theme).toBe("dark");
    await expect(engine.retryRejected("nope")).rejects.toThrow(/No rejected mutation/);
    engine.stop();
  });

  it("a transport failure keeps the queue; the next flush sends it", async () => {
    let online = false;
    const server = fakeServer((mutation) => (online ? applied(2)(mutation) : "offline"));
    const errors: unknown[] = [];
    const engine = new SyncEngine({ client: server.client, onError: (error) => errors.push(error) });
    await engine.load();
    const mutation = template("Offline");
    await engine.write(mutation);
    await expect(engine.flush()).rejects.toThrow("fetch failed");
    expect(engine.pending()).toHaveLength(1);
    expect(engine.view.isPending(mutation.input.id)).toBe(true);
    online = true;
    await engine.flush();
    expect(engine.pending()).toEqual([]);
    expect(engine.rejected()).toEqual([]);
  });

  it("a queued write that makes the server refuse the whole call is found and set aside", async () => {
    const store = new MemorySyncStore();
    const [first, last] = [template("One"), template("Three")];
    await store.enqueue({ ...first, mutationId: randomUUID() });
    // A mutationId the envelope refuses (longer than 64 characters): the whole push is a 400.
    await store.enqueue({ ...template("Two"), mutationId: "x".repeat(65) });
    await store.enqueue({ ...last, mutationId: randomUUID() });
    const server = fakeServer((mutation) =>
      mutation.mutationId.length > 64 ? "refuse the call" : applied(3)(mutation),
    );
    const engine = new SyncEngine({ client: server.client, store });
    await engine.start();
    expect(engine.pending()).toEqual([]);
    expect(engine.rejected().map((entry) => [entry.mutation.mutationId.length, entry.result.error.code])).toEqual([
      [65, "BAD_REQUEST"],
    ]);
    expect(server.pushes.map((push) => push.mutations.length)).toEqual([3, 1, 1, 1]);
    engine.stop();
  });

  it("a queued write loaded from the store shows in the view at load", async () => {
    const store = new MemorySyncStore();
    const mutation = template("Queued yesterday");
    await store.enqueue({ ...mutation, mutationId: randomUUID() });
    const engine = new SyncEngine({ client: fakeServer(applied(1)).client, store });
    await engine.load();
    expect(engine.view.list("template").map((item) => item.name)).toEqual(["Queued yesterday"]);
  });
});
