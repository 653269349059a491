// Property-based hostile input over every procedure, through tRPC and through its REST path: whatever
// arrives, the answer is a success or a typed 4xx — never a 5xx, never a stack trace or internals — and
// another user's data never changes.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";

import { listProcedures } from "@prompt-booster/api";

import { authedClient, signUp, type SignedUp } from "../support/auth.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { hostileValue, schemaShaped } from "./arbitraries.ts";

interface ProcedureInfo {
  path: string;
  type: "query" | "mutation" | "subscription";
  input: z.ZodType | undefined;
  rest: { method: string; path: string } | undefined;
}

const procedures: ProcedureInfo[] = listProcedures().map(({ path, type, input, openapi }) => ({
  path,
  type,
  input,
  rest: openapi,
}));

// These end the fuzzing session itself (or the account); their own tests cover them.
const endsSession = new Set([
  "auth.logout",
  "auth.logoutAll",
  "auth.refreshToken",
  "auth.sessions.revoke",
  "auth.changePassword",
  "auth.deleteAccount",
]);

let t: TestServer;
let fuzzer: SignedUp;
let victim: SignedUp;
let foreignIds: string[] = [];

beforeAll(async () => {
  t = await startTestServer({ env: { BODY_LIMIT_BYTES: "262144" } });
  fuzzer = await signUp(t.url);
  victim = await signUp(t.url);
  const theirs = authedClient(t.url, victim.token);
  const template = await theirs.templates.create.mutate({ name: "private", content: "secret content" });
  const prompt = await theirs.prompts.create.mutate({
    originalPrompt: "their prompt",
    firstVersion: { optimizedPrompt: "theirs", modelId: "m", provider: "p", modelName: "n" },
  });
  const mine = authedClient(t.url, fuzzer.token);
  const ownTemplate = await mine.templates.create.mutate({ name: "mine", content: "my content" });
  const ownPrompt = await mine.prompts.create.mutate({
    originalPrompt: "my prompt",
    firstVersion: { optimizedPrompt: "mine", modelId: "m", provider: "p", modelName: "n" },
  });
  foreignIds = [template.id, prompt.id, prompt.versions[0]!.id, victim.user.id, ownTemplate.id, ownPrompt.id];
});
afterAll(() => t?.close());

async function victimSnapshot() {
  const where = { userId: victim.user.id };
  const db = t.server.db.prisma;
  const [user, settings, templates, groups, versions] = await Promise.all([
    db.user.findUnique({ where: { id: victim.user.id } }),
    db.userSettings.findMany({ where }),
    db.template.findMany({ where, orderBy: { id: "asc" } }),
    db.promptGroup.findMany({ where, orderBy: { id: "asc" } }),
    db.promptVersion.findMany({ where, orderBy: { id: "asc" } }),
  ]);
  return JSON.stringify({ user, settings, templates, groups, versions });
}

/** The victim's reads, on both transports: whatever the fuzzer stored (a public template…), they still answer. */
async function expectVictimReadsAnswer() {
  const headers = { authorization: `Bearer ${victim.token}` };
  const trpcQuery = (path: string, input: unknown) =>
    `${t.url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const reads = [
    trpcQuery("settings.get", undefined),
    trpcQuery("templates.list", { scope: "all", limit: 100 }),
    trpcQuery("templates.list", { scope: "public", limit: 100, sort: "name" }),
    trpcQuery("prompts.list", {}),
    trpcQuery("sync.pull", { since: 0 }),
    `${t.url}/api/settings`,
    `${t.url}/api/templates?scope=all&limit=100`,
  ];
  for (const url of reads) {
    const response = await fetch(url, { headers });
    expect(response.status, `${url.slice(t.url.length, 80)} → ${(await response.text()).slice(0, 300)}`).toBe(200);
  }
}

const leak = /\n\s+at .+[:(]|node_modules|\.ts:\d+|prisma|PrismaClient|ECONN|SELECT |stack/i;

async function check(response: Response, what: string, input: unknown) {
  const body = await response.text();
  expect(response.status, `${what} → ${response.status} ${body.slice(0, 300)}`).toBeLessThan(500);
  // An error may name the field it refuses, and the fuzzer's field names are hostile text of its own
  // ("$1; SELECT pg_sleep(10)"): what the request itself sent is not a leak, so it is left out first.
  expect(withoutEchoes(body, input), `${what} leaked internals`).not.toMatch(leak);
}

/** The body without any key or string of the input (as sent, and as JSON escapes it). */
function withoutEchoes(body: string, input: unknown): string {
  const sent = new Set<string>();
  const collect = (value: unknown, depth: number) => {
    if (depth > 40) return;
    if (typeof value === "string") sent.add(value);
    else if (value && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        sent.add(key);
        collect(item, depth + 1);
      }
    }
  };
  collect(input, 0);
  let rest = body;
  for (const text of [...sent].filter((text) => text.length >= 3).sort((a, b) => b.length - a.length)) {
    rest = rest.split(text).join("").split(JSON.stringify(text).slice(1, -1)).join("");
  }
  return rest;
}

function trpcRequest(procedure: ProcedureInfo, input: unknown, token: string | null): [string, RequestInit] {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  // Raw superjson envelope: the client library itself refuses some hostile values (a "__proto__" key).
  const payload = JSON.stringify({ json: input });
  if (procedure.type === "mutation") {
    return [
      `${t.url}/trpc/${procedure.path}`,
      { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: payload },
    ];
  }
  return [`${t.url}/trpc/${procedure.path}?input=${encodeURIComponent(payload)}`, { headers }];
}

/** Percent-encodes a path segment; a lone surrogate (which no URL can carry) becomes U+FFFD, as browsers do. */
function urlSafe(value: string): string {
  return encodeURIComponent(
    value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD"),
  );
}

function restRequest(
  rest: { method: string; path: string },
  input: unknown,
  token: string | null,
): [string, RequestInit] {
  const record = input !== null && typeof input === "object" && !Array.isArray(input) ? input : {};
  const path = rest.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = (record as Record<string, unknown>)[name];
    return urlSafe(typeof value === "string" ? value : String(foreignIds[0]));
  });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (rest.method === "GET" || rest.method === "DELETE") {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(record)) {
      if (["string", "number", "boolean"].includes(typeof value)) query.set(key, String(value));
    }
    return [`${t.url}/api${path}?${query.toString()}`, { method: rest.method, headers }];
  }
  return [
    `${t.url}/api${path}`,
    { method: rest.method, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(input) },
  ];
}

const fuzzable = () => procedures.filter((p) => p.type !== "subscription");

describe("hostile input never produces a 5xx, a leak, or a change to another user's data", () => {
  it.each(fuzzable().map((p) => [p.path, p] as const))("%s", async (_path, procedure) => {
    const before = await victimSnapshot();
    const arbitrary = fc.oneof(
      procedure.input ? schemaShaped(procedure.input, foreignIds) : hostileValue,
      hostileValue,
    );
    const signedIn = !endsSession.has(procedure.path);
    await fc.assert(
      fc.asyncProperty(arbitrary, fc.boolean(), async (input, asFuzzer) => {
        const token = signedIn && asFuzzer ? fuzzer.token : null;
        const [url, init] = trpcRequest(procedure, input, token);
        await check(await fetch(url, init), `tRPC ${procedure.path}`, input);
        if (procedure.rest) {
          const [restUrl, restInit] = restRequest(procedure.rest, input, token);
          await check(await fetch(restUrl, restInit), `${procedure.rest.method} /api${procedure.rest.path}`, input);
        }
      }),
      { numRuns: 30, interruptAfterTimeLimit: 25_000, markInterruptAsFailure: false },
    );
    expect(await victimSnapshot()).toBe(before);
    await expectVictimReadsAnswer();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
