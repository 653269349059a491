// Devices in step over real HTTP: the typed client's SyncEngine (pull + SSE subscription + push) against
// real servers, on this file's own database (PGlite, or PostgreSQL with TEST_DATABASE_URL).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createClient, MemorySyncStore, SyncEngine, type TokenStore } from "@prompt-booster/client";
import { createDb, type Database } from "@prompt-booster/db";

import { loadConfig } from "../src/config.ts";
import { startTombstonePruning } from "../src/jobs/prune-tombstones.ts";
import { buildServer, type PromptBoosterServer } from "../src/server.ts";
import { logIn, signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const fixedToken = (token: string): TokenStore => ({ get: () => token, set: () => {}, clear: () => {} });

/** A device: its own client (bearer session), store and engine. */
function device(url: string, token: string) {
  const client = createClient({ url, auth: { mode: "bearer", tokens: fixedToken(token) } });
  const store = new MemorySyncStore();
  const signals: number[] = [];
  const engine = new SyncEngine({ client, store, retryDelayMs: () => 100, onRevision: (rev) => signals.push(rev) });
  return { client, store, engine, signals };
}

/**
 * Resolves once `condition` holds. The bound only turns a hang into a clear failure: how fast a write
 * travels is measured by the benchmark (`pnpm bench --only fanout`), never asserted here.
 */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > 20_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const names = (engine: SyncEngine) =>
  engine.view
    .list("template")
    .map((template) => template.name)
    .sort();

describe("sync between devices", () => {
  it("a write on one device reaches the user's other device, never another user's", async () => {
    const alice = await signUp(t.url);
    const laptop = device(t.url, alice.token);
    const phone = device(t.url, await logIn(t.url, alice.email, alice.password));
    const bob = device(t.url, (await signUp(t.url)).token);
    for (const d of [laptop, phone, bob]) await d.engine.start();
    // Each connected subscription has said hello (the current revision) once.
    await waitFor(() => [laptop, phone, bob].every((d) => d.signals.length >= 1), "subscriptions");
    const bobHello = [...bob.signals];
    expect(bobHello).toHaveLength(1);

    const created = await laptop.client.templates.create.mutate({ name: "Shared", content: "You are…" });
    await waitFor(() => names(phone.engine).includes("Shared"), "the phone to see the template");

    // Deletes propagate too.
    await phone.client.templates.delete.mutate({ id: created.id });
    await waitFor(() => names(laptop.engine).length === 0, "the laptop to see the delete");

    // Bob's device heard nothing and holds nothing of Alice's.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(bob.signals).toEqual(bobHello);
    expect(bob.engine.view.list("template")).toEqual([]);
    for (const d of [laptop, phone, bob]) d.engine.stop();
  });

  it("offline writes queued on a device are pushed once and reach the other device", async () => {
    const alice = await signUp(t.url);
    const laptop = device(t.url, alice.token);
    const phone = device(t.url, await logIn(t.url, alice.email, alice.password));
    await phone.engine.start();
    // Written while the laptop's engine is not running: queued, then pushed on start.
    await laptop.store.enqueue({
      mutationId: "offline-1",
      op: "prompt.create",
      input: {
        id: randomUUID(),
        originalPrompt: "Plan a trip",
        firstVersion: {
          optimizedPrompt: "Plan a 3-day trip…",
          modelId: "openai",
          provider: "OpenAI",
          modelName: "gpt",
        },
      },
    });
    await laptop.engine.start();
    expect(laptop.engine.pending()).toEqual([]);
    expect((await laptop.store.load()).pending).toEqual([]);
    await waitFor(() => phone.engine.view.list("promptVersion").length === 1, "the phone to get the prompt");
    expect(phone.engine.view.list("promptGroup")[0]).toMatchObject({ originalPrompt: "Plan a trip" });
    laptop.engine.stop();
    phone.engine.stop();
  });
});

describe("tombstone retention", () => {
  it("a device whose cursor is older than the pruned tombstones starts over from a snapshot, on its own", async () => {
    const alice = await signUp(t.url);
    const phone = device(t.url, alice.token);
    const laptop = createClient({ url: t.url, auth: { mode: "bearer", tokens: fixedToken(alice.token) } });
    await laptop.templates.create.mutate({ name: "Keep", content: "c" });
    const gone = await laptop.templates.create.mutate({ name: "Gone", content: "c" });
    await phone.engine.start();
    await waitFor(() => names(phone.engine).length === 2, "the first sync");
    phone.engine.stop();

    // While the phone is away: a delete, then the retention window passes and the job prunes the tombstone.
    await laptop.templates.delete.mutate({ id: gone.id });
    await laptop.templates.create.mutate({ name: "New", content: "c" });
    const later = new Date(Date.now() + t.config.sync.tombstoneRetentionMs + 60_000);
    const job = startTombstonePruning(t.testDb.db, {
      clock: { now: () => later },
      retentionMs: t.config.sync.tombstoneRetentionMs,
      intervalMs: 0,
      log: { info: () => {}, error: () => {} },
    });
    expect((await job.run()).removed).toBeGreaterThanOrEqual(1);
    await job.stop();

    // The phone's cursor now predates the horizon: the engine is told "reset required" and takes a snapshot.
    await phone.engine.pull();
    expect(names(phone.engine)).toEqual(["Keep", "New"]);
  });
});

describe("several server processes", () => {
  let second: PromptBoosterServer;
  let secondUrl: string;
  let secondDb: Database | undefined;

  beforeAll(async () => {
    // On PostgreSQL the second server has its own pool and LISTEN connection, as another process would;
    // on PGlite (one engine per data folder) it shares the engine and hears through PGlite's listen/notify.
    secondDb = t.testDb.url ? await createDb({ databaseUrl: t.testDb.url, dataDir: "" }) : undefined;
    second = await buildServer(t.config, { db: secondDb ?? t.testDb.db });
    secondUrl = await second.start();
  });
  afterAll(async () => {
    await second.stop();
    await secondDb?.close();
  });

  it("a write through server A reaches a device subscribed to server B", async () => {
    const alice = await signUp(t.url);
    const onB = device(secondUrl, alice.token);
    await onB.engine.start();
    await waitFor(() => onB.signals.length >= 1, "the subscription on B");

    const viaA = createClient({ url: t.url, auth: { mode: "bearer", tokens: fixedToken(alice.token) } });
    await viaA.templates.create.mutate({ name: "From A", content: "c" });
    await waitFor(() => names(onB.engine).includes("From A"), "B's device to see A's write");
    onB.engine.stop();
  });

  it("a device resumes after its server restarts, missing nothing written meanwhile", async () => {
    const alice = await signUp(t.url);
    // A third server this test restarts, on a fixed port so the device's URL stays the same.
    const config = loadConfig({ ...process.env, NODE_ENV: "test", LOG_LEVEL: "silent", PORT: "0" });
    let restartable = await buildServer(config, { db: secondDb ?? t.testDb.db });
    const url = await restartable.start();
    const port = new URL(url).port;

    const phone = device(url, alice.token);
    await phone.engine.start();
    await waitFor(() => phone.signals.length >= 1, "the subscription");
    const viaB = createClient({ url: secondUrl, auth: { mode: "bearer", tokens: fixedToken(alice.token) } });
    await viaB.templates.create.mutate({ name: "Before", content: "c" });
    await waitFor(() => names(phone.engine).includes("Before"), "the first write");

    // The server stops with the SSE stream open (a stop that hung on it would fail this test by its timeout),
    // a write lands elsewhere meanwhile.
    await restartable.stop();
    await viaB.templates.create.mutate({ name: "While down", content: "c" });

    restartable = await buildServer(loadConfig({ ...process.env, NODE_ENV: "test", LOG_LEVEL: "silent", PORT: port }), {
      db: secondDb ?? t.testDb.db,
    });
    await restartable.start();
    await waitFor(() => names(phone.engine).includes("While down"), "the write made while the server was down");
    expect(names(phone.engine)).toEqual(["Before", "While down"]);
    phone.engine.stop();
    await restartable.stop();
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)("the LISTEN connection (PostgreSQL)", () => {
  it("reconnects after the database drops it, and devices still hear of new writes", async () => {
    const alice = await signUp(t.url);
    const phone = device(t.url, alice.token);
    await phone.engine.start();
    await waitFor(() => phone.signals.length >= 1, "the subscription");

    // What a database restart does to it: the server's LISTEN session is terminated.
    const killed = await t.testDb.db.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()`;
    expect(killed[0]!.n).toBeGreaterThanOrEqual(1);

    // A write through another process must reach the device once the listener is back.
    const other = await createDb({ databaseUrl: t.testDb.url!, dataDir: "" });
    const elsewhere = await buildServer(t.config, { db: other });
    const url = await elsewhere.start();
    try {
      // The listener reconnects with a backoff starting at 200 ms; give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const viaOther = createClient({ url, auth: { mode: "bearer", tokens: fixedToken(alice.token) } });
      await viaOther.templates.create.mutate({ name: "After the drop", content: "c" });
      await waitFor(() => names(phone.engine).includes("After the drop"), "the write after the reconnect");
    } finally {
      phone.engine.stop();
      await elsewhere.stop();
      await other.close();
    }
  });
});
