import { z } from "zod";

import { publicProcedure, router } from "../trpc.ts";

export const systemRouter = router({
  /** Liveness through tRPC itself: proves the router, transformer and context work end to end. */
  ping: publicProcedure.output(z.object({ ok: z.literal(true), time: z.date() })).query(({ ctx }) => ({
    ok: true as const,
    time: ctx.clock.now(),
  })),
});
