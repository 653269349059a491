// Holds the REST answers a test receives to the OpenAPI document the server publishes: the status must be
// documented for that operation, and the body must match the documented schema of that status.
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

import { openApiDocument } from "../../src/http/openapi.ts";

export interface RestAnswer {
  method: string;
  /** The URL path as sent, e.g. "/api/templates/3f…?limit=5". */
  path: string;
  status: number;
  /** The parsed JSON body; undefined when the answer had none. */
  body: unknown;
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;
interface ResponseObject {
  $ref?: string;
  content?: Record<string, { schema?: unknown }>;
}
type PathItem = Record<string, { responses?: Record<string, ResponseObject> }>;

const basePath = "/api";
const documentId = "openapi.json";

/** A checker over `document` (by default the one the server serves); `check` throws on the first mismatch. */
export function openApiConformance(document: OpenApiDocument = openApiDocument()) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats.default(ajv);
  ajv.addSchema(document, documentId);
  const validators = new Map<string, ValidateFunction>();
  const paths = Object.entries((document.paths ?? {}) as Record<string, PathItem>)
    .map(([template, item]) => ({ template, item, pattern: templatePattern(template) }))
    // A literal segment wins over a parameter, as in the router.
    .sort((a, b) => countParams(a.template) - countParams(b.template));

  function validator(pointer: string): ValidateFunction {
    let validate = validators.get(pointer);
    if (!validate) {
      validate = ajv.compile({ $ref: `${documentId}#${pointer}` });
      validators.set(pointer, validate);
    }
    return validate;
  }

  /** The JSON pointer of the schema for this status of this operation, or a reason it has none. */
  function schemaPointer(answer: RestAnswer): string {
    const path = answer.path.split("?")[0]!;
    if (!path.startsWith(`${basePath}/`)) throw new Error(`${path} is not a REST path`);
    const relative = path.slice(basePath.length).replace(/(.)\/$/, "$1");
    const match = paths.find((entry) => entry.pattern.test(relative));
    const method = answer.method.toLowerCase() === "head" ? "get" : answer.method.toLowerCase();
    const operation = match?.item[method];
    if (!match || !operation) {
      // No operation to hold the answer to: an unknown path is 404, a known one with another method 405, and
      // the transport's own refusals (a path too long, a body too large…) may come before either is known.
      const expected = match ? 405 : 404;
      const component = answer.status === expected ? noOperation[expected] : transportResponses[answer.status];
      if (!component) {
        throw new Error(`${answer.method} ${shorten(path)}: no such operation in the document, yet ${answer.status}`);
      }
      return pointerOfResponse(`#/components/responses/${component}`);
    }
    const response = operation.responses?.[String(answer.status)];
    if (!response) {
      const documented = Object.keys(operation.responses ?? {}).join(", ");
      throw new Error(
        `${answer.method} ${match.template}: status ${answer.status} is not documented (documented: ${documented})`,
      );
    }
    const base = ["paths", match.template, method, "responses", String(answer.status)];
    return response.$ref ? pointerOfResponse(response.$ref) : `${pointer(base)}/content/application~1json/schema`;
  }

  return {
    check(answer: RestAnswer): void {
      const schemaAt = schemaPointer(answer);
      // A redirect (provider sign-in) has a documented status and no body to hold to a schema.
      if (answer.method.toUpperCase() === "HEAD" || (answer.status >= 300 && answer.status < 400)) return;
      const validate = validator(schemaAt);
      if (!validate(answer.body)) {
        const problems = (validate.errors ?? [])
          .map((error) => `${error.instancePath || "(body)"} ${error.message} ${JSON.stringify(error.params)}`)
          .join("; ");
        const body = JSON.stringify(answer.body)?.slice(0, 500);
        throw new Error(
          `${answer.method} ${shorten(answer.path)} → ${answer.status} does not match the document: ${problems}\n${body}`,
        );
      }
    },
  };
}

/** The answers for a request that reaches no operation, by status (components.responses of openapi.ts). */
const noOperation: Record<number, string> = { 404: "NotFound", 405: "MethodNotAllowed" };
const transportResponses: Record<number, string> = {
  400: "BadRequest",
  408: "RequestTimeout",
  413: "PayloadTooLarge",
  414: "UriTooLong",
  415: "UnsupportedMediaType",
  429: "TooManyRequests",
  503: "ServiceUnavailable",
};

function shorten(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function pointerOfResponse(ref: string): string {
  return `${ref.slice(1)}/content/application~1json/schema`;
}

function pointer(segments: string[]): string {
  return segments.map((segment) => `/${segment.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

function templatePattern(template: string): RegExp {
  const source = template
    .split(/\{\w+\}/)
    .map((literal) => literal.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
    .join("[^/]+");
  return new RegExp(`^${source}$`);
}

function countParams(template: string): number {
  return template.split("{").length - 1;
}

/**
 * `fetch` that holds every answer from a REST path to the document before handing it back (its body is
 * still unread). The document itself is no operation of the document, so it passes unchecked.
 */
export function conformingFetch(
  conformance: ReturnType<typeof openApiConformance> | (() => ReturnType<typeof openApiConformance>),
  baseFetch: typeof fetch = globalThis.fetch,
): typeof fetch {
  let checker = typeof conformance === "function" ? undefined : conformance;
  return async (input, init) => {
    const response = await baseFetch(input, init);
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    const { pathname, search } = new URL(response.url);
    // A CORS preflight (OPTIONS) belongs to the CORS protocol, not to the API the document describes.
    const isOperation = method.toUpperCase() !== "OPTIONS" && pathname !== `${basePath}/openapi.json`;
    if (pathname.startsWith(`${basePath}/`) && isOperation) {
      const text = await response.clone().text();
      let body: unknown;
      try {
        body = text === "" ? undefined : JSON.parse(text);
      } catch {
        throw new Error(`${method} ${shorten(pathname)} → ${response.status} is not JSON: ${text.slice(0, 200)}`);
      }
      checker ??= (conformance as () => ReturnType<typeof openApiConformance>)();
      checker.check({ method, path: pathname + search, status: response.status, body });
    }
    return response;
  };
}
