// The API benchmark (`pnpm bench` at the root): seeds a throw-away PostgreSQL database with a realistic
// population, starts the production build (dist/main.js) and the hand-written Fastify + pg baseline
// (baseline-server.ts) side by side, and drives both with the same load, scenario by scenario, in one run.
// Prints a table and writes bench/results/latest.json. Nothing here is asserted: the numbers are a report.
// Beside req/s and latency, each run reads the CPU time the server, PostgreSQL and the load generator used
// (/proc, lib/cpu.ts) and prints CPU per request against the baseline's, with issue 15's targets met or not.
//
//   pnpm bench [--only prompts.list,settings.get,growth,fanout,search,…]
// Environment: BENCH_DATABASE_URL (an admin URL that may create databases), BENCH_DURATION_S (8),
// BENCH_WARMUP_S (2), BENCH_CONNECTIONS (50), BENCH_SUBSCRIBERS (1000), BENCH_CPU_PROF (1: profile the server
// into bench/results/profiles; read them with `tsx bench/profile-top.ts <file>`), BENCH_NODE_FLAGS (more Node flags
// for our server, space-separated, e.g. "--import ./gc-log.mjs").
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

import { createEmptyPostgresDb } from "@prompt-booster/db/testing";

import { openSubscribers } from "./lib/fanout.ts";
import { load, medianMs, type LoadResult, type LoadTarget } from "./lib/load.ts";
import { launch, serverDir, type ServerProcess } from "./lib/processes.ts";
import { measureSearch, type SearchRow } from "./lib/search.ts";
import { seedPopulation, type BenchUser, type Population } from "./lib/seed.ts";

const { values: args } = parseArgs({ options: { only: { type: "string" } } });
const only = args.only ? new Set(args.only.split(",")) : null;
const wanted = (name: string) => !only || only.has(name);

const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const options = {
  durationS: Number(process.env.BENCH_DURATION_S ?? 8),
  warmupS: Number(process.env.BENCH_WARMUP_S ?? 2),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 50),
  subscribers: Number(process.env.BENCH_SUBSCRIBERS ?? 1_000),
  cpuProfile: process.env.BENCH_CPU_PROF === "1",
  nodeFlags: process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [],
};
const resultsDir = path.join(serverDir, "bench/results");

/** How a scenario reaches each server: ours over tRPC, the baseline over its plain routes. */
interface Scenario {
  name: string;
  kind: "read" | "write";
  connections: number;
  /** Issue 15's target: total CPU per request (server + PostgreSQL) at most this multiple of the baseline's. */
  cpuTarget?: number;
  ours: (url: string) => LoadTarget;
  baseline: (url: string) => LoadTarget;
}

const bearer = (user: BenchUser) => ({ authorization: `Bearer ${user.token}` });
const trpcQuery = (procedure: string, input?: unknown) =>
  `/trpc/${procedure}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`}`;
const json = { "content-type": "application/json" };
const versionBody = (n: number) => ({
  optimizedPrompt: `# Task\nIterate once more (${n}): tighter, with an example.`,
  iterationDirection: "more concise",
  modelId: "gpt-4o-mini",
  provider: "openai",
  modelName: "GPT-4o mini",
});

function scenarios(population: Population): Scenario[] {
  const heavy = population.historyUsers[0]!;
  const users = population.users;
  const userAt = (n: number) => users[n % users.length]!;
  /** POSTs, each as the n-th request's user: its path and JSON body. */
  const userPost = (
    url: string,
    path: (user: BenchUser) => string,
    body: (n: number, user: BenchUser) => unknown,
  ): LoadTarget => ({
    url,
    method: "POST",
    request: (n) => {
      const user = userAt(n);
      return {
        method: "POST",
        path: path(user),
        headers: { ...bearer(user), ...json },
        body: JSON.stringify(body(n, user)),
      };
    },
  });
  // An old cursor: the heavy user's device last synced 50,000 revisions ago.
  const since = heavy.revision - 50_000;
  const C = options.connections;
  return [
    {
      name: "prompts.list",
      kind: "read",
      connections: C,
      cpuTarget: 2,
      ours: (url) => ({
        url,
        request: () => ({ path: trpcQuery("prompts.list", { limit: 20 }), headers: bearer(heavy) }),
      }),
      baseline: (url) => ({ url, request: () => ({ path: "/prompts", headers: bearer(heavy) }) }),
    },
    {
      name: "settings.get",
      kind: "read",
      connections: C,
      cpuTarget: 2,
      ours: (url) => ({ url, request: (n) => ({ path: trpcQuery("settings.get"), headers: bearer(userAt(n)) }) }),
      baseline: (url) => ({ url, request: (n) => ({ path: "/settings", headers: bearer(userAt(n)) }) }),
    },
    {
      name: "templates.list",
      kind: "read",
      connections: C,
      cpuTarget: 2,
      ours: (url) => ({
        url,
        request: (n) => ({
          path: trpcQuery("templates.list", { scope: "public", q: "translate", limit: 20 }),
          headers: bearer(userAt(n)),
        }),
      }),
      baseline: (url) => ({ url, request: (n) => ({ path: "/templates?q=translate", headers: bearer(userAt(n)) }) }),
    },
    {
      name: "sync.pull",
      kind: "read",
      connections: C,
      cpuTarget: 2,
      ours: (url) => ({ url, request: () => ({ path: trpcQuery("sync.pull", { since }), headers: bearer(heavy) }) }),
      baseline: (url) => ({ url, request: () => ({ path: `/sync/pull?since=${since}`, headers: bearer(heavy) }) }),
    },
    {
      name: "prompts.addVersion",
      kind: "write",
      connections: C,
      cpuTarget: 2.5,
      ours: (url) =>
        userPost(
          url,
          () => "/trpc/prompts.addVersion",
          (n, user) => ({ json: { groupId: user.groupId, ...versionBody(n) } }),
        ),
      baseline: (url) => userPost(url, (user) => `/prompts/${user.groupId}/versions`, versionBody),
    },
    // The same reads and write over the REST paths (apps/server/src/http/rest.ts), against the same baseline.
    {
      name: "GET /api/prompts",
      kind: "read",
      connections: C,
      cpuTarget: 2,
      ours: (url) => ({ url, request: () => ({ path: "/api/prompts?limit=20", headers: bearer(heavy) }) }),
      baseline: (url) => ({ url, request: () => ({ path: "/prompts", headers: bearer(heavy) }) }),
    },
    {
      name: "GET /api/settings",
      kind: "read",
      connections: C,
      cpuTarget: 2,
      ours: (url) => ({ url, request: (n) => ({ path: "/api/settings", headers: bearer(userAt(n)) }) }),
      baseline: (url) => ({ url, request: (n) => ({ path: "/settings", headers: bearer(userAt(n)) }) }),
    },
    {
      name: "GET /api/templates",
      kind: "read",
      connections: C,
      cpuTarget: 2,
      ours: (url) => ({
        url,
        request: (n) => ({ path: "/api/templates?scope=public&q=translate&limit=20", headers: bearer(userAt(n)) }),
      }),
      baseline: (url) => ({ url, request: (n) => ({ path: "/templates?q=translate", headers: bearer(userAt(n)) }) }),
    },
    {
      name: "POST /api/prompts/{id}/versions",
      kind: "write",
      connections: C,
      cpuTarget: 2.5,
      ours: (url) => userPost(url, (user) => `/api/prompts/${user.groupId}/versions`, versionBody),
      baseline: (url) => userPost(url, (user) => `/prompts/${user.groupId}/versions`, versionBody),
    },
    {
      // argon2id-bound by design (m = 19 MiB, t = 2): a few connections saturate libuv's 4 threads.
      name: "auth.login",
      kind: "write",
      connections: 8,
      ours: (url) => ({
        url,
        method: "POST",
        request: (n) => ({
          method: "POST",
          path: "/trpc/auth.login",
          headers: json,
          body: JSON.stringify({ json: { email: userAt(n).email, password: population.password } }),
        }),
      }),
      baseline: (url) => ({
        url,
        method: "POST",
        request: (n) => ({
          method: "POST",
          path: "/auth/login",
          headers: json,
          body: JSON.stringify({ email: userAt(n).email, password: population.password }),
        }),
      }),
    },
  ];
}

interface Row {
  scenario: string;
  connections: number;
  ours: LoadResult;
  baseline: LoadResult;
  /** Requests per second, ours / the baseline's. */
  ratio: number;
  /** Total CPU per request (server + PostgreSQL), ours / the baseline's. */
  cpuRatio: number;
  cpuTarget: number | undefined;
}

/** Server + PostgreSQL CPU milliseconds per request. */
const totalCpuMs = (result: LoadResult) => result.cpu.serverMs + result.cpu.postgresMs;

interface FanOut {
  server: string;
  subscribers: number;
  rssIdleMb: number;
  rssWithSubscribersMb: number;
  /** Per write: from the write's acknowledgement (its HTTP answer) until the last subscriber had the event. */
  afterAckMs: number[];
  /** Per write: from sending the write until the last subscriber had the event. */
  afterSendMs: number[];
}

async function measureFanOut(
  server: ServerProcess,
  subscribePath: string,
  write: (n: number) => Promise<number>,
  user: BenchUser,
): Promise<FanOut> {
  const rssIdleMb = server.rssMb();
  const subscribers = await openSubscribers(server.url + subscribePath, bearer(user), options.subscribers);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rssWithSubscribersMb = server.rssMb();
    const afterAckMs: number[] = [];
    const afterSendMs: number[] = [];
    for (let n = 0; n < 5; n++) {
      const sent = performance.now();
      const revision = await write(n);
      const acked = performance.now();
      const all = await subscribers.allReached(revision, 30_000);
      afterAckMs.push(Math.max(0, all - acked));
      afterSendMs.push(all - sent);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return {
      server: server.name,
      subscribers: options.subscribers,
      rssIdleMb,
      rssWithSubscribersMb: Math.max(rssWithSubscribersMb, server.rssMb()),
      afterAckMs,
      afterSendMs,
    };
  } finally {
    subscribers.close();
  }
}

/**
 * A POST on a connection of its own (not a pooled keep-alive one): a long-idle pooled connection was seen to
 * get 408 from Node's request-timeout check while 1,000 streams were open (see the README).
 */
function postJson(url: string, headers: Record<string, string>, body: unknown): Promise<unknown> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: "POST", agent: false, headers: { ...headers, ...json, "content-length": Buffer.byteLength(payload) } },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () =>
          response.statusCode === 200
            ? resolve(JSON.parse(text))
            : reject(new Error(`${url} answered ${response.statusCode}: ${text}`)),
        );
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}

const database = await createEmptyPostgresDb(adminUrl);
const servers: ServerProcess[] = [];
try {
  const profileDir = path.join(resultsDir, "profiles");
  if (options.cpuProfile) mkdirSync(profileDir, { recursive: true });
  // Ours first: it applies the migrations the seed needs.
  const ours = await launch({
    name: "api",
    args: [
      ...(options.cpuProfile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      ...options.nodeFlags,
      "dist/main.js",
    ],
    port: 39_411,
    databaseUrl: database.url,
    readyPath: "/ready",
  });
  servers.push(ours);
  const population = await seedPopulation(database.url);
  console.log(`seeded in ${population.seconds.toFixed(1)} s: ${JSON.stringify(population.counts)}`);
  const baseline = await launch({
    name: "baseline",
    args: ["--import", "tsx", "bench/baseline-server.ts"],
    port: 39_412,
    databaseUrl: database.url,
    readyPath: "/ready",
  });
  servers.push(baseline);

  // Page time as the history grows: flat means a page's cost does not depend on the history size.
  const growth: { versions: number; firstPageMs: number; page50Ms: number }[] = [];
  if (wanted("growth")) {
    for (const user of [...population.historyUsers].reverse()) {
      const get = async (cursor?: string | null) => {
        const response = await fetch(ours.url + trpcQuery("prompts.list", { limit: 20, cursor }), {
          headers: bearer(user),
        });
        if (!response.ok) throw new Error(`prompts.list answered ${response.status}`);
        return ((await response.json()) as { result: { data: { json: { nextCursor: string | null } } } }).result.data
          .json.nextCursor;
      };
      let cursor: string | null = null;
      for (let i = 0; i < 49; i++) cursor = await get(cursor);
      const row = {
        versions: user.versions,
        firstPageMs: await medianMs(200, async () => void (await get())),
        page50Ms: await medianMs(200, async () => void (await get(cursor))),
      };
      growth.push(row);
      console.log(
        `${row.versions} versions: page 1 ${row.firstPageMs.toFixed(2)} ms, page 50 ${row.page50Ms.toFixed(2)} ms (median of 200)`,
      );
    }
  }

  const chosen = scenarios(population).filter((scenario) => wanted(scenario.name));
  // Every scenario is warmed up once before any is measured. Its own warm-up is not enough for the first
  // write: whichever write scenario came first paid for compiling the write path (the same POST cost 1.7 ms
  // more server CPU per request first than second).
  for (const scenario of chosen) {
    const warmOnly = { ...options, connections: scenario.connections, warmupS: 0, durationS: options.warmupS };
    await load(scenario.ours(ours.url), { ...warmOnly, serverPid: ours.child.pid });
    await load(scenario.baseline(baseline.url), { ...warmOnly, serverPid: baseline.child.pid });
  }
  const rows: Row[] = [];
  for (const scenario of chosen) {
    const loadOptions = { ...options, connections: scenario.connections };
    const ourResult = await load(scenario.ours(ours.url), { ...loadOptions, serverPid: ours.child.pid });
    const baseResult = await load(scenario.baseline(baseline.url), { ...loadOptions, serverPid: baseline.child.pid });
    const row: Row = {
      scenario: scenario.name,
      connections: scenario.connections,
      ours: ourResult,
      baseline: baseResult,
      ratio: ourResult.requestsPerSecond / baseResult.requestsPerSecond,
      cpuRatio: totalCpuMs(ourResult) / totalCpuMs(baseResult),
      cpuTarget: scenario.cpuTarget,
    };
    rows.push(row);
    console.log(
      `${row.scenario}: ${ourResult.requestsPerSecond.toFixed(0)} req/s (p99 ${ourResult.p99Ms} ms) vs baseline ` +
        `${baseResult.requestsPerSecond.toFixed(0)} req/s (p99 ${baseResult.p99Ms} ms): ${row.ratio.toFixed(2)}; ` +
        `CPU/req ${totalCpuMs(ourResult).toFixed(2)} ms vs ${totalCpuMs(baseResult).toFixed(2)} ms: ${row.cpuRatio.toFixed(2)}x`,
    );
  }

  const fanOut: FanOut[] = [];
  if (wanted("fanout")) {
    // One user's 1,000 devices listening; each write of that user must reach all of them.
    const user = population.historyUsers[0]!;
    fanOut.push(
      await measureFanOut(
        ours,
        "/trpc/sync.subscribe",
        async (n) =>
          (
            (await postJson(`${ours.url}/trpc/prompts.addVersion`, bearer(user), {
              json: { groupId: user.groupId, ...versionBody(n) },
            })) as { result: { data: { json: { rev: number } } } }
          ).result.data.json.rev,
        user,
      ),
    );
    fanOut.push(
      await measureFanOut(
        baseline,
        "/sync/subscribe",
        async (n) =>
          (
            (await postJson(`${baseline.url}/prompts/${user.groupId}/versions`, bearer(user), versionBody(n))) as {
              rev: number;
            }
          ).rev,
        user,
      ),
    );
  }

  // Last: it rewrites which templates are public and the history users' prompt text.
  const search: SearchRow[] = [];
  if (wanted("search")) {
    const get = async (requestPath: string, user: BenchUser) => {
      const response = await fetch(ours.url + requestPath, { headers: bearer(user) });
      if (!response.ok) throw new Error(`${requestPath} answered ${response.status}`);
      await response.arrayBuffer();
    };
    search.push(...(await measureSearch(database.url, population.historyUsers, get, trpcQuery)));
  }

  const ms = (value: number) => Math.round(value * 10) / 10;
  console.log(
    `\n${os.cpus().length} cores, Node ${process.version}; ${options.durationS} s per run after a ${options.warmupS} s warm-up`,
  );
  console.table(
    Object.fromEntries(
      rows.map((r) => [
        r.scenario,
        {
          conns: r.connections,
          "req/s": Math.round(r.ours.requestsPerSecond),
          "p50 ms": r.ours.p50Ms,
          "p99 ms": r.ours.p99Ms,
          "base req/s": Math.round(r.baseline.requestsPerSecond),
          "base p50": r.baseline.p50Ms,
          "base p99": r.baseline.p99Ms,
          ratio: Number(r.ratio.toFixed(2)),
        },
      ]),
    ),
  );
  // CPU per request, by process, and issue 15's targets (total = server + PostgreSQL, against the baseline's).
  const cpu = (value: number) => Math.round(value * 100) / 100;
  console.table(
    Object.fromEntries(
      rows.map((r) => [
        r.scenario,
        {
          "server ms": cpu(r.ours.cpu.serverMs),
          "pg ms": cpu(r.ours.cpu.postgresMs),
          "load ms": cpu(r.ours.cpu.loadGeneratorMs),
          "base server ms": cpu(r.baseline.cpu.serverMs),
          "base pg ms": cpu(r.baseline.cpu.postgresMs),
          "CPU ratio": cpu(r.cpuRatio),
          "p99 ratio": cpu(r.ours.p99Ms / r.baseline.p99Ms),
          target:
            r.cpuTarget === undefined
              ? "—"
              : `≤ ${r.cpuTarget}x: ${r.cpuRatio <= r.cpuTarget ? "met" : "NOT met"}; p99 ≤ 2x: ${
                  r.ours.p99Ms <= 2 * r.baseline.p99Ms ? "met" : "NOT met"
                }`,
        },
      ]),
    ),
  );
  if (fanOut.length > 0) {
    console.table(
      Object.fromEntries(
        fanOut.map((f) => [
          f.server,
          {
            subscribers: f.subscribers,
            "RSS idle MB": ms(f.rssIdleMb),
            "RSS with subscribers MB": ms(f.rssWithSubscribersMb),
            "after ack ms (median/max)": `${ms(median(f.afterAckMs))} / ${ms(Math.max(...f.afterAckMs))}`,
            "after send ms (median/max)": `${ms(median(f.afterSendMs))} / ${ms(Math.max(...f.afterSendMs))}`,
          },
        ]),
      ),
    );
  }
  if (search.length > 0) {
    console.table(
      search.map((row) => ({
        list: row.list,
        rows: row.rows,
        q: row.q,
        matches: row.matches,
        "page ms (median of 50)": ms(row.pageMs),
        "≤ 50 ms": row.pageMs <= 50 ? "met" : "NOT met",
      })),
    );
  }
  mkdirSync(resultsDir, { recursive: true });
  const report = {
    at: new Date().toISOString(),
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      node: process.version,
      memoryGb: os.totalmem() / 2 ** 30,
    },
    options,
    population: population.counts,
    seedSeconds: population.seconds,
    growth,
    load: rows,
    search,
    fanOut,
  };
  const file = path.join(resultsDir, "latest.json");
  writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
  console.log(`results: ${path.relative(process.cwd(), file)}`);
} finally {
  for (const server of servers.reverse()) await server.stop().catch(() => {});
  await database.drop();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
