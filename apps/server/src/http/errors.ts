// Every error the HTTP server answers, whoever finds it (a procedure, Fastify's body parser or limits,
// the router's not-found, the drain), is written here in the one shape its path promises: tRPC's own error
// envelope under /trpc (so @trpc/client reports a typed error for a 413 as for a 409), and the REST body
// `{ code, message, issues?, details? }` everywhere else.
import type { TRPCError } from "@trpc/server";
import { getErrorShape } from "@trpc/server/unstable-core-do-not-import";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { AppError, appRouter, type ApiContext, type AppErrorCode } from "@prompt-booster/api";

/** The error body of every REST path: what clients of the original design read. */
export interface RestError {
  code: string;
  message: string;
  /** Bad input: one entry per problem, `path` being the dotted field name ("firstVersion.modelId"). */
  issues?: { path: string; message: string }[];
  /** Structured data for the client, e.g. the current row of a CONFLICT. */
  details?: Record<string, unknown>;
}

/** The statuses the transport itself answers, and the tRPC code each is reported with. */
const TRANSPORT_CODES: Record<number, AppErrorCode> = {
  400: "BAD_REQUEST",
  404: "NOT_FOUND",
  405: "METHOD_NOT_SUPPORTED",
  408: "TIMEOUT",
  413: "PAYLOAD_TOO_LARGE",
  // tRPC has no code of its own for 414 and 431: BAD_REQUEST, with the real status in `data.httpStatus`.
  414: "BAD_REQUEST",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "TOO_MANY_REQUESTS",
  431: "BAD_REQUEST",
  503: "SERVICE_UNAVAILABLE",
};

/** REST codes that say more than the tRPC code they share. */
const REST_CODES: Record<number, string> = { 414: "URI_TOO_LONG", 431: "HEADERS_TOO_LARGE" };

/**
 * An error the transport detected (not a procedure), with its HTTP status (414 and 431 have no tRPC code
 * of their own). An AppError: its message is written for the client and is shown as it is.
 */
export class TransportError extends AppError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(TRANSPORT_CODES[status] ?? "BAD_REQUEST", message);
  }
}

export const transportError = (status: number, message: string) => new TransportError(status, message);

interface ErrorSource {
  /** The procedure's path, when one was called. */
  path?: string | undefined;
  type?: "query" | "mutation" | "subscription";
  input?: unknown;
  ctx?: ApiContext | undefined;
}

/** Answers `error` in the shape of the request's path; returns the reply for Fastify handlers. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: TRPCError, source: ErrorSource = {}) {
  const { status, body } = errorAnswer(request.url, error, source);
  return reply.code(status).send(body);
}

/** The status and body that answer `error` on `url`. */
function errorAnswer(url: string, error: TRPCError, source: ErrorSource = {}): { status: number; body: unknown } {
  // Our error formatter (packages/api/src/trpc.ts) decides what a client may see: field errors, details,
  // and never the internals of an unexpected failure.
  const shape = getErrorShape({
    config: appRouter._def._config,
    error,
    type: source.type ?? "unknown",
    path: source.path,
    input: source.input,
    ctx: source.ctx,
  });
  const status = error instanceof TransportError ? error.status : shape.data.httpStatus;
  if (isTrpcUrl(url)) {
    const serialize = appRouter._def._config.transformer.output.serialize;
    return { status, body: { error: serialize({ ...shape, data: { ...shape.data, httpStatus: status } }) } };
  }
  return { status, body: toRestError(shape, REST_CODES[status]) };
}

// Errors of the connection itself (a body that never finished arriving, oversized headers) are answered
// by Node before any Fastify handler runs: the path of the request, remembered per socket, picks the shape,
// and its CORS headers (set by the CORS hook, which runs first) let a page read the answer.
const requestBySocket = new WeakMap<Socket, { url: string; corsHeaders: string }>();

export function rememberRequestPaths(app: FastifyInstance): void {
  app.addHook("onRequest", async (request, reply) => {
    const corsHeaders = Object.entries(reply.getHeaders())
      .filter(([name]) => name.startsWith("access-control-"))
      .map(([name, value]) => `${name}: ${String(value)}\r\n`)
      .join("");
    requestBySocket.set(request.raw.socket, { url: request.url, corsHeaders });
  });
}

/** Fastify's `clientErrorHandler`: a 408 for a slow body, 431 for huge headers, 400 otherwise, in the path's shape. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, message] =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "The request took too long to arrive"]
      : error.code === "HPE_HEADER_OVERFLOW"
        ? [431, "The request headers are too large"]
        : [400, "The request could not be read"];
  const request = requestBySocket.get(socket);
  const { body } = errorAnswer(request?.url ?? "", transportError(status, message));
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `${request?.corsHeaders ?? ""}Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}

/** The longest path the router takes: tRPC batches put every procedure into one segment ("/trpc/a.b,c.d,…"). */
export const MAX_PATH_LENGTH = 5_000;

/** No route: 414 for a path longer than any route takes, else 404 naming the path (cut short). */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply) {
  if (request.url.length > MAX_PATH_LENGTH) {
    return sendError(request, reply, transportError(414, "The request path is too long"));
  }
  const path = request.url.split("?")[0]!.slice(0, 200);
  return sendError(request, reply, transportError(404, `No route for ${request.method} ${path}`));
}

function isTrpcUrl(url: string): boolean {
  return url === "/trpc" || url.startsWith("/trpc/") || url.startsWith("/trpc?");
}

interface FormattedShape {
  message: string;
  data: {
    code: string;
    fieldErrors?: Record<string, string[]> | undefined;
    details?: Record<string, unknown> | undefined;
  };
}

function toRestError(shape: FormattedShape, code?: string): RestError {
  const { fieldErrors, details } = shape.data;
  if (fieldErrors) {
    const issues = Object.entries(fieldErrors).flatMap(([path, messages]) =>
      messages.map((message) => ({ path, message })),
    );
    return { code: shape.data.code, message: shape.message, issues };
  }
  return { code: code ?? shape.data.code, message: shape.message, ...(details ? { details } : {}) };
}
