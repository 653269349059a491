// A write load for fault tests: concurrent prompt creates with client-chosen ids, recording which the
// server acknowledged (200) — those must survive any crash — and which it answered how.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { createEmptyPostgresDb, testDatabaseUrl } from "@prompt-booster/db/testing";

export interface WriteLoad {
  acknowledged: Set<string>;
  /** Ids sent but never acknowledged: each must be either wholly present or wholly absent. */
  unacknowledged: Set<string>;
  statuses: Map<string, number>;
  /** Network errors by code (ECONNREFUSED, ECONNRESET, …). */
  errors: Map<string, number>;
  stop(): Promise<void>;
}

export function startWriteLoad(url: string, token: string, concurrency = 8): WriteLoad {
  const load: WriteLoad = {
    acknowledged: new Set(),
    unacknowledged: new Set(),
    statuses: new Map(),
    errors: new Map(),
    stop: async () => {},
  };
  let running = true;
  const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const worker = async () => {
    while (running) {
      const id = randomUUID();
      load.unacknowledged.add(id);
      try {
        const response = await fetch(`${url}/api/prompts`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify(promptBody(id)),
          signal: AbortSignal.timeout(30_000),
        });
        await response.arrayBuffer();
        count(load.statuses, String(response.status));
        if (response.status === 200) {
          load.unacknowledged.delete(id);
          load.acknowledged.add(id);
        }
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        count(load.errors, cause?.code ?? (error as Error).name);
        // After a crash or refusal, do not spin: wait a little before the next attempt.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  load.stop = async () => {
    running = false;
    await Promise.all(workers);
  };
  return load;
}

export function promptBody(id: string) {
  return {
    id,
    originalPrompt: `fault test prompt ${id}`,
    firstVersion: { optimizedPrompt: `better ${id}`, modelId: "m1", provider: "openai", modelName: "gpt" },
  };
}

/** Fetches one prompt; null when it does not exist. */
export async function getPrompt(url: string, token: string, id: string) {
  const response = await fetch(`${url}/api/prompts/${id}`, { headers: { authorization: `Bearer ${token}` } });
  if (response.status === 404) return null;
  if (response.status !== 200) throw new Error(`GET /api/prompts/${id}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; versions: { number: number; optimizedPrompt: string }[] };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the load has at least `n` acknowledged writes. */
export async function untilAcknowledged(load: WriteLoad, n: number, timeoutMs = 60_000) {
  const started = Date.now();
  while (load.acknowledged.size < n) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`only ${load.acknowledged.size} writes acknowledged: ${JSON.stringify([...load.statuses])}`);
    }
    await sleep(20);
  }
}

/** Server environment for a database that outlives the server process: a fresh PostgreSQL database or PGlite folder. */
export async function persistentDatabaseEnv(cleanups: (() => Promise<void> | void)[]): Promise<Record<string, string>> {
  const adminUrl = testDatabaseUrl();
  if (adminUrl) {
    const db = await createEmptyPostgresDb(adminUrl);
    cleanups.push(db.drop);
    return { DATABASE_URL: db.url };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pb-faults-"));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  return { PGLITE_DATA_DIR: dataDir };
}
