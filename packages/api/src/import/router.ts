import { protectedProcedure, router } from "../trpc.ts";
import { zImportInput, zImportOutput } from "./schemas.ts";
import { importLocalData } from "./service.ts";

export const importRouter = router({
  localData: protectedProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/import",
        protect: true,
        tags: ["import"],
        summary: "Import the app's local data",
        description:
          "Uploads the app's localStorage data once: `history` (PROMPT_STORE), `templates` (its templates record) and `settings` (its settings keys). A malformed item rejects the whole request before anything is written. Rows are written in batches, each its own transaction: a request cut short leaves whole batches behind, and sending the same data again completes it. Idempotent: importing the same data again changes nothing and answers the same, also when two imports of it run at once. A server runs a few imports at a time (`IMPORT_CONCURRENCY`) and queues a few more (`IMPORT_QUEUE_MAX`); past that it answers 429. Provider API keys are left out and listed in `secretsRemoved`. Large histories go in chunks of groups (at most 10,000 versions, and the body limit, per request).",
      },
    })
    .input(zImportInput)
    .output(zImportOutput)
    .mutation(({ ctx, input }) => {
      const work = () => importLocalData(ctx, ctx.auth.user.id, input);
      return ctx.importLimiter ? ctx.importLimiter.run(work) : work();
    }),
});
