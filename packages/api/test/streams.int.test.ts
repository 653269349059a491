// sync.subscribe lives only as long as its session, and a user holds a bounded number of streams: the auth
// procedures end the streams of the sessions they delete, through the change events every process hears.
import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { resolveSession } from "../src/auth/session.ts";
import { AppError } from "../src/lib/errors.ts";
import { createLocalChangeEvents, type LocalFanOut } from "../src/lib/events.ts";
import { createCaller } from "../src/root.ts";
import { testContext } from "./support/context.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

type Caller = ReturnType<typeof createCaller>;
type Device = Awaited<ReturnType<typeof device>>;

/** A signed-in device: a caller as the server would build it for the session's token. */
async function device(events: LocalFanOut, token: string) {
  const auth = await resolveSession(t.db.prisma, token, new Date());
  if (!auth) throw new Error("the token has no session");
  const ctx = testContext(t.db, { events, auth: { ...auth, via: "bearer" } });
  return { ctx, caller: createCaller(ctx), sessionId: auth.session.id };
}

async function account(events: LocalFanOut) {
  const suffix = randomUUID().slice(0, 10);
  const input = { email: `s-${suffix}@example.com`, username: `s_${suffix}`, password: `a fine passphrase ${suffix}` };
  const anonymous = createCaller(testContext(t.db, { events }));
  const first = await anonymous.auth.register(input);
  const signIn = async () =>
    device(events, (await anonymous.auth.login({ email: input.email, password: input.password })).token);
  return { ...input, userId: first.user.id, first: await device(events, first.token), signIn };
}

/** An open sync.subscribe stream and what it received; `ended` settles with how it ended. */
async function openStream(on: Device) {
  const abort = new AbortController();
  // A caller's signal is given when it is created, as the server gives each request's.
  const stream = await createCaller(on.ctx, { signal: abort.signal }).sync.subscribe();
  const revisions: number[] = [];
  let heard: () => void = () => {};
  // A caller hands the stream's own error through: the AppError its generator threw.
  const ended = (async (): Promise<"done" | TRPCError | AppError> => {
    try {
      for await (const envelope of stream) {
        // tracked() events are [id, data, symbol] tuples.
        revisions.push((envelope as unknown as [string, { revision: number }])[1].revision);
        heard();
      }
      return "done";
    } catch (error) {
      if (error instanceof TRPCError || error instanceof AppError) return error;
      throw error;
    }
  })();
  const next = (count: number) =>
    new Promise<void>((resolve) => {
      heard = () => revisions.length >= count && resolve();
      heard();
    });
  await next(1);
  return { revisions, ended, next, close: () => abort.abort() };
}

const write = (caller: Caller, name = "t") => caller.templates.create({ name, content: "c" });

describe("a stream ends with its session", () => {
  it("logout and sessions.revoke end that session's stream (UNAUTHORIZED), not the others", async () => {
    const events = createLocalChangeEvents();
    const alice = await account(events);
    const laptop = alice.first;
    const phone = await alice.signIn();
    const tablet = await alice.signIn();
    const [laptopStream, phoneStream, tabletStream] = await Promise.all([
      openStream(laptop),
      openStream(phone),
      openStream(tablet),
    ]);

    await phone.caller.auth.logout();
    expect(await phoneStream.ended).toMatchObject({ code: "UNAUTHORIZED" });
    await laptop.caller.auth.sessions.revoke({ sessionId: tablet.sessionId });
    expect(await tabletStream.ended).toMatchObject({ code: "UNAUTHORIZED" });

    // The laptop's stream still hears new writes; the ended ones heard nothing more.
    const created = await write(laptop.caller);
    await laptopStream.next(2);
    expect(laptopStream.revisions.at(-1)).toBe(created.rev);
    expect(phoneStream.revisions).toHaveLength(1);
    expect(tabletStream.revisions).toHaveLength(1);
    laptopStream.close();
    expect(await laptopStream.ended).toBe("done");
  });

  it("logoutAll and deleteAccount end every stream of the user; another user's stream stays", async () => {
    const events = createLocalChangeEvents();
    const alice = await account(events);
    const bob = await account(events);
    const phone = await alice.signIn();
    const streams = await Promise.all([alice.first, phone].map(openStream));
    const bobStream = await openStream(bob.first);

    await phone.caller.auth.logoutAll();
    for (const stream of streams) expect(await stream.ended).toBe("done");

    // Signed in again after the sign-out everywhere: a late copy of that event does not end the new stream.
    const again = await alice.signIn();
    const againStream = await openStream(again);
    void events.publishSessionsEnded({ userId: alice.userId, allExcept: null });
    const created = await write(again.caller);
    await againStream.next(2);
    expect(againStream.revisions.at(-1)).toBe(created.rev);

    await again.caller.auth.deleteAccount({ password: alice.password });
    expect(await againStream.ended).toBe("done");

    // Bob heard none of it.
    await write(bob.first.caller);
    await bobStream.next(2);
    bobStream.close();
    expect(await bobStream.ended).toBe("done");
  });

  it("changePassword ends the other sessions' streams and keeps the current one's", async () => {
    const events = createLocalChangeEvents();
    const alice = await account(events);
    const phone = await alice.signIn();
    const [here, there] = await Promise.all([openStream(alice.first), openStream(phone)]);

    await alice.first.caller.auth.changePassword({ currentPassword: alice.password, newPassword: "another fine one" });
    expect(await there.ended).toBe("done");
    const created = await write(alice.first.caller);
    await here.next(2);
    expect(here.revisions.at(-1)).toBe(created.rev);
    here.close();
  });

  it("refreshToken ends the old token's stream quietly: the client reconnects with its new token", async () => {
    const events = createLocalChangeEvents();
    const alice = await account(events);
    const stream = await openStream(alice.first);
    const refreshed = await alice.first.caller.auth.refreshToken();
    expect(await stream.ended).toBe("done");
    const renewed = await openStream(await device(events, refreshed.token));
    renewed.close();
  });
});

describe("streams per user", () => {
  it("a stream over the cap closes the user's oldest with TOO_MANY_REQUESTS", async () => {
    const events = createLocalChangeEvents({ maxStreamsPerUser: 2 });
    const alice = await account(events);
    const bob = await account(events);
    const bobStream = await openStream(bob.first);
    const oldest = await openStream(alice.first);
    const second = await openStream(alice.first);
    const third = await openStream(alice.first);

    const error = await oldest.ended;
    expect(error).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    expect((error as AppError).message).toMatch(/at most 2/);

    const created = await write(alice.first.caller);
    await Promise.all([second.next(2), third.next(2)]);
    expect([second.revisions.at(-1), third.revisions.at(-1)]).toEqual([created.rev, created.rev]);
    for (const stream of [second, third, bobStream]) stream.close();
    expect(await bobStream.ended).toBe("done");
  });
});
