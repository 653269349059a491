import type { FastifyInstance } from "fastify";

/** The error body of every REST path: what clients of the original design read. */
export interface RestError {
  code: string;
  message: string;
  /** Bad input: one entry per problem, `path` being the dotted field name ("firstVersion.modelId"). */
  issues?: { path: string; message: string }[];
  /** Structured data for the client, e.g. the current row of a CONFLICT. */
  details?: Record<string, unknown>;
}

interface TrpcErrorShape {
  message?: unknown;
  code?: unknown;
  data?: {
    code?: unknown;
    httpStatus?: unknown;
    fieldErrors?: Record<string, string[]>;
    details?: Record<string, unknown>;
  };
}

/**
 * trpc-to-openapi answers errors with the whole tRPC error shape (our formatter's `data`, the JSON-RPC
 * number code) and replaces a validation message by "Input validation failed". REST clients get
 * `{ code, message, issues?, details? }` instead, with the message naming every bad field. The status
 * code is already right (the tRPC code's HTTP status); only the body changes.
 */
export function registerRestErrorShape(app: FastifyInstance, basePath: string): void {
  app.addHook("onSend", async (request, reply, payload) => {
    // The route pattern, not request.url: the REST adapter rewrites the raw URL without the base path.
    const route = request.routeOptions.url ?? "";
    if (reply.statusCode < 400 || typeof payload !== "string" || !route.startsWith(`${basePath}/`)) return payload;
    let shape: TrpcErrorShape;
    try {
      shape = JSON.parse(payload) as TrpcErrorShape;
    } catch {
      return payload;
    }
    // Only bodies made by the tRPC error formatter; anything else (e.g. a rate limiter's 429) passes as is.
    if (typeof shape.data?.code !== "string" || typeof shape.data.httpStatus !== "number") return payload;
    return JSON.stringify(toRestError(shape));
  });
}

export function toRestError(shape: TrpcErrorShape): RestError {
  const code = String(shape.data?.code ?? shape.code);
  const fieldErrors = shape.data?.fieldErrors;
  if (fieldErrors) {
    const issues = Object.entries(fieldErrors).flatMap(([path, messages]) =>
      messages.map((message) => ({ path, message })),
    );
    return { code, message: issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "), issues };
  }
  const details = shape.data?.details;
  return { code, message: String(shape.message ?? code), ...(details ? { details } : {}) };
}
