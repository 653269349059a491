// Auth benchmark: argon2id time per hash and login throughput over real HTTP on this machine.
// Baseline, measured in the same run: raw argon2id verifies per second at the same concurrency, the
// ceiling login throughput cannot pass. Run: pnpm --filter @prompt-booster/server bench:auth
import { hash, verify } from "@node-rs/argon2";

import { PASSWORD_HASH_PARAMS } from "@prompt-booster/api";
import { signUp } from "../test/support/auth.ts";
import { startTestServer } from "../test/support/server.ts";

const CONCURRENCY = Number(process.argv[2] ?? 4);
const DURATION_MS = Number(process.argv[3] ?? 5_000);
const MAX_REQUESTS = 2_000;
const options = { algorithm: 2 as const, ...PASSWORD_HASH_PARAMS };

async function runFor(work: () => Promise<void>): Promise<{ count: number; perSecond: number }> {
  const start = performance.now();
  let count = 0;
  const worker = async () => {
    while (performance.now() - start < DURATION_MS && count < MAX_REQUESTS) {
      await work();
      count++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { count, perSecond: (count * 1000) / (performance.now() - start) };
}

const samples: number[] = [];
for (let i = 0; i < 10; i++) {
  const start = performance.now();
  await hash(`benchmark password ${i}`, options);
  samples.push(performance.now() - start);
}
samples.sort((a, b) => a - b);
const stored = await hash("benchmark password", options);
const baseline = await runFor(async () => void (await verify(stored, "benchmark password")));

const t = await startTestServer({ env: { AUTH_RATE_LIMIT_PER_IP: "1000000" } });
try {
  const account = await signUp(t.url);
  const body = JSON.stringify({ email: account.email, password: account.password });
  const logins = await runFor(async () => {
    const response = await fetch(`${t.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    if (response.status !== 200) throw new Error(`login answered ${response.status}`);
    await response.arrayBuffer();
  });
  const params = `m=${options.memoryCost} KiB, t=${options.timeCost}, p=${options.parallelism}`;
  console.log(`argon2id (${params}): median ${samples[5]!.toFixed(1)} ms per hash (min ${samples[0]!.toFixed(1)} ms)`);
  console.log(`baseline: raw argon2id verifies, concurrency ${CONCURRENCY}: ${baseline.perSecond.toFixed(1)}/s`);
  console.log(
    `login over HTTP (${t.testDb.url ? "PostgreSQL" : "PGlite"}), concurrency ${CONCURRENCY}: ` +
      `${logins.perSecond.toFixed(1)}/s (${logins.count} logins), ` +
      `${((logins.perSecond / baseline.perSecond) * 100).toFixed(0)}% of the argon2 baseline`,
  );
} finally {
  await t.close();
}
