import { protectedProcedure, router } from "../trpc.ts";
import { exportDocument } from "./export.ts";
import { zExportInput } from "./schemas.ts";

export const accountRouter = router({
  /**
   * Everything the user owns as one JSON document (see schemas.ts), yielded as pieces of its text: joined,
   * they are the document. An async iterable, so tRPC streams it (httpBatchStreamLink) instead of holding
   * it whole; REST serves the same pieces as a file download at GET /api/export (apps/server/src/http/export.ts).
   * No `meta.openapi`: the generic REST routes answer with one JSON value, and this answer is a stream.
   */
  export: protectedProcedure
    .input(zExportInput)
    .query(({ ctx, input }) =>
      exportDocument(ctx.deps.db, ctx.auth.user.id, { format: input?.format ?? "full", now: ctx.deps.clock.now() }),
    ),
});
