// The shared tRPC machinery: error shapes (field-naming BAD_REQUEST, hidden internals) and the auth gate.
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import superjson, { type SuperJSONResult } from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  config: { corsOrigins: [] },
  request: { requestId: randomUUID(), ip: "127.0.0.1", userAgent: null, origin: null },
  events: createLocalChangeEvents(),
  auth,
});

// The probe router served over real HTTP, so the formatter runs exactly as tRPC runs it for clients.
let url: string;
let server: ReturnType<typeof createHTTPServer>;
beforeAll(async () => {
  server = createHTTPServer({ router: probe, createContext: () => ctx() });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The error as a client receives it: status and the deserialised error shape. */
async function errorOf(path: string, type: "query" | "mutation", input?: unknown) {
  const envelope = encodeURIComponent(JSON.stringify(superjson.serialize(input)));
  const response =
    type === "query"
      ? await fetch(`${url}/${path}?input=${envelope}`)
      : await fetch(`${url}/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(superjson.serialize(input)),
        });
  const body = (await response.json()) as { error: SuperJSONResult };
  const shape = superjson.deserialize<{ message: string; data: Record<string, unknown> }>(body.error);
  return { status: response.status, ...shape };
}

const caller = createCallerFactory(probe);

describe("error formatting", () => {
  it("names every bad field of an input", async () => {
    const shape = await errorOf("echo", "query", { email: "nope", tags: ["toolong"] });
    expect(shape.status).toBe(400);
    expect(shape.data.code).toBe("BAD_REQUEST");
    expect(shape.message).toMatch(/^email: /);
    expect(shape.message).toContain("tags.0:");
    expect(Object.keys(shape.data.fieldErrors as object)).toEqual(["email", "tags.0"]);
  });

  it("hides the internals of unexpected errors", async () => {
    const shape = await errorOf("crash", "query");
    expect(shape.status).toBe(500);
    expect(shape.data.code).toBe("INTERNAL_SERVER_ERROR");
    expect(shape.message).toBe("Internal server error");
    expect(JSON.stringify(shape)).not.toMatch(/relation|db\.ts|stack/);
  });

  it("keeps an AppError's message and details", async () => {
    const shape = await errorOf("conflict", "mutation");
    expect(shape.status).toBe(409);
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
