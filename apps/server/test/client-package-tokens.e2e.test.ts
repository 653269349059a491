// The client keeps a bearer app's token store in step with the server by itself: every sign-in's token goes to
// `tokens.set`, every sign-out and UNAUTHORIZED answer to `tokens.clear`, before the call's promise settles.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createClient, isUnauthorized, type TokenStore } from "@prompt-booster/client";

import { signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

/** A store that records what the client told it, async like safeStorage. */
function recordingStore(initial: string | null = null) {
  const calls: string[] = [];
  let token = initial;
  const tokens: TokenStore = {
    get: async () => token,
    set: async (next) => {
      calls.push(`set ${next}`);
      token = next;
    },
    clear: async () => {
      calls.push("clear");
      token = null;
    },
  };
  return { tokens, calls, current: () => token };
}

function app(initial: string | null = null) {
  const store = recordingStore(initial);
  let expired = 0;
  const client = createClient({
    url: t.url,
    auth: { mode: "bearer", tokens: store.tokens },
    onSessionExpired: () => expired++,
  });
  return { client, store, expired: () => expired };
}

const account = () => {
  const suffix = randomUUID().slice(0, 12);
  return { email: `tok-${suffix}@example.com`, username: `tok_${suffix}`, password: `correct horse ${suffix}` };
};

describe("token lifecycle in bearer mode", () => {
  it("register, login and refreshToken store their token; the next call already carries it", async () => {
    const { client, store } = app();
    const details = account();
    const registered = await client.auth.register.mutate(details);
    expect(store.calls).toEqual([`set ${registered.token}`]);
    expect((await client.auth.me.query()).user.id).toBe(registered.user.id);

    const rotated = await client.auth.refreshToken.mutate();
    expect(rotated.token).not.toBe(registered.token);
    expect(store.current()).toBe(rotated.token);
    expect((await client.auth.me.query()).session.id).toBeTruthy();

    const other = app();
    const loggedIn = await other.client.auth.login.mutate({ email: details.email, password: details.password });
    expect(other.store.calls).toEqual([`set ${loggedIn.token}`]);
  });

  it("logout, logoutAll and deleteAccount clear the store", async () => {
    const details = account();
    const first = app();
    await first.client.auth.register.mutate(details);
    await first.client.auth.logout.mutate();
    expect(first.store.current()).toBeNull();

    const second = app();
    await second.client.auth.login.mutate({ username: details.username, password: details.password });
    await second.client.auth.logoutAll.mutate();
    expect(second.store.current()).toBeNull();

    const third = app();
    await third.client.auth.login.mutate({ email: details.email, password: details.password });
    await third.client.auth.deleteAccount.mutate({ password: details.password });
    expect(third.store.current()).toBeNull();
    expect(third.store.calls.at(-1)).toBe("clear");
  });

  it("an UNAUTHORIZED answer (session ended elsewhere) clears the store and tells the app once", async () => {
    const user = await signUp(t.url);
    const laptop = app(user.token);
    expect((await laptop.client.auth.me.query()).user.id).toBe(user.user.id);

    const phone = app();
    await phone.client.auth.login.mutate({ email: user.email, password: user.password });
    await phone.client.auth.logoutAll.mutate();

    const error = await laptop.client.auth.me.query().catch((caught: unknown) => caught);
    expect(isUnauthorized(error)).toBe(true);
    expect(laptop.store.calls).toEqual(["clear"]);
    expect(laptop.expired()).toBe(1);
  });

  it("a refused sign-in (wrong password) keeps the token the app holds", async () => {
    const user = await signUp(t.url);
    const { client, store, expired } = app(user.token);
    const error = await client.auth.login
      .mutate({ email: user.email, password: "not the password" })
      .catch((caught: unknown) => caught);
    expect(isUnauthorized(error)).toBe(true);
    expect(store.calls).toEqual([]);
    expect(expired()).toBe(0);
    expect((await client.auth.me.query()).user.id).toBe(user.user.id);
  });

  it("cookie mode has no store and signs in as before", async () => {
    const client = createClient({ url: t.url, auth: { mode: "cookie" } });
    const registered = await client.auth.register.mutate(account());
    expect(registered.token).toBeTruthy();
  });
});
