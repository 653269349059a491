// Modules of the client package bundled for a browser page (every dependency inlined), straight from its
// source: for pages that need more than the built dist/browser.js exports.
import { createRequire } from "node:module";
import path from "node:path";

export const clientDir = path.resolve(import.meta.dirname, "../../../../packages/client");

/** The part of esbuild's API used here (esbuild comes with tsup, the client package's bundler). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles: { text: string }[] }>;
}

/** One ES module re-exporting `modules` (paths relative to packages/client, e.g. "./src/index.ts"). */
export async function bundleClientModules(modules: readonly string[]): Promise<string> {
  const tsup = createRequire(path.join(clientDir, "package.json")).resolve("tsup");
  const esbuild = (await import(createRequire(tsup).resolve("esbuild"))) as Esbuild;
  const result = await esbuild.build({
    stdin: {
      contents: modules.map((module) => `export * from ${JSON.stringify(module)};`).join("\n"),
      resolveDir: clientDir,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
  });
  return result.outputFiles[0]!.text;
}
