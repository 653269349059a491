// sync.subscribe's own event-stream path (src/http/subscribe-stream.ts) against tRPC's: a real server answers
// GET /trpc/sync.subscribe on the light path, and the same procedure written with an escaped dot
// (/trpc/sync%2Esubscribe), which that path leaves alone, through tRPC's handler. Every answer must be the same
// bytes: status, headers (in any order), and the event stream (connected, tracked events, serialized errors,
// the return event). On PGlite, or PostgreSQL with TEST_DATABASE_URL.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { createLocalChangeEvents } from "@prompt-booster/api";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { loadConfig } from "../src/config.ts";
import { buildServer, type PromptBoosterServer } from "../src/server.ts";
import { signUp } from "./support/auth.ts";
import { allowedOrigin, startTestServer, type TestServer } from "./support/server.ts";

const LIGHT = "/trpc/sync.subscribe";
const TRPC = "/trpc/sync%2Esubscribe";

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the server ended the answer (not this side). */
  ended: boolean;
}

interface OpenAnswer {
  /** Resolves once the body satisfies `done` or the server ends the answer. */
  until(done: (body: string) => boolean): Promise<Answer>;
  close(): void;
}

/** A raw request whose answer is read as it arrives; headers that differ per request are left out. */
function request(
  url: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Promise<OpenAnswer>((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: init.method ?? "GET", headers: init.headers, agent: false });
    req.on("error", (error) => {
      if (!req.destroyed) reject(error);
    });
    req.on("response", (response) => {
      response.setEncoding("utf8");
      const answer: Answer = { status: response.statusCode!, headers: {}, body: "", ended: false };
      for (const [name, value] of Object.entries(response.headers)) {
        if (name !== "date" && !(name === "x-request-id" && !init.headers?.["x-request-id"])) {
          answer.headers[name] = String(value);
        }
      }
      const waiters = new Set<{ done: (body: string) => boolean; resolve: (answer: Answer) => void }>();
      // Closed: ended by the server, or cut (by the server's shutdown, or by this side).
      let closed = false;
      const check = () => {
        for (const waiter of waiters) {
          if (!closed && !waiter.done(answer.body)) continue;
          waiters.delete(waiter);
          waiter.resolve({ ...answer });
        }
      };
      response.on("data", (chunk: string) => {
        answer.body += chunk;
        check();
      });
      response.on("end", () => {
        answer.ended = true;
      });
      response.on("close", () => {
        closed = true;
        check();
      });
      response.on("error", () => undefined);
      resolve({
        until: (done) =>
          new Promise<Answer>((resolveAnswer) => {
            waiters.add({ done, resolve: resolveAnswer });
            check();
          }),
        close: () => req.destroy(),
      });
    });
    req.end(init.body);
  });
}

/** The whole answer, or what arrived once `done` held (then the request is closed). */
async function answer(
  url: string,
  path: string,
  init: Parameters<typeof request>[2] = {},
  done: (body: string) => boolean = () => false,
): Promise<Answer> {
  const open = await request(url, path, init);
  const result = await open.until(done);
  open.close();
  return result;
}

const hasEvents = (count: number) => (body: string) => body.split("\n\n\n").length > count;
const input = (json: unknown) => `input=${encodeURIComponent(JSON.stringify({ json }))}`;

async function post(url: string, path: string, token: string, json: unknown) {
  const response = await fetch(`${url}/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ json }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { result: { data: { json: Record<string, unknown> } } };
}

describe("GET /trpc/sync.subscribe answers as tRPC does", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { SYNC_MAX_STREAMS_PER_USER: "1" } });
  });
  afterAll(() => t.close());

  /** Asks both paths the same thing; their answers must be equal. */
  async function expectSame(
    query: string,
    init: Parameters<typeof request>[2] = {},
    done?: (body: string) => boolean,
  ): Promise<Answer> {
    const light = await answer(t.url, `${LIGHT}${query}`, init, done);
    const trpc = await answer(t.url, `${TRPC}${query}`, init, done);
    expect(light).toEqual(trpc);
    return light;
  }

  it("errors found before the stream starts: no session, a dead token, unreadable or invalid input", async () => {
    const { token } = await signUp(t.url);
    const bearer = { authorization: `Bearer ${token}` };
    const unauthorized = await expectSame("", { headers: { accept: "text/event-stream" } });
    expect(unauthorized.status).toBe(200);
    expect(unauthorized.headers["content-type"]).toBe("text/event-stream");
    expect(unauthorized.body).toMatch(/^event: connected\ndata: \{"reconnectAfterInactivityMs":25000\}\n\n\n/);
    expect(unauthorized.body).toMatch(/event: serialized-error\ndata: .*"code":"UNAUTHORIZED"/);
    expect(unauthorized.ended).toBe(true);

    await expectSame("", { headers: { authorization: "Bearer not-a-token" } });
    for (const query of [
      "?input=notjson",
      `?${input({ lastEventId: 5 })}`,
      `?${input(null)}`,
      `?${input(3)}`,
      `?${input({ lastEventId: "x".repeat(21) })}`,
      `?${input('{"__proto__":1}')}`,
    ]) {
      const bad = await expectSame(query, { headers: bearer });
      expect(bad.body).toMatch(/"code":"BAD_REQUEST"/);
      expect(bad.ended).toBe(true);
    }
    // Last-Event-ID goes through the input's validation too.
    await expectSame("", { headers: { ...bearer, "last-event-id": "1".repeat(21) } });
    // The raw-input guard answers before either path.
    const proto = await expectSame(`?input=${encodeURIComponent('{"json":{"__proto__":{"a":1}}}')}`, {
      headers: bearer,
    });
    expect(proto.status).toBe(400);
  });

  it("requests it leaves to tRPC: HEAD, POST, a batch, a JSON-lines accept, a body type, connection params", async () => {
    const { token } = await signUp(t.url);
    const bearer = { authorization: `Bearer ${token}` };
    expect((await expectSame("", { method: "HEAD", headers: bearer })).status).toBe(204);
    await expectSame("", { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: "{}" });
    expect((await expectSame("?batch=1&input=%7B%7D", { headers: bearer })).status).toBe(400);
    await expectSame("", { headers: { ...bearer, "trpc-accept": "application/jsonl" } });
    await expectSame("", { headers: { ...bearer, "content-type": "multipart/form-data" } });
    await expectSame("?connectionParams=%7Bx", { headers: bearer });
  });

  it("an open stream: its first event with its id, for any Last-Event-ID, with CORS and a given request id", async () => {
    const { token } = await signUp(t.url);
    const bearer = { authorization: `Bearer ${token}` };
    const first = await expectSame("", { headers: bearer }, hasEvents(2));
    expect(first.status).toBe(200);
    expect(first.body).toBe(
      'event: connected\ndata: {"reconnectAfterInactivityMs":25000}\n\n\ndata: {"json":{"revision":1}}\nid: 1\n\n\n',
    );
    expect(first.headers).toMatchObject({
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      vary: "Origin, trpc-accept, accept",
      "x-accel-buffering": "no",
    });
    await expectSame("", { headers: { ...bearer, "last-event-id": "1" } }, hasEvents(2));
    await expectSame("?lastEventId=1", { headers: bearer }, hasEvents(2));
    await expectSame(`?${input({ lastEventId: "1" })}`, { headers: bearer }, hasEvents(2));
    const listed = await expectSame(
      "",
      { headers: { ...bearer, origin: allowedOrigin, "x-request-id": "stream-1" } },
      hasEvents(2),
    );
    expect(listed.headers).toMatchObject({
      "access-control-allow-origin": allowedOrigin,
      "access-control-allow-credentials": "true",
      "x-request-id": "stream-1",
    });
    await expectSame("", { headers: { ...bearer, origin: "http://elsewhere.test" } }, hasEvents(2));
  });

  it("a write's revision, then the end of a revoked session's stream, byte for byte", async () => {
    const { token } = await signUp(t.url);
    const headers = { authorization: `Bearer ${token}` };
    // One stream per user on this server: the second of each pair is a second user's.
    const other = await signUp(t.url);
    const light = await request(t.url, LIGHT, { headers });
    const trpc = await request(t.url, TRPC, { headers: { authorization: `Bearer ${other.token}` } });
    await Promise.all([light.until(hasEvents(2)), trpc.until(hasEvents(2))]);
    await post(t.url, "templates.create", token, { name: "t", content: "c" });
    await post(t.url, "templates.create", other.token, { name: "t", content: "c" });
    const [lightSeen, trpcSeen] = await Promise.all([light.until(hasEvents(3)), trpc.until(hasEvents(3))]);
    expect(lightSeen).toEqual(trpcSeen);
    expect(lightSeen.body).toContain('data: {"json":{"revision":2}}\nid: 2\n\n\n');

    await post(t.url, "auth.logout", token, undefined);
    await post(t.url, "auth.logout", other.token, undefined);
    const [lightEnd, trpcEnd] = await Promise.all([light.until(() => false), trpc.until(() => false)]);
    expect(lightEnd).toEqual(trpcEnd);
    expect(lightEnd.ended).toBe(true);
    expect(lightEnd.body).toMatch(/event: serialized-error\ndata: .*"code":"UNAUTHORIZED".*\n\n\n$/);
  });

  it("a refreshed token's stream ends with the return event", async () => {
    const user = await signUp(t.url);
    const other = await signUp(t.url);
    const light = await request(t.url, LIGHT, { headers: { authorization: `Bearer ${user.token}` } });
    const trpc = await request(t.url, TRPC, { headers: { authorization: `Bearer ${other.token}` } });
    await Promise.all([light.until(hasEvents(2)), trpc.until(hasEvents(2))]);
    await post(t.url, "auth.refreshToken", user.token, undefined);
    await post(t.url, "auth.refreshToken", other.token, undefined);
    const [lightEnd, trpcEnd] = await Promise.all([light.until(() => false), trpc.until(() => false)]);
    expect(lightEnd).toEqual(trpcEnd);
    expect(lightEnd.body).toMatch(/event: return\ndata: \n\n\n$/);
  });

  it("a newer stream of the user ends the oldest with TOO_MANY_REQUESTS, whichever path either took", async () => {
    const { token } = await signUp(t.url);
    const headers = { authorization: `Bearer ${token}` };
    const first = await request(t.url, LIGHT, { headers });
    await first.until(hasEvents(2));
    const second = await request(t.url, TRPC, { headers });
    const firstEnd = await first.until(() => false);
    await second.until(hasEvents(2));
    const third = await request(t.url, LIGHT, { headers });
    const secondEnd = await second.until(() => false);
    third.close();
    expect(firstEnd).toEqual(secondEnd);
    expect(firstEnd.body).toMatch(/event: serialized-error\ndata: .*"code":"TOO_MANY_REQUESTS"/);
  });
});

describe("the light path's own workings", () => {
  let testDb: TestDb;
  let server: PromptBoosterServer;
  let url: string;
  const events = createLocalChangeEvents();
  beforeAll(async () => {
    testDb = await createTestDb();
    const config = loadConfig({ NODE_ENV: "test", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "silent" });
    server = await buildServer(config, { db: testDb.db, events });
    url = await server.start();
  });
  afterAll(async () => {
    await server.stop();
    await testDb.dispose();
  });

  it("a client that leaves ends the procedure: its finally unsubscribes", async () => {
    const { token, user } = await signUp(url);
    const open = await request(url, LIGHT, { headers: { authorization: `Bearer ${token}` } });
    await open.until(hasEvents(2));
    expect(events.subscribedUserIds()).toContain(user.id);
    open.close();
    await vi.waitFor(() => expect(events.subscribedUserIds()).not.toContain(user.id));
  });

  it("one timer pings every open stream, tRPC's ping event; it stops with the last stream", async () => {
    const { token } = await signUp(url);
    const headers = { authorization: `Bearer ${token}` };
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const before = vi.getTimerCount();
      const streams = await Promise.all([1, 2, 3].map(() => request(url, LIGHT, { headers })));
      await Promise.all(streams.map((stream) => stream.until(hasEvents(2))));
      expect(vi.getTimerCount()).toBe(before + 1);
      vi.advanceTimersByTime(10_000);
      for (const stream of streams) {
        const seen = await stream.until(hasEvents(3));
        expect(seen.body).toMatch(/id: 1\n\n\nevent: ping\ndata: \n\n\n$/);
      }
      for (const stream of streams) stream.close();
      await vi.waitFor(() => expect(vi.getTimerCount()).toBe(before));
    } finally {
      vi.useRealTimers();
    }
  });

  it("the drain cuts open streams on stop, and the procedure ends", async () => {
    const { token, user } = await signUp(url);
    const other = await buildServer(
      loadConfig({ NODE_ENV: "test", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "silent" }),
      {
        db: testDb.db,
        events,
      },
    );
    const otherUrl = await other.start();
    const onOther = await request(otherUrl, LIGHT, { headers: { authorization: `Bearer ${token}` } });
    await onOther.until(hasEvents(2));
    await other.stop();
    const cut = await onOther.until(() => false);
    expect(cut.ended).toBe(false);
    expect(cut.body).not.toContain("event: return");
    await vi.waitFor(() => expect(events.subscribedUserIds()).not.toContain(user.id));
  });
});
