// Free-text search takes its text literally, and every page's own cursor leads to the next page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { userCaller } from "./support/context.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

const version = { optimizedPrompt: "o", modelId: "m", provider: "p", modelName: "n" };

describe("search and paging", () => {
  it("matches % and _ in q literally, in templates and prompts", async () => {
    const { caller } = await userCaller(t.db);
    for (const name of ["100% sure", "snake_case", "plain"]) {
      await caller.templates.create({ name, content: "c" });
      await caller.prompts.create({ originalPrompt: name, firstVersion: version });
    }
    const templateNames = async (q: string) => (await caller.templates.list({ q })).items.map((item) => item.name);
    expect(await templateNames("%")).toEqual(["100% sure"]);
    expect(await templateNames("_")).toEqual(["snake_case"]);
    expect(await templateNames("\\")).toEqual([]);
    const prompts = async (q: string) => (await caller.prompts.list({ q })).items.map((item) => item.originalPrompt);
    expect(await prompts("%")).toEqual(["100% sure"]);
    expect(await prompts("_")).toEqual(["snake_case"]);
  });

  it("follows name-sorted cursors of long non-ASCII and escaped names to the end", async () => {
    const { caller } = await userCaller(t.db);
    const names = ["漢".repeat(199) + "a", "\u0001".repeat(199) + "b", "é".repeat(199) + "c"];
    for (const name of names) await caller.templates.create({ name, content: "c" });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await caller.templates.list({ sort: "name", limit: 1, cursor });
      seen.push(...page.items.map((item) => item.name));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...names].sort());
  });
});
