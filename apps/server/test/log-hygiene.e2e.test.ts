// The server's log while everything succeeds: a request that succeeded writes exactly one line, at info,
// with the status the client got and the path it asked for — never a warning or an error. Driven through
// REST (curl's habits included) and the real typed client, on this file's database (PGlite or PostgreSQL).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createClient } from "@prompt-booster/client";

import { signUp } from "./support/auth.ts";
import { captureJsonLog } from "./support/log.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  url?: string;
  statusCode?: number;
  procedure?: string;
}

const { lines, stream: logStream } = captureJsonLog<LogLine>();

/** Every request the test makes, by the request id it sends, with the status it got. */
const sent = new Map<string, { path: string; status: number }>();
const tracedFetch: typeof fetch = async (input, init) => {
  const id = randomUUID();
  const headers = new Headers(init?.headers);
  headers.set("x-request-id", id);
  const response = await fetch(input, { ...init, headers });
  const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
  sent.set(id, { path: url.pathname, status: response.status });
  return response;
};

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { LOG_LEVEL: "info" }, logStream });
});
afterAll(() => t.close());

async function rest(method: string, path: string, token: string, body?: unknown) {
  const response = await tracedFetch(`${t.url}/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBeLessThan(300);
  return (await response.json()) as Record<string, unknown>;
}

describe("log hygiene", () => {
  it("writes one info line per successful request, with its real status and path, and no warning", async () => {
    const account = await signUp(t.url);
    const token = account.token;

    // REST, as the README's examples use it.
    const settings = await rest("GET", "/settings", token);
    await rest("PUT", "/settings", token, { theme: "dark", baseRev: settings.rev });
    const template = await rest("POST", "/templates", token, { name: "T", content: "C" });
    await rest("GET", `/templates/${String(template.id)}`, token);
    await rest("PUT", `/templates/${String(template.id)}`, token, { name: "T2", baseRev: template.rev });
    await rest("GET", "/templates?scope=all", token);
    const prompt = await rest("POST", "/prompts", token, {
      originalPrompt: "p",
      firstVersion: { optimizedPrompt: "o", modelId: "m", provider: "p", modelName: "n" },
    });
    await rest("GET", `/prompts/${String(prompt.id)}/versions`, token);
    await rest("DELETE", `/templates/${String(template.id)}`, token);
    await rest("POST", "/import", token, { settings: { "my-app-theme": "light" } });

    // The typed client, in bearer mode, through the same traced fetch.
    const client = createClient({
      url: t.url,
      auth: { mode: "bearer", tokens: { get: () => token, set: () => {}, clear: () => {} } },
      fetch: tracedFetch,
    });
    await client.settings.get.query();
    const created = await client.prompts.create.mutate({
      originalPrompt: "q",
      firstVersion: { optimizedPrompt: "o", modelId: "m", provider: "p", modelName: "n" },
    });
    await client.prompts.addVersion.mutate({
      groupId: created.id,
      optimizedPrompt: "o2",
      modelId: "m",
      provider: "p",
      modelName: "n",
    });
    await Promise.all([client.prompts.list.query({}), client.templates.list.query({ scope: "mine" })]);
    await client.sync.pull.query({ since: 0 });
    await client.sync.push.mutate({
      mutations: [
        {
          mutationId: randomUUID(),
          op: "template.create",
          input: { id: randomUUID(), name: "offline", content: "c" },
        },
      ],
    });
    await rest("POST", "/auth/logout", token);

    // The last line is written when the answer has gone: wait for every request's line.
    await expect.poll(() => lines.filter((line) => line.reqId && sent.has(line.reqId)).length).toBe(sent.size);

    const loud = lines.filter((line) => line.level >= 40);
    expect(loud, JSON.stringify(loud, null, 1)).toEqual([]);
    for (const [id, { path, status }] of sent) {
      const own = lines.filter((line) => line.reqId === id);
      expect(own.length, `lines of ${path}: ${JSON.stringify(own)}`).toBe(1);
      expect(own[0]).toMatchObject({ level: 30, url: path, statusCode: status });
      expect(own[0]!.procedure, path).toBeTruthy();
    }
  });
});
