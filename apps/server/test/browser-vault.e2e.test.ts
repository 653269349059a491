// The key vault in a real browser and in Node, in one run: headless Chromium opens the vault with WebCrypto in
// the page (cookie session, page on another origin), a Node device (bearer token) opens the same vault, and each
// reads what the other wrote. Needs Debian's `chromium` (apt-get install chromium).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createClient, openVault } from "@prompt-booster/client";

import { logIn } from "./support/auth.ts";
import { hasChromium, launchChromium, warnIfNoChromium } from "./support/chromium.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

warnIfNoChromium("browser-vault.e2e");

const clientDir = path.resolve(import.meta.dirname, "../../../packages/client");

/** What the test page puts on `window` (the test's tsconfig has no DOM types: the page is reached through these). */
interface PageWindow {
  ready?: boolean;
  app: {
    start(url: string): void;
    register(body: unknown): Promise<{ user: { id: string } }>;
    open(passphrase: string): Promise<void>;
    /** Opens a second vault and answers the error's name (or "opened"). */
    tryOpen(passphrase: string): Promise<string>;
    set(provider: string, secret: string): Promise<void>;
    get(provider: string): Promise<string | undefined | { error: string; message: string }>;
    entries(): Promise<Record<string, string>>;
    hasSubtle(): boolean;
  };
}

const pageHtml = `<!doctype html><meta charset="utf-8"><title>Prompt Booster vault test page</title>
<script type="module">
  import { createClient, openVault } from "/client.js";
  window.app = {
    start(apiUrl) { this.client = createClient({ url: apiUrl, auth: { mode: "cookie" } }); },
    register(body) { return this.client.auth.register.mutate(body); },
    async open(passphrase) { this.vault = await openVault(this.client, passphrase); },
    async tryOpen(passphrase) {
      try { await openVault(this.client, passphrase); return "opened"; } catch (error) { return error.name; }
    },
    set(provider, secret) { return this.vault.set(provider, secret); },
    async get(provider) {
      try { return await this.vault.get(provider); } catch (error) { return { error: error.name, message: error.message }; }
    },
    entries() { return this.vault.entries(); },
    hasSubtle() { return typeof crypto.subtle?.deriveBits === "function" && window.isSecureContext; },
  };
  window.ready = true;
</script>`;

describe.skipIf(!hasChromium)("key vault in Chromium and Node", () => {
  let api: TestServer;
  let pageServer: http.Server;
  let pageOrigin: string;
  let context: BrowserContext;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

  beforeAll(async () => {
    // The client exactly as an app would ship it: its self-contained browser build (openVault on the main entry).
    const tsup = createRequire(path.join(clientDir, "package.json")).resolve("tsup/dist/cli-default.js");
    execFileSync(process.execPath, [tsup], { cwd: clientDir, stdio: "pipe" });
    const bundle = fs.readFileSync(path.join(clientDir, "dist/browser.js"));
    pageServer = http.createServer((request, response) => {
      const script = request.url === "/client.js";
      response.writeHead(200, { "content-type": script ? "text/javascript" : "text/html" });
      response.end(script ? bundle : pageHtml);
    });
    await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    api = await startTestServer({ env: { CORS_ORIGINS: pageOrigin } });
    browser = await launchChromium();
    context = browser.context;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
  });

  it("encrypts in the page, decrypts in Node, and back; a wrong passphrase and tampering are told apart", async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(pageOrigin);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).app.hasSubtle(), null)).toBe(true);

    await page.evaluate((url) => (globalThis as unknown as PageWindow).app.start(url), api.url);
    const suffix = randomUUID().slice(0, 8);
    const account = { email: `vault-${suffix}@example.com`, username: `vault_${suffix}`, password: `horse ${suffix}!` };
    const { user } = await page.evaluate((body) => (globalThis as unknown as PageWindow).app.register(body), account);
    const passphrase = `passphrase in the page ${suffix}`;
    const openaiKey = `sk-browser-${randomUUID()}`;
    await page.evaluate((p) => (globalThis as unknown as PageWindow).app.open(p), passphrase);
    await page.evaluate((key) => (globalThis as unknown as PageWindow).app.set("openai", key), openaiKey);

    // The desktop app (Node, bearer token) opens the vault the browser made, and adds a key.
    const token = await logIn(api.url, account.email, account.password, "desktop");
    const desktop = createClient({
      url: api.url,
      auth: { mode: "bearer", tokens: { get: () => token, set: () => {}, clear: () => {} } },
    });
    const inNode = await openVault(desktop, passphrase);
    expect(await inNode.entries()).toEqual({ openai: openaiKey });
    const deepseekKey = `sk-node-${randomUUID()}`;
    await inNode.set("deepseek", deepseekKey);

    // …which the page decrypts with its own WebCrypto.
    const entries = await page.evaluate(() => (globalThis as unknown as PageWindow).app.entries(), null);
    expect(entries).toEqual({ openai: openaiKey, deepseek: deepseekKey });
    const tryOpen = (p: string) =>
      page.evaluate((value) => (globalThis as unknown as PageWindow).app.tryOpen(value), p);
    expect(await tryOpen(`${passphrase}?`)).toBe("VaultPassphraseError");
    expect(await tryOpen(passphrase)).toBe("opened");

    // A ciphertext changed in the database: the page names the entry that failed.
    const { prisma } = api.testDb.db;
    const row = await prisma.vaultEntry.findFirstOrThrow({ where: { userId: user.id, provider: "deepseek" } });
    const bytes = Buffer.from(row.ciphertext!, "base64");
    bytes[3] = bytes[3]! ^ 0x80;
    await prisma.vaultEntry.update({ where: { id: row.id }, data: { ciphertext: bytes.toString("base64") } });
    const get = (provider: string) => page.evaluate((p) => (globalThis as unknown as PageWindow).app.get(p), provider);
    expect(await get("deepseek")).toEqual({
      error: "VaultIntegrityError",
      message: expect.stringContaining("entry deepseek"),
    });
    expect(await get("openai")).toBe(openaiKey);
    expect(problems).toEqual([]);
  });
});
