import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

import { accountRouter } from "./account/router.ts";
import { authRouter } from "./auth/router.ts";
import { importRouter } from "./import/router.ts";
import { promptsRouter } from "./prompts/router.ts";
import { settingsRouter } from "./settings/router.ts";
import { syncRouter } from "./sync/router.ts";
import { systemRouter } from "./system/router.ts";
import { templatesRouter } from "./templates/router.ts";
import { createCallerFactory, router } from "./trpc.ts";
import { vaultRouter } from "./vault/router.ts";

export const appRouter = router({
  system: systemRouter,
  auth: authRouter,
  settings: settingsRouter,
  templates: templatesRouter,
  prompts: promptsRouter,
  sync: syncRouter,
  import: importRouter,
  vault: vaultRouter,
  account: accountRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export const createCaller = createCallerFactory(appRouter);
