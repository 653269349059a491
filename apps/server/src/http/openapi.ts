import { generateOpenApiDocument, type OpenAPIObject } from "trpc-to-openapi";

import { appRouter, listProcedures } from "@prompt-booster/api";

import { EXPORT_PATH, exportPathItem } from "./export.ts";

type SchemaObject = NonNullable<NonNullable<OpenAPIObject["components"]>["schemas"]>[string];
type Operation = { operationId?: string; security?: unknown; responses?: Record<string, unknown> } & Record<
  string,
  unknown
>;

/**
 * The OpenAPI 3.1 description of the REST paths, generated from the procedures that serve them, then
 * corrected where the generator's defaults are not what the server answers: which operations need a
 * token, and every error status with the one REST error body.
 */
export function openApiDocument(): OpenAPIObject {
  const document = generateOpenApiDocument(appRouter, {
    title: "Prompt Booster API",
    description:
      "Accounts, settings, prompt templates and prompt history of Prompt Booster. Authenticate with " +
      "`Authorization: Bearer <token>` (from /auth/login or /auth/register) or, in a browser, the session cookie. " +
      "Every error answers `{ code, message, issues?, details? }`. A path called with a method it does not " +
      "serve answers 405 with `Allow`; an unknown path, 404.",
    version: "1.0.0",
    baseUrl: "/api",
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
  });
  const protectedOperations = protectedRoutes();
  const operationIds = new Set<string | undefined>();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item as Record<string, Operation>)) {
      const isProtected = protectedOperations.has(`${method.toUpperCase()} ${path}`);
      operationIds.add(operation.operationId);
      if (!isProtected) delete operation.security;
      operation.responses = {
        200: operation.responses?.["200"],
        ...errorResponses(operation, method, path, isProtected),
      };
    }
  }
  // GET /export streams account.export's document from a route of its own (http/export.ts).
  const exportOperation = { operationId: "account-export" };
  operationIds.add(exportOperation.operationId);
  // Provider sign-in: browser-navigated redirects (http/oauth.ts), not procedures.
  const oauthPaths = oauthPathItems((operationId, path) => {
    operationIds.add(operationId);
    return errorResponses({ operationId }, "get", path, false);
  });
  document.paths = {
    ...document.paths,
    [EXPORT_PATH]: exportPathItem(errorResponses(exportOperation, "get", EXPORT_PATH, true)),
    ...oauthPaths,
  };
  // A renamed procedure must not silently lose its 409 or 429.
  const unknown = Object.keys(ruleStatuses).filter((id) => !operationIds.has(id));
  if (unknown.length > 0) throw new Error(`openapi.ts names operations that do not exist: ${unknown.join(", ")}`);
  const schemas = Object.fromEntries(
    // The generator's own error schemas forbid the `issues[].path` and `details` real answers carry.
    Object.entries(document.components?.schemas ?? {}).filter(([name]) => !name.startsWith("error.")),
  );
  document.components = {
    ...document.components,
    schemas: { ...schemas, Error: errorSchema },
    responses: Object.fromEntries(
      Object.values(errorStatuses).map(({ name, code, description }) => [
        name,
        {
          description,
          content: {
            "application/json": {
              schema: { allOf: [{ $ref: "#/components/schemas/Error" }], properties: { code: { const: code } } },
            },
          },
        },
      ]),
    ),
  };
  return document;
}

/** The body of every REST error (apps/server/src/http/errors.ts). */
const errorSchema: SchemaObject = {
  type: "object",
  required: ["code", "message"],
  additionalProperties: false,
  properties: {
    code: { type: "string", description: "The error code, the same for every answer of one status" },
    message: { type: "string", description: "For a person; with bad input, it names every bad field" },
    issues: {
      type: "array",
      description: "Bad input: one entry per problem",
      items: {
        type: "object",
        required: ["path", "message"],
        additionalProperties: false,
        properties: {
          path: { type: "string", description: 'The dotted field name, e.g. "firstVersion.modelId"' },
          message: { type: "string" },
        },
      },
    },
    details: {
      type: "object",
      description: "Structured data for the client, e.g. `current`, the current row of a 409 CONFLICT",
      additionalProperties: true,
    },
  },
};

const errorStatuses: Record<number, { name: string; code: string; description: string }> = {
  400: {
    name: "BadRequest",
    code: "BAD_REQUEST",
    description:
      "Bad input or a body that is not JSON; a refused mailed token has `details.reason` " +
      '"tokenInvalid", "tokenExpired", "tokenUsed" or "tokenWrongPurpose"',
  },
  401: { name: "Unauthorized", code: "UNAUTHORIZED", description: "No valid session, or wrong credentials" },
  403: {
    name: "Forbidden",
    code: "FORBIDDEN",
    description:
      "Not allowed (another user's public template, a foreign origin); `details.reason` says when the client can " +
      'act: "emailNotVerified" (confirm the email first), "mailNotConfigured" (the server sends no mail)',
  },
  404: {
    name: "NotFound",
    code: "NOT_FOUND",
    description: "No such row for this user (another user's private rows too)",
  },
  412: {
    name: "PreconditionFailed",
    code: "PRECONDITION_FAILED",
    description:
      'Not possible in the account\'s state; `details.reason`: "noPassword" (an account made by a provider sign-in ' +
      'has no password yet: set one through the password reset), "lastSignInMethod" (unlinking would leave no way in)',
  },
  405: { name: "MethodNotAllowed", code: "METHOD_NOT_SUPPORTED", description: "The path exists, not with this method" },
  408: { name: "RequestTimeout", code: "TIMEOUT", description: "The request did not arrive in time" },
  409: {
    name: "Conflict",
    code: "CONFLICT",
    description: "Stale `baseRev` or a taken id or name; `details` says more",
  },
  413: { name: "PayloadTooLarge", code: "PAYLOAD_TOO_LARGE", description: "The body is over the server's limit" },
  414: { name: "UriTooLong", code: "URI_TOO_LONG", description: "The request path is too long" },
  415: { name: "UnsupportedMediaType", code: "UNSUPPORTED_MEDIA_TYPE", description: "The body is not JSON" },
  429: { name: "TooManyRequests", code: "TOO_MANY_REQUESTS", description: "Rate limited; see `Retry-After`" },
  431: {
    name: "HeadersTooLarge",
    code: "HEADERS_TOO_LARGE",
    description: "The request headers (or URL) are too large",
  },
  500: { name: "InternalServerError", code: "INTERNAL_SERVER_ERROR", description: "An unexpected failure" },
  503: {
    name: "ServiceUnavailable",
    code: "SERVICE_UNAVAILABLE",
    description: "The database is down or the server is stopping",
  },
};

/** Statuses an operation's own rules add to those of the transport, by operationId. */
const ruleStatuses: Record<string, number[]> = {
  "auth-register": [409, 429],
  "auth-login": [401, 403, 429],
  "auth-refreshToken": [429],
  // Mail off (no SMTP_URL in production): 403 mailNotConfigured. Per IP and per address limits: 429.
  "auth-requestPasswordReset": [403, 429],
  // A deactivated account: 403.
  "auth-resetPassword": [403, 429],
  // Provider sign-in: a refused code or link (401 invalidCode/invalidLink), wrong password, rate limits; a
  // deactivated account (403); unlinking the last way to sign in (412), or a provider not linked (404).
  "auth-oauthExchange": [401, 403, 429],
  "auth-oauthLink": [401, 403, 429],
  "auth-identities": [],
  "auth-unlinkIdentity": [404, 412],
  "auth-oauthStart": [401],
  "auth-oauthCallback": [429],
  "settings-update": [409],
  "templates-create": [409],
  "templates-update": [409],
  "prompts-create": [409],
  "prompts-addVersion": [409],
  // The import limiter refuses an import past its queue.
  "import-localData": [429],
};

function errorResponses(operation: Operation, method: string, path: string, isProtected: boolean) {
  const statuses = [400, 408, 414, 431, 500, 503];
  // A body may come with any method but GET; Fastify checks its size and media type before any procedure.
  if (method !== "get") statuses.push(413, 415);
  if (isProtected) statuses.push(401, 403);
  if (path.includes("{")) statuses.push(404);
  const id = operation.operationId ?? "";
  statuses.push(...(ruleStatuses[id] ?? []));
  return Object.fromEntries(
    [...new Set(statuses)]
      .sort((a, b) => a - b)
      .map((status) => [status, { $ref: `#/components/responses/${errorStatuses[status]!.name}` }]),
  );
}

/**
 * "METHOD /path" of every procedure whose meta says `protect: true`. The generator treats a missing
 * `protect` as true, which marked register and login as needing the token they hand out.
 */
function protectedRoutes(): Set<string> {
  const routes = listProcedures().flatMap(({ openapi }) =>
    openapi?.protect === true ? [`${openapi.method} ${openapi.path}`] : [],
  );
  return new Set(routes);
}

const providerParameter = {
  name: "provider",
  in: "path" as const,
  required: true,
  description: "A provider listed by GET /auth/providers (`oauth[].id`)",
  schema: { type: "string" as const, enum: ["github", "google", "oidc"] },
};

const queryParameter = (name: string, description: string) => ({
  name,
  in: "query" as const,
  required: false,
  description,
  schema: { type: "string" as const },
});

/** GET /auth/oauth/{provider}/start and /callback: opened by the browser, answered with redirects. */
function oauthPathItems(errors: (operationId: string, path: string) => Record<string, unknown>) {
  const startPath = "/auth/oauth/{provider}/start";
  const callbackPath = "/auth/oauth/{provider}/callback";
  const redirect = (description: string) => ({
    description,
    headers: { Location: { description: "Where the browser goes next", schema: { type: "string" as const } } },
  });
  return {
    [startPath]: {
      get: {
        operationId: "auth-oauthStart",
        summary: "Start signing in with a provider (open in the browser)",
        description:
          "Sends the browser to the provider, with this server's state, PKCE verifier and nonce in a signed HttpOnly " +
          "cookie (`pb_oauth`, 10 minutes). Same-site web app: `return_to`. Code flow (desktop app, cross-site web " +
          "app): `redirect_uri` (loopback `http://127.0.0.1:<port>/…`, a scheme of OAUTH_DESKTOP_SCHEMES, or an " +
          "origin of CORS_ORIGINS), `code_challenge` (S256) and `state`. Linking to the signed-in user: `link=1` " +
          "with the session cookie, or `link_ticket` from auth.oauthLinkStart.",
        tags: ["auth"],
        parameters: [
          providerParameter,
          queryParameter("return_to", "Same-site web app: the path of APP_URL to come back to (default `/`)"),
          queryParameter("redirect_uri", "Code flow: where the one-time code (or `error`) is sent"),
          queryParameter("code_challenge", "Code flow: BASE64URL(SHA-256(code_verifier)), 43 characters"),
          queryParameter("state", "Code flow: the app's opaque value (at most 500 characters), sent back as is"),
          queryParameter("link", "`1`: link the provider to the signed-in user (session cookie)"),
          queryParameter("link_ticket", "Link the provider to the user of this auth.oauthLinkStart ticket"),
        ],
        responses: {
          302: redirect("To the provider's authorization page (or back to the app with `error=provider_error`)"),
          ...errors("auth-oauthStart", startPath),
        },
      },
    },
    [callbackPath]: {
      get: {
        operationId: "auth-oauthCallback",
        summary: "The provider's redirect back (register this URL at the provider)",
        description:
          "Checks the state against the cookie, redeems the code, validates the ID token, then: same-site, sets the " +
          "session cookie and redirects to APP_URL + return_to; code flow, redirects to `redirect_uri?code=…&state=…` " +
          "(the code is single use, 60 seconds, for auth.oauthExchange). Refusals redirect with `error` (code flow) or " +
          "`oauth_error` (same-site): access_denied, invalid_state, provider_error, email_unverified, link_required " +
          "(with `link`, for auth.oauthLink or auth.requestOAuthLinkMail), account_disabled, identity_taken. With no " +
          "valid flow cookie there is nowhere vetted to go: 400.",
        tags: ["auth"],
        parameters: [
          providerParameter,
          queryParameter("code", "The provider's authorization code"),
          queryParameter("state", "The state this server sent"),
          queryParameter("error", "The provider's refusal"),
          queryParameter("iss", "The provider's issuer (RFC 9207)"),
        ],
        responses: {
          302: redirect("Back to the app (see the description)"),
          ...errors("auth-oauthCallback", callbackPath),
        },
      },
    },
  };
}
