// Every REST answer any test of this package receives through `fetch` is held to the OpenAPI document:
// a status the document does not list for that operation, or a body its schema refuses, fails the test.
import { conformingFetch, openApiConformance } from "./openapi-conformance.ts";

// Built on the first REST answer only: most test files never call /api.
globalThis.fetch = conformingFetch(() => openApiConformance(), globalThis.fetch);
