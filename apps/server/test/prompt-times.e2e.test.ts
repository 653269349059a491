// Device times over REST: a prompt written offline sends when it was written as ISO 8601 strings; the
// OpenAPI document says so, and every answer here is held to that document.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Clock } from "@prompt-booster/api";

import { signUp, type SignedUp } from "./support/auth.ts";
import { conformingFetch, openApiConformance, type OpenApiDocument } from "./support/openapi-conformance.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
let user: SignedUp;
let checkedFetch: typeof fetch;
let document: OpenApiDocument;
const clock: Clock = { now: () => new Date("2026-04-01T10:00:00Z") };

beforeAll(async () => {
  t = await startTestServer({ clock });
  document = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as OpenApiDocument;
  checkedFetch = conformingFetch(openApiConformance(document));
  user = await signUp(t.url);
});
afterAll(() => t.close());

async function post(path: string, body: unknown) {
  const response = await checkedFetch(`${t.url}/api${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, body: (await response.json()) as any };
}

const firstVersion = { optimizedPrompt: "# Better", modelId: "m1", provider: "openai", modelName: "gpt-4o-mini" };

describe("device times over REST", () => {
  it("documents them as date-time strings", () => {
    const body = (path: string) =>
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      (document.paths as any)[path].post.requestBody.content["application/json"].schema.properties;
    expect(body("/prompts").createdAt).toMatchObject({ type: "string", format: "date-time" });
    expect(body("/prompts").firstVersion.properties.timestamp).toMatchObject({ type: "string", format: "date-time" });
    expect(body("/prompts/{groupId}/versions").timestamp).toMatchObject({ type: "string", format: "date-time" });
  });

  it("keeps a prompt's times from the device, a version's too, and the server's time for one too far ahead", async () => {
    const created = await post("/prompts", {
      originalPrompt: "Written on a plane",
      createdAt: "2026-03-30T21:15:00+02:00",
      firstVersion: { ...firstVersion, timestamp: "2026-03-30T19:15:30Z" },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      createdAt: "2026-03-30T19:15:00.000Z",
      versions: [{ timestamp: "2026-03-30T19:15:30.000Z", createdAt: "2026-03-30T19:15:30.000Z" }],
    });

    const added = await post(`/prompts/${created.body.id}/versions`, {
      ...firstVersion,
      timestamp: "2026-04-01T11:00:00Z",
    });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ number: 2, timestamp: "2026-04-01T10:00:00.000Z" });

    const bad = await post("/prompts", { originalPrompt: "p", createdAt: "yesterday", firstVersion });
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([{ path: "createdAt", message: expect.any(String) }]);
  });
});
