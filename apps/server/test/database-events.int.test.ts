// Change events between two listeners on one database (two server processes, as far as the database can
// tell): on PGlite, or on PostgreSQL with TEST_DATABASE_URL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { ChangeEvent, SessionsEnded, StreamSubscriber } from "@prompt-booster/api";
import { createDb, type Database } from "@prompt-booster/db";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { createDatabaseChangeEvents, type DatabaseChangeEvents } from "../src/events/database-events.ts";

let t: TestDb;
let otherDb: Database | undefined;
beforeAll(async () => {
  t = await createTestDb();
  // On PostgreSQL the second listener has its own pool, as another process would.
  otherDb = t.url ? await createDb({ databaseUrl: t.url, dataDir: "" }) : undefined;
});
afterAll(async () => {
  await otherDb?.close();
  await t.dispose();
});

function recordingLog() {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const record = (level: string) => (obj: object, msg: string) => lines.push({ level, msg, obj });
  return { lines, log: { warn: record("warn"), info: record("info") } };
}

const opened: DatabaseChangeEvents[] = [];
afterAll(async () => {
  for (const events of opened) await events.close();
});

async function listener(db: Database, log: ReturnType<typeof recordingLog>["log"]) {
  const events = createDatabaseChangeEvents(db, { log });
  opened.push(events);
  await events.ready;
  return events;
}

/** A stream's subscription that records what it hears; `next()` resolves with the next event. */
function subscriber(events: DatabaseChangeEvents, userId: string) {
  let deliver: ((event: ChangeEvent | SessionsEnded) => void) | undefined;
  const queue: (ChangeEvent | SessionsEnded)[] = [];
  const hear = (event: ChangeEvent | SessionsEnded) => (deliver ? deliver(event) : queue.push(event));
  const stream: StreamSubscriber = {
    userId,
    sessionId: crypto.randomUUID(),
    onChange: hear,
    onSessionsEnded: hear,
    onEvicted: () => {},
  };
  const unsubscribe = events.subscribe(stream);
  return {
    unsubscribe,
    next: () =>
      new Promise<ChangeEvent | SessionsEnded>((resolve) => {
        const queued = queue.shift();
        if (queued) return resolve(queued);
        deliver = (event) => {
          deliver = undefined;
          resolve(event);
        };
      }),
  };
}

describe("NOTIFY between processes", () => {
  it("delivers a change to the other process and logs nothing when it succeeds", async () => {
    const a = recordingLog();
    const b = recordingLog();
    const publisher = await listener(t.db, a.log);
    const receiver = await listener(otherDb ?? t.db, b.log);
    const userId = crypto.randomUUID();

    const there = subscriber(receiver, userId);
    await publisher.publish({ userId, revision: 7 });
    expect(await there.next()).toEqual({ userId, revision: 7 });
    there.unsubscribe();
    expect([...a.lines, ...b.lines].filter((line) => line.level !== "info")).toEqual([]);
  });

  it("carries ended sessions to the other process, each kind as it was published", async () => {
    const publisher = await listener(t.db, recordingLog().log);
    const receiver = await listener(otherDb ?? t.db, recordingLog().log);
    const userId = crypto.randomUUID();
    const here = subscriber(publisher, userId);
    const there = subscriber(receiver, userId);
    const kinds: SessionsEnded[] = [
      { userId, revoked: ["a", "b"] },
      { userId, replaced: "c" },
      { userId, allExcept: "d" },
      { userId, allExcept: null },
    ];
    for (const ended of kinds) {
      await publisher.publishSessionsEnded(ended);
      expect(await here.next()).toEqual(ended);
      expect(await there.next()).toEqual(ended);
    }
    // Delivered once in each process: the publisher's own NOTIFY is not delivered to it again.
    await publisher.publish({ userId, revision: 1 });
    expect(await here.next()).toEqual({ userId, revision: 1 });
    expect(await there.next()).toEqual({ userId, revision: 1 });
  });
});
