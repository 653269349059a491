// importLocalData from the client package against a real server whose body limit is lowered to 64 KiB, so
// an ordinary history takes several requests: what the app's first sign-in does with a real localStorage.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createClient, importLocalData, LocalImportError, type StorageLike } from "@prompt-booster/client";

import { generatedHistory } from "../../../packages/api/test/support/import-payload.ts";
import { signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const fixtures = path.resolve(import.meta.dirname, "../../../packages/api/test/fixtures/client-shapes");
const read = (name: string) => JSON.parse(fs.readFileSync(path.join(fixtures, `${name}-example.json`), "utf8"));
const BODY_LIMIT = 64 * 1024;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
});
afterAll(() => t.close());

/** localStorage as the app left it: every value is text, PROMPT_STORE double-encoded (builds before May 2025). */
function appStorage(history: unknown): StorageLike {
  const settings = read("settings");
  const items = new Map<string, string>([
    ["PROMPT_STORE", JSON.stringify(JSON.stringify(history))],
    ["model-settings", JSON.stringify(settings["model-settings"])],
    ["my-app-theme", "dark"],
    ["i18nextLng", "en-US"],
    ["selectedTemplateId", "optimize_task"],
  ]);
  return { getItem: (key) => items.get(key) ?? null };
}

/** The app's templates as it holds them in memory: built-ins stamped with the load time, and one of the user's. */
function inMemoryTemplates() {
  const loadedAt = 1_764_000_000_000;
  const builtins = Object.entries(read("templates") as Record<string, object>).map(([id, template]) => [
    id,
    { ...template, createdAt: loadedAt, updatedAt: loadedAt },
  ]);
  const mine = { id: "mine", name: "Mine", content: "Review this", metadata: { templateType: "custom" } };
  return { ...Object.fromEntries(builtins), mine };
}

/** The history of every import request the client sent, as it went over the wire. */
type SentHistory = { groups: Record<string, unknown>; versions: Record<string, { groupId: string }[]> };

const clientOf = (token: string, sent: { bytes: number; history?: SentHistory }[] = []) =>
  createClient({
    url: t.url,
    auth: { mode: "bearer", tokens: { get: () => token, set() {}, clear() {} } },
    fetch: async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (url.includes("import.localData") && typeof init?.body === "string") {
        const batch = JSON.parse(init.body) as Record<string, { json: { history?: SentHistory } }>;
        sent.push({ bytes: Buffer.byteLength(init.body), history: batch["0"]?.json.history });
      }
      return fetch(input, init);
    },
  });

describe("importLocalData", () => {
  it("sends a history larger than the body limit in chunks of groups, and merges the answers and id maps", async () => {
    const { token, user } = await signUp(t.url);
    const history = generatedHistory(120, 2, "chunked");
    // The history alone is several times the server's limit: one request would be refused.
    expect(JSON.stringify(history).length).toBeGreaterThan(3 * BODY_LIMIT);
    const sent: { bytes: number; history?: SentHistory }[] = [];
    const client = clientOf(token, sent);

    const result = await importLocalData(client, appStorage(history), {
      templates: inMemoryTemplates(),
      maxRequestBytes: BODY_LIMIT - 4 * 1024,
    });
    expect(result.requests).toBeGreaterThanOrEqual(4);
    expect(sent).toHaveLength(result.requests);
    // Every request within the limit, every group in one request with all its versions.
    for (const request of sent) expect(request.bytes).toBeLessThanOrEqual(BODY_LIMIT);
    const groupsSent = sent.flatMap((request) => Object.keys(request.history?.groups ?? {}));
    expect(groupsSent.sort()).toEqual(Object.keys(history.groups).sort());
    for (const request of sent) {
      for (const [groupId, versions] of Object.entries(request.history?.versions ?? {})) {
        expect(Object.keys(request.history!.groups)).toContain(groupId);
        expect(versions).toHaveLength(history.versions[groupId]!.length);
      }
    }
    expect(result.errors).toEqual([]);
    expect(result.imported).toEqual({ promptGroups: 120, promptVersions: 240, templates: 1, settings: 1 });
    expect(result.skipped.map((item) => item.legacyId).sort()).toEqual(Object.keys(read("templates")).sort());
    expect(result.secretsRemoved).toHaveLength(3);

    // One id map over every request, naming the rows now on the server.
    const groups = await t.testDb.db.prisma.promptGroup.findMany({ where: { userId: user.id }, select: { id: true } });
    expect(Object.keys(result.ids.promptGroups).sort()).toEqual(Object.keys(history.groups).sort());
    expect(Object.values(result.ids.promptGroups).sort()).toEqual(groups.map((group) => group.id).sort());
    expect(Object.keys(result.ids.promptVersions)).toHaveLength(240);
    expect(Object.keys(result.ids.templates)).toEqual(["mine"]);
    const revision = await t.testDb.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(result.revision).toBe(revision.revision);

    // The synced rows answer to the ids the map gave.
    const [legacyId, serverId] = Object.entries(result.ids.promptGroups)[0]!;
    const group = await client.prompts.get.query({ id: serverId });
    expect(group.originalPrompt).toBe(history.groups[legacyId]!.originalPrompt);
    expect(await client.settings.get.query()).toMatchObject({ theme: "dark", language: "en-US" });

    // Again: nothing new, the same map.
    const again = await importLocalData(client, appStorage(history), {
      templates: inMemoryTemplates(),
      maxRequestBytes: BODY_LIMIT - 4 * 1024,
    });
    expect(again.ids).toEqual(result.ids);
    expect(again.imported).toEqual(result.imported);
    expect(again.revision).toBe(result.revision);
  });

  it("sets aside an item the server's input guard would refuse the whole request for, and imports the rest", async () => {
    const { token } = await signUp(t.url);
    const history = generatedHistory(3, 2, "guard");
    // A truncated emoji (half a surrogate pair) in one version, a NUL in another group's prompt.
    history.versions.guardg0![1]!.optimizedPrompt = "Done 😀".slice(0, -1);
    history.groups.guardg2!.originalPrompt = "a\u0000b";
    const settings = read("settings");
    const storage = appStorage(history);
    const withBadSettings: StorageLike = {
      getItem: (key) =>
        key === "model-settings"
          ? JSON.stringify({ ...settings["model-settings"], note: { constructor: 1 } })
          : storage.getItem(key),
    };

    const result = await importLocalData(clientOf(token), withBadSettings);
    expect(result.errors.map(({ kind, legacyId, field }) => ({ kind, legacyId, field }))).toEqual([
      { kind: "settings", legacyId: "model-settings", field: "settings.model-settings.note" },
      { kind: "promptGroup", legacyId: "guardg2", field: "history.groups.guardg2.originalPrompt" },
      { kind: "promptVersion", legacyId: "guardg0v2", field: "history.versions.guardg0.1.optimizedPrompt" },
      { kind: "promptVersion", legacyId: "guardg2v1", field: "history.versions.guardg2.0" },
      { kind: "promptVersion", legacyId: "guardg2v2", field: "history.versions.guardg2.1" },
    ]);
    expect(result.imported).toEqual({ promptGroups: 2, promptVersions: 3, templates: 0, settings: 1 });
    expect(Object.keys(result.ids.promptGroups).sort()).toEqual(["guardg0", "guardg1"]);
  });

  it("keeps to maxVersionsPerRequest", async () => {
    const { token } = await signUp(t.url);
    const sent: { bytes: number; history?: SentHistory }[] = [];
    const result = await importLocalData(clientOf(token, sent), appStorage(generatedHistory(40, 3, "few")), {
      maxVersionsPerRequest: 25,
    });
    expect(result.imported).toMatchObject({ promptGroups: 40, promptVersions: 120 });
    // 8 groups of 3 versions fit in 25: 40 groups take 5 requests.
    expect(sent.map((request) => Object.values(request.history!.versions).flat().length)).toEqual([24, 24, 24, 24, 24]);
  });

  it("turns the server's 413 into a LocalImportError PAYLOAD_TOO_LARGE, never a transform failure", async () => {
    const { token, user } = await signUp(t.url);
    const error = await importLocalData(clientOf(token), appStorage(generatedHistory(120, 2, "big")), {
      maxRequestBytes: 10 * BODY_LIMIT,
    }).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(LocalImportError);
    const failure = error as LocalImportError;
    expect(failure.code).toBe("PAYLOAD_TOO_LARGE");
    expect(failure.message).toMatch(/maxRequestBytes/);
    expect(failure.completed.requests).toBe(0);
    expect(await t.testDb.db.prisma.promptGroup.count({ where: { userId: user.id } })).toBe(0);
  });

  it("sends a PROMPT_STORE that is not the app's shape as it is, and reports the server's 400 as BAD_REQUEST", async () => {
    const { token } = await signUp(t.url);
    const storage: StorageLike = { getItem: (key) => (key === "PROMPT_STORE" ? "{not json" : null) };
    const error = await importLocalData(clientOf(token), storage).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(LocalImportError);
    expect((error as LocalImportError).code).toBe("BAD_REQUEST");
    expect((error as LocalImportError).message).toMatch(/history/);
  });
});
