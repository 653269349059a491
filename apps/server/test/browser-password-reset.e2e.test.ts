// The password reset as a person does it, in headless Chromium: the web app (a page on its own origin, with
// the built client in cookie mode) asks for a reset; the mail arrives at a real SMTP server; the browser
// opens the mail's link, whose page reads the token from the fragment, sets a new password and signs in
// with it. Needs Debian's `chromium` (apt-get install chromium).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startSmtpServer, type TestSmtpServer } from "../../../packages/api/test/support/smtp.ts";
import { signUp } from "./support/auth.ts";
import { hasChromium, launchChromium, warnIfNoChromium } from "./support/chromium.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

warnIfNoChromium("browser-password-reset.e2e");

/** What the test page puts on `window` (the test's tsconfig has no DOM types). */
interface PageWindow {
  ready?: boolean;
  app: {
    start(url: string): void;
    requestReset(email: string): Promise<{ ok: true }>;
    /** The token of the page's own address, `…#token=<token>`, as the app's reset page reads it. */
    tokenFromLink(): string | null;
    resetPassword(token: string, newPassword: string): Promise<{ user: { email: string } }>;
    logout(): Promise<unknown>;
    login(email: string, password: string): Promise<{ user: { email: string } }>;
    me(): Promise<{ user: { email: string } }>;
  };
}

const clientDir = path.resolve(import.meta.dirname, "../../../packages/client");

const pageHtml = `<!doctype html><meta charset="utf-8"><title>Prompt Booster reset page</title>
<script type="module">
  import { createClient } from "/client.js";
  window.app = {
    start(apiUrl) { this.client = createClient({ url: apiUrl, auth: { mode: "cookie" } }); },
    requestReset(email) { return this.client.auth.requestPasswordReset.mutate({ email }); },
    tokenFromLink() { return new URLSearchParams(location.hash.slice(1)).get("token"); },
    resetPassword(token, newPassword) { return this.client.auth.resetPassword.mutate({ token, newPassword }); },
    logout() { return this.client.auth.logout.mutate(); },
    login(email, password) { return this.client.auth.login.mutate({ email, password }); },
    me() { return this.client.auth.me.query(); },
  };
  window.ready = true;
</script>`;

describe.skipIf(!hasChromium)("password reset in a real browser (Chromium)", () => {
  let api: TestServer;
  let smtp: TestSmtpServer;
  let pageServer: http.Server;
  let pageOrigin: string;
  const pageRequests: string[] = [];
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

  beforeAll(async () => {
    pageServer = http.createServer((request, response) => {
      pageRequests.push(request.url ?? "");
      const script = request.url === "/client.js" ? "browser.js" : /^\/([\w-]+\.js)$/.exec(request.url ?? "")?.[1];
      if (script && fs.existsSync(path.join(clientDir, "dist", script))) {
        // The bundle, and any chunk it imports.
        response.writeHead(200, { "content-type": "text/javascript" });
        response.end(fs.readFileSync(path.join(clientDir, "dist", script)));
      } else {
        // Every other path is the app: its /reset-password page included.
        response.writeHead(200, { "content-type": "text/html" });
        response.end(pageHtml);
      }
    });
    await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    smtp = await startSmtpServer();
    api = await startTestServer({
      env: { CORS_ORIGINS: pageOrigin, SMTP_URL: smtp.url, MAIL_FROM: "accounts@test.example", APP_URL: pageOrigin },
    });

    const tsup = createRequire(path.join(clientDir, "package.json")).resolve("tsup/dist/cli-default.js");
    execFileSync(process.execPath, [tsup], { cwd: clientDir, stdio: "pipe" });

    browser = await launchChromium();
    // The client build and Chromium's start take minutes when other test files build and browse alongside.
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await smtp?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
  });

  it("requests a reset, follows the mailed link's token, and signs in with the new password", async () => {
    const account = await signUp(api.url);
    const page = await browser!.context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    const open = async (url: string) => {
      await page.goto(url);
      await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
      await page.evaluate((apiUrl) => (globalThis as unknown as PageWindow).app.start(apiUrl), api.url);
    };

    await open(`${pageOrigin}/forgot-password`);
    expect(
      await page.evaluate((email) => (globalThis as unknown as PageWindow).app.requestReset(email), account.email),
    ).toEqual({ ok: true });
    await smtp.take(account.email); // the verification mail of the registration
    const mail = await smtp.take(account.email);
    expect(mail.subject).toBe("Reset your Prompt Booster password");
    expect(mail.link!.startsWith(`${pageOrigin}/reset-password#token=`)).toBe(true);

    // The browser follows the link; the token stays in the fragment, so the app's server never sees it.
    await open(mail.link!);
    const token = await page.evaluate(() => (globalThis as unknown as PageWindow).app.tokenFromLink());
    expect(token).toBe(mail.token);
    expect(pageRequests.some((url) => url.includes("token"))).toBe(false);

    const newPassword = "a new passphrase from the browser";
    const reset = await page.evaluate(
      ([t, p]) => (globalThis as unknown as PageWindow).app.resetPassword(t!, p!),
      [token, newPassword],
    );
    expect(reset.user.email).toBe(account.email);
    // The reset signed the browser in (its session cookie); then sign out and in again with the new password.
    expect((await page.evaluate(() => (globalThis as unknown as PageWindow).app.me())).user.email).toBe(account.email);
    await page.evaluate(() => (globalThis as unknown as PageWindow).app.logout());
    const signedIn = await page.evaluate(
      ([email, password]) => (globalThis as unknown as PageWindow).app.login(email!, password!),
      [account.email, newPassword],
    );
    expect(signedIn.user.email).toBe(account.email);
    expect((await page.evaluate(() => (globalThis as unknown as PageWindow).app.me())).user.email).toBe(account.email);
    // The old password and the old bearer token are dead.
    const old = await fetch(`${api.url}/api/auth/me`, { headers: { authorization: `Bearer ${account.token}` } });
    expect(old.status).toBe(401);
    expect(problems).toEqual([]);
  });
});
