// Every error the HTTP server answers, whoever finds it (a procedure, Fastify's body parser or limits,
// the router's not-found, the drain), is written here in the one shape its path promises: tRPC's own error
// envelope under /trpc (so @trpc/client reports a typed error for a 413 as for a 409), and the REST body
// `{ code, message, issues?, details? }` everywhere else.
import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import { getErrorShape } from "@trpc/server/unstable-core-do-not-import";
import type { FastifyReply, FastifyRequest } from "fastify";

import { appRouter, type ApiContext } from "@prompt-booster/api";

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
const TRANSPORT_CODES: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: "BAD_REQUEST",
  404: "NOT_FOUND",
  405: "METHOD_NOT_SUPPORTED",
  408: "TIMEOUT",
  413: "PAYLOAD_TOO_LARGE",
  // tRPC has no code of its own for 414: BAD_REQUEST, with the real status in `data.httpStatus`.
  414: "BAD_REQUEST",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "TOO_MANY_REQUESTS",
  503: "SERVICE_UNAVAILABLE",
};

/** REST codes that say more than the tRPC code they share. */
const REST_CODES: Record<number, string> = { 414: "URI_TOO_LONG" };

/** An error the transport detected (not a procedure), as a TRPCError that keeps its HTTP status (414). */
export class TransportError extends TRPCError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super({ code: TRANSPORT_CODES[status] ?? (status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST"), message });
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
  void reply.code(status);
  if (isTrpcPath(request)) {
    return reply.send({
      error: appRouter._def._config.transformer.output.serialize({
        ...shape,
        data: { ...shape.data, httpStatus: status },
      }),
    });
  }
  return reply.send(toRestError(shape, REST_CODES[status]));
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

export function isTrpcPath(request: FastifyRequest): boolean {
  return request.url === "/trpc" || request.url.startsWith("/trpc/") || request.url.startsWith("/trpc?");
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
