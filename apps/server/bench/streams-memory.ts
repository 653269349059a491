// The server's resident memory with many open sync.subscribe streams (issue 15: at most 250 MB with 1,000).
//
//   cd apps/server && npx tsup && npx tsx bench/streams-memory.ts
//
// Starts the production build (dist/main.js) on a fresh PostgreSQL database, makes BENCH_STREAM_USERS users,
// opens BENCH_STREAMS real server-sent-event subscriptions spread over them, and reads the process's RSS from
// /proc: after one ordinary read, idle (after a warm-up that opened and closed a batch of streams), with every
// stream open, and once more after one write of each user reached all of that user's streams (the streams have
// now sent something besides their first event). Environment: BENCH_DATABASE_URL (an admin URL that may create
// databases), BENCH_STREAMS (1000), BENCH_STREAM_USERS (100), BENCH_SERVER_ENTRY (dist/main.js).
import pg from "pg";

import { generateSessionToken, sessionIdOf } from "@prompt-booster/api";
import { createEmptyPostgresDb } from "@prompt-booster/db/testing";

import { openSubscribers, type Subscribers } from "./lib/fanout.ts";
import { launch } from "./lib/processes.ts";

const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const streams = Number(process.env.BENCH_STREAMS ?? 1_000);
const userCount = Math.min(streams, Number(process.env.BENCH_STREAM_USERS ?? 100));
const entry = process.env.BENCH_SERVER_ENTRY ?? "dist/main.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** RSS once it has stopped moving by more than 1 MB over a second (at most 10 s), in MB. */
async function settledRss(read: () => number): Promise<number> {
  let last = read();
  for (let i = 0; i < 10; i++) {
    await sleep(1_000);
    const now = read();
    if (Math.abs(now - last) < 1) return now;
    last = now;
  }
  return last;
}

const database = await createEmptyPostgresDb(adminUrl);
const metricsPort = 39_432;
const server = await launch({
  name: "api",
  args: [entry],
  port: 39_431,
  databaseUrl: database.url,
  readyPath: "/ready",
  env: { AUTH_RATE_LIMIT_PER_IP: "1000000", SYNC_MAX_STREAMS_PER_USER: "100000", METRICS_PORT: String(metricsPort) },
});

/** The server's own view (prom-client's default metrics): JS heap used and memory outside it, in MB. */
async function heapMb(): Promise<{ heapUsedMb: number; externalMb: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  return {
    heapUsedMb: Number(value("nodejs_heap_size_used_bytes").toFixed(1)),
    externalMb: Number(value("nodejs_external_memory_bytes").toFixed(1)),
  };
}
const opened: Subscribers[] = [];
try {
  // Accounts and sessions straight into the database: signing up through the API would hash passwords in
  // the server (argon2's memory stays in its heap and would count as the streams').
  const users: string[] = Array.from({ length: userCount }, () => generateSessionToken());
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(
      `WITH u AS (
         INSERT INTO "User" (id, email, username, "usernameKey", "hashedPassword", "updatedAt")
         SELECT gen_random_uuid(), 'streams-' || i || '@bench.test', 'streams_' || i, 'streams_' || i, 'x', now()
           FROM generate_series(1, $1::int) AS i
         RETURNING id, "usernameKey"
       )
       INSERT INTO "Session" (id, "userId", "expiresAt", "absoluteExpiresAt")
       SELECT s.id, u.id, now() + interval '1 day', now() + interval '2 days'
         FROM unnest($2::text[]) WITH ORDINALITY AS s(id, i) JOIN u ON u."usernameKey" = 'streams_' || s.i`,
      [userCount, users.map(sessionIdOf)],
    );
  } finally {
    await client.end();
  }
  // One ordinary read first: the first query loads Prisma's query compiler, which is no stream's cost.
  const read = await fetch(`${server.url}/api/settings`, { headers: { authorization: `Bearer ${users[0]}` } });
  if (!read.ok) throw new Error(`GET /api/settings answered ${read.status}`);
  await read.arrayBuffer();
  const startMb = await settledRss(() => server.rssMb());
  const atStart = await heapMb();
  const subscribeUrl = `${server.url}/trpc/sync.subscribe`;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  // Warm-up: the code paths of a stream are compiled and their first allocations made before measuring.
  const warm = await openSubscribers(subscribeUrl, bearer(users[0]!), Math.min(100, streams));
  warm.close();
  const idleMb = await settledRss(() => server.rssMb());
  const atIdle = await heapMb();

  const perUser = Math.ceil(streams / userCount);
  let remaining = streams;
  for (const token of users) {
    const count = Math.min(perUser, remaining);
    if (count <= 0) break;
    opened.push(await openSubscribers(subscribeUrl, bearer(token), count));
    remaining -= count;
  }
  const openMb = await settledRss(() => server.rssMb());
  const atOpen = await heapMb();

  // One write per user; every stream of that user must hear its revision.
  await Promise.all(
    users.slice(0, opened.length).map(async (token, i) => {
      const created = await post(`${server.url}/trpc/templates.create`, { json: { name: "t", content: "c" } }, token);
      const rev = (created.result as { data: { json: { rev: number } } }).data.json.rev;
      await opened[i]!.allReached(rev, 60_000);
    }),
  );
  const afterWriteMb = await settledRss(() => server.rssMb());

  const perStreamKb = ((openMb - idleMb) * 1024) / streams;
  const result = {
    streams,
    users: opened.length,
    rssStartMb: Number(startMb.toFixed(1)),
    rssIdleMb: Number(idleMb.toFixed(1)),
    rssOpenMb: Number(openMb.toFixed(1)),
    rssAfterOneWriteEachMb: Number(afterWriteMb.toFixed(1)),
    perStreamKb: Number(perStreamKb.toFixed(1)),
    heap: { atStart, afterWarmUp: atIdle, withStreams: atOpen },
    heapPerStreamKb: Number((((atOpen.heapUsedMb - atIdle.heapUsedMb) * 1024) / streams).toFixed(1)),
    target: "RSS ≤ 250 MB with 1,000 streams",
    met: Math.max(openMb, afterWriteMb) <= 250,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const subscribers of opened) subscribers.close();
  await server.stop();
  await database.drop();
}
