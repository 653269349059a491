import { TRPCError } from "@trpc/server";
import { expect } from "vitest";

import { AppError } from "../../src/lib/errors.ts";

export interface ExpectedError {
  code: string;
  message: string;
  /** The AppError's structured data (the current row of a CONFLICT…). */
  details: Record<string, unknown> | undefined;
}

/**
 * Awaits a call that must fail with `code`, whether it went through a caller (a TRPCError wrapping the
 * AppError or the zod error) or straight to a service (the AppError itself). With `field`, the failure
 * must name that field. Never a 500.
 */
export async function expectAppError(call: Promise<unknown>, code: string, field?: string): Promise<ExpectedError> {
  const error = await call.then(
    (value) => {
      throw new Error(`expected ${code}, got a result: ${JSON.stringify(value).slice(0, 200)}`);
    },
    (error: unknown) => error,
  );
  const appError = error instanceof AppError ? error : error instanceof TRPCError ? error.cause : undefined;
  if (!(error instanceof TRPCError) && !(error instanceof AppError)) throw error;
  expect(error.code, error.message).toBe(code);
  if (field) {
    expect(error.cause, "a zod error").toBeDefined();
    const paths = ((error.cause as { issues?: { path: PropertyKey[] }[] }).issues ?? []).map((issue) =>
      issue.path.join("."),
    );
    expect(
      paths.some((path) => path === field || path.startsWith(`${field}.`)),
      `${field} in ${paths.join(", ")}`,
    ).toBe(true);
  }
  return {
    code: error.code,
    message: error.message,
    details: appError instanceof AppError ? appError.details : undefined,
  };
}
