import { defineConfig } from "vitest/config";

// Test files run in separate processes, each with its own database (see @prompt-booster/db/testing).
export default defineConfig({
  test: {
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // Fault and fuzz tests have their own commands (pnpm test:faults, pnpm test:fuzz).
    exclude: ["**/node_modules/**", "test/faults/**", "test/fuzz/**"],
  },
});
