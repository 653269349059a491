// The Prometheus endpoint over real HTTP: a server with METRICS_PORT scraped before and after some traffic
// (REST and tRPC calls that succeed and fail, a batch, an event stream opened and closed, a push, an import),
// on PGlite or PostgreSQL (TEST_DATABASE_URL); and a server without it, which serves no metrics anywhere.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, loadConfig } from "../src/config.ts";
import { authedClient, signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

/** The samples of a scrape: `name{labels} value` lines, comments left out. */
type Sample = { name: string; labels: Record<string, string>; value: number };

function parseScrape(text: string): Sample[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The sum of the samples named `name` whose labels include `labels`. */
const total = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
    .reduce((sum, s) => sum + s.value, 0);

const has = (samples: Sample[], name: string) => samples.some((s) => s.name === name);

async function scrape(metricsUrl: string): Promise<Sample[]> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseScrape(await response.text());
}

/** Log lines of the server, and a way to wait for one. */
function logLines() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<{ test: (line: Record<string, unknown>) => boolean; resolve: () => void }>();
  let rest = "";
  stream.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop()!;
    for (const part of parts) {
      const line = JSON.parse(part) as Record<string, unknown>;
      lines.push(line);
      for (const waiter of waiters) {
        if (waiter.test(line)) {
          waiters.delete(waiter);
          waiter.resolve();
        }
      }
    }
  });
  return {
    stream,
    /** Resolves once a line passing `test` is written (or was already). */
    until: (test: (line: Record<string, unknown>) => boolean) =>
      new Promise<void>((resolve) => {
        if (lines.some(test)) return resolve();
        waiters.add({ test, resolve });
      }),
  };
}

/** sync.subscribe over raw HTTP: the revisions it signals, its request id, and a way to close it from this side. */
function openStream(url: string, token: string) {
  const signals: string[] = [];
  const waiters = new Set<{ count: number; resolve: () => void }>();
  return new Promise<{ requestId: string; until(count: number): Promise<void>; close(): void }>((resolve, reject) => {
    const request = http.get(
      `${url}/trpc/sync.subscribe`,
      { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } },
      (response) => {
        if (response.statusCode !== 200) return reject(new Error(`subscribe answered ${response.statusCode}`));
        response.on("data", (chunk: Buffer) => {
          signals.push(
            ...chunk
              .toString()
              .split("\n")
              .filter((line) => /^data: .*"revision"/.test(line)),
          );
          for (const waiter of waiters) {
            if (signals.length < waiter.count) continue;
            waiters.delete(waiter);
            waiter.resolve();
          }
        });
        resolve({
          requestId: String(response.headers["x-request-id"]),
          until: (count) =>
            new Promise<void>((done) => {
              if (signals.length >= count) return done();
              waiters.add({ count, resolve: done });
            }),
          close: () => request.destroy(),
        });
      },
    );
    request.on("error", (error) => {
      // Closing it ourselves ends the request with an error; only an early one is a failure.
      if (!request.destroyed || (error as NodeJS.ErrnoException).code !== "ECONNRESET") reject(error);
    });
  });
}

describe("with METRICS_PORT", () => {
  let t: TestServer;
  let metricsUrl: string;
  const log = logLines();
  beforeAll(async () => {
    t = await startTestServer({ env: { METRICS_PORT: "0", LOG_LEVEL: "info" }, logStream: log.stream });
    metricsUrl = t.server.metricsUrl!;
  });
  afterAll(() => t.close());

  it("serves GET /metrics on its own port, and nothing else there; the API port does not serve it", async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(metricsUrl).port).not.toBe(new URL(t.url).port);
    expect((await fetch(metricsUrl.replace(/\/metrics$/, "/health"))).status).toBe(404);
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
  });

  it("counts requests by route, procedure and status, with latencies, and calls by procedure", async () => {
    const before = await scrape(metricsUrl);
    const { token } = await signUp(t.url);
    const api = authedClient(t.url, token);
    const auth = { authorization: `Bearer ${token}` };

    await api.templates.list.query({});
    expect((await fetch(`${t.url}/api/templates`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${t.url}/api/templates/${randomUUID()}`, { headers: auth })).status).toBe(404);
    const badInput = await fetch(`${t.url}/trpc/templates.create`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ json: { name: "" } }),
    });
    expect(badInput.status).toBe(400);
    // One HTTP request carrying 21 calls (the batching link sends them together), named in a path longer
    // than the request log keeps.
    await Promise.all([...Array.from({ length: 20 }, () => api.settings.get.query()), api.auth.me.query()]);
    expect((await fetch(`${t.url}/no/such/path`)).status).toBe(404);
    expect((await fetch(`${t.url}/trpc/invented.byClient`)).status).toBe(404);
    expect((await fetch(`${t.url}/trpc/%E0%A4%A`)).status).toBe(400);

    const after = await scrape(metricsUrl);
    const count = "prompt_booster_http_request_duration_seconds_count";
    const moved = (labels: Record<string, string>) => total(after, count, labels) - total(before, count, labels);
    expect(moved({ route: "/api/auth/register", procedure: "auth.register", status: "200", method: "POST" })).toBe(1);
    expect(moved({ route: "/trpc/:path", procedure: "templates.list", status: "200", method: "GET" })).toBe(1);
    expect(moved({ route: "/api/templates", procedure: "templates.list", status: "200" })).toBe(1);
    expect(moved({ route: "/api/templates/:id", procedure: "templates.get", status: "404" })).toBe(1);
    expect(moved({ route: "/trpc/:path", procedure: "templates.create", status: "400" })).toBe(1);
    expect(moved({ route: "/trpc/:path", procedure: "batch", status: "200" })).toBe(1);
    expect(moved({ route: "unmatched", status: "404" })).toBe(1);
    expect(moved({ route: "/trpc/:path", procedure: "unknown", status: "404" })).toBe(1);
    expect(moved({ status: "400", procedure: "" })).toBe(1);

    // Latencies: the buckets hold every request, and the time taken adds up.
    const listed = { route: "/trpc/:path", procedure: "templates.list" };
    expect(total(after, "prompt_booster_http_request_duration_seconds_bucket", { ...listed, le: "+Inf" })).toBe(
      total(after, count, listed),
    );
    expect(total(after, "prompt_booster_http_request_duration_seconds_sum", listed)).toBeGreaterThan(
      total(before, "prompt_booster_http_request_duration_seconds_sum", listed),
    );

    // Each call of the batch counts on its own; a name the client made up is no label.
    const calls = (labels: Record<string, string>) =>
      total(after, "prompt_booster_procedure_calls_total", labels) -
      total(before, "prompt_booster_procedure_calls_total", labels);
    expect(calls({ procedure: "settings.get", status: "200" })).toBe(20);
    expect(calls({ procedure: "auth.me", status: "200" })).toBe(1);
    expect(calls({ procedure: "templates.list" })).toBe(2);
    expect(after.some((s) => Object.values(s.labels).some((value) => value.includes("invented")))).toBe(false);
  });

  it("counts open event streams, change events delivered to them, pushes and imports", async () => {
    const { token } = await signUp(t.url);
    const api = authedClient(t.url, token);
    const before = await scrape(metricsUrl);

    const stream = await openStream(t.url, token);
    await stream.until(1);
    const whileOpen = await scrape(metricsUrl);
    expect(
      total(whileOpen, "prompt_booster_event_streams_open") - total(before, "prompt_booster_event_streams_open"),
    ).toBe(1);

    const pushed = await api.sync.push.mutate({
      mutations: [
        { mutationId: "m1", op: "template.create", input: { id: randomUUID(), name: "Watched", content: "Hello" } },
        { mutationId: "m2", op: "template.delete", input: { id: randomUUID() } },
      ],
    });
    expect(pushed.results.map((result) => result.status)).toEqual(["applied", "rejected"]);
    // The stream hears of the new revision: delivered by then.
    await stream.until(2);
    const imported = await fetch(`${t.url}/api/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(imported.status).toBe(200);

    stream.close();
    // The server logs the stream's end (its only line) as it sees it close, after it stopped counting it.
    await log.until((line) => line.reqId === stream.requestId);
    const after = await scrape(metricsUrl);

    const moved = (name: string, labels: Record<string, string> = {}) =>
      total(after, name, labels) - total(before, name, labels);
    expect(total(after, "prompt_booster_event_streams_open")).toBe(total(before, "prompt_booster_event_streams_open"));
    expect(moved("prompt_booster_change_events_delivered_total")).toBeGreaterThanOrEqual(1);
    expect(moved("prompt_booster_procedure_calls_total", { procedure: "sync.push", status: "200" })).toBe(1);
    expect(moved("prompt_booster_sync_push_mutations_total", { status: "applied" })).toBe(1);
    expect(moved("prompt_booster_sync_push_mutations_total", { status: "rejected" })).toBe(1);
    expect(moved("prompt_booster_procedure_calls_total", { procedure: "import.localData", status: "200" })).toBe(1);
    expect(moved("prompt_booster_http_request_duration_seconds_count", { procedure: "sync.subscribe" })).toBe(1);
  });

  it("reports the database pool on PostgreSQL (none on PGlite) and the process's default metrics", async () => {
    // Scraped while a transaction on the server's own pool holds a connection.
    const samples = await t.testDb.db.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1`;
      return scrape(metricsUrl);
    });
    if (t.testDb.url) {
      const inUse = total(samples, "prompt_booster_db_pool_connections_in_use");
      expect(inUse).toBeGreaterThanOrEqual(1);
      expect(total(samples, "prompt_booster_db_pool_connections_max")).toBeGreaterThanOrEqual(inUse);
      expect(has(samples, "prompt_booster_db_pool_connections_idle")).toBe(true);
      expect(has(samples, "prompt_booster_db_pool_waiting")).toBe(true);
    } else {
      expect(samples.some((s) => s.name.startsWith("prompt_booster_db_pool_"))).toBe(false);
    }
    expect(total(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(total(samples, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(has(samples, "nodejs_eventloop_lag_seconds")).toBe(true);
    expect(has(samples, "nodejs_heap_size_used_bytes")).toBe(true);
  });
});

describe("without METRICS_PORT", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it("starts no metrics listener, and the API port has no /metrics", async () => {
    expect(t.config.metricsPort).toBeUndefined();
    expect(t.server.metricsUrl).toBeUndefined();
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
  });
});

describe("METRICS_PORT", () => {
  it("is refused in one line naming it when it is not a port, or is the API's", () => {
    expect(() => loadConfig({ METRICS_PORT: "metrics" })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_PORT: "70000" })).toThrow(/^invalid configuration: METRICS_PORT: .*"70000"/);
    expect(() => loadConfig({ PORT: "9100", METRICS_PORT: "9100" })).toThrow(
      /^invalid configuration: METRICS_PORT: must differ from PORT/,
    );
    expect(loadConfig({ METRICS_PORT: "9100" }).metricsPort).toBe(9100);
  });
});
