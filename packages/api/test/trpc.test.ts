// The shared tRPC machinery: error shapes (field-naming BAD_REQUEST, hidden internals) and the auth gate.
import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { z } from "zod";

import type { ApiContext } from "../src/context.ts";
import { createLocalChangeEvents } from "../src/lib/events.ts";
import { AppError } from "../src/lib/errors.ts";
import { createCallerFactory, protectedProcedure, publicProcedure, router } from "../src/trpc.ts";

const probe = router({
  echo: publicProcedure
    .input(z.object({ email: z.email(), tags: z.array(z.string().max(3)).max(2) }))
    .query(({ input }) => input),
  crash: publicProcedure.query(() => {
    throw new Error('relation "User" does not exist at /srv/app/db.ts:12');
  }),
  conflict: publicProcedure.mutation(() => {
    throw new AppError("CONFLICT", "Someone else changed this template", { current: { rev: 7 } });
  }),
  whoami: protectedProcedure.query(({ ctx }) => ctx.auth.user.id),
});

const ctx = (auth: ApiContext["auth"] = null): ApiContext => ({
  db: {} as ApiContext["db"],
  clock: { now: () => new Date() },
  config: { production: true, corsOrigins: [] },
  request: { requestId: randomUUID(), ip: "127.0.0.1", userAgent: null, origin: null },
  events: createLocalChangeEvents(),
  auth,
});

/** The error as a client receives it: run through the router's error formatter. */
async function shapeOf(call: Promise<unknown>) {
  const error = await call.then(
    () => expect.unreachable("the call should fail"),
    (caught: unknown) => caught as TRPCError,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return probe._def._config.errorFormatter({
    error,
    type: "query",
    path: "probe",
    input: undefined,
    ctx: undefined,
    shape: {
      message: error.message,
      code: -32600,
      data: { code: error.code, httpStatus: error.code === "INTERNAL_SERVER_ERROR" ? 500 : 400, path: "probe" },
    },
  }) as { message: string; data: Record<string, unknown> };
}

const caller = createCallerFactory(probe);

describe("error formatting", () => {
  it("names every bad field of an input", async () => {
    const shape = await shapeOf(caller(ctx()).echo({ email: "nope", tags: ["toolong"] }));
    expect(shape.data.code).toBe("BAD_REQUEST");
    expect(shape.message).toMatch(/^email: /);
    expect(shape.message).toContain("tags.0:");
    expect(Object.keys(shape.data.fieldErrors as object)).toEqual(["email", "tags.0"]);
  });

  it("hides the internals of unexpected errors", async () => {
    const shape = await shapeOf(caller(ctx()).crash());
    expect(shape.data.code).toBe("INTERNAL_SERVER_ERROR");
    expect(shape.message).toBe("Internal server error");
    expect(JSON.stringify(shape)).not.toMatch(/relation|db\.ts|stack/);
  });

  it("keeps an AppError's message and details", async () => {
    const shape = await shapeOf(caller(ctx()).conflict());
    expect(shape.data.code).toBe("CONFLICT");
    expect(shape.message).toBe("Someone else changed this template");
    expect(shape.data.details).toEqual({ current: { rev: 7 } });
  });
});

describe("protectedProcedure", () => {
  it("refuses a request without a session", async () => {
    await expect(caller(ctx()).whoami()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("passes the signed-in user on", async () => {
    const auth = {
      user: { id: "u1", email: "a@example.com", username: "a" },
      session: { id: "s1", expiresAt: new Date() },
    };
    expect(await caller(ctx(auth)).whoami()).toBe("u1");
  });
});
