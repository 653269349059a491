// The REST paths of the original design, over plain HTTP, and the OpenAPI document that describes them.
import { randomUUID } from "node:crypto";
import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { signUp, type SignedUp } from "./support/auth.ts";
import { conformingFetch, openApiConformance, type OpenApiDocument } from "./support/openapi-conformance.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
let alice: SignedUp;
let bob: SignedUp;
/** Every answer of this file is held to the OpenAPI document the server serves. */
let checkedFetch: typeof fetch;

beforeAll(async () => {
  t = await startTestServer();
  const served = await fetch(`${t.url}/api/openapi.json`);
  checkedFetch = conformingFetch(openApiConformance((await served.json()) as OpenApiDocument));
  [alice, bob] = await Promise.all([signUp(t.url), signUp(t.url)]);
});
afterAll(() => t.close());

async function call(method: string, path: string, token: string | null, body?: unknown) {
  const response = await checkedFetch(`${t.url}/api${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, body: (await response.json()) as any };
}

const firstVersion = { optimizedPrompt: "# Better", modelId: "m1", provider: "openai", modelName: "gpt-4o-mini" };

describe("REST", () => {
  it("serves a valid OpenAPI 3 document naming every path", async () => {
    const { status, body } = await call("GET", "/openapi.json", null);
    expect(status).toBe(200);
    await SwaggerParser.validate(structuredClone(body));
    expect(body.openapi).toMatch(/^3\./);
    const expected: Record<string, string[]> = {
      "/settings": ["get", "put"],
      "/templates": ["get", "post"],
      "/templates/{id}": ["get", "put", "delete"],
      "/prompts": ["get", "post"],
      "/prompts/{id}": ["get", "delete"],
      "/prompts/{groupId}/versions": ["get", "post"],
      "/versions/{id}": ["get", "patch"],
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(body.paths[path] ?? {}).sort(), path).toEqual(expect.arrayContaining(methods));
    }
  });

  it("GET and PUT /api/settings, with CONFLICT on a stale baseRev", async () => {
    const got = await call("GET", "/settings", alice.token);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ theme: "light", language: "en", settingsData: {} });
    expect(typeof got.body.createdAt).toBe("string");
    const put = await call("PUT", "/settings", alice.token, {
      theme: "dark",
      language: "en-us",
      baseRev: got.body.rev,
    });
    expect(put).toMatchObject({ status: 200, body: { theme: "dark", language: "en-US" } });
    const stale = await call("PUT", "/settings", alice.token, { theme: "system", baseRev: got.body.rev });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: "CONFLICT", details: { current: { theme: "dark", rev: put.body.rev } } });
    expect(Object.keys(stale.body).sort()).toEqual(["code", "details", "message"]);

    const secret = await call("PUT", "/settings", alice.token, {
      settingsData: { configs: { openai: { apiKey: "sk-1" } } },
    });
    expect(secret.status).toBe(400);
    expect(secret.body.code).toBe("BAD_REQUEST");
    expect(secret.body.issues).toEqual([
      { path: "settingsData.configs.openai.apiKey", message: expect.stringMatching(/plain text/) },
    ]);
    expect(secret.body.message).toContain("settingsData.configs.openai.apiKey");
  });

  it("templates: POST, GET list and one, PUT, DELETE; others' private ones are 404", async () => {
    const id = randomUUID();
    const input = {
      id,
      name: "Task",
      content: "# Role",
      tags: ["Writing"],
      category: "optimize",
      metadata: { version: "1" },
    };
    const created = await call("POST", "/templates", alice.token, input);
    expect(created).toMatchObject({ status: 200, body: { id, name: "Task", tags: ["writing"], isOwner: true } });
    expect((await call("POST", "/templates", alice.token, input)).body).toEqual(created.body);
    expect((await call("POST", "/templates", alice.token, { ...input, name: "Other" })).status).toBe(409);

    const listed = await call(
      "GET",
      "/templates?scope=mine&tag=writing&category=optimize&q=role&sort=name&limit=5",
      alice.token,
    );
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ items: [created.body], nextCursor: null });
    expect((await call("GET", `/templates/${id}`, alice.token)).body).toEqual(created.body);

    const updated = await call("PUT", `/templates/${id}`, alice.token, { isPublic: true, baseRev: created.body.rev });
    expect(updated).toMatchObject({ status: 200, body: { isPublic: true } });
    expect((await call("PUT", `/templates/${id}`, alice.token, { name: "x", baseRev: created.body.rev })).status).toBe(
      409,
    );
    expect((await call("GET", `/templates/${id}`, bob.token)).body).toMatchObject({ isOwner: false });
    expect((await call("PUT", `/templates/${id}`, bob.token, { name: "x" })).status).toBe(403);
    await call("PUT", `/templates/${id}`, alice.token, { isPublic: false });
    for (const [method, body] of [["GET"], ["PUT", { name: "x" }], ["DELETE"]] as const) {
      const answer = await call(method, `/templates/${id}`, bob.token, body);
      expect(answer, method).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
    }

    const deleted = await call("DELETE", `/templates/${id}`, alice.token);
    expect(deleted).toMatchObject({ status: 200, body: { id, deleted: true } });
    expect((await call("GET", `/templates/${id}`, alice.token)).status).toBe(404);
  });

  it("prompts and versions: every path, and 404 for another user", async () => {
    const created = await call("POST", "/prompts", alice.token, { originalPrompt: "Summarise", firstVersion });
    expect(created).toMatchObject({ status: 200, body: { currentVersionNumber: 1, versions: [{ number: 1 }] } });
    const groupId = created.body.id as string;

    const added = await call("POST", `/prompts/${groupId}/versions`, alice.token, {
      ...firstVersion,
      optimizedPrompt: "__PENDING__",
      iterationDirection: "shorter",
      status: "pending",
    });
    expect(added).toMatchObject({ status: 200, body: { number: 2, status: "pending", groupId } });
    const versionId = added.body.id as string;
    const patched = await call("PATCH", `/versions/${versionId}`, alice.token, {
      optimizedPrompt: "Done",
      status: "completed",
      favorite: true,
    });
    expect(patched).toMatchObject({
      status: 200,
      body: { status: "completed", favorite: true, optimizedPrompt: "Done" },
    });
    expect((await call("GET", `/versions/${versionId}`, alice.token)).body).toEqual(patched.body);

    const versions = await call("GET", `/prompts/${groupId}/versions?limit=1`, alice.token);
    expect(versions.body.items.map((v: { number: number }) => v.number)).toEqual([1]);
    const more = await call(
      "GET",
      `/prompts/${groupId}/versions?limit=1&cursor=${versions.body.nextCursor}`,
      alice.token,
    );
    expect(more.body).toMatchObject({ items: [{ number: 2 }], nextCursor: null });

    const list = await call("GET", "/prompts?favorite=true&status=completed&limit=20", alice.token);
    expect(list.body.items).toEqual([expect.objectContaining({ id: groupId, latestVersion: patched.body })]);
    expect((await call("GET", "/prompts?favorite=false", alice.token)).body.items).toEqual([]);
    expect((await call("GET", `/prompts/${groupId}`, alice.token)).body.versions).toHaveLength(2);

    for (const [method, path, body] of [
      ["GET", `/prompts/${groupId}`],
      ["GET", `/prompts/${groupId}/versions`],
      ["POST", `/prompts/${groupId}/versions`, firstVersion],
      ["GET", `/versions/${versionId}`],
      ["PATCH", `/versions/${versionId}`, { favorite: false }],
      ["DELETE", `/prompts/${groupId}`],
    ] as const) {
      expect((await call(method, path, bob.token, body)).status, `${method} ${path}`).toBe(404);
    }
    expect((await call("GET", "/prompts", bob.token)).body).toEqual({ items: [], nextCursor: null });

    expect((await call("DELETE", `/prompts/${groupId}`, alice.token)).body).toMatchObject({
      id: groupId,
      deleted: true,
    });
    expect((await call("GET", `/versions/${versionId}`, alice.token)).status).toBe(404);
  });

  it("answers bad input with 400 { code, message, issues } naming the field, and no token with 401", async () => {
    const cases: [string, string, unknown, string][] = [
      ["POST", "/templates", { content: "c" }, "name"],
      ["POST", "/templates", { name: "n", content: "c", isPublic: "yes" }, "isPublic"],
      ["GET", "/templates?limit=500", undefined, "limit"],
      ["GET", "/templates?scope=everyone", undefined, "scope"],
      ["GET", "/templates/not-a-uuid", undefined, "id"],
      ["GET", "/prompts?favorite=maybe", undefined, "favorite"],
      ["GET", "/prompts?cursor=zzz", undefined, "cursor"],
      [
        "POST",
        "/prompts",
        { originalPrompt: "p", firstVersion: { ...firstVersion, status: "done" } },
        "firstVersion.status",
      ],
      ["PATCH", `/versions/${randomUUID()}`, { favorite: "1" }, "favorite"],
      ["PUT", "/settings", { theme: "blue" }, "theme"],
    ];
    for (const [method, path, body, field] of cases) {
      const answer = await call(method, path, alice.token, body);
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(answer.body.code).toBe("BAD_REQUEST");
      expect(answer.body.message).toContain(field);
      expect(answer.body.issues.map((issue: { path: string }) => issue.path)).toContain(field);
    }
    for (const [method, path] of [
      ["GET", "/settings"],
      ["GET", "/templates"],
      ["GET", "/prompts"],
      ["GET", `/versions/${randomUUID()}`],
    ]) {
      const answer = await call(method!, path!, null);
      expect(answer).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED", message: expect.any(String) } });
      expect(answer.body.data).toBeUndefined();
    }
  });
});

describe("REST answers match the OpenAPI document", () => {
  it("only register, login, providers, password reset and provider sign-in are public; every operation declaring the bearer token answers 401 without it", async () => {
    const { body: document } = await call("GET", "/openapi.json", null);
    const publicOperations: string[] = [];
    for (const [template, item] of Object.entries(document.paths as Record<string, object>)) {
      for (const [method, operation] of Object.entries(item as Record<string, { security?: unknown[] }>)) {
        const path = template.replace(/\{\w+\}/g, randomUUID());
        const answer = await call(method.toUpperCase(), path, null, method === "get" ? undefined : {});
        if (operation.security) {
          expect(operation.security, `${method} ${template}`).toEqual([{ bearer: [] }]);
          expect(answer.status, `${method} ${template}`).toBe(401);
        } else {
          publicOperations.push(`${method} ${template}`);
          expect(answer.status, `${method} ${template}`).not.toBe(401);
        }
      }
    }
    expect(publicOperations.sort()).toEqual([
      "get /auth/oauth/{provider}/callback",
      "get /auth/oauth/{provider}/start",
      "get /auth/providers",
      "post /auth/login",
      "post /auth/oauth/exchange",
      "post /auth/oauth/link",
      "post /auth/password-reset/confirm",
      "post /auth/password-reset/request",
      "post /auth/register",
    ]);
  });

  it("a stale baseRev's 409 says which revision is current and which was sent", async () => {
    const current = (await call("GET", "/settings", bob.token)).body.rev as number;
    const ahead = await call("PUT", "/settings", bob.token, { theme: "dark", baseRev: current + 2 });
    expect(ahead).toMatchObject({ status: 409, body: { code: "CONFLICT", details: { current: { rev: current } } } });
    expect(ahead.body.message).toBe(
      `The settings were not at the revision you sent (current rev ${current}, you sent ${current + 2}); send the current rev as baseRev`,
    );
    const written = await call("PUT", "/settings", bob.token, { theme: "dark", baseRev: current });
    const behind = await call("PUT", "/settings", bob.token, { theme: "light", baseRev: current });
    expect(behind.body.message).toBe(
      `The settings were changed since the revision you sent (current rev ${written.body.rev}, you sent ${current}); send the current rev as baseRev`,
    );

    const template = (await call("POST", "/templates", bob.token, { name: "T", content: "c" })).body;
    const stale = await call("PUT", `/templates/${template.id}`, bob.token, { name: "U", baseRev: template.rev + 1 });
    expect(stale).toMatchObject({
      status: 409,
      body: { details: { current: { id: template.id, rev: template.rev } } },
    });
    expect(stale.body.message).toMatch(
      /^The template was not at the revision you sent \(current rev \d+, you sent \d+\)/,
    );
  });

  it("the transport's own refusals (unknown path, wrong method, bad JSON, media type, size) too", async () => {
    const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      checkedFetch(`${t.url}/api${path}`, {
        method,
        headers: { ...headers, authorization: `Bearer ${alice.token}` },
        body,
      });
    expect((await send("GET", "/no-such-path", {})).status).toBe(404);
    expect((await send("PATCH", "/settings", {})).status).toBe(405);
    expect((await send("PUT", "/settings", { "content-type": "application/json" }, "{")).status).toBe(400);
    expect((await send("PUT", "/settings", { "content-type": "text/plain" }, "theme=dark")).status).toBe(415);
    const huge = JSON.stringify({ settingsData: { text: "x".repeat(t.config.bodyLimitBytes) } });
    expect((await send("PUT", "/settings", { "content-type": "application/json" }, huge)).status).toBe(413);
  });
});
