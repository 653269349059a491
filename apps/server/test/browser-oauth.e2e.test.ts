// Provider sign-in in a real browser (headless Chromium) against the real server and a real OpenID Provider
// (oidc-provider on a loopback port): the same-site web flow (the session cookie) from a page on the API's site,
// and the cross-site code flow (a one-time code exchanged for a bearer token) from a page on another site, both
// through the client's functions. The browser fills in the provider's own login and consent forms.
// Needs Debian's `chromium` (apt-get install chromium).
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { bundleClientModules } from "./support/browser-bundle.ts";
import { hasChromium, launchChromium, warnIfNoChromium } from "./support/chromium.ts";
import { driveSignIn, startOidcProvider, type TestOidcProvider } from "./support/oidc-provider.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

warnIfNoChromium("browser-oauth.e2e");

interface Outcome {
  user?: { id: string; email: string };
  error?: string;
  name?: string;
  link?: string | null;
}

/** What the test page puts on `window` (the test's tsconfig has no DOM types). */
interface PageWindow {
  ready?: boolean;
  location: { href: string };
  app: {
    providers(apiUrl: string): Promise<{ oauth: { id: string; name: string }[] }>;
    startSameSite(apiUrl: string, returnTo: string): void;
    beginCrossSite(apiUrl: string, redirectUri: string): Promise<void>;
    completeCrossSite(apiUrl: string): Promise<Outcome>;
    meByCookie(apiUrl: string): Promise<Outcome>;
    meByToken(apiUrl: string): Promise<Outcome>;
    identities(apiUrl: string): Promise<{ identities: { provider: string }[]; hasPassword: boolean }>;
    storedToken(): string | null;
    pending(): string | null;
  };
}

/** Every page of the app: the client's main entry, and the few calls the test drives. */
const pageHtml = `<!doctype html><meta charset="utf-8"><title>Prompt Booster sign-in page</title>
<script type="module">
  import { beginProviderSignIn, completeProviderSignIn, createClient, providerSignInUrl, OAUTH_PENDING_KEY } from "/client.js";
  const tokens = {
    get: () => sessionStorage.getItem("pb-token"),
    set: (token) => sessionStorage.setItem("pb-token", token),
    clear: () => sessionStorage.removeItem("pb-token"),
  };
  const cookie = (url) => createClient({ url, auth: { mode: "cookie" } });
  const bearer = (url) => createClient({ url, auth: { mode: "bearer", tokens } });
  const outcome = (promise) => promise.then(
    (answer) => ({ user: answer.user }),
    (error) => ({ error: error.code ?? error.data?.code ?? String(error), name: error.name, link: error.link ?? null }),
  );
  window.app = {
    providers: (url) => cookie(url).auth.providers.query(),
    startSameSite: (url, returnTo) => location.assign(providerSignInUrl(url, "oidc", { returnTo })),
    beginCrossSite: (url, redirectUri) => beginProviderSignIn(url, "oidc", { redirectUri }),
    completeCrossSite: (url) => outcome(completeProviderSignIn(bearer(url), { url: location.href, deviceName: "Chromium" })),
    meByCookie: (url) => outcome(cookie(url).auth.me.query()),
    meByToken: (url) => outcome(bearer(url).auth.me.query()),
    identities: (url) => bearer(url).auth.identities.query(),
    storedToken: () => tokens.get(),
    pending: () => sessionStorage.getItem(OAUTH_PENDING_KEY),
  };
  window.ready = true;
</script>`;

describe.skipIf(!hasChromium)("provider sign-in in Chromium (oidc-provider, the real server)", () => {
  let idp: TestOidcProvider;
  let api: TestServer;
  let pageServer: http.Server;
  /** The app on the API's site (127.0.0.1, another port: same site, cookies go along). */
  let sameSiteOrigin: string;
  /** The same pages on another site (localhost against the API's 127.0.0.1): bearer mode. */
  let crossSiteOrigin: string;
  let context: BrowserContext;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  /** Every URL the browser requested, in order. */
  const visited: string[] = [];

  beforeAll(async () => {
    const clientJs = await bundleClientModules(["./src/index.ts"]);
    pageServer = http.createServer((request, response) => {
      const script = request.url === "/client.js";
      response.writeHead(200, { "content-type": script ? "text/javascript" : "text/html" });
      response.end(script ? clientJs : pageHtml);
    });
    await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
    const port = (pageServer.address() as AddressInfo).port;
    sameSiteOrigin = `http://127.0.0.1:${port}`;
    crossSiteOrigin = `http://localhost:${port}`;

    idp = await startOidcProvider();
    api = await startTestServer({
      env: { ...idp.env, APP_URL: sameSiteOrigin, CORS_ORIGINS: `${sameSiteOrigin},${crossSiteOrigin}` },
    });

    browser = await launchChromium();
    context = browser.context;
    context.on("request", (request) => visited.push(request.url()));
    // The provider's page imports a web font; this machine has no way out, so refuse it at once.
    await context.route(
      (url) => !["127.0.0.1", "localhost"].includes(url.hostname),
      (route) => route.abort(),
    );
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await idp?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
  });

  /** A new tab, with no cookie of an earlier test (neither the API's session nor the provider's). */
  async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
    await context.clearCookies();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    return { page, problems };
  }

  /** On the provider's pages: its login form (any password), then its consent page. */
  async function signInAtProvider(page: Page, login: string) {
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', "any password");
    await page.click('button[type="submit"]');
    await page.click('button:has-text("Continue")');
  }

  const pbOauthCookie = async () =>
    (await context.cookies(`${api.url}/api/auth/oauth/oidc/callback`)).find((cookie) => cookie.name === "pb_oauth");

  it("lists the configured provider in auth.providers", async () => {
    const { page } = await openPage(`${sameSiteOrigin}/`);
    const providers = await page.evaluate((url) => (globalThis as unknown as PageWindow).app.providers(url), api.url);
    expect(providers.oauth).toEqual([{ id: "oidc", name: "OpenID Connect" }]);
    await page.close();
  });

  it("same-site web flow: the provider's forms, then back at APP_URL + returnTo signed in by the session cookie", async () => {
    const { page, problems } = await openPage(`${sameSiteOrigin}/`);
    const before = await page.evaluate((url) => (globalThis as unknown as PageWindow).app.meByCookie(url), api.url);
    expect(before.error).toBe("UNAUTHORIZED");

    const from = visited.length;
    await page.evaluate(
      (url) => (globalThis as unknown as PageWindow).app.startSameSite(url, "/prompts?tab=recent"),
      api.url,
    );
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    // The flow's state, nonce and verifier wait in a signed, HttpOnly, Lax cookie scoped to the OAuth routes.
    const flowCookie = await pbOauthCookie();
    expect(flowCookie).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/api/auth/oauth" });
    expect(flowCookie!.expires).toBeGreaterThan(0);
    expect(flowCookie!.expires).toBeLessThanOrEqual(Date.now() / 1000 + 10 * 60 + 5);

    await signInAtProvider(page, idp.verified.id);
    await page.waitForURL(`${sameSiteOrigin}/prompts?tab=recent`);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    const me = await page.evaluate((url) => (globalThis as unknown as PageWindow).app.meByCookie(url), api.url);
    expect(me.user?.email).toBe(idp.verified.email);
    // The flow cookie is gone; the session cookie is HttpOnly, and neither its value nor any token was in a URL.
    expect(await pbOauthCookie()).toBeUndefined();
    const cookies = await context.cookies(api.url);
    expect(cookies.length).toBeGreaterThan(0);
    expect(cookies.every((cookie) => cookie.httpOnly)).toBe(true);
    const urls = visited.slice(from);
    expect(urls.some((url) => url.startsWith(`${api.url}/api/auth/oauth/oidc/callback?`))).toBe(true);
    for (const { value } of cookies) expect(urls.filter((url) => url.includes(value))).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("login CSRF: a callback made by someone else's sign-in is refused (invalid_state), and signs nobody in", async () => {
    // The attacker runs a sign-in of their own up to the callback, and keeps its URL (their code and state).
    const attacker = idp.addAccount({ email: `attacker-${Date.now()}@example.com`, emailVerified: true });
    const forged = await driveSignIn(`${api.url}/api/auth/oauth/oidc/start?return_to=%2F`, {
      login: attacker.id,
      issuer: idp.issuer,
      stopAt: (url) => new URL(url).pathname === "/api/auth/oauth/oidc/callback",
    });
    expect(forged.final.url).toContain("/api/auth/oauth/oidc/callback?code=");

    // A victim in the middle of their own sign-in is sent there: their flow cookie holds another state.
    const { page } = await openPage(`${sameSiteOrigin}/`);
    await page.evaluate((url) => (globalThis as unknown as PageWindow).app.startSameSite(url, "/"), api.url);
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.goto(forged.final.url);
    await page.waitForURL((url) => url.origin === sameSiteOrigin && url.searchParams.has("oauth_error"));
    expect(new URL(page.url()).searchParams.get("oauth_error")).toBe("invalid_state");
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    expect(
      (await page.evaluate((url) => (globalThis as unknown as PageWindow).app.meByCookie(url), api.url)).error,
    ).toBe("UNAUTHORIZED");

    // A victim with no sign-in under way has no flow cookie at all: a 400 answer, no redirect, no session.
    await context.clearCookies();
    const answer = await page.goto(forged.final.url);
    expect(answer?.status()).toBe(400);
    expect(await answer?.json()).toMatchObject({ code: "BAD_REQUEST", details: { reason: "invalid_state" } });
    expect(await context.cookies(api.url)).toEqual([]);
    await page.close();
  });

  it("cross-site code flow: back at the app's redirect URI with a one-time code, exchanged for a bearer token", async () => {
    const { page, problems } = await openPage(`${crossSiteOrigin}/`);
    const redirectUri = `${crossSiteOrigin}/oauth/done`;
    const from = visited.length;
    await page.evaluate(
      ([url, redirect]) => (globalThis as unknown as PageWindow).app.beginCrossSite(url!, redirect!),
      [api.url, redirectUri],
    );
    await signInAtProvider(page, idp.verified.id);
    await page.waitForURL(`${redirectUri}?**`);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    const landing = new URL(page.url());
    expect([...landing.searchParams.keys()].sort()).toEqual(["code", "state"]);

    const done = await page.evaluate(
      (url) => (globalThis as unknown as PageWindow).app.completeCrossSite(url),
      api.url,
    );
    expect(done.error).toBeUndefined();
    expect(done.user?.email).toBe(idp.verified.email);
    const token = await page.evaluate(() => (globalThis as unknown as PageWindow).app.storedToken());
    expect(token).toBeTruthy();
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).app.pending())).toBeNull();
    expect(
      (await page.evaluate((url) => (globalThis as unknown as PageWindow).app.meByToken(url), api.url)).user?.id,
    ).toBe(done.user!.id);
    const linked = await page.evaluate((url) => (globalThis as unknown as PageWindow).app.identities(url), api.url);
    expect(linked.identities.map((identity) => identity.provider)).toEqual(["oidc"]);
    expect(linked.hasPassword).toBe(false);
    // The token never travelled in a URL; the code did, once, and is now spent.
    expect(visited.slice(from).filter((url) => url.includes(token!))).toEqual([]);
    const replay = await fetch(`${api.url}/api/auth/oauth/exchange`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        code: landing.searchParams.get("code"),
        codeVerifier: "a".repeat(43),
        redirectUri,
      }),
    });
    expect(replay.status).toBe(401);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("cross-site code flow: cancelled at the provider → access_denied; a state not this tab's → invalid_state", async () => {
    const { page } = await openPage(`${crossSiteOrigin}/`);
    const redirectUri = `${crossSiteOrigin}/oauth/done`;
    await page.evaluate(
      ([url, redirect]) => (globalThis as unknown as PageWindow).app.beginCrossSite(url!, redirect!),
      [api.url, redirectUri],
    );
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    const interaction = new URL(page.url());
    await page.goto(`${interaction.origin}${interaction.pathname}/abort`);
    await page.waitForURL(`${redirectUri}?**`);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    expect(new URL(page.url()).searchParams.get("error")).toBe("access_denied");
    expect(
      await page.evaluate((url) => (globalThis as unknown as PageWindow).app.completeCrossSite(url), api.url),
    ).toEqual({
      error: "access_denied",
      name: "OAuthSignInError",
      link: null,
    });

    // A callback URL made for another tab (or forged): no pending sign-in here, so nothing is exchanged.
    await page.goto(`${redirectUri}?code=made-up&state=someone-elses`);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    expect(
      await page.evaluate((url) => (globalThis as unknown as PageWindow).app.completeCrossSite(url), api.url),
    ).toMatchObject({
      error: "invalid_state",
    });
    await page.close();
  });
});
