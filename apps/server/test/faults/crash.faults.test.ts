// kill -9 of the server in the middle of a write load: after a restart on the same database, every
// acknowledged write is there, each unacknowledged one is all there or not at all, and the embedded
// data folder opens cleanly.
import { afterAll, describe, expect, it } from "vitest";

import { testDatabaseUrl } from "@prompt-booster/db/testing";

import { signUp } from "../support/auth.ts";
import { runServerProcess } from "../support/process.ts";
import { getPrompt, persistentDatabaseEnv, startWriteLoad, untilAcknowledged } from "./load.ts";

const adminUrl = testDatabaseUrl();
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe(`kill -9 under write load (${adminUrl ? "PostgreSQL" : "PGlite data folder"})`, () => {
  it("loses no acknowledged write and leaves no half-written prompt", async () => {
    const env = { PORT: "0", ...(await persistentDatabaseEnv(cleanups)) };
    const first = runServerProcess(env);
    cleanups.push(() => void first.child.kill("SIGKILL"));
    const url = await first.listening();
    const account = await signUp(url);

    const load = startWriteLoad(url, account.token);
    await untilAcknowledged(load, 40);
    first.child.kill("SIGKILL");
    await first.exit;
    await load.stop();
    expect(load.acknowledged.size).toBeGreaterThanOrEqual(40);

    const second = runServerProcess(env);
    cleanups.push(() => void second.child.kill("SIGKILL"));
    const again = await second.listening();
    for (const id of load.acknowledged) {
      const prompt = await getPrompt(again, account.token, id);
      expect(prompt, `acknowledged prompt ${id}`).not.toBeNull();
      expect(prompt!.versions.map((version) => version.number)).toEqual([1]);
    }
    for (const id of load.unacknowledged) {
      const prompt = await getPrompt(again, account.token, id);
      if (prompt) expect(prompt.versions.map((version) => version.number)).toEqual([1]);
    }
    second.child.kill("SIGTERM");
    expect(await second.exit).toBe(0);
  });
});
