import { generateOpenApiDocument } from "trpc-to-openapi";

import { appRouter } from "@prompt-booster/api";

/** The OpenAPI 3 description of the REST paths, generated from the procedures that serve them. */
export function openApiDocument() {
  return generateOpenApiDocument(appRouter, {
    title: "Prompt Booster API",
    description:
      "Accounts, settings, prompt templates and prompt history of Prompt Booster. Authenticate with `Authorization: Bearer <token>` (from /auth/login or /auth/register) or, in a browser, the session cookie.",
    version: "1.0.0",
    baseUrl: "/api",
    securitySchemes: {
      bearer: { type: "http", scheme: "bearer" },
    },
  });
}
