// http/trpc-handler.ts serves tRPC without building a fetch Request per call. It must answer exactly as tRPC's
// own Fastify adapter does: one Fastify app mounts both on the same router and options (ours at /ours, tRPC's
// at /theirs), and every request below must get the same status, headers and body from each.
import { fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import { initTRPC, TRPCError } from "@trpc/server";
import Fastify, { type FastifyInstance } from "fastify";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

import { registerTrpc } from "../src/http/trpc-handler.ts";

interface Ctx {
  user: string | null;
}
// Not in development mode: error answers then carry no stack (which names each adapter's own frames).
const t = initTRPC.context<Ctx>().create({ transformer: superjson, isDev: false });
const router = t.router({
  hello: t.procedure.input(z.object({ name: z.string().min(1) }).optional()).query(({ input, ctx }) => ({
    greeting: `hello ${input?.name ?? ctx.user ?? "you"}`,
    at: new Date(0),
    nothing: undefined,
  })),
  save: t.procedure.input(z.object({ n: z.number().int() })).mutation(({ input }) => ({ twice: input.n * 2 })),
  secret: t.procedure.query(({ ctx }) => {
    if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in" });
    return ctx.user;
  }),
  broken: t.procedure.query(() => {
    throw new Error("a bug");
  }),
});

let app: FastifyInstance;
let url: string;
const errors: string[] = [];

beforeAll(async () => {
  app = Fastify();
  const options = {
    router,
    createContext: ({ req }: { req: { headers: Record<string, unknown> } }): Ctx => ({
      user: typeof req.headers["x-user"] === "string" ? req.headers["x-user"] : null,
    }),
    maxBatchSize: 3,
    onError: ({ error, path }: { error: TRPCError; path?: string }) => errors.push(`${path}: ${error.code}`),
  };
  await registerTrpc(app, { prefix: "/ours", ...options });
  await app.register(fastifyTRPCPlugin, { prefix: "/theirs", trpcOptions: options });
  url = await app.listen({ host: "127.0.0.1", port: 0 });
});

afterAll(async () => {
  await app.close();
});

/** An answer as a client sees it; the date header differs by the second. */
async function answer(prefix: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${url}/${prefix}/${path}`, init);
  const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== "date"));
  return { status: response.status, headers, body: await response.text() };
}

async function expectSame(path: string, init: RequestInit = {}) {
  errors.length = 0;
  const ours = await answer("ours", path, init);
  const oursErrors = errors.splice(0);
  const theirs = await answer("theirs", path, init);
  expect(ours).toEqual(theirs);
  expect(oursErrors).toEqual(errors);
  return ours;
}

const json = (value: unknown) => encodeURIComponent(JSON.stringify(superjson.serialize(value)));
const post = (body: string, contentType = "application/json"): RequestInit => ({
  method: "POST",
  headers: { "content-type": contentType },
  body,
});

describe("tRPC through trpc-handler.ts answers as tRPC's Fastify adapter", () => {
  it("queries: no input, input, a context from headers, Dates and undefined in the answer", async () => {
    expect((await expectSame("hello")).status).toBe(200);
    await expectSame(`hello?input=${json({ name: "Ada" })}`);
    await expectSame("hello", { headers: { "x-user": "grace" } });
  });

  it("errors: bad input, unreadable input, a procedure's own error, an unexpected one, an unknown path", async () => {
    expect((await expectSame(`hello?input=${json({ name: "" })}`)).status).toBe(400);
    await expectSame("hello?input=%7Bnot-json");
    expect((await expectSame("secret")).status).toBe(401);
    expect((await expectSame("broken")).status).toBe(500);
    expect((await expectSame("nope")).status).toBe(404);
  });

  it("mutations: a JSON body, an empty one, a body that is not JSON, an odd media type, the wrong method", async () => {
    await expectSame("save", post(JSON.stringify(superjson.serialize({ n: 21 }))));
    await expectSame("save", { method: "POST" });
    await expectSame("save", post("{oops"));
    await expectSame("save", post("n=1", "text/plain"));
    await expectSame("save");
    await expectSame("hello", post(JSON.stringify(superjson.serialize({ name: "x" }))));
  });

  it("batches: queries and mutations, one failing among them, and one over the size limit", async () => {
    const inputs = encodeURIComponent(JSON.stringify({ 0: superjson.serialize({ name: "a" }) }));
    await expectSame(`hello,secret,broken?batch=1&input=${inputs}`);
    await expectSame(
      "save,save?batch=1",
      post(JSON.stringify({ 0: superjson.serialize({ n: 1 }), 1: superjson.serialize({ n: 1.5 }) })),
    );
    await expectSame("hello,hello,hello,hello?batch=1&input=%7B%7D");
    await expectSame(`hello,secret?batch=1&input=${inputs}`, { headers: { "trpc-accept": "application/jsonl" } });
  });

  it("other methods: HEAD, PUT, DELETE", async () => {
    expect((await expectSame("hello", { method: "HEAD" })).status).toBe(204);
    await expectSame("save", { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" });
    await expectSame("hello", { method: "DELETE" });
  });
});
