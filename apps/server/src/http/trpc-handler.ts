// tRPC on Fastify without a fetch `Request` per call. tRPC's own Fastify adapter copies every request into a
// WHATWG `Request` (a `Headers` built header by header, a URL, a body stream) before `resolveResponse` reads
// five things from it: the method, the URL, two or three headers, the body's text and an abort signal. Those
// five are served here straight from the Node request; the call itself (batching, input, context,
// middleware, errors, SSE) is still tRPC's `resolveResponse`, whose `Response` Fastify sends as before.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AnyRouter } from "@trpc/server";
import { incomingMessageToRequest } from "@trpc/server/adapters/node-http";
import type { FastifyTRPCPluginOptions } from "@trpc/server/adapters/fastify";
import { resolveResponse } from "@trpc/server/http";

import { withCorsVary } from "./cors.ts";

export type TrpcHandlerOptions<TRouter extends AnyRouter> = FastifyTRPCPluginOptions<TRouter>["trpcOptions"] & {
  prefix: string;
};

/** Serves `router` at `${prefix}/:path` (a procedure path, or a batch's comma-joined paths). */
export function registerTrpc<TRouter extends AnyRouter>(app: FastifyInstance, options: TrpcHandlerOptions<TRouter>) {
  const { prefix, ...trpcOptions } = options;
  return app.register(async (scope) => {
    // tRPC reads the JSON body itself (superjson); multipart bodies stay streams for its form-data handler.
    scope.removeContentTypeParser(["application/json", "multipart/form-data"]);
    scope.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => done(null, body));
    scope.addContentTypeParser("multipart/form-data", (_request, body, done) => done(null, body));

    scope.all(`${prefix}/:path`, async (request: FastifyRequest<{ Params: { path: string } }>, reply) => {
      const response = await resolveResponse({
        ...trpcOptions,
        req: toFetchLike(request, reply),
        path: request.params.path,
        error: null,
        createContext: ({ info }) => trpcOptions.createContext!({ req: request, res: reply, info }),
        onError: (error) => trpcOptions.onError?.({ ...error, req: request }),
      });
      const vary = response.headers.get("vary");
      if (vary !== null) response.headers.set("vary", withCorsVary(reply.getHeader("vary"), vary));
      return reply.send(response);
    });
  });
}

/**
 * The parts of a fetch `Request` that `resolveResponse` reads, from the Node request: a body Fastify already
 * read as text (or none). Anything else (a multipart stream) goes through tRPC's full conversion.
 */
function toFetchLike(request: FastifyRequest, reply: FastifyReply): Request {
  const raw = request.raw;
  const body = request.body;
  if (body !== undefined && typeof body !== "string") {
    return incomingMessageToRequest(Object.assign(raw, { body }), reply.raw, { maxBodySize: null });
  }
  const headers = raw.headers;
  const header = (name: string) => {
    const value = headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
  };
  return {
    method: raw.method ?? "GET",
    // Only the path and query are read; a fixed origin keeps a hostile Host header out of URL parsing.
    url: `http://localhost${raw.url ?? "/"}`,
    headers: { get: header, has: (name: string) => header(name) !== null },
    signal: abortedOnDisconnect(reply),
    text: async () => body ?? "",
  } as unknown as Request;
}

/** Aborts when the client goes away before the answer is complete (a subscription's end, a cancelled call). */
export function abortedOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  response.once("close", () => {
    if (!response.writableEnded) controller.abort();
  });
  return controller.signal;
}
