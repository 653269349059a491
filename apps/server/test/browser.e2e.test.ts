// A real browser: headless Chromium loads a page from one origin that talks to the API on another, through
// the built client in cookie mode. Proves CORS with credentials, the session cookie, the CSRF origin check
// and SSE (the browser's own EventSource) end to end. Needs Debian's `chromium` (apt-get install chromium).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { logIn } from "./support/auth.ts";
import { hasChromium, launchChromium, warnIfNoChromium } from "./support/chromium.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

warnIfNoChromium("browser.e2e");

/** What the test page puts on `window` (the test's tsconfig has no DOM types: the page is reached through these). */
interface PageWindow {
  ready?: boolean;
  events: number[];
  document: { cookie: string };
  app: {
    start(url: string): Promise<void>;
    register(body: unknown): Promise<{ user: { id: string } }>;
    createPrompt(text: string): Promise<{ id: string }>;
    follow(): Promise<void>;
    templateNames(): string[];
    writeTemplate(name: string): Promise<string>;
    isPending(id: string): boolean;
    me(): Promise<unknown>;
    logout(): Promise<unknown>;
    expired: number;
  };
}

const clientDir = path.resolve(import.meta.dirname, "../../../packages/client");

/** The test page: the built client bundle, driven from the test through `window.app`. */
const pageHtml = `<!doctype html><meta charset="utf-8"><title>Prompt Booster test page</title>
<script type="module">
  import { createClient, MemorySyncStore, SyncEngine } from "/client.js";
  const log = (window.events = []);
  window.app = {
    async start(apiUrl) {
      this.expired = 0;
      this.client = createClient({ url: apiUrl, auth: { mode: "cookie" }, onSessionExpired: () => this.expired++ });
      this.store = new MemorySyncStore();
    },
    register(body) { return this.client.auth.register.mutate(body); },
    createPrompt(text) {
      return this.client.prompts.create.mutate({
        originalPrompt: text,
        firstVersion: { optimizedPrompt: "Better: " + text, modelId: "openai", provider: "OpenAI", modelName: "gpt-4o-mini" },
      });
    },
    async follow() {
      this.engine = new SyncEngine({ client: this.client, store: this.store, onRevision: (r) => log.push(r), retryDelayMs: () => 200 });
      await this.engine.start();
    },
    templateNames() { return this.engine.view.list("template").map((t) => t.name); },
    async writeTemplate(name) {
      const id = crypto.randomUUID();
      await this.engine.write({ op: "template.create", input: { id, name, content: "Written in the page" } });
      return id;
    },
    isPending(id) { return this.engine.view.isPending(id); },
    me() { return this.client.auth.me.query(); },
    async logout() { this.engine.stop(); return this.client.auth.logout.mutate(); },
  };
  window.ready = true;
</script>`;

describe.skipIf(!hasChromium)("in a real browser (Chromium)", () => {
  let api: TestServer;
  let pageServer: http.Server;
  let pageOrigin: string;
  let context: BrowserContext;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

  beforeAll(async () => {
    // The page's origin (another port, so another origin) must be known before the API allows it.
    pageServer = http.createServer((request, response) => {
      if (request.url === "/client.js") {
        response.writeHead(200, { "content-type": "text/javascript" });
        response.end(fs.readFileSync(path.join(clientDir, "dist/browser.js")));
      } else {
        response.writeHead(200, { "content-type": "text/html" });
        response.end(pageHtml);
      }
    });
    await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    api = await startTestServer({ env: { CORS_ORIGINS: pageOrigin } });

    // The client exactly as an app would ship it: its self-contained browser build (tsup builds every entry and
    // its declarations, minutes on a busy machine).
    const tsup = createRequire(path.join(clientDir, "package.json")).resolve("tsup/dist/cli-default.js");
    execFileSync(process.execPath, [tsup], { cwd: clientDir, stdio: "pipe" });

    browser = await launchChromium();
    context = browser.context;
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
  });

  it("registers, creates a prompt, hears a change made elsewhere, and logs out — with cookies across origins", async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(pageOrigin);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    await page.evaluate((url) => (globalThis as unknown as PageWindow).app.start(url), api.url);
    const suffix = Math.random().toString(36).slice(2, 10);
    const account = {
      email: `browser-${suffix}@example.com`,
      username: `browser_${suffix}`,
      password: `correct horse ${suffix}`,
    };
    const registered = await page.evaluate((body) => (globalThis as unknown as PageWindow).app.register(body), account);
    // The session is an httpOnly cookie of the API's origin: the page's script cannot read it.
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).document.cookie)).toBe("");
    const cookies = await context.cookies(api.url);
    expect(cookies.find((cookie) => cookie.httpOnly)).toBeDefined();

    // A cookie-authenticated change from an allowed origin passes the CSRF check.
    const prompt = await page.evaluate(
      (text) => (globalThis as unknown as PageWindow).app.createPrompt(text),
      "Summarise this article",
    );
    expect(prompt.id).toMatch(/^[0-9a-f-]{36}$/);

    // Live updates through the browser's EventSource (withCredentials), from a change made by a bearer client.
    await page.evaluate(() => (globalThis as unknown as PageWindow).app.follow());
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).events.length >= 1);
    const token = await logIn(api.url, account.email, account.password, "desktop");
    const created = await fetch(`${api.url}/api/templates`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Made on the desktop", content: "You are a careful editor." }),
    });
    expect(created.status).toBe(200);
    await page.waitForFunction(
      () => (globalThis as unknown as PageWindow).app.templateNames().includes("Made on the desktop"),
      undefined,
      { timeout: 5_000 },
    );

    // A write through the engine: validated (zod and the schemas, inlined in browser.js), shown at once, pushed.
    const written = await page.evaluate(
      (name) => (globalThis as unknown as PageWindow).app.writeTemplate(name),
      "Mine",
    );
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).app.templateNames())).toContain("Mine");
    await page.waitForFunction((id) => !(globalThis as unknown as PageWindow).app.isPending(id), written, {
      timeout: 5_000,
    });

    // Log out: the cookie's session ends, and the next call reports the expired session to the app.
    await page.evaluate(() => (globalThis as unknown as PageWindow).app.logout());
    const after = await page.evaluate(async () => {
      const w = globalThis as unknown as PageWindow;
      try {
        await w.app.me();
        return { error: null, expired: w.app.expired };
      } catch (error) {
        return { error: (error as { data?: { code?: string } }).data?.code ?? String(error), expired: w.app.expired };
      }
    });
    expect(after).toEqual({ error: "UNAUTHORIZED", expired: 1 });
    expect(registered.user.id).toBeTruthy();
    expect(problems).toEqual([]);
  });
});
