import { defineConfig } from "tsup";

// Two builds of the same entry:
// - dist/index.js for the apps' own bundlers: npm dependencies stay imports, workspace code is compiled in;
// - dist/browser.js, self-contained (every dependency inlined), for a plain <script type="module">.
// Both are checked by test/bundle.test.ts to hold no server code.
export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: "esm",
    platform: "neutral",
    target: "es2022",
    dts: false,
    sourcemap: true,
    clean: true,
    noExternal: [/^@prompt-booster\//],
  },
  {
    entry: { browser: "src/index.ts" },
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: true,
    noExternal: [/.*/],
  },
]);
