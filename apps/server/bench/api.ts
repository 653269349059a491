// API benchmark: authenticated prompts.list (20 per page) and settings.get under load, against the built
// server on PostgreSQL, next to a hand-written Fastify + pg baseline (bench/baseline-server.ts) running the
// same queries, in the same run. Also page time at several history sizes (up to 100,000 versions).
// Run: pnpm --filter @prompt-booster/server bench:api   (BENCH_DATABASE_URL: a PostgreSQL URL that may create databases)
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pg from "pg";

import { createEmptyPostgresDb } from "@prompt-booster/db/testing";

import { signUp } from "../test/support/auth.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const SIZES = [1_000, 10_000, 100_000];
const VERSIONS_PER_GROUP = 5;
const PAGE_SAMPLES = 200;

const database = await createEmptyPostgresDb(adminUrl);
const children: ChildProcess[] = [];
const client = new pg.Client({ connectionString: database.url });

try {
  const api = await launch(
    "api",
    process.execPath,
    ["--enable-source-maps", path.join(here, "../dist/main.js")],
    39_411,
  );
  await client.connect();
  const account = await signUp(api);
  const auth = { authorization: `Bearer ${account.token}` };
  const trpc = (procedure: string, input?: unknown) =>
    `${api}/trpc/${procedure}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`}`;

  // Page time as the history grows: flat means the page cost does not depend on the history size.
  const growth: { versions: number; firstPageMs: number; deepPageMs: number }[] = [];
  let seeded = 0;
  for (const size of SIZES) {
    await seed(account.user.id, seeded, size);
    seeded = size;
    const first = await getJson(trpc("prompts.list", { limit: 20 }), auth);
    let cursor = first.result.data.json.nextCursor as string;
    for (let i = 0; i < 4; i++)
      cursor = (await getJson(trpc("prompts.list", { limit: 20, cursor }), auth)).result.data.json.nextCursor;
    growth.push({
      versions: size,
      firstPageMs: await medianMs(trpc("prompts.list", { limit: 20 }), auth),
      deepPageMs: await medianMs(trpc("prompts.list", { limit: 20, cursor }), auth),
    });
    console.log(
      `${size} versions: page 1 ${growth.at(-1)!.firstPageMs.toFixed(2)} ms, page 5 ${growth.at(-1)!.deepPageMs.toFixed(2)} ms (median of ${PAGE_SAMPLES})`,
    );
  }

  const ours = {
    "prompts.list": await load(trpc("prompts.list", { limit: 20 }), auth),
    "settings.get": await load(trpc("settings.get"), auth),
  };
  children.pop()?.kill("SIGTERM");

  const baseUrl = await launch(
    "baseline",
    process.execPath,
    ["--import", "tsx", path.join(here, "baseline-server.ts")],
    39_412,
  );
  const baseline = {
    "prompts.list": await load(`${baseUrl}/prompts`, auth),
    "settings.get": await load(`${baseUrl}/settings`, auth),
  };

  const rows = (["prompts.list", "settings.get"] as const).map((name) => ({
    name,
    requestsPerSecond: ours[name].rps,
    p99Ms: ours[name].p99,
    baselineRequestsPerSecond: baseline[name].rps,
    baselineP99Ms: baseline[name].p99,
    ratio: ours[name].rps / baseline[name].rps,
  }));
  console.log(
    `\nUnder load (${CONNECTIONS} connections, ${DURATION_S} s each, ${seeded} versions in the user's history):`,
  );
  console.table(
    rows.map((r) => ({
      procedure: r.name,
      "req/s": r.requestsPerSecond.toFixed(0),
      "p99 ms": r.p99Ms,
      "baseline req/s": r.baselineRequestsPerSecond.toFixed(0),
      "baseline p99 ms": r.baselineP99Ms,
      ratio: r.ratio.toFixed(2),
    })),
  );
  console.log(JSON.stringify({ connections: CONNECTIONS, durationSeconds: DURATION_S, growth, load: rows }, null, 2));
} finally {
  for (const child of children) child.kill("SIGTERM");
  await client.end().catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 500));
  await database.drop();
}

/** Starts a server process on `port` against the bench database; resolves to its URL once it answers. */
async function launch(name: string, command: string, args: string[], port: number): Promise<string> {
  const child = spawn(command, args, {
    cwd: path.join(here, ".."),
    env: {
      ...process.env,
      NODE_ENV: "production",
      DATABASE_URL: database.url,
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "warn",
      AUTH_RATE_LIMIT_PER_IP: "1000000",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} server exited with ${child.exitCode}`);
    const up = await fetch(`${url}/${name === "api" ? "ready" : "settings"}`).then(
      () => true,
      () => false,
    );
    if (up) return url;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} server did not start`);
}

/** Grows the user's history from `from` to `to` versions: groups of 5, created one second apart. */
async function seed(userId: string, from: number, to: number): Promise<void> {
  const firstGroup = from / VERSIONS_PER_GROUP + 1;
  const lastGroup = to / VERSIONS_PER_GROUP;
  await client.query("BEGIN");
  await client.query(
    `INSERT INTO "PromptGroup" (id, "userId", "originalPrompt", "currentVersionNumber", status, rev, "createdAt", "updatedAt")
     SELECT gen_random_uuid(), $1, 'Prompt ' || g || ': ' || repeat('make it clearer ', 8), $4, 'completed', g,
            timestamp '2025-01-01' + g * interval '1 second', timestamp '2025-01-01' + g * interval '1 second'
       FROM generate_series($2::int, $3::int) AS g`,
    [userId, firstGroup, lastGroup, VERSIONS_PER_GROUP],
  );
  await client.query(
    `INSERT INTO "PromptVersion" (id, "groupId", "userId", number, "originalPrompt", "optimizedPrompt", reasoning,
                                  "modelId", provider, "modelName", status, favorite, tags, rev, "updatedAt")
     SELECT gen_random_uuid(), pg.id, $1, n, pg."originalPrompt", repeat('# Task\nDo the thing well. ', 30), 'because',
            'm1', 'openai', 'gpt-4o-mini', 'completed', n = 5 AND pg.rev % 7 = 0, ARRAY['bench'], pg.rev, pg."updatedAt"
       FROM "PromptGroup" pg CROSS JOIN generate_series(1, $4::int) AS n
      WHERE pg."userId" = $1 AND pg.rev BETWEEN $2 AND $3`,
    [userId, firstGroup, lastGroup, VERSIONS_PER_GROUP],
  );
  await client.query(`UPDATE "User" SET revision = GREATEST(revision, $2) WHERE id = $1`, [userId, lastGroup]);
  await client.query("COMMIT");
  await client.query(`ANALYZE "PromptGroup"; ANALYZE "PromptVersion"`);
}

async function getJson(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { result: { data: { json: { nextCursor: string } } } };
}

async function medianMs(url: string, headers: Record<string, string>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < PAGE_SAMPLES; i++) {
    const start = performance.now();
    await getJson(url, headers);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

async function load(url: string, headers: Record<string, string>): Promise<{ rps: number; p99: number }> {
  await autocannon({ url, headers, connections: CONNECTIONS, duration: 2 }); // warm-up (JIT, pools, caches)
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_S });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}
