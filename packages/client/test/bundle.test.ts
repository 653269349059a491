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

const requireHere = createRequire(path.join(root, "package.json"));

beforeAll(() => {
  execFileSync(process.execPath, [requireHere.resolve("tsup/dist/cli-default.js")], { cwd: root, stdio: "pipe" });
}, 180_000);

/** The part of esbuild's API used here (esbuild comes with tsup, not as a dependency of its own). */
interface EsbuildApi {
  build: (options: Record<string, unknown>) => Promise<{ outputFiles: { contents: Uint8Array }[] }>;
}

function sourcesOf(file: string): string[] {
  return (JSON.parse(fs.readFileSync(dist(`${file}.map`), "utf8")) as { sources: string[] }).sources;
}

describe("client bundle", () => {
  it("the self-contained browser bundle holds no server module and nothing of the api package", () => {
    const sources = sourcesOf("browser.js");
    expect(sources.length).toBeGreaterThan(20);
    expect(sources.filter((source) => isServerCode(source))).toEqual([]);
    expect(sources.filter((source) => source.includes("packages/api/") || source.startsWith("../../api/"))).toEqual([]);
    // And by content: no driver, ORM or server framework strings made it in.
    // (esbuild's `// path` comments name pnpm folders such as "@trpc+server@…_fastify@5…": drop them first.)
    const code = fs
      .readFileSync(dist("browser.js"), "utf8")
      .split("\n")
      .filter((line) => !line.startsWith("// "))
      .join("\n");
    for (const marker of ["PrismaClient", "@prisma/", "fastify", "argon2", "pg-protocol", "PGlite", "node:fs"]) {
      expect(code.includes(marker), marker).toBe(false);
    }
  });

  it("the schemas entry carries the api package's schema files (and their pure helpers) only", () => {
    const fromApi = sourcesOf("schemas.js").filter(
      (source) => source.includes("packages/api/") || source.startsWith("../../api/"),
    );
    expect(fromApi.length).toBeGreaterThan(0);
    for (const source of fromApi) {
      expect(source).toMatch(/\/(schemas|lib\/(schemas|json|cursor|input-guard)|settings\/secrets)\.ts$/);
    }
    expect(sourcesOf("schemas.js").filter((source) => isServerCode(source))).toEqual([]);
  });

  it("the declarations import nothing of this repository, so an app's own @prompt-booster/api cannot shadow them", () => {
    const declarations = ["index", "schemas", "electron"].flatMap((entry) => [`${entry}.d.ts`, `${entry}.d.cts`]);
    for (const file of declarations) {
      const text = fs.readFileSync(dist(file), "utf8");
      expect(text.match(/from ['"]@prompt-booster\/[^'"]*['"]|import\(['"][^'"]*['"]\)/g), file).toBeNull();
    }
  });

  it("a web app pays less than 60 KB gzipped for createClient and SyncEngine", async () => {
    const esbuild = createRequire(requireHere.resolve("tsup")).resolve("esbuild");
    const { build } = (await import(esbuild)) as EsbuildApi;
    const result = await build({
      stdin: { contents: 'export { createClient, SyncEngine } from "./dist/index.js";', resolveDir: root },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false,
      logLevel: "silent",
    });
    const gzipped = zlib.gzipSync(result.outputFiles[0]!.contents).length;
    expect(gzipped).toBeLessThan(60 * 1024);
  });

  it("the package build imports only the client's own dependencies", () => {
    const code = fs.readFileSync(dist("index.js"), "utf8");
    const imports = [...code.matchAll(/^import\s[^;]*?from\s+"([^"]+)"/gm)].map((match) => match[1]);
    expect(new Set(imports)).toEqual(new Set(["@trpc/client", "@trpc/server/observable", "eventsource", "superjson"]));
    expect(sourcesOf("index.js").filter((source) => isServerCode(source))).toEqual([]);
  });
});
