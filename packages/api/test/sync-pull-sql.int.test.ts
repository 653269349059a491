// sync.pull reads settings, templates, groups and versions in SQL written by hand (sync/pull.ts). Every range
// it reads must give the changes the Prisma client queries it replaced gave, byte for byte: live rows and
// tombstones, snapshots (live only) and deltas, one revision or a range, with and without a row limit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import {
  groupSelect,
  settingsSelect,
  templateSelect,
  toGroup,
  toSettings,
  toTemplate,
  toVersion,
  versionSelect,
} from "../src/lib/rows.ts";
import { rangeQuery, reader, scanAll, sources, type Reader } from "../src/sync/pull.ts";
import { userCaller } from "./support/context.ts";

/** The readers as the Prisma client read them before (the vault's are the same in both). */
const clientReaders: Reader[] = [
  reader(
    "settings",
    (db, scan) => db.userSettings.findMany({ ...rangeQuery(scan), select: { ...settingsSelect, deletedAt: true } }),
    (row) => toSettings(row),
  ),
  reader(
    "template",
    (db, scan) => db.template.findMany({ ...rangeQuery(scan), select: { ...templateSelect, deletedAt: true } }),
    (row, userId) => toTemplate(row, userId),
  ),
  reader(
    "promptGroup",
    (db, scan) => db.promptGroup.findMany({ ...rangeQuery(scan), select: { ...groupSelect, deletedAt: true } }),
    ({ deletedAt: _, ...row }) => toGroup(row),
  ),
  reader(
    "promptVersion",
    (db, scan) => db.promptVersion.findMany({ ...rangeQuery(scan), select: { ...versionSelect, deletedAt: true } }),
    ({ deletedAt: _, ...row }) => toVersion(row),
  ),
  ...sources.slice(4),
];

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

const version = (optimizedPrompt: string) => ({ optimizedPrompt, modelId: "m", provider: "p", modelName: "n" });

describe("sync.pull's reads in SQL", () => {
  it("give the Prisma client's changes, byte for byte, for every range", async () => {
    const { user, caller } = await userCaller(t.db);
    const other = await userCaller(t.db);
    await caller.settings.update({ theme: "dark", settingsData: { a: { b: [1, "two", null] } } });
    const templates = [];
    for (let i = 0; i < 6; i++) {
      templates.push(
        await caller.templates.create({
          name: `T${i}`,
          content: `c${i}`,
          description: i % 2 ? null : "d",
          isPublic: i % 2 === 0,
          tags: i % 3 ? ["x"] : [],
          category: i % 2 ? "custom" : null,
          metadata: { i },
        }),
      );
      const group = await caller.prompts.create({ originalPrompt: `p${i}`, firstVersion: version(`o${i}`) });
      const added = await caller.prompts.addVersion({ groupId: group.id, ...version(`again ${i}`) });
      if (i % 2) await caller.prompts.updateVersion({ id: added.id, favorite: true, tags: ["t"] });
      if (i === 4) await caller.prompts.delete({ id: group.id });
      await other.caller.prompts.create({ originalPrompt: `other ${i}`, firstVersion: version("o") });
    }
    await caller.templates.delete({ id: templates[1]!.id });
    await caller.settings.update({ theme: "light" });

    const db = t.db.prisma;
    const { revision } = await db.user.findUniqueOrThrow({ where: { id: user.id }, select: { revision: true } });
    expect(revision).toBeGreaterThan(20);
    let compared = 0;
    for (const liveOnly of [true, false]) {
      for (const take of [undefined, 1, 3, 50]) {
        for (let since = 0; since <= revision; since += 3) {
          const scan = { userId: user.id, rev: { gt: since, lte: revision }, liveOnly, take };
          const sql = await scanAll(db, scan);
          expect(JSON.stringify(sql)).toBe(JSON.stringify(await scanAll(db, scan, clientReaders)));
          compared += sql.length;
        }
      }
      for (let rev = 1; rev <= revision; rev++) {
        const scan = { userId: user.id, rev, liveOnly };
        expect(JSON.stringify(await scanAll(db, scan))).toBe(JSON.stringify(await scanAll(db, scan, clientReaders)));
      }
    }
    expect(compared).toBeGreaterThan(100);
    // Tombstones and every entity were among them.
    const all = await scanAll(db, { userId: user.id, rev: { gt: 0, lte: revision }, liveOnly: false });
    expect(new Set(all.map((change) => change.entity))).toEqual(
      new Set(["settings", "template", "promptGroup", "promptVersion"]),
    );
    expect(all.some((change) => change.deleted)).toBe(true);
  });
});
