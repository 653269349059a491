// Offline-first sync end to end: devices write while offline (their engine stopped), come back, and the
// server's answers reach each device's view — refused writes set aside, settings merged per path, device
// times kept, the app's own shapes through the adapters. Real servers, the real client, this file's own
// database (PGlite, or PostgreSQL with TEST_DATABASE_URL).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  createClient,
  MemorySyncStore,
  promptStoreMutations,
  SyncEngine,
  toPromptStore,
  type AppPromptStore,
  type RejectedMutation,
  type TokenStore,
} from "@prompt-booster/client";

import { logIn, signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const fixedToken = (token: string): TokenStore => ({ get: () => token, set: () => {}, clear: () => {} });

/** A device: its own client (bearer session), store and engine; offline while its engine is stopped. */
function device(token: string) {
  const client = createClient({ url: t.url, auth: { mode: "bearer", tokens: fixedToken(token) } });
  const store = new MemorySyncStore();
  const refused: RejectedMutation[] = [];
  const errors: unknown[] = [];
  const engine = new SyncEngine({
    client,
    store,
    retryDelayMs: () => 100,
    onRejected: (entry) => refused.push(entry),
    onError: (error) => errors.push(error),
  });
  return { client, store, engine, refused, errors };
}

async function twoDevices() {
  const alice = await signUp(t.url);
  return [device(alice.token), device(await logIn(t.url, alice.email, alice.password))] as const;
}

/** Resolves once `condition` holds; the bound only turns a hang into a clear failure. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > 20_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const template = (name: string) => ({
  op: "template.create" as const,
  input: { id: randomUUID(), name, content: "c" },
});
const templateNames = (engine: SyncEngine) =>
  engine.view
    .list("template")
    .map((row) => row.name)
    .sort();

const emptyHistory: AppPromptStore = { groups: {}, versions: {}, activeGroupId: null, activeVersionNumber: null };

describe("offline writes", () => {
  it("a refused write queued between two valid ones is set aside with its reason; the rest apply and syncing goes on", async () => {
    const [laptop, phone] = await twoDevices();
    await phone.engine.start();
    // Queued straight into the store while offline, as an old app version might have: the middle one holds
    // a provider key, which the server never stores.
    const [first, last] = [template("Before"), template("After")];
    const refusedId = randomUUID();
    await laptop.store.enqueue({ ...first, mutationId: randomUUID() });
    await laptop.store.enqueue({
      mutationId: refusedId,
      op: "settings.update",
      input: { settingsData: { "model-settings": { state: { configs: { openai: { apiKey: "sk-live-key" } } } } } },
    });
    await laptop.store.enqueue({ ...last, mutationId: randomUUID() });

    await laptop.engine.start();
    expect(laptop.engine.pending()).toEqual([]);
    expect(laptop.engine.rejected()).toHaveLength(1);
    const [entry] = laptop.engine.rejected();
    expect(entry!.mutation.mutationId).toBe(refusedId);
    expect(entry!.result).toMatchObject({ status: "rejected", error: { code: "BAD_REQUEST" } });
    expect(Object.keys((entry!.result.error as { fieldErrors?: object }).fieldErrors ?? {}).join()).toMatch(/apiKey/);
    expect(laptop.refused.map((refused) => refused.mutation.mutationId)).toEqual([refusedId]);
    expect((await laptop.store.load()).rejected).toHaveLength(1);
    await waitFor(() => templateNames(phone.engine).length === 2, "the phone to get both valid writes");
    expect(templateNames(phone.engine)).toEqual(["After", "Before"]);

    // The refused write jams nothing: a later one flows to the other device.
    await laptop.engine.write(template("Later"));
    await waitFor(() => templateNames(phone.engine).includes("Later"), "the phone to get the later write");
    await laptop.engine.discardRejected([refusedId]);
    expect(laptop.engine.rejected()).toEqual([]);
    laptop.engine.stop();
    phone.engine.stop();
  });

  it("the view shows a write before it is pushed, and the confirmed row after", async () => {
    const [laptop, phone] = await twoDevices();
    await laptop.engine.load();
    const mutation = template("Written offline");
    await laptop.engine.write(mutation);
    expect(laptop.engine.view.get("template", mutation.input.id)).toMatchObject({ name: "Written offline", rev: 0 });
    expect(laptop.engine.view.isPending(mutation.input.id)).toBe(true);
    await expect(phone.client.templates.get.query({ id: mutation.input.id })).rejects.toThrow();

    await laptop.engine.start();
    await waitFor(() => (laptop.engine.view.get("template", mutation.input.id)?.rev ?? 0) > 0, "the confirmed row");
    expect(laptop.engine.view.isPending(mutation.input.id)).toBe(false);
    expect(laptop.engine.view.list("template")).toHaveLength(1);
    expect(await phone.client.templates.get.query({ id: mutation.input.id })).toMatchObject({
      name: "Written offline",
    });
    laptop.engine.stop();
  });
});

describe("settings written offline on two devices", () => {
  /** Both devices have pulled the user's settings, then go offline. */
  async function offlinePair() {
    const [laptop, phone] = await twoDevices();
    await laptop.client.settings.update.mutate({ theme: "light" });
    for (const d of [laptop, phone]) {
      await d.engine.start();
      d.engine.stop();
    }
    const baseRev = laptop.engine.view.settings()!.rev;
    expect(phone.engine.view.settings()!.rev).toBe(baseRev);
    return { laptop, phone, baseRev };
  }

  it("a theme on one and a language on the other both survive", async () => {
    const { laptop, phone, baseRev } = await offlinePair();
    await laptop.engine.write({ op: "settings.update", input: { theme: "dark", baseRev } });
    await phone.engine.write({ op: "settings.update", input: { language: "zh-CN", baseRev } });
    expect(laptop.engine.view.settings()).toMatchObject({ theme: "dark", language: "en" });

    await laptop.engine.start();
    await phone.engine.start();
    for (const d of [laptop, phone]) {
      await waitFor(() => d.engine.view.settings()?.language === "zh-CN", "the phone's language everywhere");
      await waitFor(() => d.engine.view.settings()?.theme === "dark", "the laptop's theme everywhere");
      expect(d.engine.rejected()).toEqual([]);
    }
    laptop.engine.stop();
    phone.engine.stop();
  });

  it("different settingsData keys merge; the same key on both is one conflict, rolled back where it lost", async () => {
    const { laptop, phone, baseRev } = await offlinePair();
    await laptop.engine.write({
      op: "settings.update",
      input: { settingsData: { selectedTemplateId: "optimize_task", testResultModelId: "openai" }, baseRev },
    });
    await phone.engine.write({
      op: "settings.update",
      input: { settingsData: { selectedTemplateId: "iterate", "my-app-theme": "dark" }, baseRev },
    });
    expect(phone.engine.view.settings()!.settingsData).toMatchObject({ selectedTemplateId: "iterate" });

    await laptop.engine.start();
    await phone.engine.start();
    expect(phone.refused).toHaveLength(1);
    expect(phone.refused[0]!.result).toMatchObject({ status: "conflict" });
    expect(phone.engine.rejected()).toHaveLength(1);
    // Rolled back: the phone shows the server's value, the laptop's write, and nothing of its own.
    await waitFor(
      () => phone.engine.view.settings()?.settingsData.selectedTemplateId === "optimize_task",
      "the phone to show the winning value",
    );
    expect(phone.engine.view.settings()!.settingsData).toEqual({
      selectedTemplateId: "optimize_task",
      testResultModelId: "openai",
    });
    expect(laptop.refused).toEqual([]);

    // Retried on the fresh revision, it applies (under a new mutationId).
    const conflict = phone.engine.rejected()[0]!;
    await phone.engine.retryRejected(conflict.mutation.mutationId, {
      settingsData: { selectedTemplateId: "iterate" },
      baseRev: phone.engine.view.settings()!.rev,
    });
    await waitFor(
      () => laptop.engine.view.settings()?.settingsData.selectedTemplateId === "iterate",
      "the retried write on the laptop",
    );
    expect(phone.engine.rejected()).toEqual([]);
    laptop.engine.stop();
    phone.engine.stop();
  });
});

describe("prompts through the app's PROMPT_STORE", () => {
  it("a prompt created offline keeps the device's createdAt and timestamp", async () => {
    const [laptop, phone] = await twoDevices();
    const madeAt = Date.now() - 3 * 60 * 60_000;
    const groupId = randomUUID();
    const history: AppPromptStore = {
      groups: {
        [groupId]: {
          id: groupId,
          originalPrompt: "Write a haiku about trains",
          currentVersionNumber: 2,
          status: "completed",
          createdAt: madeAt,
          updatedAt: madeAt + 60_000,
        },
      },
      versions: {
        [groupId]: [1, 2].map((number) => ({
          id: randomUUID(),
          number,
          groupId,
          originalPrompt: "Write a haiku about trains",
          optimizedPrompt: `Haiku, take ${number}`,
          modelId: "openai",
          provider: "OpenAI",
          modelName: "gpt-4o-mini",
          status: "completed" as const,
          timestamp: madeAt + (number - 1) * 60_000,
          ...(number === 2 && { iterationDirection: "more trains" }),
        })),
      },
      activeGroupId: groupId,
      activeVersionNumber: 2,
    };
    await laptop.engine.load();
    for (const mutation of promptStoreMutations(emptyHistory, history)) await laptop.engine.write(mutation);
    expect(toPromptStore(laptop.engine.view, history)).toMatchObject({
      groups: { [groupId]: { createdAt: madeAt, currentVersionNumber: 2 } },
      activeGroupId: groupId,
    });

    await laptop.engine.start();
    await phone.engine.start();
    await waitFor(() => phone.engine.view.versions(groupId).length === 2, "the phone to get both versions");
    const onPhone = toPromptStore(phone.engine.view, history);
    expect(onPhone.groups[groupId]).toMatchObject({ createdAt: madeAt, currentVersionNumber: 2, status: "completed" });
    expect(onPhone.versions[groupId]).toEqual(history.versions[groupId]);
    expect(laptop.engine.rejected()).toEqual([]);
    laptop.engine.stop();
    phone.engine.stop();
  });

  it("the enhance flow (a pending version, completed later) ends with a completed group on the other device", async () => {
    const [laptop, phone] = await twoDevices();
    await laptop.engine.start();
    await phone.engine.start();
    const groupId = randomUUID();
    const versionId = randomUUID();
    const now = Date.now();
    const enhancing: AppPromptStore = {
      groups: {
        [groupId]: {
          id: groupId,
          originalPrompt: "Plan a trip to Kyoto",
          currentVersionNumber: 1,
          status: "enhancing",
          createdAt: now,
          updatedAt: now,
        },
      },
      versions: {
        [groupId]: [
          {
            id: versionId,
            number: 1,
            groupId,
            originalPrompt: "Plan a trip to Kyoto",
            optimizedPrompt: "__PENDING__",
            modelId: "openai",
            provider: "OpenAI",
            modelName: "gpt-4o-mini",
            status: "pending",
            timestamp: now,
          },
        ],
      },
      activeGroupId: groupId,
      activeVersionNumber: 1,
    };
    for (const mutation of promptStoreMutations(emptyHistory, enhancing)) await laptop.engine.write(mutation);
    expect(laptop.engine.view.get("promptGroup", groupId)?.status).toBe("enhancing");
    await waitFor(() => phone.engine.view.get("promptGroup", groupId)?.status === "enhancing", "the phone to see it");

    const completed: AppPromptStore = {
      ...enhancing,
      groups: { [groupId]: { ...enhancing.groups[groupId]!, status: "completed" } },
      versions: {
        [groupId]: [
          { ...enhancing.versions[groupId]![0]!, optimizedPrompt: "Day 1: Fushimi Inari…", status: "completed" },
        ],
      },
    };
    const update = promptStoreMutations(enhancing, completed);
    expect(update.map((mutation) => mutation.op)).toEqual(["prompt.updateVersion"]);
    for (const mutation of update) await laptop.engine.write(mutation);
    expect(laptop.engine.view.get("promptGroup", groupId)?.status).toBe("completed");

    await waitFor(() => phone.engine.view.get("promptGroup", groupId)?.status === "completed", "a completed group");
    expect(phone.engine.view.versions(groupId)).toMatchObject([
      { id: versionId, status: "completed", optimizedPrompt: "Day 1: Fushimi Inari…" },
    ]);
    expect(laptop.engine.rejected()).toEqual([]);
    laptop.engine.stop();
    phone.engine.stop();
  });
});
