// PostgreSQL restarts under write load: while it is down requests fail fast with 503 (not hang, not 500),
// afterwards every acknowledged write is there, nothing is half-written, and the server serves again
// without a restart of its own. Restarts the PostgreSQL cluster serving TEST_DATABASE_URL (found by its
// port): run alone (pnpm test:faults).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";

import { createEmptyPostgresDb, testDatabaseUrl } from "@prompt-booster/db/testing";

import { signUp } from "../support/auth.ts";
import { runServerProcess } from "../support/process.ts";
import { getPrompt, sleep, startWriteLoad, untilAcknowledged } from "./load.ts";

const adminUrl = testDatabaseUrl();

/** The local cluster (version and name, e.g. 15 main) listening on the URL's port, if there is one. */
function localClusterOf(url: string): [version: string, name: string] | undefined {
  if (!fs.existsSync("/etc/postgresql")) return undefined;
  const port = new URL(url).port || "5432";
  const rows = execFileSync("pg_lsclusters", ["--no-header"], { encoding: "utf8" }).trim().split("\n");
  const row = rows.map((line) => line.trim().split(/\s+/)).find((columns) => columns[2] === port);
  return row ? [row[0]!, row[1]!] : undefined;
}

// Only the cluster serving TEST_DATABASE_URL is restarted: a second local cluster can be used for this
// test while others keep using the first.
const restartable = adminUrl && process.getuid?.() === 0 ? localClusterOf(adminUrl) : undefined;

function cluster(action: "stop" | "start") {
  const [version, name] = restartable!;
  execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, name, action], { stdio: "ignore" });
}

interface LogLine {
  msg?: string;
  path?: string;
  err?: { type?: string; code?: string; message?: string };
}

/** Each failure the server logged as unexpected (class, code, message): what a stray 500 was. */
function unexpectedFailures(output: string): string {
  const failures = output.split("\n").flatMap((line) => {
    let entry: LogLine;
    try {
      entry = JSON.parse(line) as LogLine;
    } catch {
      return []; // not a log line, or one cut off mid-write
    }
    if (entry.msg !== "procedure failed" && entry.msg !== "REST call failed") return [];
    return [`${entry.path}: ${entry.err?.type} code=${entry.err?.code} ${entry.err?.message}`];
  });
  return failures.join("\n") || "(the server logged no unexpected failure)";
}

describe.skipIf(!restartable)("PostgreSQL restart under write load", () => {
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

    expect(
      [...load.statuses.keys()].filter((status) => status !== "200" && status !== "503"),
      unexpectedFailures(server.output()),
    ).toEqual([]);
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
