// POST /api/import over real HTTP: the app's example data, a malformed body, and a body far over the limit.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const fixtures = path.resolve(import.meta.dirname, "../../../packages/api/test/fixtures/client-shapes");
const read = (name: string) => JSON.parse(fs.readFileSync(path.join(fixtures, `${name}-example.json`), "utf8"));
const body = { history: read("history"), templates: read("templates"), settings: read("settings") };

let t: TestServer;
beforeAll(async () => {
  // Room for the example files; the 100 MB body below is far past it.
  t = await startTestServer({ env: { BODY_LIMIT_BYTES: String(2 * 1024 * 1024) } });
});
afterAll(() => t.close());

const post = (token: string, payload: string) =>
  fetch(`${t.url}/api/import`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: payload,
  });

const revisionOf = (userId: string) =>
  t.testDb.db.prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { revision: true } });

describe("POST /api/import", () => {
  it("imports the example files once; a second time changes nothing", async () => {
    const { token, user } = await signUp(t.url);
    const first = await post(token, JSON.stringify(body));
    expect(first.status).toBe(200);
    const result = (await first.json()) as { created: Record<string, number>; secretsRemoved: string[] };
    expect(result.created).toEqual({ promptGroups: 2, promptVersions: 4, templates: 0, settings: 1 });
    expect(result.secretsRemoved).toHaveLength(3);
    const after = await revisionOf(user.id);

    const second = await post(token, JSON.stringify(body));
    expect(second.status).toBe(200);
    expect(((await second.json()) as { revision: number | null }).revision).toBeNull();
    expect(await revisionOf(user.id)).toEqual(after);
  });

  it("answers a malformed body with 400 naming the field, and writes nothing", async () => {
    const { token, user } = await signUp(t.url);
    const before = await revisionOf(user.id);
    const bad = structuredClone(body);
    bad.history.versions.mgqba7eok9p34y6n3wd[2].number = 2;
    const response = await post(token, JSON.stringify(bad));
    expect(response.status).toBe(400);
    const error = (await response.json()) as { code: string; message: string };
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("history.versions.mgqba7eok9p34y6n3wd.2.number");
    expect(await revisionOf(user.id)).toEqual(before);
    expect(await t.testDb.db.prisma.promptGroup.count({ where: { userId: user.id } })).toBe(0);
  });

  it("refuses a 100 MB body with 413 before reading it, and writes nothing", async () => {
    const { token, user } = await signUp(t.url);
    const before = await revisionOf(user.id);
    const size = 100 * 1024 * 1024;
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(`${t.url}/api/import`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": size },
      });
      request.on("response", (response) => {
        resolve(response.statusCode ?? 0);
        response.resume();
        request.destroy();
      });
      request.on("error", reject);
      // Send a first megabyte; the server answers from the Content-Length alone.
      request.write(Buffer.alloc(1024 * 1024, " "));
    });
    expect(status).toBe(413);
    expect(await revisionOf(user.id)).toEqual(before);
  });
});
