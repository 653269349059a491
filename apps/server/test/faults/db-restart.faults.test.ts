// PostgreSQL restarts under write load: while it is down requests fail fast with 503 (not hang, not 500),
// afterwards every acknowledged write is there, nothing is half-written, and the server serves again
// without a restart of its own. Restarts the machine's PostgreSQL cluster: run alone (pnpm test:faults).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";

import { createEmptyPostgresDb, testDatabaseUrl } from "@prompt-booster/db/testing";

import { signUp } from "../support/auth.ts";
import { runServerProcess } from "../support/process.ts";
import { getPrompt, sleep, startWriteLoad, untilAcknowledged } from "./load.ts";

const adminUrl = testDatabaseUrl();
const canRestart = Boolean(adminUrl) && fs.existsSync("/etc/postgresql") && process.getuid?.() === 0;

function cluster(action: "stop" | "start") {
  const version = fs.readdirSync("/etc/postgresql")[0]!;
  execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", action], { stdio: "ignore" });
}

describe.skipIf(!canRestart)("PostgreSQL restart under write load", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("fails fast while the database is down and loses nothing acknowledged", async () => {
    const db = await createEmptyPostgresDb(adminUrl!);
    cleanups.push(db.drop);
    const server = runServerProcess({
      PORT: "0",
      DATABASE_URL: db.url,
      DB_CONNECT_TIMEOUT_MS: "1000",
    });
    cleanups.push(() => void server.child.kill("SIGKILL"));
    const url = await server.listening();
    const account = await signUp(url);

    const load = startWriteLoad(url, account.token);
    await untilAcknowledged(load, 30);
    try {
      cluster("stop");
      const downSince = load.statuses.get("503") ?? 0;
      await sleep(3_000);
      // While down: answers are 503 (fast failures), and /ready says so.
      expect(load.statuses.get("503") ?? 0).toBeGreaterThan(downSince);
      expect((await fetch(`${url}/ready`)).status).toBe(503);
    } finally {
      cluster("start");
    }
    const before = load.acknowledged.size;
    await untilAcknowledged(load, before + 30, 60_000);
    await load.stop();

    expect([...load.statuses.keys()].filter((status) => status !== "200" && status !== "503")).toEqual([]);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    for (const id of load.acknowledged) {
      const prompt = await getPrompt(url, account.token, id);
      expect(prompt, `acknowledged prompt ${id}`).not.toBeNull();
      expect(prompt!.versions.map((version) => version.number)).toEqual([1]);
    }
    for (const id of load.unacknowledged) {
      const prompt = await getPrompt(url, account.token, id);
      if (prompt) expect(prompt.versions.map((version) => version.number)).toEqual([1]);
    }
  });
});
