import { protectedProcedure, router } from "../trpc.ts";
import { zGetSettingsInput, zSettings, zUpdateSettingsInput } from "./schemas.ts";
import { getSettings, updateSettings } from "./service.ts";

const tags = ["settings"];

export const settingsRouter = router({
  get: protectedProcedure
    .meta({ openapi: { method: "GET", path: "/settings", protect: true, tags, summary: "The user's settings" } })
    .input(zGetSettingsInput)
    .output(zSettings)
    .query(({ ctx }) => getSettings(ctx.deps, ctx.auth.user.id)),

  update: protectedProcedure
    .meta({
      openapi: {
        method: "PUT",
        path: "/settings",
        protect: true,
        tags,
        summary: "Update some settings",
        description:
          "A partial update. With `baseRev`, a stale revision answers 409 CONFLICT with the current settings.",
      },
    })
    .input(zUpdateSettingsInput)
    .output(zSettings)
    .mutation(({ ctx, input }) => updateSettings(ctx.deps, ctx.auth.user.id, input)),
});
