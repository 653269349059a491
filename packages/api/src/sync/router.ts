import { tracked } from "@trpc/server";

import { protectedProcedure, router } from "../trpc.ts";
import { pull } from "./pull.ts";
import { push } from "./push.ts";
import { zPullInput, zPullOutput, zPushInput, zPushOutput, zSubscribeInput, type RevisionSignal } from "./schemas.ts";
import { revisionSignals } from "./signals.ts";

export const syncRouter = router({
  /** Changes after `since` in revision order, paged on whole revisions; no `since` = a full snapshot. */
  pull: protectedProcedure
    .input(zPullInput)
    .output(zPullOutput)
    .query(({ ctx, input }) => pull(ctx.deps, ctx.auth.user.id, input)),

  /**
   * A device's queued offline writes, applied in order, each exactly once by its mutationId (safe to resend),
   * each answered on its own: applied, conflict (with the current row) or rejected (with field errors).
   */
  push: protectedProcedure
    .input(zPushInput)
    .output(zPushOutput)
    .mutation(async ({ ctx, input }) => {
      const output = await push({ ...ctx.deps, reportError: ctx.reportError }, ctx.auth.user.id, input);
      ctx.countPushResults?.(output.results);
      return output;
    }),

  /**
   * Server-sent events: the user's current revision on connect, then each newer one as it commits (from any
   * server process). Each event's id is its revision, so a reconnecting client resumes with Last-Event-ID.
   * The stream ends with UNAUTHORIZED when its session ends, and with TOO_MANY_REQUESTS when a newer stream
   * of the user takes its place (see `maxStreamsPerUser`).
   */
  subscribe: protectedProcedure.input(zSubscribeInput).subscription(async function* ({ ctx, signal }) {
    for await (const revision of revisionSignals(
      ctx.deps,
      { userId: ctx.auth.user.id, sessionId: ctx.auth.session.id },
      signal,
    )) {
      yield tracked(String(revision), { revision } satisfies RevisionSignal);
    }
  }),
});
