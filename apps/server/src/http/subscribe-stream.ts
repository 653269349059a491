// tRPC subscriptions (sync.subscribe) as server-sent events, written straight to the Node response.
//
// tRPC's own path turns each stream into a fetch Request, three web streams, a generator chain, a web-to-Node
// stream conversion and a ping timer: about 70 KB of heap per open stream (issue 15). Here the procedure still
// runs through tRPC (context, middleware, input parsing, error formatter), but its events are written to the
// Node response itself, and one timer pings every open stream. The bytes a client receives are tRPC's own
// (see sseStreamProducer and resolveResponse in @trpc/server; subscribe-stream.e2e.test.ts holds the two
// paths to the same answers); a request this path does not expect (a batch, a streaming accept, connection
// params, a content type, any method but GET) is left to tRPC's handler.
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { TRPCError } from "@trpc/server";
import { isObservable, observableToAsyncIterable } from "@trpc/server/observable";
import {
  getErrorShape,
  getTRPCErrorFromUnknown,
  isAbortError,
  isAsyncIterable,
  isObject,
  isTrackedEnvelope,
  sseHeaders,
  type AnyProcedure,
} from "@trpc/server/unstable-core-do-not-import";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import type { ApiContext, AppRouter } from "@prompt-booster/api";

import type { ContextFactory } from "./context.ts";
import { withCorsVary } from "./cors.ts";
import { abortedOnDisconnect } from "./trpc-handler.ts";

/** What tRPC's handler was given: the same context and error hook serve both paths. */
export interface SubscribeStreamOptions {
  prefix: string;
  router: AppRouter;
  createContext: ContextFactory;
  onError?: (opts: {
    error: TRPCError;
    path: string;
    input: unknown;
    ctx: ApiContext | undefined;
    type: "subscription";
    req: FastifyRequest;
  }) => void;
}

type RootConfig = AppRouter["_def"]["_config"];

/**
 * Serves GET `<prefix>/<subscription>` from a preHandler hook on tRPC's own route, so the request keeps its
 * route (`<prefix>/:path` in the metrics), every earlier hook (CORS, the drain, the raw-input guard) and every
 * onSend hook (x-request-id, the drain's event-stream tracking, which reads the content-type set here).
 */
export function serveSubscriptionStreams(app: FastifyInstance, options: SubscribeStreamOptions): void {
  const { prefix, router } = options;
  const config: RootConfig = router._def._config;
  const sse = config.sse;
  // Anything this path does not reproduce (streams cut after a while, SSE turned off): tRPC serves them all.
  if (sse?.enabled === false || sse?.maxDurationMs) return;
  const pingMs = sse?.ping?.enabled && sse.ping.intervalMs ? sse.ping.intervalMs : undefined;
  const connected = event({ event: "connected", data: JSON.stringify(sse?.client ?? {}) });
  const pinger = pingMs === undefined || pingMs === Infinity ? undefined : createPinger(pingMs);
  const route = `${prefix}/:path`;
  // Flat at run time ("sync.subscribe"), whatever its type says; no lazy routers here.
  const procedures = router._def.procedures as unknown as Record<string, AnyProcedure | undefined>;

  // Callback style, and `done` never called once the stream is answered here: an async hook would have to
  // return the reply, whose promise Fastify settles only when the response ends, holding the hook chain (and
  // its closures) for the stream's whole life.
  app.addHook("preHandler", (request, reply, done) => {
    const target =
      request.method === "GET" && request.routeOptions.url === route
        ? subscriptionAt(request, prefix, procedures)
        : undefined;
    const search = target && new URL(request.url, "http://x").searchParams;
    if (!target || !search || !isPlainSubscribeRequest(request, search)) return done();
    open(request, reply, target.path, target.procedure, search).catch(done);
  });

  async function open(
    request: FastifyRequest,
    reply: FastifyReply,
    path: string,
    procedure: AnyProcedure,
    search: URLSearchParams,
  ) {
    // As tRPC's request signal: the procedure hears of a client that left (not of an answer that ended).
    const clientLeft = abortedOnDisconnect(reply);
    const lastEventId = readLastEventId(request, search);
    // Read now: the procedure's getRawInput lives as long as the stream, and should not keep the URL alive.
    const inputText = search.get("input");
    let input: unknown;
    let ctx: ApiContext | undefined;
    let events: AsyncIterable<unknown>;
    try {
      ctx = await options.createContext({ req: request, res: reply });
      const data: unknown = await procedure({
        path,
        type: "subscription",
        ctx,
        signal: clientLeft,
        batchIndex: 0,
        getRawInput: async () => {
          input = readInput(inputText, config);
          return withLastEventId(input, lastEventId);
        },
      });
      events = asEvents(data, path, clientLeft);
    } catch (cause) {
      const error = getTRPCErrorFromUnknown(cause);
      // tRPC reports a failed call once here, and once more as it streams the error (below).
      options.onError?.({ error, path, input, ctx, type: "subscription", req: request });
      events = failing(error);
    }

    const stream = startStream(reply, clientLeft);
    stream.write(connected);
    pinger?.add(stream);
    // Not awaited: the hook ends here, and the stream runs until its events or its client end.
    void (async () => {
      try {
        await pump(stream, events, lastEventId, config);
        if (!stream.closed) stream.write(event({ event: "return", data: "" }));
      } catch (cause) {
        if (isAbortError(cause)) return;
        const error = getTRPCErrorFromUnknown(cause);
        options.onError?.({ error, path, input, ctx, type: "subscription", req: request });
        const shape = getErrorShape({ config, error, type: "subscription", path, input, ctx });
        stream.write(event({ event: "serialized-error", data: serialize(config, shape) }));
      } finally {
        pinger?.delete(stream);
        stream.end();
      }
    })();
  }
}

/** The subscription procedure a `<prefix>/<path>` URL names as written (an escaped name goes to tRPC). */
function subscriptionAt(
  request: FastifyRequest,
  prefix: string,
  procedures: Record<string, AnyProcedure | undefined>,
): { path: string; procedure: AnyProcedure } | undefined {
  const end = request.url.indexOf("?");
  const path = request.url.slice(prefix.length + 1, end === -1 ? undefined : end);
  const procedure = Object.hasOwn(procedures, path) ? procedures[path] : undefined;
  return procedure?._def.type === "subscription" ? { path, procedure } : undefined;
}

/** An EventSource's request (or httpSubscriptionLink's): nothing tRPC would answer otherwise than with a stream. */
function isPlainSubscribeRequest(request: FastifyRequest, search: URLSearchParams): boolean {
  const { headers } = request;
  if (search.has("batch") || search.has("connectionParams")) return false;
  if (headers["content-type"] !== undefined || headers["trpc-accept"] !== undefined) return false;
  const accept = headers.accept;
  return !accept?.split(",").some((type) => type.trim() === "application/jsonl");
}

/** As tRPC reads it: the header first, then either spelling in the query. */
function readLastEventId(request: FastifyRequest, search: URLSearchParams): string | null {
  const header = request.headers["last-event-id"];
  if (typeof header === "string") return header;
  return search.get("lastEventId") ?? search.get("Last-Event-Id");
}

/** `?input=` as tRPC decodes it: JSON, then the transformer; unreadable input is the caller's BAD_REQUEST. */
function readInput(text: string | null, config: RootConfig): unknown {
  if (!text) return undefined;
  try {
    return config.transformer.input.deserialize(JSON.parse(text));
  } catch (cause) {
    if (cause instanceof TRPCError) throw cause;
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: cause instanceof Error ? cause.message : "Invalid input",
      cause,
    });
  }
}

/** A reconnecting client's last id joins the input, as tRPC hands it to subscriptions. */
function withLastEventId(input: unknown, lastEventId: string | null): unknown {
  if (!lastEventId) return input;
  if (isObject(input)) return { ...input, lastEventId };
  return input ?? { lastEventId };
}

/** Events that fail at once: a call refused before the stream started is still answered as a stream. */
function failing(error: TRPCError): AsyncIterable<never> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
}

function asEvents(data: unknown, path: string, signal: AbortSignal): AsyncIterable<unknown> {
  if (isObservable(data)) return observableToAsyncIterable(data, signal);
  if (isAsyncIterable(data)) return data;
  throw new TRPCError({
    code: "INTERNAL_SERVER_ERROR",
    message: `Subscription ${path} did not return an observable or a AsyncGenerator`,
  });
}

/** The procedure's values as events, each written before the next is asked for; stops when the client leaves. */
async function pump(
  stream: OpenStream,
  events: AsyncIterable<unknown>,
  givenLastEventId: string | null,
  config: RootConfig,
) {
  // An id holding a line break would end the field early: tRPC ignores it.
  let lastEventId = givenLastEventId && !/[\0\n\r]/.test(givenLastEventId) ? givenLastEventId : null;
  for await (const value of events) {
    if (stream.closed) break;
    if (isTrackedEnvelope(value)) {
      lastEventId = value[0];
      stream.write(event({ data: serialize(config, value[1]), id: value[0] }));
    } else if (lastEventId === null) {
      stream.write(event({ data: serialize(config, value) }));
    } else {
      // An untracked value after tracked ones: blank id, then the last real id restored.
      stream.write(
        event({ data: serialize(config, value), id: "" }) + event({ event: "restore-id", data: "", id: lastEventId }),
      );
    }
    await stream.writable();
    if (stream.closed) break;
  }
}

/** One event in tRPC's layout: its fields in this order, then a blank line and one more line break. */
function event(fields: { event?: string; data: string; id?: string }): string {
  let text = fields.event === undefined ? "" : `event: ${fields.event}\n`;
  text += `data: ${fields.data}\n`;
  if (fields.id !== undefined) text += `id: ${fields.id}\n`;
  return `${text}\n\n`;
}

function serialize(config: RootConfig, value: unknown): string {
  return JSON.stringify(config.transformer.output.serialize(value));
}

// tRPC's headers as a fetch Headers lists them (sorted, lower case), after its vary (added to CORS's, as on
// every tRPC answer: trpc-handler.ts).
const STREAM_HEADERS: [string, string][] = [
  ["vary", "trpc-accept, accept"],
  ...Object.entries(sseHeaders)
    .map(([name, value]): [string, string] => [name.toLowerCase(), value])
    .sort(([a], [b]) => (a < b ? -1 : 1)),
];

/**
 * The body handed to `reply.send`, so that every onSend hook runs (x-request-id, the drain's stream tracking)
 * and Fastify writes the headers, watches the response and calls `destroy` when the client goes. It is no
 * Readable: when Fastify calls `pipe(response)`, events are written to the response itself.
 */
class EventStreamBody extends EventEmitter {
  closed = false;
  /** The client is behind (the response buffers): the procedure waits, and pings skip it. */
  behind = false;
  private response: ServerResponse | undefined;
  /** Written before Fastify piped the body (the connected event). */
  private early = "";
  private ended = false;
  private resume: (() => void) | undefined;
  private readonly caughtUp = () => {
    this.behind = false;
    this.resume?.();
    this.resume = undefined;
  };

  pipe<T extends NodeJS.WritableStream>(destination: T): T {
    this.response = destination as unknown as ServerResponse;
    if (this.early) this.write(this.early);
    this.early = "";
    if (this.ended) this.end();
    return destination;
  }

  write(text: string): void {
    if (this.closed) return;
    if (!this.response) {
      this.early += text;
    } else if (!this.response.write(text)) {
      this.behind = true;
      this.response.once("drain", this.caughtUp);
    }
  }

  /** Resolves once the client has taken what was written, or has left. */
  writable(): Promise<void> {
    if (this.closed || !this.behind) return Promise.resolve();
    return new Promise((resolve) => (this.resume = resolve));
  }

  end(): void {
    this.ended = true;
    if (this.closed || !this.response) return;
    this.response.end();
    // Tells Fastify the body is over (it stops watching it).
    this.emit("end");
  }

  /** Fastify's call when the response closed first (the client left, or the drain cut it). */
  destroy(): void {
    this.closed = true;
    this.caughtUp();
  }
}

type OpenStream = EventStreamBody;

/** Starts the answer as tRPC starts a stream: status 200 and its headers. */
function startStream(reply: FastifyReply, clientGone: AbortSignal): OpenStream {
  const body = new EventStreamBody();
  body.closed = clientGone.aborted;
  for (const [name, value] of STREAM_HEADERS) {
    reply.header(name, name === "vary" ? withCorsVary(reply.getHeader("vary"), value) : value);
  }
  void reply.code(200).send(body);
  return body;
}

const PING = event({ event: "ping", data: "" });

/**
 * One timer for every open stream: each hears a ping every interval, so none is quiet for longer than tRPC's
 * own per-stream timer allows (it pings after an interval without an event). Runs only while a stream is open.
 */
function createPinger(intervalMs: number) {
  const streams = new Set<OpenStream>();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    for (const stream of streams) if (!stream.behind) stream.write(PING);
  };
  return {
    add(stream: OpenStream) {
      if (stream.closed) return;
      streams.add(stream);
      timer ??= setInterval(tick, intervalMs).unref();
    },
    delete(stream: OpenStream) {
      streams.delete(stream);
      if (streams.size > 0 || !timer) return;
      clearInterval(timer);
      timer = undefined;
    },
  };
}
