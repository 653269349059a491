// The desktop flow (RFC 8252) with the client as an app ships it: `signInWithProvider` from the built
// `./electron` entry (dist/electron.js) against the real server and a real OpenID Provider (oidc-provider on a
// loopback port). `openExternal` hands the URL to a "system browser" played by Node: it follows the redirects
// with its own cookies, submits the provider's login and consent forms, and finally requests the app's
// loopback address, as a browser following the server's last redirect does.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type * as ClientMain from "@prompt-booster/client";
import type * as ClientElectron from "@prompt-booster/client/electron";

import { signUp } from "./support/auth.ts";
import { driveSignIn, startOidcProvider, type TestAccount, type TestOidcProvider } from "./support/oidc-provider.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const clientDir = path.resolve(import.meta.dirname, "../../../packages/client");

let idp: TestOidcProvider;
let api: TestServer;
let desktop: typeof ClientElectron;
let main: typeof ClientMain;

beforeAll(async () => {
  // The client's package build (tsup: every entry and its declarations; minutes on a busy machine).
  const tsup = createRequire(path.join(clientDir, "package.json")).resolve("tsup/dist/cli-default.js");
  execFileSync(process.execPath, [tsup], { cwd: clientDir, stdio: "pipe" });
  desktop = (await import(pathToFileURL(path.join(clientDir, "dist/electron.js")).href)) as typeof ClientElectron;
  main = (await import(pathToFileURL(path.join(clientDir, "dist/index.js")).href)) as typeof ClientMain;
  idp = await startOidcProvider();
  api = await startTestServer({ env: idp.env });
}, 300_000);

afterAll(async () => {
  await api?.close();
  await idp?.close();
});

/** A token store that records what the client told it, async like the safeStorage one. */
function recordingStore() {
  const calls: string[] = [];
  let token: string | null = null;
  return {
    calls,
    current: () => token,
    tokens: {
      get: async () => token,
      set: async (next: string) => {
        calls.push("set");
        token = next;
      },
      clear: async () => {
        calls.push("clear");
        token = null;
      },
    },
  };
}

interface ExchangeBody {
  code: string;
  codeVerifier: string;
  redirectUri: string;
}

/** The `{ code, codeVerifier, redirectUri }` inside a tRPC request body (batched, superjson), wherever it sits. */
function findExchange(value: unknown): (ExchangeBody & Record<string, unknown>) | null {
  if (!value || typeof value !== "object") return null;
  if ("codeVerifier" in value) return value as ExchangeBody & Record<string, unknown>;
  for (const inner of Object.values(value)) {
    const found = findExchange(inner);
    if (found) return found;
  }
  return null;
}

/**
 * The app's fetch: records the exchange the client sends, and lets a test rewrite it on the way (a code
 * stolen by someone with another verifier, or sent back for another redirect URI).
 */
function appFetch(rewrite?: (body: ExchangeBody) => void) {
  const exchanges: ExchangeBody[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (url.includes("auth.oauthExchange") && typeof init?.body === "string") {
      const body = JSON.parse(init.body) as unknown;
      const exchange = findExchange(body)!;
      exchanges.push({ ...exchange });
      if (rewrite) {
        rewrite(exchange);
        return fetch(input, { ...init, body: JSON.stringify(body) });
      }
    }
    return fetch(input, init);
  };
  return { fetch: fetcher, exchanges };
}

interface BrowserOptions {
  login: string;
  cancel?: boolean;
  /** Runs when the browser is about to follow the redirect to the app (the callback URL in hand). */
  beforeCallback?: (callbackUrl: string) => Promise<void>;
}

/** The "system browser": what `shell.openExternal` starts, running on while the app waits. */
function systemBrowser(options: BrowserOptions) {
  const visited: string[] = [];
  const pages: { status: number; body: string }[] = [];
  // A browser trip that fails (a test bug, a server answer the driver cannot follow) ends the app's wait.
  const broken = new AbortController();
  let trip: Promise<void> = Promise.resolve();
  return {
    visited,
    pages,
    signal: broken.signal,
    finished: () => trip,
    openExternal(url: string): void {
      trip = (async () => {
        const { final, steps } = await driveSignIn(url, {
          login: options.login,
          issuer: idp.issuer,
          ...(options.cancel && { cancel: true }),
        });
        visited.push(...steps.map((step) => step.url), final.url);
        await options.beforeCallback?.(final.url);
        const answer = await fetch(final.url);
        pages.push({ status: answer.status, body: await answer.text() });
      })();
      trip.catch((error: unknown) => broken.abort(error));
    },
  };
}

type SignInTarget = Parameters<typeof ClientElectron.signInWithProvider>[0];

/** signInWithProvider for the oidc provider with `browser` as the system browser; its result or its error. */
async function signIn(
  target: SignInTarget,
  browserOptions: BrowserOptions,
  extra: { baseUrl?: string; deviceName?: string } = {},
) {
  const browser = systemBrowser(browserOptions);
  const outcome = await desktop
    .signInWithProvider(target, {
      provider: "oidc",
      openExternal: (url) => browser.openExternal(url),
      signal: browser.signal,
      ...extra,
    })
    .then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
  await browser.finished();
  return { ...outcome, browser };
}

function freshAccount(emailVerified = true, email = `desk-${randomUUID().slice(0, 12)}@example.com`): TestAccount {
  return idp.addAccount({ email, emailVerified, preferredUsername: email.split("@")[0] });
}

function bearerOptions(store: ReturnType<typeof recordingStore>, fetcher?: typeof fetch) {
  return {
    url: api.url,
    auth: { mode: "bearer" as const, tokens: store.tokens },
    ...(fetcher && { fetch: fetcher }),
  };
}

describe("signInWithProvider (built ./electron entry) against the server and oidc-provider", () => {
  it("signs in through the system browser: a new password-less account, its token in the app's store, no token in a URL", async () => {
    const account = freshAccount();
    const store = recordingStore();
    const recorder = appFetch();
    const { result, error, browser } = await signIn(
      bearerOptions(store, recorder.fetch),
      { login: account.id },
      { deviceName: "Desktop e2e" },
    );
    expect(error).toBeUndefined();
    expect(result!.user.email).toBe(account.email);
    expect(store.calls).toEqual(["set"]);
    expect(store.current()).toBe(result!.token);
    // The browser went server → provider → server → the app's loopback address, and was shown the close page.
    const callback = new URL(browser.visited.at(-1)!);
    expect(callback.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(callback.pathname).toBe("/callback");
    expect([...callback.searchParams.keys()].sort()).toEqual(["code", "state"]);
    expect(browser.pages).toEqual([{ status: 200, body: expect.stringContaining("close this window") }]);
    expect(browser.visited.filter((url) => url.includes(result!.token))).toEqual([]);

    // The account: signed in by the token, the identity linked, no password (a password login is refused).
    const client = main.createClient(bearerOptions(store));
    expect((await client.auth.me.query()).user.id).toBe(result!.user.id);
    const linked = await client.auth.identities.query();
    expect(linked.hasPassword).toBe(false);
    expect(linked.identities).toEqual([{ provider: "oidc", email: account.email, linkedAt: expect.any(Date) }]);
    const sessions = await client.auth.sessions.list.query();
    expect(sessions.map((session) => session.deviceName)).toContain("Desktop e2e");
    const passwordLogin = await fetch(`${api.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: account.email, password: "correct horse battery staple" }),
    });
    expect(passwordLogin.status).toBe(401);

    // The code was good once: the same exchange again (the app's own verifier and redirect URI) is refused.
    expect(recorder.exchanges).toHaveLength(1);
    const [exchange] = recorder.exchanges;
    expect(exchange!.code).toBe(callback.searchParams.get("code"));
    const replay = await fetch(`${api.url}/api/auth/oauth/exchange`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(exchange),
    });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ code: "UNAUTHORIZED", details: { reason: "invalidCode" } });
  });

  it("signs the same identity in to the same account again, given a typed client and baseUrl", async () => {
    const account = freshAccount();
    const one = await signIn(bearerOptions(recordingStore()), { login: account.id });
    const store = recordingStore();
    const client = main.createClient(bearerOptions(store));
    const two = await signIn(client, { login: account.id }, { baseUrl: api.url });
    expect(two.error).toBeUndefined();
    expect(two.result!.user.id).toBe(one.result!.user.id);
    expect(two.result!.token).not.toBe(one.result!.token);
    expect(store.current()).toBe(two.result!.token);
  });

  it("a page that guesses the port cannot end or take over the wait: another state gets 400, the real callback signs in", async () => {
    const account = freshAccount();
    const forged: number[] = [];
    const { result, error } = await signIn(bearerOptions(recordingStore()), {
      login: account.id,
      beforeCallback: async (callbackUrl) => {
        const port = new URL(callbackUrl).port;
        for (const query of ["error=access_denied&state=forged", "code=forged-code&state=forged", "code=forged-code"]) {
          forged.push((await fetch(`http://127.0.0.1:${port}/callback?${query}`)).status);
        }
      },
    });
    expect(error).toBeUndefined();
    expect(forged).toEqual([400, 400, 400]);
    expect(result!.user.email).toBe(account.email);
  });

  it("cancelled at the provider: OAuthSignInError access_denied (the class of the same entry), no token stored", async () => {
    const store = recordingStore();
    const { error, browser } = await signIn(bearerOptions(store), { login: freshAccount().id, cancel: true });
    expect(error).toBeInstanceOf(desktop.OAuthSignInError);
    expect(error).toMatchObject({ code: "access_denied", link: null });
    expect(browser.pages).toEqual([{ status: 200, body: expect.stringContaining("did not complete") }]);
    expect(store.calls).toEqual([]);
  });

  it.each([
    ["another verifier (a stolen code)", (body: ExchangeBody) => void (body.codeVerifier = `${"x".repeat(40)}abc`)],
    [
      "another redirect URI",
      (body: ExchangeBody) => void (body.redirectUri = body.redirectUri.replace("/callback", "/other")),
    ],
  ])("the exchange with %s is refused: OAuthSignInError invalid_code, the store untouched", async (_, rewrite) => {
    const store = recordingStore();
    const { error } = await signIn(bearerOptions(store, appFetch(rewrite).fetch), { login: freshAccount().id });
    expect(error).toBeInstanceOf(desktop.OAuthSignInError);
    expect(error).toMatchObject({ code: "invalid_code" });
    expect((error as Error).cause).toMatchObject({ data: { code: "UNAUTHORIZED" } });
    expect(store.calls).toEqual([]);
  });

  it("an address that is an existing account's: link_required with a link token; the password links and signs in", async () => {
    const existing = await signUp(api.url);
    const account = freshAccount(true, existing.email);
    const store = recordingStore();
    const { error } = await signIn(bearerOptions(store), { login: account.id });
    expect(error).toBeInstanceOf(desktop.OAuthSignInError);
    expect(error).toMatchObject({ code: "link_required", link: expect.any(String) });
    expect(store.calls).toEqual([]);

    const client = main.createClient(bearerOptions(store));
    const linked = await client.auth.oauthLink.mutate({
      link: (error as ClientElectron.OAuthSignInError).link!,
      password: existing.password,
    });
    expect(linked.user.id).toBe(existing.user.id);
    expect(store.current()).toBe(linked.token);
    expect((await client.auth.identities.query()).identities.map((identity) => identity.provider)).toEqual(["oidc"]);

    // From now on the provider signs in to that account directly.
    const again = await signIn(bearerOptions(recordingStore()), { login: account.id });
    expect(again.result?.user.id).toBe(existing.user.id);
  });

  it("an unverified address that an account already uses: email_unverified, neither linked nor a second account", async () => {
    const existing = await signUp(api.url);
    const account = freshAccount(false, existing.email);
    const { error } = await signIn(bearerOptions(recordingStore()), { login: account.id });
    expect(error).toMatchObject({ name: "OAuthSignInError", code: "email_unverified", link: null });
    const byPassword = main.createClient(bearerOptions(recordingStore()));
    await byPassword.auth.login.mutate({ email: existing.email, password: existing.password });
    expect((await byPassword.auth.identities.query()).identities).toEqual([]);
  });

  it("links a provider from settings (linkWithProvider), which then signs in to that account; another user cannot take it; unlinking", async () => {
    const owner = await signUp(api.url);
    const store = recordingStore();
    await store.tokens.set(owner.token);
    const client = main.createClient(bearerOptions(store));
    // Any provider account may be linked from settings: its address need not be the account's.
    const account = freshAccount();
    const browser = systemBrowser({ login: account.id });
    await desktop.linkWithProvider(client, {
      provider: "oidc",
      baseUrl: api.url,
      openExternal: (url) => browser.openExternal(url),
      signal: browser.signal,
    });
    await browser.finished();
    expect(browser.pages).toEqual([{ status: 200, body: expect.stringContaining("Account linked") }]);
    expect(await client.auth.identities.query()).toEqual({
      identities: [{ provider: "oidc", email: account.email, linkedAt: expect.any(Date) }],
      hasPassword: true,
    });
    expect((await signIn(bearerOptions(recordingStore()), { login: account.id })).result?.user.id).toBe(owner.user.id);

    const other = await signUp(api.url);
    const otherStore = recordingStore();
    await otherStore.tokens.set(other.token);
    const otherBrowser = systemBrowser({ login: account.id });
    const taken = await desktop
      .linkWithProvider(main.createClient(bearerOptions(otherStore)), {
        provider: "oidc",
        baseUrl: api.url,
        openExternal: (url) => otherBrowser.openExternal(url),
        signal: otherBrowser.signal,
      })
      .catch((e: unknown) => e);
    await otherBrowser.finished();
    expect(taken).toBeInstanceOf(desktop.OAuthSignInError);
    expect(taken).toMatchObject({ code: "identity_taken" });

    // The owner has a password, so the identity may go; then the provider account is a stranger again.
    expect(await client.auth.unlinkIdentity.mutate({ provider: "oidc" })).toEqual({ ok: true });
    expect((await client.auth.identities.query()).identities).toEqual([]);
  });

  it("a password-less account cannot unlink its only way in (PRECONDITION_FAILED lastSignInMethod)", async () => {
    const store = recordingStore();
    const { result } = await signIn(bearerOptions(store), { login: freshAccount().id });
    expect(result).toBeDefined();
    const client = main.createClient(bearerOptions(store));
    const refused = await client.auth.unlinkIdentity.mutate({ provider: "oidc" }).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      data: { code: "PRECONDITION_FAILED", details: { reason: "lastSignInMethod" } },
    });
    expect((await client.auth.identities.query()).identities.map((identity) => identity.provider)).toEqual(["oidc"]);
  });
});
