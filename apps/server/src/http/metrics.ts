// Prometheus metrics (prom-client), served by a listener of their own (METRICS_PORT) so that the API's
// clients never see them. Each server has its own Registry: tests run several servers in one process, and
// the library's global registry would refuse a second metric of the same name.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

import { listProcedures, type ApiContext } from "@prompt-booster/api";
import type { Database } from "@prompt-booster/db";

import type { EventStreams } from "./event-streams.ts";
import { procedureNames } from "./request-log.ts";

const PREFIX = "prompt_booster_";

// Label values come only from this set, the route table and the status codes, never from what a client
// writes in a URL: a client inventing procedure names must not grow the metrics without bound.
const knownProcedures = new Set(listProcedures().map((procedure) => procedure.path));

/** A sync.push result's status, as the API's context hands the results over. */
type PushStatus = Parameters<NonNullable<ApiContext["countPushResults"]>>[0][number]["status"];
const PUSH_STATUSES = ["applied", "conflict", "rejected"] as const satisfies readonly PushStatus[];

type PoolStats = ReturnType<NonNullable<Database["poolStats"]>>;

interface MetricsSources {
  db: Database;
  eventStreams: EventStreams;
}

export function createMetrics({ db, eventStreams }: MetricsSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requestDuration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: "HTTP requests by route, procedure and status, with the time to the end of the answer (of the stream, for sync.subscribe)",
    labelNames: ["method", "route", "procedure", "status"] as const,
    // From a cached read to a large import.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const procedureCalls = new Counter({
    name: `${PREFIX}procedure_calls_total`,
    help: "Procedure calls (each call of a tRPC batch counts once), by the HTTP status of the request that carried them",
    labelNames: ["procedure", "status"] as const,
    registers: [registry],
  });
  const pushedMutations = new Counter({
    name: `${PREFIX}sync_push_mutations_total`,
    help: "Mutations of sync.push by result: applied, conflict, rejected (a replay counts as the result it repeats)",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  // Every label from the start: a rate over a series that appears on its first increment misses that one.
  for (const status of PUSH_STATUSES) pushedMutations.inc({ status }, 0);
  const changeEventsDelivered = new Counter({
    name: `${PREFIX}change_events_delivered_total`,
    help: "Change events handed to an open event stream of this process",
    registers: [registry],
  });
  new Gauge({
    name: `${PREFIX}event_streams_open`,
    help: "Open sync.subscribe event streams",
    registers: [registry],
    collect() {
      this.set(eventStreams.size);
    },
  });

  const { poolStats } = db;
  if (poolStats) {
    const pool = (name: string, help: string, read: (stats: PoolStats) => number) =>
      new Gauge({
        name: `${PREFIX}db_pool_${name}`,
        help,
        registers: [registry],
        collect() {
          this.set(read(poolStats()));
        },
      });
    pool(
      "connections_in_use",
      "PostgreSQL pool connections lent out to a query or transaction",
      (s) => s.total - s.idle,
    );
    pool("connections_idle", "PostgreSQL pool connections open and idle", (s) => s.idle);
    pool("waiting", "Queries waiting for a PostgreSQL pool connection", (s) => s.waiting);
    pool("connections_max", "The PostgreSQL pool's size (DB_POOL_MAX)", (s) => s.max);
  }

  return {
    registry,
    /** For the change-events fan-out (createDatabaseChangeEvents' `onDelivered`). */
    countChangeEventDelivered: () => changeEventsDelivered.inc(),
    /** For the API's context (`countPushResults`). */
    countPushResults: (results: readonly { status: PushStatus }[]) => {
      for (const { status } of results) pushedMutations.inc({ status });
    },
    /** `routed`: the request as Fastify routed it; absent when the router refused it (a malformed path). */
    observeRequest(answer: { method: string; status: number; seconds: number; routed: FastifyRequest | undefined }) {
      const status = String(answer.status);
      const named = (answer.routed && procedureNames(answer.routed)) ?? [];
      const procedures = named.filter((name) => knownProcedures.has(name));
      for (const procedure of procedures) procedureCalls.inc({ procedure, status });
      requestDuration.observe(
        {
          method: answer.method,
          // Unmatched paths share one label whatever they are.
          route: answer.routed?.routeOptions.url ?? "unmatched",
          procedure: procedureLabel(named, procedures),
          status,
        },
        answer.seconds,
      );
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

function procedureLabel(named: string[], known: string[]): string {
  if (named.length === 0) return "";
  if (named.length > 1) return "batch";
  return known[0] ?? "unknown";
}

/**
 * Counts every request once its answer is over, on the response's "close": Fastify's `onResponse` never runs
 * for an event stream the client closed (how every stream ends), nor does any hook for a path its router
 * refuses, so requests are taken from the HTTP server itself, with what routing made of them when it did.
 */
export function recordRequests(app: FastifyInstance, metrics: Metrics): void {
  const routed = new WeakMap<ServerResponse, FastifyRequest>();
  app.addHook("onRequest", async (request, reply) => {
    routed.set(reply.raw, request);
  });
  app.server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    response.once("close", () =>
      metrics.observeRequest({
        method: request.method ?? "",
        status: response.statusCode,
        seconds: (performance.now() - started) / 1_000,
        routed: routed.get(response),
      }),
    );
  });
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** GET /metrics on `host:port`, in Prometheus' text format; anything else is 404. */
export async function listenForScrapes(metrics: Metrics, host: string, port: number): Promise<MetricsListener> {
  const server = http.createServer((request, response) => {
    const path = request.url?.split("?")[0];
    if (path !== "/metrics" || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(404, { "content-type": "text/plain" }).end("Not found: scrape GET /metrics\n");
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        // A scraper keeps its connection alive between scrapes; it would hold the close for good.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
