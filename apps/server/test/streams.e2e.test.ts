// sync.subscribe streams end with their session, on every server process, and a user holds a bounded
// number of them: real servers on one database (PGlite, or PostgreSQL with TEST_DATABASE_URL) and the real
// typed client.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  createClient,
  isStreamReplaced,
  isUnauthorized,
  MemorySyncStore,
  SyncEngine,
  type TokenStore,
} from "@prompt-booster/client";
import { createDb, type Database } from "@prompt-booster/db";

import { loadConfig } from "../src/config.ts";
import { buildServer, type PromptBoosterServer } from "../src/server.ts";
import { logIn, signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let a: TestServer;
/** Another process on the same database: what A's auth calls do must reach B's streams. */
let b: PromptBoosterServer;
let bUrl: string;
let bDb: Database | undefined;
beforeAll(async () => {
  a = await startTestServer();
  // On PostgreSQL B has its own pool and LISTEN connection; on PGlite it shares the engine and its listen/notify.
  bDb = a.testDb.url ? await createDb({ databaseUrl: a.testDb.url, dataDir: "" }) : undefined;
  b = await buildServer(a.config, { db: bDb ?? a.testDb.db });
  bUrl = await b.start();
});
afterAll(async () => {
  await b.stop();
  await bDb?.close();
  await a.close();
});

const fixedToken = (token: string): TokenStore => ({ get: () => token, set: () => {}, clear: () => {} });
const client = (url: string, token: string) =>
  createClient({ url, auth: { mode: "bearer", tokens: fixedToken(token) } });

/** Resolved once its condition holds, checked whenever the stream changes. */
type Waiter = { condition: () => boolean; resolve: () => void };

/** One sync.subscribe stream through the typed client: its revisions, and how it ended. */
function watch(url: string, token: string) {
  const revisions: number[] = [];
  let ended: { code: string | undefined; message: string } | "complete" | undefined;
  const waiters = new Set<Waiter>();
  const check = () => {
    for (const waiter of waiters) {
      if (!waiter.condition()) continue;
      waiters.delete(waiter);
      waiter.resolve();
    }
  };
  const subscription = client(url, token).sync.subscribe.subscribe(undefined, {
    onData: ({ data }) => {
      revisions.push(data.revision);
      check();
    },
    onError: (error) => {
      ended = { code: (error.data as { code?: string } | undefined)?.code, message: error.message };
      check();
    },
    onComplete: () => {
      ended ??= "complete";
      check();
    },
  });
  const until = (condition: () => boolean) =>
    new Promise<void>((resolve) => {
      waiters.add({ condition, resolve });
      check();
    });
  return {
    revisions,
    get ended() {
      return ended;
    },
    /** Resolves once the stream has said hello (the current revision). */
    open: () => until(() => revisions.length > 0),
    hears: (revision: number) => until(() => revisions.includes(revision)),
    end: async () => (await until(() => ended !== undefined), ended),
    close: () => subscription.unsubscribe(),
  };
}

type Stream = ReturnType<typeof watch>;

/** A write by `token` through A; resolves once `witness` (a live stream of the user on B) has heard it. */
async function writeSeenBy(token: string, witness: Stream) {
  const { rev } = await client(a.url, token).templates.create.mutate({ name: "t", content: "c" });
  await witness.hears(rev);
  return rev;
}

async function user() {
  const account = await signUp(a.url);
  const signIn = () => logIn(a.url, account.email, account.password);
  return { ...account, signIn };
}

describe("a stream ends with its session, on every process", () => {
  it("logout through A ends that session's stream on B with UNAUTHORIZED; no later revision reaches it", async () => {
    const alice = await user();
    const phoneToken = await alice.signIn();
    const phone = watch(bUrl, phoneToken);
    const laptop = watch(bUrl, alice.token);
    await Promise.all([phone.open(), laptop.open()]);

    await client(a.url, phoneToken).auth.logout.mutate();
    expect(await phone.end()).toMatchObject({ code: "UNAUTHORIZED" });
    const heardBefore = [...phone.revisions];
    // The laptop's stream, on the same process, hears the next write; the phone's heard nothing more.
    await writeSeenBy(alice.token, laptop);
    expect(phone.revisions).toEqual(heardBefore);
    laptop.close();
  });

  it("sessions.revoke through A ends the revoked session's stream on B", async () => {
    const alice = await user();
    const tabletToken = await alice.signIn();
    const tablet = watch(bUrl, tabletToken);
    await tablet.open();
    const sessions = await client(a.url, alice.token).auth.sessions.list.query();
    const tabletSession = sessions.find((session) => session.deviceName === "second device")!;
    await client(a.url, alice.token).auth.sessions.revoke.mutate({ sessionId: tabletSession.id });
    expect(await tablet.end()).toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("logoutAll ends every stream of the user on every process; a new sign-in's stream then lives on", async () => {
    const alice = await user();
    const phoneToken = await alice.signIn();
    const streams = [watch(a.url, alice.token), watch(bUrl, alice.token), watch(bUrl, phoneToken)];
    const bob = await signUp(a.url);
    const bobStream = watch(bUrl, bob.token);
    await Promise.all([...streams, bobStream].map((stream) => stream.open()));

    await client(a.url, phoneToken).auth.logoutAll.mutate();
    // Each ends (quietly: the database, not the event, says the session is gone); a reconnect is refused.
    for (const stream of streams) expect(await stream.end()).toBe("complete");
    const again = watch(bUrl, phoneToken);
    expect(await again.end()).toMatchObject({ code: "UNAUTHORIZED" });

    const fresh = watch(bUrl, await alice.signIn());
    await fresh.open();
    const before = streams.map((stream) => [...stream.revisions]);
    await writeSeenBy(await alice.signIn(), fresh);
    expect(streams.map((stream) => stream.revisions)).toEqual(before);
    // Bob's stream was never touched.
    expect(bobStream.ended).toBeUndefined();
    for (const stream of [fresh, bobStream]) stream.close();
  });

  it("changePassword ends the other sessions' streams everywhere and keeps the current session's", async () => {
    const alice = await user();
    const phone = watch(bUrl, await alice.signIn());
    const laptop = watch(bUrl, alice.token);
    await Promise.all([phone.open(), laptop.open()]);

    await client(a.url, alice.token).auth.changePassword.mutate({
      currentPassword: alice.password,
      newPassword: "a brand new passphrase",
    });
    expect(await phone.end()).toBe("complete");
    const rev = await writeSeenBy(alice.token, laptop);
    expect(laptop.revisions.at(-1)).toBe(rev);
    expect(laptop.ended).toBeUndefined();
    laptop.close();
  });

  it("deleteAccount ends the user's streams on every process, and a device's sync engine stops", async () => {
    const alice = await user();
    const phoneToken = await alice.signIn();
    const errors: unknown[] = [];
    let sessionExpired = 0;
    const engine = new SyncEngine({
      client: createClient({
        url: bUrl,
        auth: { mode: "bearer", tokens: fixedToken(phoneToken) },
        onSessionExpired: () => sessionExpired++,
      }),
      store: new MemorySyncStore(),
      retryDelayMs: () => 50,
      onError: (error) => errors.push(error),
    });
    const watcher = watch(bUrl, phoneToken);
    await Promise.all([engine.start(), watcher.open()]);

    await client(a.url, alice.token).auth.deleteAccount.mutate({ password: alice.password });
    expect(await watcher.end()).toBe("complete");
    // The engine's stream ended too, and its reconnect learnt that the session is gone: it stops there.
    await new Promise<void>((resolve) => {
      const poll = () => (errors.some(isUnauthorized) ? resolve() : setTimeout(poll, 20));
      poll();
    });
    expect(sessionExpired).toBeGreaterThanOrEqual(1);
    engine.stop();
  });

  it("refreshToken ends the old token's stream without an error: the client reconnects with its new token", async () => {
    const alice = await user();
    const stream = watch(bUrl, alice.token);
    await stream.open();
    const { token } = await client(a.url, alice.token).auth.refreshToken.mutate();
    expect(await stream.end()).toBe("complete");
    const renewed = watch(bUrl, token);
    await renewed.open();
    renewed.close();
  });
});

describe("streams per user", () => {
  let capped: PromptBoosterServer;
  let cappedUrl: string;
  beforeAll(async () => {
    const config = loadConfig({ NODE_ENV: "test", PORT: "0", LOG_LEVEL: "silent", SYNC_MAX_STREAMS_PER_USER: "2" });
    capped = await buildServer(config, { db: bDb ?? a.testDb.db });
    cappedUrl = await capped.start();
  });
  afterAll(() => capped.stop());

  it("a third stream of one user closes the oldest with TOO_MANY_REQUESTS; other users are not counted", async () => {
    const alice = await user();
    const bob = await signUp(a.url);
    const bobStream = watch(cappedUrl, bob.token);
    const oldest = watch(cappedUrl, alice.token);
    await Promise.all([bobStream.open(), oldest.open()]);
    const second = watch(cappedUrl, alice.token);
    await second.open();
    const third = watch(cappedUrl, alice.token);
    await third.open();

    const ended = await oldest.end();
    expect(ended).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    expect((ended as { message: string }).message).toMatch(/at most 2/);
    const rev = await writeSeenBy(alice.token, second);
    await third.hears(rev);
    expect([second.ended, third.ended, bobStream.ended]).toEqual([undefined, undefined, undefined]);
    for (const stream of [second, third, bobStream]) stream.close();
  });

  it("a sync engine pushed out by newer streams does not come back and push them out in turn", async () => {
    const alice = await user();
    const replaced: unknown[] = [];
    const engine = new SyncEngine({
      client: client(cappedUrl, alice.token),
      // Without the rule, it would be back at once and close the oldest of the others.
      retryDelayMs: () => 0,
      onError: (error) => replaced.push(error),
    });
    await engine.start();
    await new Promise<void>((resolve) => {
      const check = setInterval(() => engine.latestRevision > 0 && (clearInterval(check), resolve()), 10);
    });
    const second = watch(cappedUrl, alice.token);
    await second.open();
    const third = watch(cappedUrl, alice.token);
    await third.open();
    await expect.poll(() => replaced.length).toBe(1);
    expect(isStreamReplaced(replaced[0])).toBe(true);
    // Two writes later both newer streams are still open: the engine stayed away.
    await third.hears(await writeSeenBy(alice.token, second));
    await third.hears(await writeSeenBy(alice.token, second));
    expect([second.ended, third.ended, replaced.length]).toEqual([undefined, undefined, 1]);
    engine.stop();
    for (const stream of [second, third]) stream.close();
  });
});
