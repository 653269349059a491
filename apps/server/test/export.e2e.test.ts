// GET /api/export on a real server: bearer and cookie, its errors, HEAD, and a streamed export of 100,000
// versions while the process's memory is sampled.
import http from "node:http";
import v8 from "node:v8";
import vm from "node:vm";
import { createTRPCClient, httpBatchStreamLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { AppRouter } from "@prompt-booster/api";

import { zFullExport, zLocalExport } from "@prompt-booster/api/schemas";
import { createClient, downloadExport, ExportError, importLocalData, type StorageLike } from "@prompt-booster/client";

import { signUp, type SignedUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
let alice: SignedUp;

beforeAll(async () => {
  t = await startTestServer();
  alice = await signUp(t.url);
  const headers = { authorization: `Bearer ${alice.token}`, "content-type": "application/json" };
  const created = await fetch(`${t.url}/api/prompts`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      originalPrompt: "Export me",
      firstVersion: { optimizedPrompt: "# Exported", modelId: "m1", provider: "openai", modelName: "gpt-4o-mini" },
    }),
  });
  expect(created.status).toBe(200);
  const template = await fetch(`${t.url}/api/templates`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name: "Mine", content: "My system prompt" }),
  });
  expect(template.status).toBe(200);
});
afterAll(() => t.close());

const exportUrl = (query = "") => `${t.url}/api/export${query}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("GET /api/export", () => {
  it("downloads the full document with a bearer token", async () => {
    const response = await fetch(exportUrl(), { headers: bearer(alice.token) });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("content-disposition")).toMatch(
      /^attachment; filename="prompt-booster-export-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    expect(response.headers.get("cache-control")).toBe("no-store");
    const document = zFullExport.parse(await response.json());
    expect(document.user).toMatchObject({ id: alice.user.id, email: alice.email });
    expect(document.promptGroups.map((group) => group.originalPrompt)).toEqual(["Export me"]);
    expect(document.promptGroups[0]!.versions.map((version) => version.optimizedPrompt)).toEqual(["# Exported"]);
    expect(document.templates.map((template) => template.name)).toEqual(["Mine"]);
  });

  it("downloads it with the session cookie", async () => {
    const login = await fetch(`${t.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: alice.email, password: alice.password }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    expect(cookie).toMatch(/^pb_session=/);
    const response = await fetch(exportUrl("?format=full"), { headers: { cookie } });
    expect(response.status).toBe(200);
    expect(zFullExport.parse(await response.json()).user.id).toBe(alice.user.id);
  });

  it("answers 401 without a session, or with a wrong token", async () => {
    for (const headers of [{}, bearer("not-a-token")]) {
      const response = await fetch(exportUrl(), { headers });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: "UNAUTHORIZED" });
    }
  });

  it("writes the app's local shapes with format=local", async () => {
    const response = await fetch(exportUrl("?format=local"), { headers: bearer(alice.token) });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toMatch(/filename="prompt-booster-local-[\d-]+\.json"/);
    const document = zLocalExport.parse(await response.json());
    const [group] = Object.values(document.data.history.groups);
    expect(group).toMatchObject({ originalPrompt: "Export me", status: "completed" });
    expect(typeof group!.createdAt).toBe("number");
    expect(document.data.history.versions[group!.id]).toHaveLength(1);
    expect(Object.values(document.data.templates)[0]).toMatchObject({ name: "Mine", content: "My system prompt" });
  });

  it("answers 400 naming the field for a bad format", async () => {
    for (const query of ["?format=xml", "?format=full&format=local"]) {
      const response = await fetch(exportUrl(query), { headers: bearer(alice.token) });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { code: string; issues: { path: string }[] };
      expect(body.code).toBe("BAD_REQUEST");
      expect(body.issues.map((issue) => issue.path)).toEqual(["format"]);
    }
  });

  it("answers HEAD with the headers only, and another method with 405", async () => {
    const head = await fetch(exportUrl(), { method: "HEAD", headers: bearer(alice.token) });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-disposition")).toMatch(/^attachment;/);
    expect(await head.text()).toBe("");
    expect((await fetch(exportUrl(), { method: "HEAD" })).status).toBe(401);
    const post = await fetch(exportUrl(), { method: "POST", headers: bearer(alice.token) });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("is in the OpenAPI document", async () => {
    const document = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
    };
    const operation = document.paths["/export"]?.get;
    expect(operation?.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(["200", "400", "401", "503"]));
  });
});

describe("account.export over tRPC", () => {
  it("streams the document's pieces to httpBatchStreamLink", async () => {
    const client = createTRPCClient<AppRouter>({
      links: [httpBatchStreamLink({ url: `${t.url}/trpc`, transformer: superjson, headers: bearer(alice.token) })],
    });
    let text = "";
    let pieces = 0;
    for await (const piece of await client.account.export.query({ format: "full" })) {
      text += piece;
      pieces += 1;
    }
    expect(pieces).toBeGreaterThan(1);
    expect(zFullExport.parse(JSON.parse(text)).user.id).toBe(alice.user.id);
  });
});

describe("downloadExport (client package)", () => {
  it("downloads with the client's bearer token, and clears the token store on 401", async () => {
    let token: string | null = alice.token;
    const tokens = { get: () => token, set: (value: string) => void (token = value), clear: () => void (token = null) };
    const { response, filename } = await downloadExport(
      { url: t.url, auth: { mode: "bearer", tokens } },
      { format: "local" },
    );
    expect(filename).toMatch(/^prompt-booster-local-[\d-]+\.json$/);
    expect(zLocalExport.parse(await response.json()).format).toBe("prompt-booster-local");

    token = "not-a-token";
    let expired = 0;
    const refused = await downloadExport({
      url: t.url,
      auth: { mode: "bearer", tokens },
      onSessionExpired: () => void (expired += 1),
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ExportError);
    expect(refused).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(token).toBeNull();
    expect(expired).toBe(1);
  });
});

describe("the local format back into an account", () => {
  it("goes through the client's importLocalData as the app's localStorage (the README's recipe)", async () => {
    const response = await fetch(exportUrl("?format=local"), { headers: bearer(alice.token) });
    const { data } = zLocalExport.parse(await response.json());
    // What the app would put back into localStorage: JSON text for the objects, strings as they are.
    const stored: Record<string, unknown> = { PROMPT_STORE: data.history, ...data.settings };
    const storage: StorageLike = {
      getItem: (key) => {
        const value = Object.hasOwn(stored, key) ? stored[key] : undefined;
        return value === undefined ? null : typeof value === "string" ? value : JSON.stringify(value);
      },
    };
    const copy = await signUp(t.url);
    let token: string | null = copy.token;
    const tokens = { get: () => token, set: (value: string) => void (token = value), clear: () => void (token = null) };
    const client = createClient({ url: t.url, auth: { mode: "bearer", tokens } });
    const result = await importLocalData(client, storage, { templates: data.templates });
    expect(result.errors).toEqual([]);
    expect(result.imported).toMatchObject({ promptGroups: 1, promptVersions: 1, templates: 1 });
    const copied = await fetch(exportUrl(), { headers: bearer(copy.token) });
    const document = zFullExport.parse(await copied.json());
    expect(document.promptGroups.map((group) => group.originalPrompt)).toEqual(["Export me"]);
    expect(document.templates.map((template) => template.content)).toEqual(["My system prompt"]);
  });
});

// 100,000 versions on PostgreSQL; on PGlite (in this process, single-threaded) that takes over three minutes,
// so it exports a tenth of them there.
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const GROUPS = onPostgres ? 1_000 : 100;
const VERSIONS_PER_GROUP = 100;
const PROMPT_BYTES = 1_000;

describe("a large export", () => {
  it(
    `streams ${GROUPS * VERSIONS_PER_GROUP} versions in bounded memory`,
    async () => {
      const owner = await signUp(t.url);
      const db = t.testDb.db.prisma;
      await db.$executeRawUnsafe(
        `INSERT INTO "PromptGroup" ("id", "userId", "originalPrompt", "currentVersionNumber", "status", "rev", "createdAt", "updatedAt")
         SELECT gen_random_uuid(), $1::uuid, 'Prompt ' || g, ${VERSIONS_PER_GROUP}, 'completed', g, now(), now()
         FROM generate_series(1, ${GROUPS}) AS g`,
        owner.user.id,
      );
      await db.$executeRawUnsafe(
        `INSERT INTO "PromptVersion" ("id", "groupId", "userId", "number", "originalPrompt", "optimizedPrompt", "modelId",
           "provider", "modelName", "status", "timestamp", "rev", "createdAt", "updatedAt")
         SELECT gen_random_uuid(), g."id", $1::uuid, n, g."originalPrompt", repeat('x', ${PROMPT_BYTES}) || n, 'm1', 'openai',
           'gpt-4o-mini', 'completed', now(), ${GROUPS} + n, now(), now()
         FROM "PromptGroup" AS g CROSS JOIN generate_series(1, ${VERSIONS_PER_GROUP}) AS n
         WHERE g."userId" = $1::uuid`,
        owner.user.id,
      );
      // What the heap holds after a collection is what the export keeps; heapUsed between collections also
      // counts garbage not yet collected. (Exposes gc() to this process for the test.)
      v8.setFlagsFromString("--expose-gc");
      const gc = vm.runInNewContext("gc") as () => void;
      gc();
      const before = process.memoryUsage();
      let peakRss = before.rss;
      let peakHeap = before.heapUsed;
      let peakLiveHeap = before.heapUsed;
      let samples = 0;
      const sampler = setInterval(() => {
        const now = process.memoryUsage();
        peakRss = Math.max(peakRss, now.rss);
        peakHeap = Math.max(peakHeap, now.heapUsed);
        if (++samples % 50 === 0) {
          gc();
          peakLiveHeap = Math.max(peakLiveHeap, process.memoryUsage().heapUsed);
        }
      }, 20);

      // Read with node:http and drop each chunk: the test itself holds nothing of the document.
      const started = Date.now();
      const { status, bytes, versions, tail } = await new Promise<{
        status: number;
        bytes: number;
        versions: number;
        tail: string;
      }>((resolve, reject) => {
        http
          .get(exportUrl(), { headers: bearer(owner.token) }, (response) => {
            let bytes = 0;
            let versions = 0;
            let carry = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              bytes += Buffer.byteLength(chunk);
              const text = carry + chunk;
              versions += text.split('"optimizedPrompt":').length - 1;
              // Keep what could be the start of a marker cut by the chunk boundary (never a whole one).
              carry = text.slice(-17);
              if (carry.includes('"optimizedPrompt":')) carry = "";
            });
            response.on("end", () => resolve({ status: response.statusCode ?? 0, bytes, versions, tail: carry }));
            response.on("error", reject);
          })
          .on("error", reject);
      });
      clearInterval(sampler);
      const seconds = (Date.now() - started) / 1000;

      expect(status).toBe(200);
      expect(versions).toBe(GROUPS * VERSIONS_PER_GROUP);
      expect(tail.endsWith('"identities":[]}')).toBe(true);
      const mb = (value: number) => Math.round(value / 1024 / 1024);
      const figures = {
        documentMB: mb(bytes),
        rssBeforeMB: mb(before.rss),
        rssPeakMB: mb(peakRss),
        rssGrowthMB: mb(peakRss - before.rss),
        heapBeforeMB: mb(before.heapUsed),
        heapPeakMB: mb(peakHeap),
        liveHeapPeakMB: mb(peakLiveHeap),
        seconds,
      };
      console.log(`export of ${versions} versions: ${JSON.stringify(figures)}`);
      // Generous: on PostgreSQL the document is over 100 MB (over 200 MB as a JS string), so a buffered export
      // could not stay under a third of it. (What the process holds after a collection grew by ~2 MB when measured.)
      expect(bytes).toBeGreaterThan(GROUPS * VERSIONS_PER_GROUP * PROMPT_BYTES);
      expect(peakLiveHeap - before.heapUsed).toBeLessThan(Math.max(bytes / 3, 32 * 1024 * 1024));
    },
    15 * 60_000,
  );
});
