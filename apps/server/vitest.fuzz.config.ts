import { defineConfig } from "vitest/config";

import shared from "../../vitest.shared.ts";

// Fuzz tests: property-based and transport abuse, bounded in time.
export default defineConfig({
  test: {
    ...shared.test,
    include: ["test/fuzz/**/*.fuzz.test.ts"],
    exclude: ["**/node_modules/**"],
    fileParallelism: false,
    testTimeout: 180_000,
    // Hostile input over every REST path: each answer must still be one the OpenAPI document describes.
    setupFiles: ["test/support/conforming-fetch.setup.ts"],
  },
});
