// Text search as data grows (issue 15: a page in ≤ 50 ms at one connection with 100,000 rows, served by the
// trigram indexes). Two searches per size: a common word (in 1 row of 8) and a rare one (1 row of 1,000).
//   templates.list q, scope public, over 1,000 / 10,000 / 100,000 public templates;
//   prompts.list q over one user's 1,000 / 10,000 / 100,000 versions (the history users).
// It rewrites the population (which templates are public, the history users' prompt text), so the bench runs
// it after every other scenario.
import pg from "pg";

import { medianMs } from "./load.ts";
import type { BenchUser } from "./seed.ts";

export interface SearchRow {
  list: "templates.list" | "prompts.list";
  rows: number;
  q: string;
  matches: number;
  pageMs: number;
}

const SIZES = [1_000, 10_000, 100_000];
const WORDS = ["rewrite", "summarise", "explain", "shorten", "expand", "critique", "outline", "translate"];
export const COMMON = "translate";
export const RARE = "quokka";

type Get = (path: string, user: BenchUser) => Promise<void>;

export async function measureSearch(
  databaseUrl: string,
  historyUsers: BenchUser[],
  get: Get,
  query: (procedure: string, input: unknown) => string,
): Promise<SearchRow[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const results: SearchRow[] = [];
  try {
    const owner = historyUsers[0]!;
    // 100,000 templates of one owner, private until a size makes the first n of them the only public ones.
    await client.query(`UPDATE "Template" SET "isPublic" = false WHERE "isPublic"`);
    await client.query(
      `INSERT INTO "Template" (id, "userId", name, content, description, "isPublic", tags, metadata, rev, "createdAt",
                               "updatedAt")
       SELECT gen_random_uuid(), $1::uuid, initcap(($2::text[])[1 + n % 8]) || ' template ' || n,
              '# Role: ' || ($2::text[])[1 + n % 8] || ' assistant' || CASE WHEN n % 1000 = 7 THEN ' for the ' || $3 ELSE '' END
                || E'\\n' || repeat('Take the user''s prompt and make it precise, specific and testable. ', 6),
              'Helps you ' || ($2::text[])[1 + n % 8] || ' a prompt', false, ARRAY['search'], '{}', 1000000 + n,
              timestamp '2024-01-01' + n * interval '1 second', timestamp '2024-01-01' + n * interval '1 second'
         FROM generate_series(1, $4::int) AS n`,
      [owner.id, WORDS, RARE, SIZES.at(-1)],
    );
    // The history users' versions get searchable words (the seed's text is the same in every version).
    await client.query(
      `UPDATE "PromptVersion" SET "optimizedPrompt" = "optimizedPrompt" || ' ' || ($1::text[])[1 + rev % 8]
              || CASE WHEN rev % 1000 = 7 THEN ' ' || $3 ELSE '' END
        WHERE "userId" = ANY($2::uuid[])`,
      [WORDS, historyUsers.map((user) => user.id), RARE],
    );
    await client.query(`ANALYZE "Template"`);
    await client.query(`ANALYZE "PromptVersion"`);

    for (const rows of SIZES) {
      await client.query(
        `UPDATE "Template" SET "isPublic" = ("createdAt" <= timestamp '2024-01-01' + $1::int * interval '1 second')
          WHERE "userId" = $2::uuid AND tags = ARRAY['search']`,
        [rows, owner.id],
      );
      await client.query(`ANALYZE "Template"`);
      for (const q of [COMMON, RARE]) {
        const path = query("templates.list", { scope: "public", q, limit: 20 });
        const matches = await count(
          client,
          `SELECT count(*) FROM "Template" WHERE "isPublic" AND "deletedAt" IS NULL
              AND (name ILIKE $1 OR description ILIKE $1 OR content ILIKE $1)`,
          [`%${q}%`],
        );
        results.push({ list: "templates.list", rows, q, matches, pageMs: await medianMs(50, () => get(path, owner)) });
      }
    }
    for (const user of [...historyUsers].reverse()) {
      for (const q of [COMMON, RARE]) {
        const path = query("prompts.list", { q, limit: 20 });
        const matches = await count(
          client,
          `SELECT count(*) FROM "PromptVersion" WHERE "userId" = $1::uuid AND "optimizedPrompt" ILIKE $2`,
          [user.id, `%${q}%`],
        );
        results.push({
          list: "prompts.list",
          rows: user.versions,
          q,
          matches,
          pageMs: await medianMs(50, () => get(path, user)),
        });
      }
    }
  } finally {
    await client.end();
  }
  return results;
}

async function count(client: pg.Client, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await client.query<{ count: string }>(sql, params);
  return Number(rows[0]!.count);
}
