export { appRouter, createCaller } from "./root.ts";
export type { AppRouter, RouterInputs, RouterOutputs } from "./root.ts";
export type { ApiConfig, ApiContext, RequestInfo } from "./context.ts";
export { AppError } from "./lib/errors.ts";
export type { AppErrorCode } from "./lib/errors.ts";
export { systemClock } from "./lib/clock.ts";
export type { Clock } from "./lib/clock.ts";
