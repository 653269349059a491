// GET /api/export: account.export as a file download. The procedure yields the document's text in pieces;
// they go out as they come (a chunked body), so the server holds one page of rows whatever the account's
// size, and a slow download slows the reads instead of filling memory. Authenticated like every REST route
// (cookie or bearer, through the same context); its errors in the same REST shape (errors.ts).
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { OpenAPIObject } from "trpc-to-openapi";
import { z } from "zod";

import { createCaller, type ApiContext } from "@prompt-booster/api";
import { EXPORT_FORMATS, zFullExport, zLocalExport } from "@prompt-booster/api/schemas";

import { asTrpcError, handleError, logUnexpected, sendError, transportError } from "./errors.ts";

type CreateContext = (opts: { req: FastifyRequest; res: FastifyReply }) => Promise<ApiContext>;

export const EXPORT_PATH = "/export";
const PROCEDURE = "account.export";

export function registerExportRoute(app: FastifyInstance, options: { basePath: string; createContext: CreateContext }) {
  const url = `${options.basePath}${EXPORT_PATH}`;
  // As on every REST path: a wrong method is a 405 naming the allowed ones (OPTIONS is CORS's).
  app.route({
    method: ["POST", "PUT", "PATCH", "DELETE"],
    url,
    handler: (request, reply) => {
      void reply.header("allow", "GET, HEAD");
      return sendError(
        request,
        reply,
        transportError(405, `${request.method} is not allowed on ${url}: use GET, HEAD`),
      );
    },
  });
  app.get(url, { config: { procedure: PROCEDURE } }, async (request, reply) => {
    const { format } = request.query as Record<string, unknown>;
    const input = format === undefined ? undefined : { format };
    let ctx: ApiContext | undefined;
    let pieces: AsyncIterator<string> | undefined;
    try {
      ctx = await options.createContext({ req: request, res: reply });
      // Signs in and checks the input (as the procedure's middlewares do on every transport); reads nothing yet.
      const document = await createCaller(ctx).account.export(input as { format: "full" | "local" } | undefined);
      pieces = document[Symbol.asyncIterator]();
      const name = `prompt-booster-${input?.format === "local" ? "local" : "export"}-${ctx.clock.now().toISOString().slice(0, 10)}.json`;
      void reply
        .header("content-type", "application/json; charset=utf-8")
        .header("content-disposition", `attachment; filename="${name}"`)
        .header("cache-control", "no-store");
      if (request.method === "HEAD") {
        await pieces.return?.();
        return reply.send();
      }
      // The first piece before the status: a failure of the first read (the database down) is still an answer.
      const first = await pieces.next();
      return reply.send(Readable.from(rest(first, pieces, request)));
    } catch (error) {
      await pieces?.return?.().catch(() => undefined);
      return handleError(error, request, reply, { path: PROCEDURE, type: "query", input, ctx });
    }
  });
}

/**
 * The pieces from `first` on. A failure once the body has started cannot change the status: it is logged, and
 * the body ends there (the connection is cut, so the client sees an incomplete download, never a short file).
 */
async function* rest(first: IteratorResult<string>, pieces: AsyncIterator<string>, request: FastifyRequest) {
  try {
    for (let next = first; !next.done; next = await pieces.next()) yield next.value;
  } catch (error) {
    logUnexpected(request.log, asTrpcError(error), PROCEDURE);
    throw error;
  }
}

type PathItem = NonNullable<OpenAPIObject["paths"]>[string];

/** The operation of GET /export in the OpenAPI document, given the error responses every protected GET has. */
export function exportPathItem(errorResponses: Record<string, unknown>): PathItem {
  const io = { target: "draft-2020-12" } as const;
  return {
    get: {
      operationId: "account-export",
      summary: "Export everything the account owns",
      description:
        "One JSON document, streamed as a file download (`Content-Disposition: attachment`). `format=full` (default): " +
        '`{ format: "prompt-booster-export", version: 1, exportedAt, user, settings, templates, promptGroups (each with ' +
        "its versions), vault (key and entries encrypted as stored), identities }`, dates as ISO strings. `format=local`: " +
        '`{ format: "prompt-booster-local", version: 1, exportedAt, data }`, where `data` is the app\'s own local data ' +
        "(`history` = PROMPT_STORE, `templates` = its templates record, `settings` = its settings keys) exactly as " +
        "POST /import takes it. Deleted rows are left out. The document is written while rows are read, so a change " +
        "made during the download may or may not be in it. A failure after the body has started cuts the connection.",
      tags: ["account"],
      security: [{ bearer: [] }],
      parameters: [
        {
          name: "format",
          in: "query",
          required: false,
          description: "`full` (default): every row as the server keeps it; `local`: the app's local shapes",
          schema: { type: "string", enum: [...EXPORT_FORMATS], default: "full" },
        },
      ],
      responses: {
        200: {
          description: "The export document",
          headers: {
            "Content-Disposition": {
              description: 'attachment; filename="prompt-booster-export-<date>.json" (…-local-… for format=local)',
              schema: { type: "string" },
            },
          },
          content: {
            "application/json": {
              schema: { oneOf: [z.toJSONSchema(zFullExport, io), z.toJSONSchema(zLocalExport, io)] },
            },
          },
        },
        ...errorResponses,
      },
    },
  };
}
