// The Dockerfile and docker-compose.yml. No Docker engine runs where this project is developed, so:
// - the Dockerfile is linted by dockerfile-utils (the checks of VS Code's Docker language server; hadolint is a
//   Haskell binary that does not install from npm), and parsed by its parser, dockerfile-ast;
// - what only this project knows is checked here: each check returns its problems as sentences, and the last
//   block shows that broken files are caught;
// - the image's files are made and started without an image in runtime-image.e2e.test.ts.
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { DockerfileParser, type Copy, type Env, type From, type Instruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { loadConfig } from "../src/config.ts";

const root = path.resolve(import.meta.dirname, "../../..");
const serverDir = path.join(root, "apps/server");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const dockerfile = read("Dockerfile");
const compose = parseYaml(read("docker-compose.yml")) as unknown;

interface Stage {
  name: string | null;
  instructions: Instruction[];
}

function stagesOf(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === "FROM")
      stages.push({ name: (instruction as From).getBuildStage(), instructions: [] });
    else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

const words = (instruction: Instruction) => instruction.getArguments().map((argument) => argument.getValue());
const lineOf = (instruction: Instruction) => instruction.getRange().start.line + 1;
const jsonArgs = (instruction: Instruction) => JSON.parse(instruction.getArgumentsContent() ?? "[]") as string[];
/** The linter's findings as lines of text. */
const lint = (text: string) =>
  validate(text).map(
    (d) => `line ${d.range.start.line + 1}: ${typeof d.message === "string" ? d.message : d.message.value}`,
  );

/** The final stage's ENV, as the server reads it at start. */
function imageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of stage.instructions.filter((i) => i.getKeyword() === "ENV")) {
    for (const property of (instruction as Env).getProperties()) env[property.getName()] = property.getValue() ?? "";
  }
  return env;
}

// ---------------------------------------------------------------- what this project knows

/** Problems with the Dockerfile beyond what the linter sees; empty when it is right. */
function checkDockerfile(text: string): string[] {
  const problems: string[] = [];
  const stages = stagesOf(text);
  const runtime = stages.at(-1);
  if (!runtime || stages.length < 2) return ["expected a build stage and a runtime stage"];
  const build = stages.slice(0, -1);
  const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);

  // The build: the pnpm the repo pins, then the runtime folder made by the script the e2e test runs too.
  const runs = build.flatMap((stage) => of(stage, "RUN").map((run) => words(run).join(" ")));
  const { packageManager } = JSON.parse(read("package.json")) as { packageManager: string };
  if (!runs.some((run) => run.includes(`npm install -g ${packageManager}`)))
    problems.push(`the build must install ${packageManager} (package.json packageManager)`);
  const folder = runs
    .map((run) => /--filter @prompt-booster\/server exec tsx scripts\/runtime-folder\.ts (\S+)/.exec(run)?.[1])
    .find(Boolean);
  if (!folder) problems.push("the build must make the runtime folder with apps/server/scripts/runtime-folder.ts");

  // Host files the build copies exist and are not left out of the build context.
  const ignored = read(".dockerignore")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  for (const copy of build.flatMap((stage) => of(stage, "COPY").concat(of(stage, "ADD")))) {
    if ((copy as Copy).getFromFlag()) continue;
    for (const source of words(copy).slice(0, -1)) {
      if (!fs.existsSync(path.join(root, source)))
        problems.push(`line ${lineOf(copy)}: COPY source ${source} does not exist`);
      if (ignored.includes(source) || ignored.includes(`/${source}`))
        problems.push(`line ${lineOf(copy)}: COPY source ${source} is excluded by .dockerignore`);
    }
  }

  // The runtime stage carries the runtime folder and nothing else: its package.json, node_modules and dist.
  const copied = of(runtime, "COPY").concat(of(runtime, "ADD"));
  const stageNames = new Set(build.map((stage) => stage.name));
  for (const copy of copied) {
    const from = (copy as Copy).getFromFlag()?.getValue();
    const sources = words(copy).slice(0, -1);
    if (!from || !stageNames.has(from) || !sources.every((source) => folder && source.startsWith(`${folder}/`)))
      problems.push(`line ${lineOf(copy)}: the runtime stage copies something other than the runtime folder`);
  }
  const carried = copied.flatMap((copy) => words(copy).slice(0, -1)).map((source) => path.posix.basename(source));
  for (const part of ["package.json", "node_modules", "dist"])
    if (!carried.includes(part)) problems.push(`the runtime stage must copy the runtime folder's ${part}`);

  // It starts the bundle tsup builds, with an environment the server accepts.
  const cmd = of(runtime, "CMD").at(-1);
  const tsup = fs.readFileSync(path.join(serverDir, "tsup.config.ts"), "utf8");
  if (!cmd || jsonArgs(cmd).join(" ") !== "node dist/main.js" || !/main:\s*"src\/main\.ts"/.test(tsup))
    problems.push("CMD must be node dist/main.js, which tsup builds from src/main.ts");
  const env = imageEnv(runtime);
  try {
    const config = loadConfig(env);
    if (!config.production) problems.push("the image must run with NODE_ENV=production");
  } catch (error) {
    problems.push(`the server rejects the image's environment: ${(error as Error).message}`);
  }

  // The embedded database (no DATABASE_URL) keeps its files in a volume the non-root user may write.
  const user = of(runtime, "USER").at(-1);
  const userName = user ? words(user)[0]?.split(":")[0] : undefined;
  if (!user || !userName || userName === "root" || userName === "0")
    problems.push("the runtime stage must run as a non-root USER");
  const dataDir = env.PGLITE_DATA_DIR ?? "";
  const volumes = of(runtime, "VOLUME").flatMap(jsonArgs);
  if (!volumes.some((volume) => dataDir.startsWith(`${volume.replace(/\/$/, "")}/`)))
    problems.push(`PGLITE_DATA_DIR (${dataDir}) must lie in a VOLUME (${volumes.join(", ") || "none"})`);
  const chowned = of(runtime, "RUN").some((run) => {
    const chown = /chown\s+(?:-R\s+)?([\w-]+)(?::[\w-]+)?\s+(\S+)/.exec(words(run).join(" "));
    return chown !== null && chown[1] === userName && dataDir.startsWith(chown[2]!) && lineOf(run) < lineOf(user!);
  });
  if (!chowned) problems.push(`the data folder must be chown'ed to ${userName} before USER`);
  return problems;
}

/** Problems with docker-compose.yml, given the image it builds; empty when it is right. */
function checkCompose(doc: unknown, text: string): string[] {
  type Service = { environment?: Record<string, string | number>; ports?: string[]; build?: string };
  const services = (doc as { services?: Record<string, Service> }).services ?? {};
  const { api, db } = services;
  if (!api || !db) return ["docker-compose.yml must define the services api and db"];
  const problems: string[] = [];
  const asStrings = (env: Service["environment"]) =>
    Object.fromEntries(Object.entries(env ?? {}).map(([key, value]) => [key, String(value)]));
  if (api.build !== ".") problems.push("api must be built from the repository root (build: .)");
  const apiEnv = { ...imageEnv(stagesOf(text).at(-1)!), ...asStrings(api.environment) };
  const published = (api.ports ?? []).map((port) => port.split(":").at(-1));
  if (!published.includes(apiEnv.PORT)) problems.push(`api must publish its PORT ${apiEnv.PORT}`);

  // DATABASE_URL names the db service with the credentials the db service is created with.
  const dbEnv = asStrings(db.environment);
  const url = URL.canParse(apiEnv.DATABASE_URL ?? "") ? new URL(apiEnv.DATABASE_URL!) : undefined;
  const user = dbEnv.POSTGRES_USER ?? "postgres";
  if (
    !url ||
    url.hostname !== "db" ||
    decodeURIComponent(url.username) !== user ||
    decodeURIComponent(url.password) !== (dbEnv.POSTGRES_PASSWORD ?? "") ||
    url.pathname !== `/${dbEnv.POSTGRES_DB ?? user}`
  )
    problems.push("api's DATABASE_URL must name the db service, its user, password and database");
  try {
    if (loadConfig(apiEnv).db.databaseUrl === undefined) problems.push("api must use PostgreSQL");
  } catch (error) {
    problems.push(`the server rejects api's environment: ${(error as Error).message}`);
  }
  return problems;
}

// ---------------------------------------------------------------- runtime dependencies of the bundle

interface WorkspacePackage {
  dir: string;
  manifest: { name: string; exports?: Record<string, string> };
}

function workspacePackages(): Map<string, WorkspacePackage> {
  const found = new Map<string, WorkspacePackage>();
  for (const group of ["apps", "packages"]) {
    for (const entry of fs.readdirSync(path.join(root, group))) {
      const file = path.join(root, group, entry, "package.json");
      if (!fs.existsSync(file)) continue;
      const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as WorkspacePackage["manifest"];
      found.set(manifest.name, { dir: path.dirname(file), manifest });
    }
  }
  return found;
}

/** Module specifiers a file loads at run time (type-only imports and exports are erased). */
function runtimeSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specifiers: string[] = [];
  for (const match of code.matchAll(
    /(?:^|[;\n])\s*(import|export)\s+(type\s+)?(?:[^'";]*?\bfrom\s*)?["']([^"']+)["']/g,
  ))
    if (!match[2]) specifiers.push(match[3]!);
  for (const match of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) specifiers.push(match[1]!);
  return specifiers;
}

/**
 * The npm packages the server bundle imports at run time. tsup compiles the entries and every
 * @prompt-booster/* module they reach into dist; everything else stays an import, which the production
 * folder resolves from the server's own dependencies only (pnpm deploy --prod).
 */
function bundleExternals(entries: string[]): Set<string> {
  const packages = workspacePackages();
  const externals = new Set<string>();
  const seen = new Set<string>();
  const resolveFile = (base: string) =>
    [base, `${base}.ts`, path.join(base, "index.ts")].find((file) => fs.existsSync(file) && fs.statSync(file).isFile());
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of runtimeSpecifiers(fs.readFileSync(file, "utf8"))) {
      if (specifier.startsWith(".")) {
        const target = resolveFile(path.resolve(path.dirname(file), specifier));
        if (target && /\.[cm]?[jt]s$/.test(target)) visit(target);
        continue;
      }
      const parts = specifier.split("/");
      const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
      const subpath = ["."].concat(parts.slice(specifier.startsWith("@") ? 2 : 1)).join("/");
      const workspace = packages.get(name);
      if (workspace) {
        const target = workspace.manifest.exports?.[subpath];
        if (target) visit(path.join(workspace.dir, target));
      } else if (!specifier.startsWith("node:") && !builtinModules.includes(name)) {
        externals.add(name);
      }
    }
  };
  entries.forEach((entry) => visit(path.join(serverDir, entry)));
  return externals;
}

// ---------------------------------------------------------------- the tests

describe("Dockerfile", () => {
  it("passes the linter", () => {
    expect(lint(dockerfile)).toEqual([]);
  });

  it("builds the runtime folder, copies only it into a non-root image, keeps the embedded database in a volume", () => {
    expect(checkDockerfile(dockerfile)).toEqual([]);
  });

  it("keeps host builds, dependencies, data, secrets and git out of the build context", () => {
    const ignored = read(".dockerignore").split(/\r?\n/);
    for (const entry of ["**/node_modules", "**/dist", "**/.data", ".env", ".git"]) expect(ignored).toContain(entry);
  });

  it("ships every npm package the server bundle imports as a production dependency of the server", () => {
    const tsup = fs.readFileSync(path.join(serverDir, "tsup.config.ts"), "utf8");
    const entries = [...tsup.matchAll(/"(src\/[^"]+\.ts)"/g)].map((match) => match[1]!);
    expect(entries).toContain("src/main.ts");
    const externals = bundleExternals(entries);
    // Sanity: the walk reaches the server, the API and the database layer.
    expect([...externals]).toEqual(expect.arrayContaining(["fastify", "@trpc/server", "@prisma/client", "pg"]));
    const manifest = JSON.parse(fs.readFileSync(path.join(serverDir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const missing = [...externals].filter((name) => !(name in manifest.dependencies));
    expect(missing, "add these to apps/server/package.json dependencies").toEqual([]);
  });
});

describe("docker-compose.yml", () => {
  it("runs the image on the db service's PostgreSQL, with its credentials, on the port the image listens on", () => {
    expect(checkCompose(compose, dockerfile)).toEqual([]);
  });
});

describe("the checks catch broken files", () => {
  const replaced = (text: string, from: string | RegExp, to: string) => {
    const result = text.replace(from, to);
    expect(result, `the fixture no longer contains ${String(from)}`).not.toBe(text);
    return result;
  };

  it.each([
    ["a second CMD", (d: string) => `${d}\nCMD ["node", "other.js"]\n`, /only be one CMD/],
    [
      "a HEALTHCHECK without a command",
      (d: string) => replaced(d, /HEALTHCHECK[^\n]*\\\n.*\n/, "HEALTHCHECK CMD\n"),
      /Missing command/,
    ],
  ])("the linter: %s", (_, mutate, expected) => {
    expect(lint(mutate(dockerfile)).join("\n")).toMatch(expected);
  });

  it.each([
    [
      "a missing COPY source",
      (d: string) => replaced(d, "COPY pnpm-lock.yaml", "COPY pnpm-lock.yml"),
      /does not exist/,
    ],
    [
      "a COPY source left out of the context",
      (d: string) => replaced(d, "COPY pnpm-lock.yaml", "COPY .env"),
      /\.env does not exist|\.env is excluded/,
    ],
    [
      "a host file in the runtime stage",
      (d: string) => replaced(d, "COPY --from=build /out/dist ./dist", "COPY apps/server/dist ./dist"),
      /other than the runtime folder/,
    ],
    [
      "the whole production folder instead of the traced one",
      (d: string) =>
        replaced(d, /^RUN pnpm --filter @prompt-booster\/server exec tsx .*$/m, "RUN pnpm deploy --prod /out"),
      /runtime-folder\.ts/,
    ],
    ["running as root", (d: string) => replaced(d, /^USER .*$/m, "USER root"), /non-root USER/],
    ["no data volume", (d: string) => replaced(d, /^VOLUME .*$/m, ""), /must lie in a VOLUME/],
    [
      "a PORT the server refuses",
      (d: string) => replaced(d, "PORT=3000", "PORT=http"),
      /rejects the image's environment: .*PORT/,
    ],
  ])("Dockerfile: %s", (_, mutate, expected) => {
    expect(checkDockerfile(mutate(dockerfile)).join("\n")).toMatch(expected);
  });

  type Doc = { services: Record<string, { environment: Record<string, string>; ports: string[] }> };
  it.each([
    ["a port the image does not listen on", (doc: Doc) => (doc.services.api!.ports = ["3000:8080"]), /PORT 3000/],
    [
      "a DATABASE_URL at localhost",
      (doc: Doc) =>
        (doc.services.api!.environment.DATABASE_URL =
          "postgresql://prompt_booster:prompt_booster@localhost:5432/prompt_booster"),
      /must name the db service/,
    ],
    ["a changed db password", (doc: Doc) => (doc.services.db!.environment.POSTGRES_PASSWORD = "other"), /password/],
    [
      "a bad CORS origin",
      (doc: Doc) => (doc.services.api!.environment.CORS_ORIGINS = "not a url"),
      /rejects api's environment: .*CORS_ORIGINS/,
    ],
  ])("compose: %s", (_, mutate, expected) => {
    const doc = structuredClone(compose) as Doc;
    mutate(doc);
    expect(checkCompose(doc, dockerfile).join("\n")).toMatch(expected);
  });
});
