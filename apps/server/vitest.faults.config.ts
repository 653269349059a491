import { defineConfig } from "vitest/config";

import shared from "../../vitest.shared.ts";

// Fault tests kill servers and restart the machine's PostgreSQL: one file at a time.
export default defineConfig({
  test: {
    ...shared.test,
    include: ["test/faults/**/*.faults.test.ts"],
    exclude: ["**/node_modules/**"],
    fileParallelism: false,
    testTimeout: 180_000,
  },
});
