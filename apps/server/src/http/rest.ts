// The REST paths of the original design, served by the same procedures (their `meta.openapi`) as Fastify
// routes of their own: Fastify parses, limits, logs and answers every request once, with its real path
// and status; HEAD mirrors GET; a wrong method is a 405 naming the allowed ones; a POST whose input is
// optional needs no body. (The OpenAPI document is still generated from the same meta: http/openapi.ts.)
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";

import { createCaller, listProcedures, type ApiContext } from "@prompt-booster/api";

import { handleError, sendError, sendNotFound, transportError } from "./errors.ts";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

interface RestProcedure {
  /** The procedure's dotted path, e.g. "templates.update". */
  name: string;
  type: "query" | "mutation";
  method: Method;
  /** The OpenAPI path, e.g. "/templates/{id}". */
  path: string;
  input: z.ZodType | undefined;
}

type CreateContext = (opts: { req: FastifyRequest; res: FastifyReply }) => Promise<ApiContext>;

interface RestOptions {
  basePath: string;
  createContext: CreateContext;
}

export async function registerRestRoutes(app: FastifyInstance, options: RestOptions): Promise<void> {
  const procedures = restProcedures();
  await app.register(
    async (api) => {
      // Plain JSON, parsed here so that an empty body is `{}` and a key such as "__proto__" reaches the input
      // guard, which names the field (Fastify's own parser refuses the whole body without saying where).
      api.removeAllContentTypeParsers();
      api.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
        const text = (body as string).trim();
        if (text === "") return done(null, {});
        try {
          done(null, JSON.parse(text));
        } catch {
          done(transportError(400, "The body is not valid JSON"), undefined);
        }
      });

      for (const procedure of procedures) {
        api.route({
          method: procedure.method,
          url: procedure.path.replace(/\{(\w+)\}/g, ":$1"),
          config: { procedure: procedure.name },
          handler: async (request, reply) => {
            // "/prompts//versions": the router matches an empty segment; no such path exists.
            if (Object.values(request.params as Record<string, string>).includes("")) {
              return sendNotFound(request, reply);
            }
            const input = restInput(procedure, request);
            const ctx = await options.createContext({ req: request, res: reply });
            try {
              return await callProcedure(createCaller(ctx), procedure.name, input);
            } catch (error) {
              return handleError(error, request, reply, { path: procedure.name, type: procedure.type, input, ctx });
            }
          },
        });
      }

      // Failures before a procedure runs: bad JSON, a body over the limit, an unknown media type, a context
      // that could not be built (the database is down).
      api.setErrorHandler((error, request, reply) => handleError(error, request, reply));

      api.setNotFoundHandler((request, reply) => {
        const path = request.url.split("?")[0]!;
        const allowed = allowedMethods(procedures, path.slice(options.basePath.length));
        if (allowed.length > 0) {
          void reply.header("allow", allowed.join(", "));
          const message = `${request.method} is not allowed on ${path.slice(0, 200)}: use ${allowed.join(", ")}`;
          return sendError(request, reply, transportError(405, message));
        }
        return sendNotFound(request, reply);
      });
    },
    { prefix: options.basePath },
  );
}

/** Every procedure with an OpenAPI route. */
function restProcedures(): RestProcedure[] {
  return listProcedures().flatMap(({ path: name, type, input, openapi }) =>
    openapi && type !== "subscription" ? [{ name, type, method: openapi.method, path: openapi.path, input }] : [],
  );
}

/** The methods that have a route for `path` (relative to the base path), HEAD with GET. */
function allowedMethods(procedures: RestProcedure[], path: string): string[] {
  const methods: string[] = procedures
    .filter((procedure) => pathPattern(procedure.path).test(path.replace(/\/$/, "")))
    .map((procedure) => procedure.method);
  if (methods.includes("GET")) methods.push("HEAD");
  return [...new Set(methods)].sort();
}

function pathPattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+")}$`);
}

/** The procedure's input: query string (GET, DELETE) or JSON body, with the path parameters on top. */
function restInput(procedure: RestProcedure, request: FastifyRequest): unknown {
  if (procedure.input && isVoid(procedure.input)) return undefined;
  const params = request.params as Record<string, string>;
  if (procedure.method === "GET" || procedure.method === "DELETE") {
    const query = { ...(request.query as Record<string, string | string[]>) };
    // `?tag=a` is one tag: a list field takes a single value as a list of one.
    for (const key of arrayKeys(procedure.input)) {
      const value = query[key];
      if (typeof value === "string") query[key] = [value];
    }
    return { ...query, ...params };
  }
  const body = request.body ?? {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw transportError(400, "The body must be a JSON object");
  }
  return { ...body, ...params };
}

/** The keys of an object schema whose values are lists. */
function arrayKeys(schema: z.ZodType | undefined): string[] {
  const shape = unwrap(schema)?.def as { type: string; shape?: Record<string, z.ZodType> } | undefined;
  if (shape?.type !== "object" || !shape.shape) return [];
  return Object.entries(shape.shape)
    .filter(([, field]) => (unwrap(field)?.def as { type: string } | undefined)?.type === "array")
    .map(([key]) => key);
}

function isVoid(schema: z.ZodType): boolean {
  const type = (schema.def as { type: string }).type;
  return type === "void" || type === "undefined";
}

/** The schema under optional/nullable/default wrappers. */
function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (let depth = 0; current && depth < 10; depth++) {
    const def = current.def as { type: string; innerType?: z.ZodType };
    if (!["optional", "nullable", "default", "prefault"].includes(def.type) || !def.innerType) return current;
    current = def.innerType;
  }
  return current;
}

async function callProcedure(caller: ReturnType<typeof createCaller>, name: string, input: unknown): Promise<unknown> {
  const call = name.split(".").reduce<unknown>((node, segment) => (node as Record<string, unknown>)[segment], caller);
  return (call as (input: unknown) => Promise<unknown>)(input);
}
