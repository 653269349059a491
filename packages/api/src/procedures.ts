// The router's procedures as plain data, for what is built from them outside tRPC: the REST routes, the
// OpenAPI document's extras, the metrics' label set, the fuzz suite.
import type { OpenApiMeta } from "trpc-to-openapi";
import type { z } from "zod";

import { appRouter } from "./root.ts";

export interface ProcedureInfo {
  /** The dotted path, e.g. "templates.update". */
  path: string;
  type: "query" | "mutation" | "subscription";
  /** The input schema (the first `.input()`), if any. */
  input: z.ZodType | undefined;
  /** Its REST route, for a procedure the original design also serves over REST. */
  openapi: NonNullable<OpenApiMeta["openapi"]> | undefined;
}

export function listProcedures(): ProcedureInfo[] {
  // tRPC keeps the flat table of procedures on `_def.procedures`, outside its public types.
  const table = (appRouter._def as unknown as { procedures: Record<string, { _def: unknown }> }).procedures;
  return Object.entries(table).map(([path, procedure]) => {
    const def = procedure._def as { type: ProcedureInfo["type"]; inputs: z.ZodType[]; meta?: OpenApiMeta };
    return { path, type: def.type, input: def.inputs[0], openapi: def.meta?.openapi };
  });
}
