import { execFileSync } from "node:child_process";
import path from "node:path";

import { defineConfig } from "tsup";

// The published package (dist/index, dist/schemas, dist/electron; ESM and CommonJS, with declarations):
// npm dependencies stay imports, this repository's code is compiled in. Its declarations inline the router's
// types from generated/app-router.d.ts (written by scripts/router-dts.mjs, run here so a bare `tsup` works
// too) and the schemas from the api package's source, so they import nothing of this repository.
// dist/browser.js is the same client self-contained (every dependency inlined) for a plain
// <script type="module">. test/bundle.test.ts checks that none of them holds server code.
execFileSync(process.execPath, [path.join(import.meta.dirname, "scripts/router-dts.mjs")], { stdio: "inherit" });

const declarations = {
  compilerOptions: {
    paths: {
      "@prompt-booster/api": ["./generated/app-router.d.ts"],
      "@prompt-booster/api/schemas": ["../api/src/schemas.ts"],
    },
  },
};

export default defineConfig([
  {
    entry: { index: "src/index.ts", schemas: "src/schemas.ts" },
    format: ["esm", "cjs"],
    platform: "neutral",
    target: "es2022",
    dts: declarations,
    sourcemap: true,
    // No clean: test files build the client in parallel, and one must not empty dist under another's feet.
    clean: false,
    noExternal: [/^@prompt-booster\//],
  },
  {
    // Node only (node:fs): kept off the main entry so browser bundles never see it.
    entry: { electron: "src/electron.ts" },
    format: ["esm", "cjs"],
    platform: "node",
    target: "node20",
    // FileSyncStore's declarations name the sync types: inlined like the main entry's.
    dts: declarations,
    sourcemap: true,
  },
  {
    entry: { browser: "src/index.ts" },
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: true,
    noExternal: [/.*/],
    // One file: the engine's on-demand validation (a dynamic import) is inlined, not split into chunks.
    splitting: false,
  },
]);
