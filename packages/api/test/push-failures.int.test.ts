// sync.push when one mutation fails: input the guard refuses (NUL, hostile keys) writes nothing at all, and a
// mutation the database itself refuses fails alone — its own transaction rolled back, the others applied,
// never a 500 for the call, and nothing recorded in the ledger, so that sending it again may apply it.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
  // A real failure inside the database, for one template name only: what a bug or a constraint would raise.
  await t.db.prisma.$executeRawUnsafe(`
    CREATE FUNCTION refuse_exploding_template() RETURNS trigger AS $$
    BEGIN
      IF NEW.name = 'explode' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql`);
  await t.db.prisma.$executeRawUnsafe(`
    CREATE TRIGGER refuse_exploding_template BEFORE INSERT ON "Template"
    FOR EACH ROW EXECUTE FUNCTION refuse_exploding_template()`);
});
afterAll(() => t.dispose());

const create = (name: string) => ({
  mutationId: randomUUID(),
  op: "template.create" as const,
  input: { id: randomUUID(), name, content: "c" },
});

describe("sync.push with a failing mutation", () => {
  it("refuses a batch holding NUL as a whole, naming the mutation's field, before writing any of it", async () => {
    const { caller, user } = await userCaller(t.db);
    const valid = create("valid");
    await expectAppError(caller.sync.push({ mutations: [valid, create("bad\u0000")] }), "BAD_REQUEST", "mutations.1");
    expect(await t.db.prisma.template.count({ where: { userId: user.id } })).toBe(0);
  });

  it("reports a mutation the database refuses as that mutation's error, applies the rest, and tells the server", async () => {
    const reported: string[] = [];
    const { caller, user } = await userCaller(t.db, { reportError: (_error, message) => reported.push(message) });
    const [before, exploding, after] = [create("before"), create("explode"), create("after")];
    const { results } = await caller.sync.push({ mutations: [before, exploding, after] });
    expect(results.map((result) => result.status)).toEqual(["applied", "rejected", "applied"]);
    const failed = results[1]!;
    if (failed.status !== "rejected") throw new Error("expected a rejection");
    expect(failed.error).toMatchObject({ code: "INTERNAL_SERVER_ERROR" });
    expect(failed.error.message).not.toMatch(/trigger|refused/);
    expect(reported).toEqual([`sync.push: mutation ${exploding.mutationId} (template.create) failed`]);
    const names = await t.db.prisma.template.findMany({ where: { userId: user.id }, select: { name: true } });
    expect(names.map((row) => row.name).sort()).toEqual(["after", "before"]);

    // Not recorded: sent again it is tried again (and fails again here), while the others answer from the ledger.
    const ledger = await t.db.prisma.syncMutation.findMany({
      where: { userId: user.id },
      select: { mutationId: true },
    });
    expect(ledger.map((row) => row.mutationId).sort()).toEqual([before.mutationId, after.mutationId].sort());
    const again = await caller.sync.push({ mutations: [before, exploding, after] });
    expect(again.results).toEqual(results);
    expect(reported).toHaveLength(2);
  });
});
