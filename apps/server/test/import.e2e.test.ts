// POST /api/import over real HTTP: the app's example data, a body not in the app's shape, stored text with
// an invalid item, a body far over the limit, and the server's import limit (one at a time, none waiting).
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { generatedHistory } from "../../../packages/api/test/support/import-payload.ts";
import { signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const fixtures = path.resolve(import.meta.dirname, "../../../packages/api/test/fixtures/client-shapes");
const read = (name: string) => JSON.parse(fs.readFileSync(path.join(fixtures, `${name}-example.json`), "utf8"));
const body = { history: read("history"), templates: read("templates"), settings: read("settings") };

let t: TestServer;
beforeAll(async () => {
  // Room for the example files; the 100 MB body below is far past it.
  t = await startTestServer({
    env: { BODY_LIMIT_BYTES: String(2 * 1024 * 1024), IMPORT_CONCURRENCY: "1", IMPORT_QUEUE_MAX: "0" },
  });
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
  it("imports the example files once; a second time changes nothing and answers the same", async () => {
    const { token, user } = await signUp(t.url);
    const first = await post(token, JSON.stringify(body));
    expect(first.status).toBe(200);
    const result = (await first.json()) as {
      imported: Record<string, number>;
      secretsRemoved: string[];
      ids: { promptGroups: Record<string, string>; promptVersions: Record<string, string> };
    };
    expect(result.imported).toEqual({ promptGroups: 2, promptVersions: 4, templates: 0, settings: 1 });
    expect(Object.keys(result.ids.promptGroups).sort()).toEqual(["mgqba7eok9p34y6n3wd", "mgrqwlib3dvyrkttnjf"]);
    expect(result.secretsRemoved).toHaveLength(3);
    const after = await revisionOf(user.id);

    const second = await post(token, JSON.stringify(body));
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual(result);
    expect(await revisionOf(user.id)).toEqual(after);
  });

  it("while a ~1 MB import runs, refuses another with 429 (no queue here) and still serves other users", async () => {
    const importer = await signUp(t.url);
    const second = await signUp(t.url);
    const other = await signUp(t.url);
    const finished: string[] = [];
    const large = JSON.stringify({ history: generatedHistory(250, 3, "e2e") });
    const running = post(importer.token, large).then((response) => {
      finished.push("import");
      return response;
    });
    // Under way once its first batch is visible; then the others ask.
    while ((await t.testDb.db.prisma.promptGroup.count({ where: { userId: importer.user.id } })) === 0) await sleep(5);
    const refused = await post(second.token, JSON.stringify(body));
    finished.push("refused");
    const settings = await fetch(`${t.url}/api/settings`, { headers: { authorization: `Bearer ${other.token}` } });
    finished.push("settings");

    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    expect(settings.status).toBe(200);
    expect((await running).status).toBe(200);
    expect(finished).toEqual(["refused", "settings", "import"]);
    expect(await t.testDb.db.prisma.promptVersion.count({ where: { userId: importer.user.id } })).toBe(750);
    // Its turn is free again.
    expect((await post(second.token, JSON.stringify(body))).status).toBe(200);
  });

  it("answers a body that is not the app's shape with 400 naming the field, and writes nothing", async () => {
    const { token, user } = await signUp(t.url);
    const before = await revisionOf(user.id);
    const response = await post(token, JSON.stringify({ ...body, history: { ...body.history, groups: [] } }));
    expect(response.status).toBe(400);
    const error = (await response.json()) as { code: string; message: string };
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("history.groups");
    expect(await revisionOf(user.id)).toEqual(before);
    expect(await t.testDb.db.prisma.promptGroup.count({ where: { userId: user.id } })).toBe(0);
  });

  it("takes PROMPT_STORE double-encoded; one invalid version is listed with its legacy id and field, the rest written", async () => {
    const { token, user } = await signUp(t.url);
    const history = structuredClone(body.history);
    history.versions.mgqba7eok9p34y6n3wd[2].number = 2;
    const response = await post(token, JSON.stringify({ ...body, history: JSON.stringify(JSON.stringify(history)) }));
    expect(response.status).toBe(200);
    const result = (await response.json()) as {
      imported: Record<string, number>;
      errors: { kind: string; legacyId: string; field?: string }[];
      ids: { promptGroups: Record<string, string>; promptVersions: Record<string, string> };
    };
    expect(result.errors).toMatchObject([
      {
        kind: "promptVersion",
        legacyId: "mgqbmn6py7jzb6cn6z4",
        field: "history.versions.mgqba7eok9p34y6n3wd.2.number",
      },
    ]);
    expect(result.imported).toMatchObject({ promptGroups: 2, promptVersions: 3 });
    expect(Object.keys(result.ids.promptVersions).sort()).toEqual([
      "mgqba7eo25rq4f5zr37",
      "mgqbgwexe3p3e2z8iq9",
      "mgrqwlibbf5jxvlsi47",
    ]);
    expect(await t.testDb.db.prisma.promptVersion.count({ where: { userId: user.id } })).toBe(3);
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
