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
          "A partial update: the fields present are set. `settingsData` is an RFC 7396 JSON merge patch of the " +
          "stored object: keys present are set (objects merge recursively), `null` deletes a key, arrays are " +
          "replaced whole, absent keys are kept, so devices editing different keys keep each other's changes. " +
          "The merged object must still fit 64 KB and 10 levels (else 400 naming `settingsData`); a non-empty " +
          "provider `apiKey` anywhere in it is refused. With `baseRev` (the `rev` the device last read), the " +
          "update answers 409 CONFLICT with the current settings in `details.current` only if a path it touches " +
          "(`theme`, `language`, `defaultModel`, or a leaf of the patch such as " +
          "`settingsData.model-settings.state.activeModel`, or what contains or lies inside it) changed after " +
          "`baseRev`, or if `baseRev` is newer than the settings or too old for the server to tell; without it, " +
          "the last write of each path wins.",
      },
    })
    .input(zUpdateSettingsInput)
    .output(zSettings)
    .mutation(({ ctx, input }) => updateSettings(ctx.deps, ctx.auth.user.id, input)),
});
