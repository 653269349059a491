import { TRPCError } from "@trpc/server";
import { expect } from "vitest";

/** Awaits a call that must fail with `code`; with `field`, the message must name it (never a 500). */
export async function expectError(call: Promise<unknown>, code: TRPCError["code"], field?: string): Promise<TRPCError> {
  const error = await call.then(
    (value) => {
      throw new Error(`expected ${code}, got a result: ${JSON.stringify(value).slice(0, 200)}`);
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(TRPCError);
  const trpcError = error as TRPCError;
  expect(trpcError.code, trpcError.message).toBe(code);
  if (field) {
    expect(trpcError.cause, "a zod error").toBeDefined();
    const paths = ((trpcError.cause as { issues?: { path: PropertyKey[] }[] }).issues ?? []).map((issue) =>
      issue.path.join("."),
    );
    expect(
      paths.some((path) => path === field || path.startsWith(`${field}.`)),
      `${field} in ${paths.join(", ")}`,
    ).toBe(true);
  }
  return trpcError;
}
