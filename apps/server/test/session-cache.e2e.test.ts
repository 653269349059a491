// The in-memory cache of validated sessions changes no answer across processes: two servers on one database
// (on PostgreSQL with TEST_DATABASE_URL each with its own pool and LISTEN connection, as two processes; on
// PGlite they share the engine). A session is used on B (so B holds it in memory), ended or changed through A
// or by another writer, and B's very next request after the signal arrived is answered as the database says.
//
// No timing: "the signal arrived" is a barrier. Notifications reach a listener in commit order, so once B's
// stream of a witness user has heard a write committed after the change, B has handled the change's signal.
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createClient, type TokenStore } from "@prompt-booster/client";
import { createDb, type Database } from "@prompt-booster/db";

import { buildServer, type PromptBoosterServer } from "../src/server.ts";
import { logIn, signUp, type SignedUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let a: TestServer;
let b: PromptBoosterServer;
let bUrl: string;
let bDb: Database | undefined;
let witness: { token: string; stream: ReturnType<typeof watch> };
const bLogWaiters = new Set<{ text: string; resolve: () => void }>();
const bLog = new Writable({
  write(chunk: Buffer, _encoding, done) {
    const line = chunk.toString();
    for (const waiter of bLogWaiters) {
      if (!line.includes(waiter.text)) continue;
      bLogWaiters.delete(waiter);
      waiter.resolve();
    }
    done();
  },
});
/** Resolves once B logs a line containing `text` (after this call). */
const bLogs = (text: string) => new Promise<void>((resolve) => bLogWaiters.add({ text, resolve }));
beforeAll(async () => {
  // Writes need a confirmed email: the cached user's `emailVerified` then decides an answer.
  a = await startTestServer({ env: { AUTH_REQUIRE_EMAIL_VERIFICATION: "true" } });
  bDb = a.testDb.url ? await createDb({ databaseUrl: a.testDb.url, dataDir: "" }) : undefined;
  // B's log is read: the loss and return of its LISTEN connection are events a test waits for.
  b = await buildServer({ ...a.config, logLevel: "info" }, { db: bDb ?? a.testDb.db, logStream: bLog });
  bUrl = await b.start();
  const account = await signUp(a.url);
  await sql(`UPDATE "User" SET "emailVerifiedAt" = now() WHERE id = '${account.user.id}'`);
  witness = { token: account.token, stream: watch(bUrl, account.token) };
  await witness.stream.open();
});
afterAll(async () => {
  witness?.stream.close();
  await b.stop();
  await bDb?.close();
  await a.close();
});

/** Another writer on the same database (a script, an operator): not through either server. */
const sql = (text: string) => a.testDb.db.prisma.$executeRawUnsafe(text);

const fixedToken = (token: string): TokenStore => ({ get: () => token, set: () => {}, clear: () => {} });
const client = (url: string, token: string) =>
  createClient({ url, auth: { mode: "bearer", tokens: fixedToken(token) } });

/** One sync.subscribe stream: the revisions it heard; `hears(rev)` resolves once it has heard `rev`. */
function watch(url: string, token: string) {
  const revisions: number[] = [];
  const waiters = new Set<{ rev: number | null; resolve: () => void }>();
  const check = () => {
    for (const waiter of waiters) {
      if (waiter.rev === null ? revisions.length === 0 : !revisions.includes(waiter.rev)) continue;
      waiters.delete(waiter);
      waiter.resolve();
    }
  };
  const subscription = client(url, token).sync.subscribe.subscribe(undefined, {
    onData: ({ data }) => {
      revisions.push(data.revision);
      check();
    },
  });
  const until = (rev: number | null) =>
    new Promise<void>((resolve) => {
      waiters.add({ rev, resolve });
      check();
    });
  return { open: () => until(null), hears: (rev: number) => until(rev), close: () => subscription.unsubscribe() };
}

/** Resolves once B has handled every signal committed before this call (see the file's comment). */
async function signalsReachedB() {
  const { rev } = await client(a.url, witness.token).templates.create.mutate({ name: "barrier", content: "c" });
  await witness.stream.hears(rev);
}

/** The status B answers a read with, as `token`. */
async function readOnB(token: string): Promise<number> {
  const response = await fetch(`${bUrl}/api/settings`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

/** Uses `token` on B twice: the first read validates it, the second is answered from B's memory. */
async function heldByB(...tokens: string[]) {
  for (const token of tokens) {
    expect(await readOnB(token)).toBe(200);
    expect(await readOnB(token)).toBe(200);
  }
}

async function user(): Promise<SignedUp & { signIn: () => Promise<string> }> {
  const account = await signUp(a.url);
  return { ...account, signIn: () => logIn(a.url, account.email, account.password) };
}

describe("a session B holds in memory", () => {
  it("is in memory: ended without a signal, B still accepts it (what the signals exist for)", async () => {
    const alice = await user();
    await heldByB(alice.token);
    // session_replication_role = replica: this transaction's triggers do not fire, so nobody is told.
    await a.testDb.db.prisma.$transaction([
      a.testDb.db.prisma.$executeRawUnsafe(`SET LOCAL session_replication_role = replica`),
      a.testDb.db.prisma.$executeRawUnsafe(`DELETE FROM "Session" WHERE "userId" = '${alice.user.id}'`),
    ]);
    await signalsReachedB();
    expect(await readOnB(alice.token)).toBe(200);
    // A process that never held it reads the database.
    const onA = await fetch(`${a.url}/api/settings`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(onA.status).toBe(401);
    // Any later signal about the user makes B forget (here: their email confirmed by another writer).
    await sql(`UPDATE "User" SET "emailVerifiedAt" = now() WHERE id = '${alice.user.id}'`);
    await signalsReachedB();
    expect(await readOnB(alice.token)).toBe(401);
  });

  it("is refused on B after logout through A", async () => {
    const alice = await user();
    await heldByB(alice.token);
    await client(a.url, alice.token).auth.logout.mutate();
    await signalsReachedB();
    expect(await readOnB(alice.token)).toBe(401);
  });

  it("is refused on B after logoutAll through A, every session of the user", async () => {
    const alice = await user();
    const phone = await alice.signIn();
    await heldByB(alice.token, phone);
    await client(a.url, alice.token).auth.logoutAll.mutate();
    await signalsReachedB();
    expect(await readOnB(alice.token)).toBe(401);
    expect(await readOnB(phone)).toBe(401);
  });

  it("is refused on B after sessions.revoke through A; the revoking session still works", async () => {
    const alice = await user();
    const tablet = await alice.signIn();
    await heldByB(alice.token, tablet);
    const sessions = await client(a.url, alice.token).auth.sessions.list.query();
    const tabletSession = sessions.find((session) => !session.current)!;
    await client(a.url, alice.token).auth.sessions.revoke.mutate({ sessionId: tabletSession.id });
    await signalsReachedB();
    expect(await readOnB(tablet)).toBe(401);
    expect(await readOnB(alice.token)).toBe(200);
  });

  it("is refused on B once rotated by refreshToken through A; the new token works on B", async () => {
    const alice = await user();
    await heldByB(alice.token);
    const rotated = await client(a.url, alice.token).auth.refreshToken.mutate();
    await signalsReachedB();
    expect(await readOnB(alice.token)).toBe(401);
    expect(await readOnB(rotated.token)).toBe(200);
  });

  it("is refused on B after a password change through A ends the other sessions; the changing one works", async () => {
    const alice = await user();
    const phone = await alice.signIn();
    await heldByB(alice.token, phone);
    await client(a.url, alice.token).auth.changePassword.mutate({
      currentPassword: alice.password,
      newPassword: `a new passphrase ${randomUUID()}`,
    });
    await signalsReachedB();
    expect(await readOnB(phone)).toBe(401);
    expect(await readOnB(alice.token)).toBe(200);
  });

  it("is refused on B after the account is deleted through A", async () => {
    const alice = await user();
    await heldByB(alice.token);
    await client(a.url, alice.token).auth.deleteAccount.mutate({ password: alice.password });
    await signalsReachedB();
    expect(await readOnB(alice.token)).toBe(401);
  });

  it("is refused on B after another writer deactivates the user, or deletes the session row", async () => {
    const alice = await user();
    const bob = await user();
    await heldByB(alice.token, bob.token);
    await sql(`UPDATE "User" SET "isActive" = false WHERE id = '${alice.user.id}'`);
    await sql(`DELETE FROM "Session" WHERE "userId" = '${bob.user.id}'`);
    await signalsReachedB();
    expect(await readOnB(alice.token)).toBe(401);
    expect(await readOnB(bob.token)).toBe(401);
  });

  it("carries the email's confirmation as the database has it: a write refused before, allowed after", async () => {
    const alice = await user();
    await heldByB(alice.token);
    const write = () => client(bUrl, alice.token).templates.create.mutate({ name: "n", content: "c" });
    await expect(write()).rejects.toMatchObject({
      data: { code: "FORBIDDEN", details: { reason: "emailNotVerified" } },
    });
    await sql(`UPDATE "User" SET "emailVerifiedAt" = now() WHERE id = '${alice.user.id}'`);
    await signalsReachedB();
    await expect(write()).resolves.toMatchObject({ name: "n" });
  });
});

describe("while B cannot hear the signals", () => {
  // PGlite has no connection to lose.
  it.skipIf(!process.env.TEST_DATABASE_URL)(
    "B forgets what it held when its LISTEN connection drops, so a change it could not hear is not hidden",
    async () => {
      const alice = await user();
      await heldByB(alice.token);
      const lost = bLogs("change-events connection lost");
      const restored = bLogs("change-events connection restored");
      await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = current_database() AND query = 'LISTEN prompt_booster_changes'`);
      await lost;
      // Ended without any signal, while B was deaf: B must read the database.
      await a.testDb.db.prisma.$transaction([
        a.testDb.db.prisma.$executeRawUnsafe(`SET LOCAL session_replication_role = replica`),
        a.testDb.db.prisma.$executeRawUnsafe(`DELETE FROM "Session" WHERE "userId" = '${alice.user.id}'`),
      ]);
      expect(await readOnB(alice.token)).toBe(401);
      // The later tests need B listening again.
      await restored;
    },
  );
});

describe("rows written by another process", () => {
  it("a session signed in through A works on B at once, and settings written through A are B's next read", async () => {
    const alice = await user();
    const phone = await alice.signIn();
    expect(await readOnB(phone)).toBe(200);
    await sql(`UPDATE "User" SET "emailVerifiedAt" = now() WHERE id = '${alice.user.id}'`);
    await signalsReachedB();
    await heldByB(phone);
    const updated = await client(a.url, alice.token).settings.update.mutate({ theme: "dark" });
    expect(await client(bUrl, phone).settings.get.query()).toEqual(updated);
  });
});
