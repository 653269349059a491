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
          "Uploads the app's localStorage data once: `history` (PROMPT_STORE), `templates` (its templates record) and `settings` (its settings keys). All or nothing: a malformed item rejects the whole request. Idempotent: importing the same data again changes nothing. Provider API keys are left out and listed in `secretsRemoved`. Large histories go in chunks of groups (at most 10,000 versions, and the body limit, per request).",
      },
    })
    .input(zImportInput)
    .output(zImportOutput)
    .mutation(({ ctx, input }) => importLocalData(ctx, ctx.auth.user.id, input)),
});
