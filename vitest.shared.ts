import { defineConfig } from "vitest/config";

// Test files run in separate processes, each with its own database (see @prompt-booster/db/testing).
export default defineConfig({
  test: {
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
  },
});
