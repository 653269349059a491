// A real browser in bearer mode, where the cookie cannot help: (a) a file:// page, as Electron's renderer
// loads the app (Chromium sends `Origin: null`), and (b) a page of another *site* than the API (127.0.0.1
// against localhost), the cross-site web deployment the README recommends bearer mode for. Neither origin is
// in CORS_ORIGINS. Through the client, each page registers (a preflighted mutation), reads (a preflighted
// query), follows the live stream (SSE over fetch with the Authorization header) and hears its own change.
// Needs Debian's `chromium` (apt-get install chromium).
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { hasChromium, launchChromium, warnIfNoChromium } from "./support/chromium.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

warnIfNoChromium("browser-bearer.e2e");

/** What the test page puts on `window` (the test's tsconfig has no DOM types). */
interface PageWindow {
  ready?: boolean;
  app: {
    start(apiUrl: string, keep: "memory" | "sessionStorage"): void;
    register(body: unknown): Promise<string>;
    me(): Promise<string>;
    createTemplate(name: string): Promise<string>;
    follow(): void;
    revisions: number[];
    streamErrors: string[];
    storedToken(): string | null;
  };
}

const clientEntry = path.resolve(import.meta.dirname, "../../../packages/client/src/index.ts");

/** The client's public entry bundled for a classic <script>: a file:// page may not load module scripts. */
async function bundleClient(): Promise<string> {
  // esbuild arrives with tsx (this package's runner); the client's own build is not what is under test here.
  const require = createRequire(import.meta.url);
  const esbuild = (await import(pathToFileURL(createRequire(require.resolve("tsx")).resolve("esbuild")).href)) as {
    build(options: Record<string, unknown>): Promise<{ outputFiles: { text: string }[] }>;
  };
  const built = await esbuild.build({
    entryPoints: [clientEntry],
    bundle: true,
    format: "iife",
    globalName: "PromptBoosterClient",
    platform: "browser",
    target: "es2022",
    write: false,
  });
  return built.outputFiles[0]!.text;
}

/** The page: the app's token kept in memory (Electron) or in sessionStorage (a web page), never in a cookie. */
const pageHtml = `<!doctype html><meta charset="utf-8"><title>Prompt Booster bearer page</title>
<script src="client.js"></script>
<script>
  const { createClient } = PromptBoosterClient;
  window.app = {
    revisions: [],
    streamErrors: [],
    start(apiUrl, keep) {
      const memory = new Map();
      const storage = keep === "sessionStorage" ? sessionStorage : {
        getItem: (key) => memory.get(key) ?? null,
        setItem: (key, value) => memory.set(key, value),
        removeItem: (key) => memory.delete(key),
      };
      this.tokens = {
        get: () => storage.getItem("pb-token"),
        set: (token) => storage.setItem("pb-token", token),
        clear: () => storage.removeItem("pb-token"),
      };
      this.client = createClient({ url: apiUrl, auth: { mode: "bearer", tokens: this.tokens } });
    },
    // The client hands the answer's token to the store itself.
    async register(body) { return (await this.client.auth.register.mutate(body)).user.id; },
    async me() { return (await this.client.auth.me.query()).user.id; },
    async createTemplate(name) {
      return (await this.client.templates.create.mutate({ name, content: "You are a careful editor." })).id;
    },
    follow() {
      this.client.sync.subscribe.subscribe(undefined, {
        onData: ({ data }) => this.revisions.push(data.revision),
        onError: (error) => this.streamErrors.push(String(error)),
      });
    },
    storedToken() { return this.tokens.get(); },
  };
  window.ready = true;
</script>`;

interface Seen {
  method: string;
  url: string;
  origin: string | undefined;
  status: number;
  allowOrigin: unknown;
  allowCredentials: unknown;
}

describe.skipIf(!hasChromium)("bearer mode in a real browser (Chromium), from origins not in CORS_ORIGINS", () => {
  let api: TestServer;
  const seen: Seen[] = [];
  let pageDir: string;
  let pageServer: http.Server;
  let context: BrowserContext;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

  beforeAll(async () => {
    api = await startTestServer({
      // Every answer the API starts, preflights included (the CORS hook sends them) and SSE streams still open.
      beforeStart: ({ app }) =>
        app.addHook("onSend", async (request, reply) => {
          seen.push({
            method: request.method,
            url: request.url,
            origin: request.headers.origin,
            status: reply.statusCode,
            allowOrigin: reply.getHeader("access-control-allow-origin"),
            allowCredentials: reply.getHeader("access-control-allow-credentials"),
          });
        }),
    });

    pageDir = fs.mkdtempSync(path.join(os.tmpdir(), "pb-bearer-page-"));
    fs.writeFileSync(path.join(pageDir, "client.js"), await bundleClient());
    fs.writeFileSync(path.join(pageDir, "index.html"), pageHtml);
    pageServer = http.createServer((request, response) => {
      const file = request.url === "/client.js" ? "client.js" : "index.html";
      response.writeHead(200, { "content-type": file.endsWith(".js") ? "text/javascript" : "text/html" });
      response.end(fs.readFileSync(path.join(pageDir, file)));
    });
    await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));

    browser = await launchChromium();
    context = browser.context;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
    if (pageDir) fs.rmSync(pageDir, { recursive: true, force: true });
  });

  /** Drives the page through register, query, subscription and mutation; returns what the API saw from it. */
  async function useTheApi(page: Page, apiUrl: string, keep: "memory" | "sessionStorage", origin: string) {
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    await page.evaluate(
      ([url, where]) => (globalThis as unknown as PageWindow).app.start(url!, where as "memory"),
      [apiUrl, keep],
    );

    const suffix = Math.random().toString(36).slice(2, 10);
    const userId = await page.evaluate((body) => (globalThis as unknown as PageWindow).app.register(body), {
      email: `bearer-${suffix}@example.com`,
      username: `bearer_${suffix}`,
      password: `correct horse ${suffix}`,
    });
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).app.me())).toBe(userId);

    // The stream signals the current revision on connect, then every later one.
    await page.evaluate(() => (globalThis as unknown as PageWindow).app.follow());
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).app.revisions.length >= 1);
    const before = Math.max(...(await page.evaluate(() => (globalThis as unknown as PageWindow).app.revisions)));
    const templateId = await page.evaluate(
      (name) => (globalThis as unknown as PageWindow).app.createTemplate(name),
      `Made on ${origin}`,
    );
    expect(templateId).toMatch(/^[0-9a-f-]{36}$/);
    await page.waitForFunction(
      (revision) => (globalThis as unknown as PageWindow).app.revisions.some((r) => r > revision),
      before,
    );
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).app.streamErrors)).toEqual([]);
    expect(problems).toEqual([]);

    const token = await page.evaluate(() => (globalThis as unknown as PageWindow).app.storedToken());
    expect(token).toBeTruthy();
    const fromPage = seen.filter((entry) => entry.origin === origin);
    // The token travelled in headers only, never in a URL.
    expect(fromPage.filter((entry) => entry.url.includes(token!))).toEqual([]);
    return fromPage;
  }

  /** The API saw a 204 preflight and then the call itself for `procedure`, both with CORS and no credentials. */
  function expectPreflightedCall(fromPage: Seen[], procedure: string, method: string) {
    const on = (entry: Seen) => entry.url.startsWith(`/trpc/${procedure}`);
    expect(fromPage.find((entry) => on(entry) && entry.method === "OPTIONS")).toMatchObject({
      status: 204,
      allowOrigin: "*",
      allowCredentials: undefined,
    });
    expect(fromPage.find((entry) => on(entry) && entry.method === method)).toMatchObject({
      status: 200,
      allowOrigin: "*",
      allowCredentials: undefined,
    });
  }

  it("(a) a file:// page, as Electron's renderer: Origin null, token in memory", async () => {
    const page = await context.newPage();
    await page.goto(pathToFileURL(path.join(pageDir, "index.html")).href);
    const fromPage = await useTheApi(page, api.url, "memory", "null");
    expectPreflightedCall(fromPage, "auth.register", "POST");
    expectPreflightedCall(fromPage, "auth.me", "GET");
    expectPreflightedCall(fromPage, "sync.subscribe", "GET");
    expectPreflightedCall(fromPage, "templates.create", "POST");
    await page.close();
  });

  it("(b) a page on another site (127.0.0.1 → localhost): token in sessionStorage, no cookie kept", async () => {
    const pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    const apiUrl = api.url.replace("127.0.0.1", "localhost");
    expect(apiUrl).toMatch(/^http:\/\/localhost:\d+$/);
    const page = await context.newPage();
    await page.goto(pageOrigin);
    const fromPage = await useTheApi(page, apiUrl, "sessionStorage", pageOrigin);
    expectPreflightedCall(fromPage, "auth.register", "POST");
    expectPreflightedCall(fromPage, "auth.me", "GET");
    expectPreflightedCall(fromPage, "sync.subscribe", "GET");
    expectPreflightedCall(fromPage, "templates.create", "POST");
    // The server offered its session cookie on register; a page without credentials never stores it.
    expect(await context.cookies(apiUrl)).toEqual([]);
    await page.close();
  });
});
