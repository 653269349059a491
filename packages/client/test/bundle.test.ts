// The client must carry no server code: build it, then read what went into the bundles.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import zlib from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");
const dist = (file: string) => path.join(root, "dist", file);

// Server-side packages (by npm name) and workspace folders that must never reach a client.
const SERVER_PACKAGES =
  /^(@prisma\/.*|prisma|fastify|@fastify\/.*|@node-rs\/argon2.*|pg|pg-.*|@electric-sql\/pglite|pglite-prisma-adapter|lucia|ioredis|@oslojs\/.*|trpc-to-openapi)$/;
const SERVER_FOLDERS = /(^|\/)(packages\/db|apps\/server|db\/src)\//;

/** The npm package a bundled source came from (the last node_modules segment), or its workspace path. */
function origin(source: string): { pkg: string | null; path: string } {
  const match = [...source.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].at(-1);
  return { pkg: match?.[1] ?? null, path: source };
}
const isServerCode = (source: string) => {
  const { pkg, path: file } = origin(source);
  return pkg ? SERVER_PACKAGES.test(pkg) : SERVER_FOLDERS.test(file);
};

const isApiSource = (source: string) => source.includes("packages/api/") || source.startsWith("../../api/");
/** The api package's files a client may carry: the schemas and their pure helpers. */
const SCHEMA_FILES = /\/(schemas|lib\/(schemas|json|cursor|input-guard)|settings\/(secrets|merge-patch))\.ts$/;

const requireHere = createRequire(path.join(root, "package.json"));

beforeAll(() => {
  execFileSync(process.execPath, [requireHere.resolve("tsup/dist/cli-default.js")], { cwd: root, stdio: "pipe" });
}, 180_000);

/** The part of esbuild's API used here (esbuild comes with tsup, not as a dependency of its own). */
interface EsbuildApi {
  build: (options: Record<string, unknown>) => Promise<{ outputFiles: { path: string; contents: Uint8Array }[] }>;
}

function sourcesOf(file: string): string[] {
  return (JSON.parse(fs.readFileSync(dist(`${file}.map`), "utf8")) as { sources: string[] }).sources;
}

/** The sources of an entry and of the build's chunks it imports statically (ESM builds share chunks). */
function sourcesWithChunks(file: string): string[] {
  const chunks = [...fs.readFileSync(dist(file), "utf8").matchAll(/^} from "\.\/(chunk-[^"]+)";$/gm)];
  return [...sourcesOf(file), ...chunks.flatMap(([, chunk]) => sourcesWithChunks(chunk!))];
}

describe("client bundle", () => {
  it("the self-contained browser bundle is one file with no server module, and of the api package only schemas", () => {
    const code = fs.readFileSync(dist("browser.js"), "utf8");
    // The engine's validation (zod and the schemas, a dynamic import) is inlined: a page loads one file.
    expect(code.match(/^import\s|\bimport\("/gm)).toBeNull();
    const sources = sourcesOf("browser.js");
    expect(sources.length).toBeGreaterThan(20);
    expect(sources.filter((source) => isServerCode(source))).toEqual([]);
    for (const source of sources.filter(isApiSource)) expect(source).toMatch(SCHEMA_FILES);
    // And by content: no driver, ORM or server framework strings made it in.
    // (esbuild's `// path` comments name pnpm folders such as "@trpc+server@…_fastify@5…": drop them first.)
    const text = code
      .split("\n")
      .filter((line) => !line.startsWith("// "))
      .join("\n");
    for (const marker of ["PrismaClient", "@prisma/", "fastify", "argon2", "pg-protocol", "PGlite", "node:fs"]) {
      expect(text.includes(marker), marker).toBe(false);
    }
  });

  it("the schemas entry carries the api package's schema files (and their pure helpers) only", () => {
    const fromApi = sourcesWithChunks("schemas.js").filter(isApiSource);
    expect(fromApi.length).toBeGreaterThan(0);
    for (const source of fromApi) expect(source).toMatch(SCHEMA_FILES);
    expect(sourcesWithChunks("schemas.js").filter((source) => isServerCode(source))).toEqual([]);
  });

  it("the declarations import nothing of this repository, so an app's own @prompt-booster/api cannot shadow them", () => {
    const declarations = ["index", "schemas", "electron"].flatMap((entry) => [`${entry}.d.ts`, `${entry}.d.cts`]);
    for (const file of declarations) {
      const text = fs.readFileSync(dist(file), "utf8");
      expect(text.match(/from ['"]@prompt-booster\/[^'"]*['"]|import\(['"][^'"]*['"]\)/g), file).toBeNull();
    }
  });

  it("a web app pays less than 60 KB gzipped for createClient and SyncEngine until it writes", async () => {
    const esbuild = createRequire(requireHere.resolve("tsup")).resolve("esbuild");
    const { build } = (await import(esbuild)) as EsbuildApi;
    // Split as an app's bundler splits a dynamic import: the engine loads zod and the schemas (validate.ts)
    // on its first write, or at start when writes are queued.
    const result = await build({
      stdin: { contents: 'export { createClient, SyncEngine } from "./dist/index.js";', resolveDir: root },
      bundle: true,
      minify: true,
      format: "esm",
      splitting: true,
      outdir: path.join(root, "dist-size"),
      platform: "browser",
      target: "es2022",
      write: false,
      logLevel: "silent",
    });
    const gzipped = (name: RegExp) =>
      result.outputFiles
        .filter((file) => name.test(path.basename(file.path)))
        .reduce((sum, file) => sum + zlib.gzipSync(file.contents).length, 0);
    const entry = gzipped(/^stdin\.js$/);
    const onDemand = gzipped(/^validate-/);
    expect(entry).toBeLessThan(60 * 1024);
    // The validation chunk is real (zod is in it), and loaded only on demand.
    expect(onDemand).toBeGreaterThan(10 * 1024);
  });

  it("the package build imports only the client's own dependencies (zod only in the chunk loaded on demand)", () => {
    /** The npm packages a file imports, following its static imports of the build's own chunks. */
    const staticImports = (file: string, seen = new Set<string>()): Set<string> => {
      const packages = new Set<string>();
      if (seen.has(file)) return packages;
      seen.add(file);
      const code = fs.readFileSync(dist(file), "utf8");
      for (const [, specifier] of code.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)) {
        if (specifier!.startsWith("./")) for (const pkg of staticImports(specifier!.slice(2), seen)) packages.add(pkg);
        else packages.add(specifier!);
      }
      return packages;
    };
    expect(staticImports("index.js")).toEqual(
      new Set(["@trpc/client", "@trpc/server/observable", "eventsource", "superjson"]),
    );
    const lazy = [...fs.readFileSync(dist("index.js"), "utf8").matchAll(/import\("\.\/([^"]+)"\)/g)].map((m) => m[1]!);
    expect(lazy).toEqual([expect.stringMatching(/^validate-.*\.js$/)]);
    expect(staticImports(lazy[0]!)).toEqual(new Set(["zod"]));
    expect(sourcesWithChunks("index.js").filter((source) => isServerCode(source))).toEqual([]);
    expect(sourcesWithChunks("index.js").filter(isApiSource)).toEqual([]);
  });
});
