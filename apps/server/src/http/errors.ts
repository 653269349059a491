// Every error the HTTP server answers, whoever finds it (a procedure, Fastify's body parser or limits,
// the router's not-found, the drain), is written here in the one shape its path promises: tRPC's own error
// envelope under /trpc (so @trpc/client reports a typed error for a 413 as for a 409), and the REST body
// `{ code, message, issues?, details? }` everywhere else.
import { TRPCError } from "@trpc/server";
import { getErrorShape } from "@trpc/server/unstable-core-do-not-import";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import {
  APP_ERROR_CODES,
  AppError,
  appRouter,
  toTRPCError,
  type ApiContext,
  type AppErrorCode,
} from "@prompt-booster/api";

/** The error body of every REST path: what clients of the original design read. */
export interface RestError {
  code: string;
  message: string;
  /** Bad input: one entry per problem, `path` being the dotted field name ("firstVersion.modelId"). */
  issues?: { path: string; message: string }[];
  /** Structured data for the client, e.g. the current row of a CONFLICT. */
  details?: Record<string, unknown>;
}

/** The AppError for a status the transport found (Fastify's limits, the router, Node's parser). */
export function transportError(status: number, message: string): AppError {
  const code = (Object.keys(APP_ERROR_CODES) as AppErrorCode[]).find((key) => APP_ERROR_CODES[key].status === status);
  return new AppError(code ?? "BAD_REQUEST", message);
}

/**
 * Anything thrown while answering, as the TRPCError it amounts to: an AppError by its code; Fastify's own
 * errors (FST_ERR_CTP_BODY_TOO_LARGE…) by their status; anything else is an unexpected failure (500).
 */
export function asTrpcError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof AppError) return toTRPCError(error);
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status !== "number" || status >= 500)
    return new TRPCError({ code: "INTERNAL_SERVER_ERROR", cause: error });
  return toTRPCError(transportError(status, transportMessage(status, error)));
}

function transportMessage(status: number, error: unknown): string {
  switch (status) {
    case 413:
      return "The request body is too large";
    case 415:
      return "Send the body as application/json";
    case 408:
      return "The request took too long to arrive";
    case 414:
      return "The request path is too long";
    default:
      // Fastify's messages for bad bodies are written for people ("Body is not valid JSON…").
      return error instanceof Error ? error.message : "Bad request";
  }
}

interface ErrorSource {
  /** The procedure's path, when one was called. */
  path?: string | undefined;
  type?: "query" | "mutation" | "subscription";
  input?: unknown;
  ctx?: ApiContext | undefined;
}

interface Logger {
  error(obj: object, msg: string): void;
}

/** The one log line of an unexpected failure (bad input, auth and conflicts are answers, not incidents). */
export function logUnexpected(log: Logger, error: TRPCError, procedure: string | undefined): void {
  if (error.code === "INTERNAL_SERVER_ERROR") log.error({ err: error.cause ?? error, procedure }, "procedure failed");
}

/** Fastify's error handler, and the REST routes' own: logs the unexpected, answers in the path's shape. */
export function handleError(thrown: unknown, request: FastifyRequest, reply: FastifyReply, source: ErrorSource = {}) {
  const error = asTrpcError(thrown);
  logUnexpected(request.log, error, source.path);
  return sendError(request, reply, error, source);
}

/** Answers `error` in the shape of the request's path; returns the reply for Fastify handlers. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown, source: ErrorSource = {}) {
  const { status, body } = errorAnswer(request.url, error, source);
  return reply.code(status).send(body);
}

/** The status and body that answer `error` on `url`. */
function errorAnswer(url: string, thrown: unknown, source: ErrorSource = {}): { status: number; body: unknown } {
  const error = asTrpcError(thrown);
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
  // The formatter gives an AppError's own status (414 and 431 have no tRPC code of their own).
  const status = shape.data.httpStatus;
  if (isTrpcUrl(url)) {
    const serialized: unknown = appRouter._def._config.transformer.output.serialize(shape);
    return { status, body: { error: serialized } };
  }
  const appError = error.cause instanceof AppError ? error.cause : null;
  return { status, body: toRestError(shape, appError?.code) };
}

// Errors of the connection itself (a body that never finished arriving, oversized headers) are answered
// by Node before any Fastify handler runs: the path of the request, remembered per socket, picks the shape,
// and its CORS headers (set by the CORS hook, which runs first) let a page read the answer.
// Only remembered on the hot path; the headers are read in the rare case they are needed.
const requestBySocket = new WeakMap<Socket, { url: string; reply: FastifyReply }>();

export function rememberRequestPaths(app: FastifyInstance): void {
  app.addHook("onRequest", async (request, reply) => {
    requestBySocket.set(request.raw.socket, { url: request.url, reply });
  });
}

/** The CORS headers the request's answer was given, as raw header lines. */
function corsHeaderLines(reply: FastifyReply | undefined): string {
  return Object.entries(reply?.getHeaders() ?? {})
    .filter(([name]) => name.startsWith("access-control-"))
    .map(([name, value]) => `${name}: ${String(value)}\r\n`)
    .join("");
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
        `${corsHeaderLines(request?.reply)}Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
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
