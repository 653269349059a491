// The template page is SQL written by hand (templates/service.ts). It must be the page the Prisma client query
// it replaced gives, byte for byte, on the same data: every scope, sort, tag, category and `q` (wildcards
// too), ties on updatedAt and on names, deleted rows, other users' private rows, and every cursor on the way.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Prisma } from "@prompt-booster/db";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { page } from "../src/lib/cursor.ts";
import { templateSelect, toTemplate } from "../src/lib/rows.ts";
import { normaliseTags } from "../src/lib/schemas.ts";
import { containsText } from "../src/lib/search.ts";
import { listTemplates } from "../src/templates/service.ts";
import { zListTemplatesInput, type ListTemplatesInput, type TemplatePage } from "../src/templates/schemas.ts";
import { userCaller } from "./support/context.ts";

/** The page as the Prisma client read it before. */
async function clientPage(
  db: Prisma.TransactionClient,
  userId: string,
  input: ListTemplatesInput,
): Promise<TemplatePage> {
  const { scope, sort, limit, cursor } = input;
  const tags = normaliseTags(input.tag ?? []);
  const filters: Prisma.TemplateWhereInput[] = [
    scope === "mine" ? { userId } : scope === "public" ? { isPublic: true } : { OR: [{ userId }, { isPublic: true }] },
  ];
  if (tags.length > 0) filters.push({ tags: { hasEvery: tags } });
  if (input.category) filters.push({ category: input.category });
  if (input.q) {
    const contains = containsText(input.q);
    filters.push({ OR: [{ name: contains }, { description: contains }, { content: contains }] });
  }
  if (cursor?.s === "updated") {
    filters.push({ OR: [{ updatedAt: { lt: cursor.t } }, { updatedAt: cursor.t, id: { lt: cursor.id } }] });
  } else if (cursor?.s === "name") {
    filters.push({ OR: [{ name: { gt: cursor.n } }, { name: cursor.n, id: { gt: cursor.id } }] });
  }
  const rows = await db.template.findMany({
    where: { deletedAt: null, AND: filters },
    orderBy: sort === "updated" ? [{ updatedAt: "desc" }, { id: "desc" }] : [{ name: "asc" }, { id: "asc" }],
    take: limit + 1,
    select: templateSelect,
  });
  return page(
    rows,
    limit,
    (row) => toTemplate(row, userId),
    (row): Record<string, string> =>
      sort === "updated"
        ? { s: "updated", t: row.updatedAt.toISOString(), id: row.id }
        : { s: "name", n: row.name, id: row.id },
  );
}

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

describe("the template page in SQL", () => {
  it("is the Prisma client's page, byte for byte, for every scope, sort, filter and cursor", async () => {
    const me = await userCaller(t.db);
    const other = await userCaller(t.db);
    const db = t.db.prisma;
    const names = ["Translate 100%", "snake_case helper", "translate", "Écrire", "b\\slash", "Zed", "alpha"];
    const ids: string[] = [];
    for (let i = 0; i < 28; i++) {
      const who = i % 2 === 0 ? me : other;
      const template = await who.caller.templates.create({
        // Repeated names: the id breaks the tie in name order.
        name: names[i % names.length]!,
        content: i % 3 === 0 ? `Please TRANSLATE item ${i}` : `content ${i}`,
        description: i % 4 === 0 ? null : `about ${names[(i + 2) % names.length]}`,
        isPublic: i % 3 !== 1,
        tags: i % 2 === 0 ? ["a", "b"] : i % 5 === 0 ? ["a"] : [],
        category: i % 4 === 0 ? "optimize" : i % 4 === 1 ? "custom" : null,
        metadata: { n: i, nested: { ok: i % 2 === 0 } },
      });
      ids.push(template.id);
    }
    // Ties on updatedAt (the id breaks them), and deleted rows of both users.
    await db.template.updateMany({
      where: { id: { in: ids.slice(0, 9) } },
      data: { updatedAt: new Date("2026-04-01T12:00:00.000Z") },
    });
    await me.caller.templates.delete({ id: ids[2]! });
    await other.caller.templates.delete({ id: ids[3]! });

    const inputs: Record<string, unknown>[] = [];
    for (const scope of ["mine", "public", "all"]) {
      for (const sort of ["updated", "name"]) {
        inputs.push({ scope, sort });
        inputs.push({ scope, sort, q: "translate" });
        inputs.push({ scope, sort, tag: ["a"] });
        inputs.push({ scope, sort, tag: ["B", "a"], category: "optimize" });
      }
    }
    inputs.push(
      { scope: "all", q: "%" },
      { scope: "all", q: "_" },
      { scope: "all", q: "\\" },
      { scope: "all", q: "zz" },
    );
    let pagesCompared = 0;
    for (const base of inputs) {
      for (const limit of [1, 4, 50]) {
        let cursor: string | null = null;
        do {
          const input = zListTemplatesInput.parse({ ...base, limit, cursor });
          const client = await clientPage(db, me.user.id, input);
          const sql = await listTemplates({ db, clock: me.ctx.clock, events: me.ctx.events }, me.user.id, input);
          expect(JSON.stringify(sql)).toBe(JSON.stringify(client));
          expect(sql).toEqual(client);
          pagesCompared++;
          cursor = sql.nextCursor;
        } while (cursor);
      }
    }
    expect(pagesCompared).toBeGreaterThan(200);
  });
});
