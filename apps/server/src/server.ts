import { randomUUID } from "node:crypto";
import cookie from "@fastify/cookie";
import Fastify, { type FastifyInstance } from "fastify";

import {
  appRouter,
  createLogSender,
  createMailService,
  createSmtpSender,
  systemClock,
  type AppRouter,
  type ChangeEvents,
  type Clock,
  type GitHubUrls,
  type MailService,
} from "@prompt-booster/api";
import { createDb, migrate, type Database } from "@prompt-booster/db";

import type { Config } from "./config.ts";
import { createDatabaseChangeEvents } from "./events/database-events.ts";
import { createContextFactory } from "./http/context.ts";
import { registerCors } from "./http/cors.ts";
import { createEventStreams } from "./http/event-streams.ts";
import { trackInFlight } from "./http/drain.ts";
import { registerHealthRoutes } from "./http/health.ts";
import { openApiDocument } from "./http/openapi.ts";
import {
  answerClientError,
  handleError,
  logUnexpected,
  MAX_PATH_LENGTH,
  rememberRequestPaths,
  sendError,
  sendNotFound,
} from "./http/errors.ts";
import { registerRestRoutes } from "./http/rest.ts";
import { registerExportRoute } from "./http/export.ts";
import { registerOAuthRoutes } from "./http/oauth.ts";
import { createMetrics, listenForScrapes, recordRequests, type MetricsListener } from "./http/metrics.ts";
import { RequestLog } from "./http/request-log.ts";
import { registerTrpc } from "./http/trpc-handler.ts";
import { guardRawTrpcInput } from "./http/trpc-raw-input.ts";
import { serveSubscriptionStreams } from "./http/subscribe-stream.ts";
import { startTombstonePruning, type PruneJob } from "./jobs/prune-tombstones.ts";
import { registerAuthRateLimits } from "./http/rate-limit.ts";

export interface ServerDeps {
  /** Injected in tests to move time by hand. */
  clock?: Clock;
  /** An already open database (tests share one per file); otherwise opened from `config.db`. */
  db?: Database;
  /** Change notifications; by default through the database's LISTEN/NOTIFY, so every replica hears them. */
  events?: ChangeEvents;
  /** Where log lines go (tests read them); standard output by default. */
  logStream?: NodeJS.WritableStream;
  /** Tests point GitHub sign-in at a stand-in on loopback; GitHub's documented endpoints otherwise. */
  githubUrls?: GitHubUrls;
}

export interface PromptBoosterServer {
  app: FastifyInstance;
  db: Database;
  /** The tombstone-pruning job (runs on its interval; tests run it by hand). */
  pruneJob: PruneJob;
  /** The account mails (tests await `mail.idle()` to know every mail due has been sent). */
  mail: MailService;
  /** Listens on `config.host:config.port`; resolves to the address. */
  start(): Promise<string>;
  /** Where Prometheus scrapes, once started with `config.metricsPort` set (its port may have been 0). */
  readonly metricsUrl: string | undefined;
  /** Stops accepting, lets in-flight requests finish, closes the database. */
  stop(): Promise<void>;
}

/**
 * Builds the whole server: opens the database, applies pending migrations, and registers every route.
 * Nothing listens until `start()`.
 */
export async function buildServer(config: Config, deps: ServerDeps = {}): Promise<PromptBoosterServer> {
  const ownsDb = !deps.db;
  const db = deps.db ?? (await createDb(config.db));
  // What is open so far, closed in reverse if a later step fails: a failed build leaves no connection,
  // client or lock behind (the data folder of PGlite stays locked until its database is closed).
  const opened: (() => Promise<unknown>)[] = ownsDb ? [() => db.close()] : [];
  try {
    await migrate(db);
    return await assemble(config, deps, db, opened);
  } catch (error) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

async function assemble(
  config: Config,
  deps: ServerDeps,
  db: Database,
  opened: (() => Promise<unknown>)[],
): Promise<PromptBoosterServer> {
  const ownsDb = !deps.db;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ["req.headers.authorization", "req.headers.cookie", 'res.headers["set-cookie"]'],
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    // One line per request, with the procedure and the real status.
    logController: new RequestLog(),
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: config.bodyLimitBytes,
    // tRPC batches put every procedure path into one URL segment: "/trpc/a.b,c.d,…".
    // "/health/" is "/health": one rule for every path.
    routerOptions: { maxParamLength: MAX_PATH_LENGTH, ignoreTrailingSlash: true },
    requestTimeout: config.requestTimeoutMs,
    // Slow bodies (slowloris): Node enforces requestTimeout only when it is given to http.createServer
    // (Fastify sets it afterwards, which Node 20 ignores), and checks every second, not every 30 s.
    http: { requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1_000 },
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    // Errors of the router itself (a path segment over maxParamLength, a malformed URL), in the path's shape.
    frameworkErrors: (error, request, reply) => void sendError(request, reply, error),
    clientErrorHandler: answerClientError,
  });
  opened.push(() => app.close());
  const eventStreams = createEventStreams();
  const metrics = config.metricsPort === undefined ? undefined : createMetrics({ db, eventStreams });
  // Before the other hooks, so that the answers they give (CORS preflights, the drain's 503) are counted too.
  if (metrics) recordRequests(app, metrics);
  // First of the hooks that answer: every answer, the drain's 503 included, carries CORS headers a page can read.
  await registerCors(app, config.corsOrigins);
  const inFlight = trackInFlight(app, eventStreams);
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  rememberRequestPaths(app);
  app.setNotFoundHandler(sendNotFound);
  // Errors Fastify finds before a handler runs (a body over the limit, an unreadable one), in the path's shape.
  app.setErrorHandler(handleError);

  registerHealthRoutes(app, db);

  // Session cookies (read on every request; set by login/register through the context's transport).
  await app.register(cookie);
  const rateLimiter = await registerAuthRateLimits(app, config);
  opened.push(() => rateLimiter.close());

  const clock = deps.clock ?? systemClock;
  const ownedEvents = deps.events
    ? undefined
    : createDatabaseChangeEvents(db, {
        log: app.log,
        maxStreamsPerUser: config.sync.maxStreamsPerUser,
        onDelivered: metrics?.countChangeEventDelivered,
      });
  if (ownedEvents) opened.push(() => ownedEvents.close());
  await ownedEvents?.ready;
  const pruneJob = startTombstonePruning(db, {
    clock,
    retentionMs: config.sync.tombstoneRetentionMs,
    intervalMs: config.sync.pruneIntervalMs,
    log: app.log,
  });
  opened.push(() => pruneJob.stop());

  const mail = createMail(config, app);
  opened.push(async () => {
    await mail.service.idle();
    await mail.close();
  });

  // What the tRPC/REST context and the provider sign-in routes both serve requests with.
  const requestDeps = { config, db, clock, events: deps.events ?? ownedEvents!, rateLimiter, mail: mail.service };
  const createContext = createContextFactory({ ...requestDeps, countPushResults: metrics?.countPushResults });

  guardRawTrpcInput(app, "/trpc");
  // Subscriptions' event streams without tRPC's per-stream web streams (issue 15); every other call goes on to tRPC.
  serveSubscriptionStreams(app, {
    prefix: "/trpc",
    router: appRouter,
    createContext,
    onError: ({ error, path, req }) => logUnexpected(req.log, error, path),
  });
  await registerTrpc<AppRouter>(app, {
    prefix: "/trpc",
    router: appRouter,
    createContext,
    maxBatchSize: config.trpcMaxBatchSize,
    onError({ error, path, req }) {
      logUnexpected(req.log, error, path);
    },
  });

  // The REST paths of the original design, served by the same procedures (their `meta.openapi`).
  const document = openApiDocument();
  app.get("/api/openapi.json", async () => document);
  await registerRestRoutes(app, { basePath: "/api", createContext });
  // account.export as a streamed file download (not one JSON value, so not one of the generic REST routes).
  registerExportRoute(app, { basePath: "/api", createContext });
  registerOAuthRoutes(app, { ...requestDeps, githubUrls: deps.githubUrls });

  let closing: Promise<void> | undefined;
  let metricsListener: MetricsListener | undefined;
  return {
    app,
    db,
    pruneJob,
    mail: mail.service,
    async start() {
      const url = await app.listen({ host: config.host, port: config.port });
      if (metrics && config.metricsPort !== undefined) {
        metricsListener = await listenForScrapes(metrics, config.host, config.metricsPort);
        app.log.info({ metricsUrl: metricsListener.url }, `Prometheus metrics at ${metricsListener.url}`);
      }
      return url;
    },
    get metricsUrl() {
      return metricsListener?.url;
    },
    stop() {
      closing ??= (async () => {
        // First let the requests in flight finish (new ones get 503), then close the listener.
        await inFlight.drain();
        const closed = app.close();
        // Open event streams would hold the close forever; their clients reconnect elsewhere or later.
        eventStreams.closeAll();
        await closed;
        // Scraped until the API is closed, so the drain itself can be watched.
        await metricsListener?.close();
        await pruneJob.stop();
        // Mails of answered requests still being sent need the database: finish them before closing it.
        await mail.service.idle();
        await mail.close();
        await ownedEvents?.close();
        await rateLimiter.close();
        if (ownsDb) await db.close();
      })();
      return closing;
    },
  };
}

/** The account mails' service: SMTP, the log (development without SMTP_URL), or off (production without it). */
function createMail(config: Config, app: FastifyInstance) {
  const { mode, smtpUrl, from, appUrl } = config.mail;
  if (mode === "off") {
    app.log.warn(
      "SMTP_URL is not set: password reset and email verification are off (auth.providers says so); " +
        "set SMTP_URL, MAIL_FROM and APP_URL to turn them on",
    );
  }
  const log = app.log.child({ component: "mail" });
  const sender = mode === "smtp" ? createSmtpSender(smtpUrl!, from) : createLogSender(log);
  const service: MailService = createMailService({
    sender,
    enabled: mode !== "off",
    appUrl,
    onError: (error) => log.error({ err: error }, "an account mail could not be sent"),
  });
  return { service, close: async () => sender.close?.() };
}
