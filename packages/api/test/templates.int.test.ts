import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { createCaller } from "../src/root.ts";
import { manualClock, testContext, userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";
import { idsOfAllPages } from "./support/pages.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

const base = { name: "Task optimizer", content: "# Role: optimizer\nDo the task well." };

describe("templates", () => {
  it("creates, reads, updates and deletes a template, normalising tags", async () => {
    const { caller } = await userCaller(t.db);
    const created = await caller.templates.create({
      ...base,
      description: "For tasks",
      tags: ["  Writing ", "writing", "Code  Review"],
      category: "optimize",
      metadata: { version: "2.0", author: "PromptBooster", templateType: "optimize" },
    });
    expect(created).toMatchObject({ ...base, isPublic: false, isOwner: true, tags: ["writing", "code review"] });
    expect(await caller.templates.get({ id: created.id })).toEqual(created);

    const updated = await caller.templates.update({ id: created.id, name: "Renamed", baseRev: created.rev });
    expect(updated).toMatchObject({ name: "Renamed", content: base.content, category: "optimize" });
    expect(updated.rev).toBeGreaterThan(created.rev);

    const deleted = await caller.templates.delete({ id: created.id });
    expect(deleted).toEqual({ id: created.id, deleted: true, rev: expect.any(Number) });
    await expectAppError(caller.templates.get({ id: created.id }), "NOT_FOUND");
    const tombstone = await t.db.prisma.template.findUniqueOrThrow({ where: { id: created.id } });
    expect(tombstone.deletedAt).toBeInstanceOf(Date);
    expect(tombstone.rev).toBe(deleted.rev);
    expect((await caller.templates.list({})).items).toHaveLength(0);
    await expectAppError(caller.templates.delete({ id: created.id }), "NOT_FOUND");
  });

  it("answers a stale baseRev with CONFLICT carrying the current template", async () => {
    const { caller } = await userCaller(t.db);
    const created = await caller.templates.create(base);
    const changed = await caller.templates.update({ id: created.id, content: "v2", baseRev: created.rev });
    const error = await expectAppError(
      caller.templates.update({ id: created.id, content: "v3", baseRev: created.rev }),
      "CONFLICT",
    );
    expect(error.details?.current).toMatchObject({
      content: "v2",
      rev: changed.rev,
    });
  });

  it("makes a create with a client id idempotent, and refuses the id for other content", async () => {
    const { caller, user } = await userCaller(t.db);
    const id = randomUUID();
    const input = { ...base, id, tags: ["a"], metadata: { b: 1, a: { c: [1, 2] } } };
    const first = await caller.templates.create(input);
    const again = await caller.templates.create({ ...input, metadata: { a: { c: [1, 2] }, b: 1 } });
    expect(again).toEqual(first);
    expect(await t.db.prisma.template.count({ where: { userId: user.id } })).toBe(1);
    await expectAppError(caller.templates.create({ ...input, content: "other" }), "CONFLICT");
    const other = await userCaller(t.db);
    await expectAppError(other.caller.templates.create(input), "CONFLICT");
  });

  it("lets others read public templates but never change them; private ones do not exist for them", async () => {
    const owner = await userCaller(t.db);
    const other = await userCaller(t.db);
    const shared = await owner.caller.templates.create({ ...base, name: "Shared", isPublic: true });
    const secret = await owner.caller.templates.create({ ...base, name: "Secret" });

    expect(await other.caller.templates.get({ id: shared.id })).toMatchObject({ name: "Shared", isOwner: false });
    await expectAppError(other.caller.templates.update({ id: shared.id, name: "Mine now" }), "FORBIDDEN");
    await expectAppError(other.caller.templates.delete({ id: shared.id }), "FORBIDDEN");

    await expectAppError(other.caller.templates.get({ id: secret.id }), "NOT_FOUND");
    await expectAppError(other.caller.templates.update({ id: secret.id, name: "x" }), "NOT_FOUND");
    await expectAppError(other.caller.templates.delete({ id: secret.id }), "NOT_FOUND");
    expect((await owner.caller.templates.get({ id: secret.id })).name).toBe("Secret");

    const publicIds = (await other.caller.templates.list({ scope: "public", limit: 100 })).items.map((x) => x.id);
    expect(publicIds).toContain(shared.id);
    expect(publicIds).not.toContain(secret.id);
    expect((await other.caller.templates.list({ scope: "mine" })).items).toHaveLength(0);
  });

  it("lists by scope, tag, category and text, in pages that stay stable under inserts", async () => {
    // Each write a minute after the last, by the clock the service reads: no two updatedAt can tie.
    const clock = manualClock();
    const me = await userCaller(t.db, { clock });
    const someone = await userCaller(t.db, { clock });
    const q = `needle${randomUUID().slice(0, 6)}`;
    const made: Awaited<ReturnType<typeof me.caller.templates.create>>[] = [];
    for (let i = 0; i < 7; i += 1) {
      clock.advance(60_000);
      made.push(
        await me.caller.templates.create({
          ...base,
          name: `T${i} ${q}`,
          tags: i % 2 === 0 ? ["even", "x"] : ["odd"],
          category: i < 3 ? "iterate" : "custom",
        }),
      );
    }
    const theirs = await someone.caller.templates.create({ ...base, name: `Their ${q}`, isPublic: true });

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const result = await me.caller.templates.list({ scope: "mine", limit: 3, cursor });
      seen.push(...result.items.map((x) => x.id));
      cursor = result.nextCursor ?? undefined;
      clock.advance(60_000);
      if (pages === 0) await me.caller.templates.create({ ...base, name: "inserted meanwhile" });
      pages += 1;
    } while (cursor);
    expect(seen).toEqual(made.map((x) => x.id).reverse());

    const byName = await me.caller.templates.list({ scope: "all", q, sort: "name", limit: 100 });
    expect(byName.items.map((x) => x.name)).toEqual([...made.map((x) => x.name), theirs.name].sort());
    const firstTwo = await me.caller.templates.list({ scope: "all", q, sort: "name", limit: 2 });
    const next = await me.caller.templates.list({
      scope: "all",
      q,
      sort: "name",
      limit: 2,
      cursor: firstTwo.nextCursor!,
    });
    expect(next.items.map((x) => x.name)).toEqual(byName.items.slice(2, 4).map((x) => x.name));

    const even = await me.caller.templates.list({ tag: ["EVEN", "x"], limit: 100 });
    expect(even.items.map((x) => x.name).sort()).toEqual(
      made
        .filter((_, i) => i % 2 === 0)
        .map((x) => x.name)
        .sort(),
    );
    expect((await me.caller.templates.list({ category: "iterate", limit: 100 })).items).toHaveLength(3);
    expect((await me.caller.templates.list({ q: q.toUpperCase(), limit: 100 })).items).toHaveLength(7);
    expect((await me.caller.templates.list({ scope: "all", q, limit: 100 })).items).toHaveLength(8);

    await expectAppError(me.caller.templates.list({ sort: "updated", cursor: firstTwo.nextCursor! }), "BAD_REQUEST");
  });

  it("orders by the last update, ties by id descending, the same across cursor pages", async () => {
    const clock = manualClock();
    const { caller } = await userCaller(t.db, { clock });
    const tied = [];
    for (let i = 0; i < 4; i += 1) tied.push(await caller.templates.create({ ...base, name: `Tied ${i}` }));
    expect(new Set(tied.map((x) => x.updatedAt.getTime())).size).toBe(1);
    const byId = tied
      .map((x) => x.id)
      .sort()
      .reverse();
    const list = async () => {
      const seen = await idsOfAllPages((cursor) => caller.templates.list({ sort: "updated", limit: 1, cursor }));
      expect(seen).toEqual((await caller.templates.list({ sort: "updated", limit: 100 })).items.map((x) => x.id));
      return seen;
    };
    expect(await list()).toEqual(byId);
    // An update a millisecond later moves the template to the front; the rest keep their tie order.
    clock.advance(1);
    const last = byId.at(-1)!;
    const touched = await caller.templates.update({ id: last, content: "changed" });
    expect(touched.updatedAt).toEqual(clock.now());
    expect(await list()).toEqual([last, ...byId.slice(0, -1)]);
  });

  describe("bad input", () => {
    const id = randomUUID();
    it.each([
      ["create", "name", { content: "c" }],
      ["create", "name", { ...base, name: 7 }],
      ["create", "name", { ...base, name: "n".repeat(201) }],
      ["create", "name", { ...base, name: "   " }],
      ["create", "content", { name: "n" }],
      ["create", "content", { ...base, content: "c".repeat(100_001) }],
      ["create", "description", { ...base, description: "d".repeat(2_001) }],
      ["create", "isPublic", { ...base, isPublic: "yes" }],
      ["create", "tags", { ...base, tags: "a,b" }],
      ["create", "tags", { ...base, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }],
      ["create", "tags", { ...base, tags: ["t".repeat(41)] }],
      ["create", "category", { ...base, category: "c".repeat(51) }],
      ["create", "metadata", { ...base, metadata: "v1" }],
      ["create", "metadata", { ...base, metadata: { x: "y".repeat(20_000) } }],
      ["create", "id", { ...base, id: "optimize_task" }],
      ["update", "id", { id: "not-a-uuid", name: "x" }],
      ["update", "baseRev", { id, baseRev: "3" }],
      ["update", "name", { id, name: "" }],
      ["get", "id", { id: "123" }],
      ["get", "id", {}],
      ["delete", "id", { id: 42 }],
      ["list", "scope", { scope: "friends" }],
      ["list", "sort", { sort: "random" }],
      ["list", "limit", { limit: 0 }],
      ["list", "limit", { limit: 101 }],
      ["list", "limit", { limit: "many" }],
      ["list", "cursor", { cursor: "bm90IGEgY3Vyc29y" }],
      ["list", "q", { q: "q".repeat(201) }],
      ["list", "tag", { tag: "one" }],
    ] as const)("%s: a bad %s is BAD_REQUEST naming it", async (procedure, field, input) => {
      const { caller } = await userCaller(t.db);
      await expectAppError(
        (caller.templates[procedure] as (input: unknown) => Promise<unknown>)(input),
        "BAD_REQUEST",
        field,
      );
    });
  });

  it("is UNAUTHORIZED without a session, for every procedure", async () => {
    const anonymous = createCaller(testContext(t.db));
    const id = randomUUID();
    await expectAppError(anonymous.templates.list({}), "UNAUTHORIZED");
    await expectAppError(anonymous.templates.get({ id }), "UNAUTHORIZED");
    await expectAppError(anonymous.templates.create(base), "UNAUTHORIZED");
    await expectAppError(anonymous.templates.update({ id, name: "x" }), "UNAUTHORIZED");
    await expectAppError(anonymous.templates.delete({ id }), "UNAUTHORIZED");
  });
});
