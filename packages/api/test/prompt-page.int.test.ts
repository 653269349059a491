// The prompt page is SQL written by hand (prompts/read.ts; a search reads the newest groups first, then the
// trigram indexes). It must be the page the Prisma client query it replaced gives, byte for byte, on the
// same data: every filter, `q` with wildcards, ties on createdAt, deleted groups and versions, another user's
// rows, every cursor on the way, and search windows that end before, inside and after the matches.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Prisma } from "@prompt-booster/db";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { page } from "../src/lib/cursor.ts";
import { groupSelect, toGroup, toVersion, versionSelect } from "../src/lib/rows.ts";
import { containsText } from "../src/lib/search.ts";
import { listPrompts, promptPage } from "../src/prompts/read.ts";
import { zListPromptsInput, type ListPromptsInput, type PromptPage } from "../src/prompts/schemas.ts";
import { userCaller } from "./support/context.ts";

/** The page as the Prisma client read it before (two queries: the groups, then their latest versions). */
async function clientPage(db: Prisma.TransactionClient, userId: string, input: ListPromptsInput): Promise<PromptPage> {
  const { limit, cursor } = input;
  const filters: Prisma.PromptGroupWhereInput[] = [];
  if (input.status) filters.push({ status: input.status });
  if (input.favorite !== undefined) {
    const favourites = { some: { favorite: true, deletedAt: null } };
    filters.push(
      input.favorite ? { versions: favourites } : { versions: { none: { favorite: true, deletedAt: null } } },
    );
  }
  if (input.q) {
    const contains = containsText(input.q);
    filters.push({
      OR: [{ originalPrompt: contains }, { versions: { some: { optimizedPrompt: contains, deletedAt: null } } }],
    });
  }
  if (cursor) {
    filters.push({ OR: [{ createdAt: { lt: cursor.t } }, { createdAt: cursor.t, id: { lt: cursor.id } }] });
  }
  const groups = await db.promptGroup.findMany({
    where: { userId, deletedAt: null, AND: filters },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit + 1,
    select: groupSelect,
  });
  const shown = groups.slice(0, limit);
  const latest =
    shown.length === 0
      ? []
      : await db.promptVersion.findMany({
          where: { deletedAt: null, OR: shown.map((g) => ({ groupId: g.id, number: g.currentVersionNumber })) },
          select: versionSelect,
        });
  const byGroup = new Map(latest.map((version) => [version.groupId, version]));
  return page(
    groups,
    limit,
    (group) => {
      const version = byGroup.get(group.id);
      return { ...toGroup(group), latestVersion: version ? toVersion(version) : null };
    },
    (group) => ({ t: group.createdAt.toISOString(), id: group.id }),
  );
}

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

const version = (optimizedPrompt: string) => ({ optimizedPrompt, modelId: "m", provider: "p", modelName: "n" });

describe("the prompt page in SQL", () => {
  it("is the Prisma client's page, byte for byte, for every filter and cursor", async () => {
    const { user, caller, ctx } = await userCaller(t.db);
    const other = await userCaller(t.db);
    const db = t.db.prisma;
    const deps = { db, clock: ctx.clock, events: ctx.events };
    const tie = "2026-03-01T10:00:00.000Z";
    const words = [
      "Translate 100% of it",
      "summarise_this",
      "translate twice",
      "plain",
      "TRANSLATE shout",
      "back\\slash",
    ];
    const groupIds: string[] = [];
    for (let i = 0; i < 24; i++) {
      const word = words[i % words.length]!;
      const group = await caller.prompts.create({
        originalPrompt: `${word} #${i}`,
        // A third of the groups share one createdAt: the cursor's id breaks the tie.
        createdAt: i % 3 === 0 ? tie : new Date(Date.parse("2026-02-01T00:00:00Z") + i * 60_000).toISOString(),
        firstVersion: version(i % 4 === 0 ? `optimized ${words[(i + 1) % words.length]}` : `optimized ${i}`),
      });
      groupIds.push(group.id);
      if (i % 2 === 0) {
        const added = await caller.prompts.addVersion({ groupId: group.id, ...version(`second take ${word}`) });
        if (i % 4 === 0) await caller.prompts.updateVersion({ id: added.id, favorite: true, tags: ["x", "y"] });
      }
      await other.caller.prompts.create({
        originalPrompt: `${word} other`,
        firstVersion: version(`optimized ${word}`),
      });
    }
    // A deleted group, a deleted latest version (the group shows with no latest version), a deleted favourite
    // version and a deleted version that alone matched q (neither counts any more).
    await caller.prompts.delete({ id: groupIds[1]! });
    const now = new Date();
    await db.promptVersion.updateMany({ where: { groupId: groupIds[2]!, number: 2 }, data: { deletedAt: now } });
    await db.promptVersion.updateMany({ where: { groupId: groupIds[4]!, number: 2 }, data: { deletedAt: now } });
    await db.promptVersion.updateMany({
      where: { groupId: groupIds[8]!, number: 1 },
      data: { deletedAt: now, optimizedPrompt: "only-here" },
    });
    await db.promptGroup.updateMany({ where: { id: { in: [groupIds[3]!, groupIds[7]!] } }, data: { status: "error" } });

    const inputs: Record<string, unknown>[] = [
      {},
      { status: "error" },
      { status: "completed" },
      { favorite: true },
      { favorite: false },
      { q: "translate" },
      { q: "%" },
      { q: "_" },
      { q: "\\" },
      { q: "second TAKE" },
      { q: "only-here" },
      { q: "nothing matches this" },
      { q: "translate", favorite: false, status: "completed" },
    ];
    let pagesCompared = 0;
    for (const base of inputs) {
      for (const limit of [1, 5, 50]) {
        let cursor: string | null = null;
        do {
          const input = zListPromptsInput.parse({ ...base, limit, cursor });
          const client = await clientPage(db, user.id, input);
          const sql = await listPrompts(deps, user.id, input);
          expect(JSON.stringify(sql)).toBe(JSON.stringify(client));
          expect(sql).toEqual(client);
          // A search window smaller than the data: the page found in it, or the trigram-served lookup after it.
          for (const searchWindow of [1, 3, 8]) {
            expect(JSON.stringify(await promptPage(db, user.id, input, searchWindow))).toBe(JSON.stringify(client));
          }
          pagesCompared++;
          cursor = sql.nextCursor;
        } while (cursor);
      }
    }
    expect(pagesCompared).toBeGreaterThan(100);
    // The data exercises what it should: a group without a latest version, and a page cut inside the tie.
    const all = await listPrompts(deps, user.id, zListPromptsInput.parse({ limit: 100 }));
    expect(all.items.some((item) => item.latestVersion === null)).toBe(true);
    expect(all.items.filter((item) => item.createdAt.toISOString() === tie).length).toBeGreaterThan(3);
    expect(all.items.some((item) => item.id === groupIds[1])).toBe(false);
  });
});
