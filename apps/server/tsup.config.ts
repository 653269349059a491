import { cpSync, rmSync } from "node:fs";
import { defineConfig } from "tsup";

// One bundle for production: the workspace packages are compiled in, npm dependencies stay external.
// The schema engine's worker is an entry of its own: the migrator starts it from its file beside the bundle.
export default defineConfig({
  entry: {
    main: "src/main.ts",
    migrate: "src/cli/migrate.ts",
    "schema-engine-worker": "../../packages/db/src/schema-engine-worker.ts",
  },
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  clean: true,
  noExternal: [/^@prompt-booster\//],
  async onSuccess() {
    // The migrator reads the schema and migration folders at run time, beside the bundle.
    rmSync("dist/prisma", { recursive: true, force: true });
    cpSync("../../packages/db/prisma", "dist/prisma", { recursive: true });
  },
});
