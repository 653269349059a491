// The input guard (packages/api/src/lib/input-guard.ts) sees what superjson decoded, and superjson's
// decoding silently drops a "__proto__" key: a client that sent one would have part of its input ignored
// without a word. So on /trpc the raw JSON is looked at first — only when its text could hold such a key,
// literally or through a \u escape, which ordinary clients never send.
import type { FastifyInstance } from "fastify";
import { TRPCError } from "@trpc/server";

import { asZodError, findInputProblem } from "@prompt-booster/api";

import { sendError } from "./errors.ts";

const MAY_HOLD_PROTO_KEY = /__proto__|\\u/;

export function guardRawTrpcInput(app: FastifyInstance, prefix: string): void {
  app.addHook("preHandler", async (request, reply) => {
    if (!request.url.startsWith(`${prefix}/`)) return;
    const text = typeof request.body === "string" ? request.body : (request.query as { input?: unknown }).input;
    if (typeof text !== "string" || !MAY_HOLD_PROTO_KEY.test(text)) return;
    let envelopes: unknown;
    try {
      envelopes = JSON.parse(text);
    } catch {
      return; // tRPC answers unreadable JSON itself
    }
    // One call is `{ json, meta }`; a batch is `{ "0": { json, meta }, "1": … }`.
    const batch = new URL(request.url, "http://x").searchParams.get("batch") === "1";
    const calls = batch && envelopes && typeof envelopes === "object" ? Object.values(envelopes) : [envelopes];
    for (const call of calls) {
      const problem = findInputProblem((call as { json?: unknown } | null)?.json);
      if (problem) {
        return sendError(request, reply, new TRPCError({ code: "BAD_REQUEST", cause: asZodError(problem) }));
      }
    }
  });
}
