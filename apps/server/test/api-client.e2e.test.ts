// Settings, templates and prompt history through the real typed client (superjson, bearer token).
import { TRPCClientError } from "@trpc/client";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { AppRouter } from "@prompt-booster/api";

import { authedClient, signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
let alice: ReturnType<typeof authedClient>;
let bob: ReturnType<typeof authedClient>;

beforeAll(async () => {
  t = await startTestServer();
  const [a, b] = await Promise.all([signUp(t.url), signUp(t.url)]);
  alice = authedClient(t.url, a.token);
  bob = authedClient(t.url, b.token);
});
afterAll(() => t.close());

async function codeOf(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => null,
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return (error as TRPCClientError<AppRouter>).data?.code ?? "none";
}

const firstVersion = { optimizedPrompt: "# Better", modelId: "m1", provider: "openai", modelName: "gpt-4o-mini" };

describe("typed client", () => {
  it("settings: registration made them; update with baseRev; stale is CONFLICT", async () => {
    const settings = await alice.settings.get.query();
    expect(settings).toMatchObject({ theme: "light", language: "en" });
    expect(settings.updatedAt).toBeInstanceOf(Date);
    const updated = await alice.settings.update.mutate({ theme: "system", baseRev: settings.rev });
    expect(updated.theme).toBe("system");
    expect(await codeOf(alice.settings.update.mutate({ theme: "dark", baseRev: settings.rev }))).toBe("CONFLICT");
  });

  it("templates and prompts: every procedure, with another user's rows NOT_FOUND", async () => {
    const template = await alice.templates.create.mutate({ name: "T", content: "C", tags: ["x"] });
    expect((await alice.templates.list.query({ tag: ["x"] })).items.map((x) => x.id)).toEqual([template.id]);
    expect(await alice.templates.get.query({ id: template.id })).toEqual(template);
    expect((await alice.templates.update.mutate({ id: template.id, content: "C2" })).content).toBe("C2");
    expect(await codeOf(bob.templates.get.query({ id: template.id }))).toBe("NOT_FOUND");
    expect(await codeOf(bob.templates.update.mutate({ id: template.id, name: "x" }))).toBe("NOT_FOUND");
    expect(await codeOf(bob.templates.delete.mutate({ id: template.id }))).toBe("NOT_FOUND");
    expect((await alice.templates.delete.mutate({ id: template.id })).deleted).toBe(true);

    const group = await alice.prompts.create.mutate({ originalPrompt: "P", firstVersion });
    const v2 = await alice.prompts.addVersion.mutate({
      groupId: group.id,
      ...firstVersion,
      iterationDirection: "more",
    });
    expect(v2.number).toBe(2);
    expect((await alice.prompts.updateVersion.mutate({ id: v2.id, favorite: true })).favorite).toBe(true);
    expect((await alice.prompts.version.query({ id: v2.id })).timestamp).toBeInstanceOf(Date);
    expect((await alice.prompts.versions.query({ groupId: group.id })).items).toHaveLength(2);
    expect((await alice.prompts.get.query({ id: group.id })).currentVersionNumber).toBe(2);
    expect((await alice.prompts.list.query({ favorite: true })).items[0]?.latestVersion?.id).toBe(v2.id);
    for (const call of [
      () => bob.prompts.get.query({ id: group.id }),
      () => bob.prompts.versions.query({ groupId: group.id }),
      () => bob.prompts.addVersion.mutate({ groupId: group.id, ...firstVersion }),
      () => bob.prompts.version.query({ id: v2.id }),
      () => bob.prompts.updateVersion.mutate({ id: v2.id, favorite: false }),
      () => bob.prompts.delete.mutate({ id: group.id }),
    ]) {
      expect(await codeOf(call())).toBe("NOT_FOUND");
    }
    expect((await alice.prompts.delete.mutate({ id: group.id })).deleted).toBe(true);
  });

  it("keeps wrong types BAD_REQUEST after REST calls (no coercion leaks into tRPC)", async () => {
    const rest = await fetch(`${t.url}/api/templates?limit=1`, { headers: { authorization: "Bearer nope" } });
    expect(rest.status).toBe(401);
    const call = alice.templates.create.mutate({ name: "n", content: "c", isPublic: "yes" as unknown as boolean });
    expect(await codeOf(call)).toBe("BAD_REQUEST");
    const limit = alice.prompts.list.query({ limit: "5" as unknown as number, favorite: "true" as unknown as boolean });
    expect((await limit).items).toEqual([]);
  });

  it("is UNAUTHORIZED without a token", async () => {
    const anonymous = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${t.url}/trpc`, transformer: superjson })],
    });
    expect(await codeOf(anonymous.settings.get.query())).toBe("UNAUTHORIZED");
    expect(await codeOf(anonymous.templates.list.query({}))).toBe("UNAUTHORIZED");
    expect(await codeOf(anonymous.prompts.list.query({}))).toBe("UNAUTHORIZED");
  });
});
