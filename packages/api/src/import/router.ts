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
          "Uploads the app's localStorage data once: `history` (PROMPT_STORE, as an object or as the JSON text the app stored, also double-encoded), `templates` (its templates record) and `settings` (its settings keys; `model-settings` as an object or its text). A payload that is not the app's shape is refused whole (400) before anything is written; within it, each item is checked on its own, and one that fails is listed in `errors` with its legacy id and field while the rest is imported. The answer's `ids` maps every legacy id on the server (written now or already there) to its server id. Rows are written in batches, each its own transaction: a request cut short leaves whole batches behind, and sending the same data again completes it. Idempotent: importing the same data again changes nothing and answers the same, also when two imports of it run at once. A server runs a few imports at a time (`IMPORT_CONCURRENCY`) and queues a few more (`IMPORT_QUEUE_MAX`); past that it answers 429. Provider API keys are never stored: each `apiKey` is kept as an empty string and where one was is listed in `secretsRemoved`. The app's built-in templates (recognised by id and content) are skipped. Large histories go in chunks of groups (at most 10,000 versions, and the body limit, per request).",
      },
    })
    .input(zImportInput)
    .output(zImportOutput)
    .mutation(({ ctx, input }) => {
      const work = () => importLocalData(ctx.deps, ctx.auth.user.id, input);
      return ctx.importLimiter ? ctx.importLimiter.run(work) : work();
    }),
});
