// Input no client should send, over tRPC and REST alike: NUL characters, unpaired surrogates, the keys
// superjson refuses to serialise, deep nesting, cycles and out-of-range numbers and dates. Each is a 400
// naming the field, before any write — and no row already stored can break a read.
import { randomUUID } from "node:crypto";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { signUp, type SignedUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
let alice: SignedUp;
let bob: SignedUp;

beforeAll(async () => {
  t = await startTestServer();
  [alice, bob] = await Promise.all([signUp(t.url), signUp(t.url)]);
});
afterAll(() => t.close());

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

/** A tRPC call as `@trpc/client` makes it (superjson envelope), or with a hand-made body. */
async function trpc(
  type: "query" | "mutation",
  path: string,
  token: string | null,
  input: unknown,
  rawBody?: string,
): Promise<Answer> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const envelope = rawBody ?? JSON.stringify(superjson.serialize(input));
  const response =
    type === "query"
      ? await fetch(`${t.url}/trpc/${path}?input=${encodeURIComponent(envelope)}`, { headers })
      : await fetch(`${t.url}/trpc/${path}`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: envelope,
        });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : null };
}

async function rest(method: string, path: string, token: string | null, body?: string): Promise<Answer> {
  const response = await fetch(`${t.url}/api${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : null };
}

/** A 400 whose field errors (tRPC) or issues (REST) name `field`. */
function expectBadField(answer: Answer, field: string) {
  expect(answer.status, answer.text).toBe(400);
  const paths: string[] = answer.body.issues
    ? answer.body.issues.map((issue: { path: string }) => issue.path)
    : Object.keys(answer.body.error?.json?.data?.fieldErrors ?? {});
  expect(
    paths.some((path) => path === field || path.startsWith(`${field}.`)),
    `${field} in ${answer.text}`,
  ).toBe(true);
}

const version = { optimizedPrompt: "better", modelId: "m", provider: "p", modelName: "n" };

/** [procedure, type, input, the field it must name, its REST method and path (input as JSON body)]. */
function textCases(bad: string): [string, "query" | "mutation", unknown, string][] {
  return [
    ["templates.create", "mutation", { name: `a${bad}`, content: "c" }, "name"],
    ["templates.create", "mutation", { name: "a", content: `c${bad}` }, "content"],
    ["templates.create", "mutation", { name: "a", content: "c", description: bad }, "description"],
    ["templates.create", "mutation", { name: "a", content: "c", category: `x${bad}` }, "category"],
    ["templates.create", "mutation", { name: "a", content: "c", tags: [`t${bad}`] }, "tags.0"],
    ["templates.create", "mutation", { name: "a", content: "c", metadata: { k: bad } }, "metadata.k"],
    ["templates.create", "mutation", { name: "a", content: "c", metadata: { [`k${bad}`]: 1 } }, "metadata"],
    ["templates.list", "query", { q: `x${bad}` }, "q"],
    ["prompts.create", "mutation", { originalPrompt: `p${bad}`, firstVersion: version }, "originalPrompt"],
    [
      "prompts.create",
      "mutation",
      { originalPrompt: "p", firstVersion: { ...version, reasoning: bad } },
      "firstVersion.reasoning",
    ],
    ["prompts.list", "query", { q: `x${bad}` }, "q"],
    ["settings.update", "mutation", { defaultModel: `m${bad}` }, "defaultModel"],
    ["settings.update", "mutation", { settingsData: { a: { b: bad } } }, "settingsData.a.b"],
    ["import.localData", "mutation", { settings: { selectedTemplateId: bad } }, "settings.selectedTemplateId"],
    ["auth.refreshToken", "mutation", { deviceName: `d${bad}` }, "deviceName"],
  ];
}

describe("text that PostgreSQL cannot store or would silently change", () => {
  for (const [name, bad] of [
    ["NUL", "\u0000"],
    ["an unpaired high surrogate", "\uD800"],
    ["an unpaired low surrogate", "x\uDC00"],
  ] as const) {
    it(`refuses ${name} in every text field with 400 naming it (tRPC)`, async () => {
      for (const [path, type, input, field] of textCases(bad)) {
        expectBadField(await trpc(type, path, alice.token, input), field);
      }
    });
  }

  it("refuses NUL in a login username before looking up any account", async () => {
    const answer = await trpc("mutation", "auth.login", null, { username: "no\u0000body", password: "whatever12" });
    expectBadField(answer, "username");
  });

  it("refuses them over REST too, and nothing is written", async () => {
    const before = (await rest("GET", "/templates", alice.token)).body.items.length;
    expectBadField(
      await rest("POST", "/templates", alice.token, JSON.stringify({ name: "a\u0000", content: "c" })),
      "name",
    );
    // A lone surrogate as JSON writes it: an escape the parser turns into one UTF-16 unit.
    const loneInJson = '{"name":"a","content":"c","metadata":{"k":"\\ud800"}}';
    expectBadField(await rest("POST", "/templates", alice.token, loneInJson), "metadata.k");
    expectBadField(await rest("GET", `/prompts?q=${encodeURIComponent("x\u0000")}`, alice.token), "q");
    expect((await rest("GET", "/templates", alice.token)).body.items.length).toBe(before);
  });
});

describe("keys superjson refuses to serialise", () => {
  for (const key of ["__proto__", "constructor", "prototype"]) {
    it(`refuses "${key}" at any depth in template metadata, settingsData and import, on both transports`, async () => {
      const nested = `{"a":[{"${key}":{"x":1}}]}`;
      const template = `{"name":"t","content":"c","isPublic":true,"metadata":${nested}}`;
      expectBadField(await rest("POST", "/templates", alice.token, template), "metadata.a.0");
      expectBadField(await rest("PUT", "/settings", alice.token, `{"settingsData":${nested}}`), "settingsData.a.0");
      const importBody = `{"settings":{"model-settings":${nested}}}`;
      expectBadField(await rest("POST", "/import", alice.token, importBody), "settings.model-settings");
      // model-settings as the app stores it: JSON text, parsed on the server.
      const asText = JSON.stringify({ settings: { "model-settings": nested } });
      expectBadField(await rest("POST", "/import", alice.token, asText), "settings.model-settings");

      const trpcBody = `{"json":{"name":"t","content":"c","isPublic":true,"metadata":${nested}}}`;
      expectBadField(await trpc("mutation", "templates.create", alice.token, null, trpcBody), "metadata.a.0");
      const settingsBody = `{"json":{"settingsData":${nested}}}`;
      expectBadField(await trpc("mutation", "settings.update", alice.token, null, settingsBody), "settingsData.a.0");
    });
  }

  it("answers such a key at the top of the input with 400, signed in or not", async () => {
    for (const key of ["__proto__", "constructor", "prototype"]) {
      for (const token of [null, alice.token]) {
        const answer = await trpc("mutation", "auth.login", token, null, `{"json":{"${key}":""}}`);
        expect(answer.status, answer.text).toBe(400);
        expect(answer.body.error.json.message).toContain(key);
        const rest = await fetch(`${t.url}/api/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: `{"${key}":""}`,
        });
        expect(rest.status, key).toBe(400);
      }
    }
  });

  it("reads answer 200 even when such a key is already stored (rows from before the guard)", async () => {
    const owner = await signUp(t.url);
    const made = await rest(
      "POST",
      "/templates",
      owner.token,
      JSON.stringify({ name: "old", content: "c", isPublic: true }),
    );
    expect(made.status).toBe(200);
    await t.testDb.db.prisma.template.update({
      where: { id: made.body.id },
      data: { metadata: JSON.parse('{"prototype":"x","kept":{"constructor":1,"ok":true}}') },
    });
    await t.testDb.db.prisma.userSettings.update({
      where: { userId: owner.user.id },
      data: { settingsData: JSON.parse('{"constructor":1,"theme":"kept"}') },
    });

    const everyone = await trpc("query", "templates.list", bob.token, { scope: "public", limit: 100 });
    expect(everyone.status, everyone.text).toBe(200);
    const listed = await rest("GET", "/templates?scope=all&limit=100", bob.token);
    expect(listed.status, listed.text).toBe(200);
    const stored = listed.body.items.find((item: { id: string }) => item.id === made.body.id);
    expect(stored.metadata).toEqual({ kept: { ok: true } });

    const settings = await trpc("query", "settings.get", owner.token, undefined);
    expect(settings.status, settings.text).toBe(200);
    expect(settings.body.result.data.json.settingsData).toEqual({ theme: "kept" });
    const pulled = await trpc("query", "sync.pull", owner.token, { since: 0 });
    expect(pulled.status, pulled.text).toBe(200);
  });
});

describe("nesting, cycles and out-of-range values", () => {
  const deep = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);

  it("refuses 3,000 levels of nesting in settingsData, template metadata and an import, on both transports", async () => {
    expectBadField(await rest("PUT", "/settings", alice.token, `{"settingsData":${deep(3_000)}}`), "settingsData");
    const template = `{"name":"t","content":"c","metadata":${deep(3_000)}}`;
    expectBadField(await rest("POST", "/templates", alice.token, template), "metadata");
    const importBody = `{"settings":{"model-settings":${deep(3_000)}}}`;
    expectBadField(await rest("POST", "/import", alice.token, importBody), "settings.model-settings");
    const asText = JSON.stringify({ settings: { "model-settings": deep(3_000) } });
    expectBadField(await rest("POST", "/import", alice.token, asText), "settings.model-settings");
    const settingsBody = `{"json":{"settingsData":${deep(3_000)}}}`;
    expectBadField(await trpc("mutation", "settings.update", alice.token, null, settingsBody), "settingsData");
  });

  it("refuses a superjson envelope that describes a cycle", async () => {
    const cyclic = JSON.stringify({
      json: { settingsData: { a: { b: null } } },
      meta: { referentialEqualities: { "settingsData.a": ["settingsData.a.b"] } },
    });
    const answer = await trpc("mutation", "settings.update", alice.token, null, cyclic);
    expect(answer.status, answer.text).toBe(400);
  });

  it("refuses numbers and dates out of the database's range", async () => {
    const history = {
      groups: {
        g1: {
          id: "g1",
          originalPrompt: "p",
          currentVersionNumber: 3_000_000_000,
          status: "completed",
          createdAt: 1_700_000_000_000,
          updatedAt: 1_700_000_000_000,
        },
      },
      versions: {},
    };
    // Import checks each item on its own: the group is reported with its field, and nothing of it is written.
    const imported = await rest("POST", "/import", alice.token, JSON.stringify({ history }));
    expect(imported.status, imported.text).toBe(200);
    expect(imported.body.errors).toMatchObject([{ legacyId: "g1", field: "history.groups.g1.currentVersionNumber" }]);
    expect(imported.body.imported.promptGroups).toBe(0);
    const cursor = (key: object) => Buffer.from(JSON.stringify(key)).toString("base64url");
    const farPast = cursor({ t: "0000-01-01T00:00:00Z", id: randomUUID() });
    expectBadField(await rest("GET", `/prompts?cursor=${farPast}`, alice.token), "cursor");
    const hugeNumber = cursor({ n: 3_000_000_000 });
    const group = await rest(
      "POST",
      "/prompts",
      alice.token,
      JSON.stringify({ originalPrompt: "p", firstVersion: version }),
    );
    expect(group.status, group.text).toBe(200);
    expectBadField(await rest("GET", `/prompts/${group.body.id}/versions?cursor=${hugeNumber}`, alice.token), "cursor");
  });
});
