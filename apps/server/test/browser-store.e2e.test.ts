// IndexedDbSyncStore in a real browser: headless Chromium signs in to a real server, pulls the user's rows into
// the store (sync.pull → store.apply), queues offline writes, reloads the page, and finds rows (with their Date
// objects), cursor and queue where it left them. Also the SyncStore contract suite (packages/client/test), each
// store call forwarded into the page, and a database deleted by another tab. Needs Debian's `chromium`
// (apt-get install chromium).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { SyncStore } from "../../../packages/client/src/sync-store.ts";
import { createMutation, syncStoreContract } from "../../../packages/client/test/sync-store.contract.ts";
import { hasChromium, launchChromium, warnIfNoChromium } from "./support/chromium.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

warnIfNoChromium("browser-store.e2e");

/** A row as the page reports it (the test's tsconfig has no DOM types: the page is reached through these). */
interface Row {
  entity: string;
  id: string;
  rev: number;
  data: Record<string, unknown>;
}
interface State {
  cursor: number | undefined;
  rows: Row[];
  pending: { mutationId: string; op: string; input: Record<string, unknown> }[];
  rejected: unknown[];
}
interface PageWindow {
  ready?: boolean;
  app: {
    start(apiUrl: string): void;
    register(body: unknown): Promise<{ user: { id: string } }>;
    createTemplate(name: string): Promise<{ id: string }>;
    open(name: string): void;
    pullAll(): Promise<number>;
    enqueue(name: string, templateId: string): Promise<string>;
    load(): Promise<State>;
    settle(answered: string[]): Promise<void>;
    datesAreDates(): Promise<boolean>;
    databases(): Promise<string[]>;
    openInstance(name: string): number;
    call(instance: number, method: string, args: unknown[]): Promise<unknown>;
    deleteDatabase(name: string): Promise<"deleted" | "blocked">;
  };
}

const clientDir = path.resolve(import.meta.dirname, "../../../packages/client");

/** The test page: the client bundle, driven from the test through `window.app`; the store reopened on load. */
const pageHtml = `<!doctype html><meta charset="utf-8"><title>Prompt Booster store test page</title>
<script type="module">
  import { createClient, IndexedDbSyncStore } from "/client.js";
  window.app = {
    start(apiUrl) {
      this.client = createClient({ url: apiUrl, auth: { mode: "cookie" } });
    },
    register(body) { return this.client.auth.register.mutate(body); },
    createTemplate(name) { return this.client.templates.create.mutate({ name, content: "You are " + name }); },
    open(name) { this.store = new IndexedDbSyncStore({ name }); },
    // A snapshot in small pages, each page stored with the cursor past it, as the engine does.
    async pullAll() {
      let since;
      let pages = 0;
      for (;;) {
        const page = await this.client.sync.pull.query(since === undefined ? { limit: 2 } : { since, limit: 2, snapshot: true });
        await this.store.apply(page.changes, page.cursor);
        since = page.cursor;
        pages++;
        if (!page.hasMore) return pages;
      }
    },
    async enqueue(name, templateId) {
      const mutationId = crypto.randomUUID();
      await this.store.enqueue({ mutationId, op: "template.update", input: { id: templateId, name } });
      return mutationId;
    },
    load() { return this.store.load(); },
    settle(answered) { return this.store.settle(answered, []); },
    async datesAreDates() {
      const { rows } = await this.store.load();
      return rows.length > 0 && rows.every((row) => !("createdAt" in row.data) || row.data.createdAt instanceof Date)
        && rows.some((row) => row.data.updatedAt instanceof Date);
    },
    async databases() { return (await indexedDB.databases()).map((db) => db.name).sort(); },
    // The contract suite's stores: one instance per call of open, reached by number.
    instances: [],
    openInstance(name) { return this.instances.push(new IndexedDbSyncStore({ name })) - 1; },
    call(instance, method, args) { return this.instances[instance][method](...args); },
    deleteDatabase(name) {
      return new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase(name);
        request.onsuccess = () => resolve("deleted");
        request.onerror = () => reject(request.error);
        request.onblocked = () => resolve("blocked");
      });
    },
  };
  window.ready = true;
</script>`;

/** The rows in a stable order (IndexedDB returns them by key, the server by revision). */
const sorted = (rows: Row[]) => [...rows].sort((a, b) => `${a.entity}:${a.id}`.localeCompare(`${b.entity}:${b.id}`));

describe.skipIf(!hasChromium)("IndexedDbSyncStore in a real browser (Chromium)", () => {
  let api: TestServer;
  let pageServer: http.Server;
  let pageOrigin: string;
  let context: BrowserContext;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

  beforeAll(async () => {
    // The client's source as an app's bundler would package it for the browser.
    const requireClient = createRequire(path.join(clientDir, "package.json"));
    const esbuild = createRequire(requireClient.resolve("tsup")).resolve("esbuild");
    const { build } = (await import(esbuild)) as {
      build: (options: Record<string, unknown>) => Promise<{ outputFiles: { contents: Uint8Array }[] }>;
    };
    const bundle = await build({
      stdin: {
        contents: [
          'export { createClient } from "./src/index.ts";',
          'export { IndexedDbSyncStore } from "./src/idb-store.ts";',
        ].join("\n"),
        resolveDir: clientDir,
        loader: "ts",
      },
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false,
      logLevel: "silent",
    });
    const clientJs = Buffer.from(bundle.outputFiles[0]!.contents);

    pageServer = http.createServer((request, response) => {
      if (request.url === "/client.js") {
        response.writeHead(200, { "content-type": "text/javascript" });
        response.end(clientJs);
      } else {
        response.writeHead(200, { "content-type": "text/html" });
        response.end(pageHtml);
      }
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

  /** A SyncStore in the page, each call forwarded to it (Playwright carries Date objects both ways). */
  async function storeInPage(page: Page, name: string): Promise<SyncStore> {
    const instance = await page.evaluate(
      (store) => (globalThis as unknown as PageWindow).app.openInstance(store),
      name,
    );
    const call =
      (method: keyof SyncStore) =>
      (...args: unknown[]): Promise<never> =>
        page.evaluate(([index, what, values]) => (globalThis as unknown as PageWindow).app.call(index, what, values), [
          instance,
          method,
          args,
        ] as const) as Promise<never>;
    return {
      load: call("load"),
      apply: call("apply"),
      reset: call("reset"),
      enqueue: call("enqueue"),
      settle: call("settle"),
      forgetRejected: call("forgetRejected"),
    };
  }

  let contractPage: Page | undefined;
  syncStoreContract("IndexedDbSyncStore", {
    persistent: true,
    async open(scope) {
      if (!contractPage) {
        contractPage = await context.newPage();
        await load(contractPage);
      }
      return storeInPage(contractPage, scope);
    },
  });

  it("steps aside when another tab deletes its database, and starts over empty on its next call", async () => {
    const page = await context.newPage();
    await load(page);
    const name = `deleted-${Math.random().toString(36).slice(2)}`;
    const store = await storeInPage(page, name);
    await store.enqueue(createMutation("Doomed"));
    // Another tab (a second page of the same origin) deletes it: not blocked, as the open connection closes.
    const other = await context.newPage();
    await load(other);
    const outcome = await other.evaluate(
      (database) => (globalThis as unknown as PageWindow).app.deleteDatabase(database),
      `prompt-booster-sync:${name}`,
    );
    expect(outcome).toBe("deleted");
    expect(await store.load()).toEqual({ cursor: undefined, rows: [], pending: [], rejected: [] });
    await store.apply([], 9);
    expect((await (await storeInPage(page, name)).load()).cursor).toBe(9);
  });

  async function load(page: Page) {
    await page.goto(pageOrigin);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
  }

  it("keeps pulled rows (Dates as Date), cursor and queued writes across a page reload, per user", async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await load(page);
    await page.evaluate((url) => (globalThis as unknown as PageWindow).app.start(url), api.url);
    const suffix = Math.random().toString(36).slice(2, 10);
    const { user } = await page.evaluate((body) => (globalThis as unknown as PageWindow).app.register(body), {
      email: `store-${suffix}@example.com`,
      username: `store_${suffix}`,
      password: `correct horse ${suffix}`,
    });
    const templates: { id: string }[] = [];
    for (const name of ["Editor", "Translator", "Critic"]) {
      templates.push(
        await page.evaluate((text) => (globalThis as unknown as PageWindow).app.createTemplate(text), name),
      );
    }

    // Pull everything into the store named after the user, then queue two offline writes.
    await page.evaluate((name) => (globalThis as unknown as PageWindow).app.open(name), user.id);
    const pages = await page.evaluate(() => (globalThis as unknown as PageWindow).app.pullAll());
    expect(pages).toBeGreaterThan(1);
    const first = await page.evaluate(
      ([id]) => (globalThis as unknown as PageWindow).app.enqueue("Editor, renamed offline", id!),
      [templates[0]!.id],
    );
    const second = await page.evaluate(
      ([id]) => (globalThis as unknown as PageWindow).app.enqueue("Critic, renamed offline", id!),
      [templates[2]!.id],
    );
    const before = await page.evaluate(() => (globalThis as unknown as PageWindow).app.load());
    expect(before.cursor).toBeGreaterThan(0);
    expect(
      before.rows
        .filter((row) => row.entity === "template")
        .map((row) => row.data.name)
        .sort(),
    ).toEqual(["Critic", "Editor", "Translator"]);
    expect(before.pending.map((mutation) => mutation.mutationId)).toEqual([first, second]);

    // A reload: nothing of the page's memory is left; a new store of the same name reads the same state.
    await load(page);
    await page.evaluate((name) => (globalThis as unknown as PageWindow).app.open(name), user.id);
    const after = await page.evaluate(() => (globalThis as unknown as PageWindow).app.load());
    expect(after.cursor).toBe(before.cursor);
    expect(sorted(after.rows)).toEqual(sorted(before.rows));
    expect(after.pending).toEqual(before.pending);
    expect(after.rejected).toEqual([]);
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).app.datesAreDates())).toBe(true);
    const template = after.rows.find((row) => row.id === templates[1]!.id);
    expect(template?.data.createdAt).toBeInstanceOf(Date);

    // The queue stays ordered and durable through a settle and one more reload.
    await page.evaluate((answered) => (globalThis as unknown as PageWindow).app.settle(answered), [first]);
    await load(page);
    await page.evaluate((name) => (globalThis as unknown as PageWindow).app.open(name), user.id);
    expect(
      (await page.evaluate(() => (globalThis as unknown as PageWindow).app.load())).pending.map(
        (mutation) => mutation.mutationId,
      ),
    ).toEqual([second]);

    // Another account on the same browser gets a database of its own, empty.
    await page.evaluate(() => (globalThis as unknown as PageWindow).app.open("another-user"));
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).app.load())).toEqual({
      cursor: undefined,
      rows: [],
      pending: [],
      rejected: [],
    });
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).app.databases())).toEqual(
      expect.arrayContaining([`prompt-booster-sync:${user.id}`, "prompt-booster-sync:another-user"]),
    );
    expect(problems).toEqual([]);
  });
});
