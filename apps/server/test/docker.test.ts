// The Dockerfile and docker-compose.yml, checked by parsing them: no Docker engine runs where this project is
// developed or tested. Each check returns its problems as sentences, so a test can also show that a broken
// file is caught (the second half of this file), not only that the real files pass.
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { loadConfig } from "../src/config.ts";

const root = path.resolve(import.meta.dirname, "../../..");
const serverDir = path.join(root, "apps/server");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");

// ---------------------------------------------------------------- a small Dockerfile parser

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

/** Instructions in order: continuation lines joined, comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith("#") || (trimmed === "" && !pending)) return;
    const continued = /\\\s*$/.test(raw);
    const part = continued ? raw.replace(/\\\s*$/, "") : raw;
    if (pending) pending.parts.push(part.trim());
    else pending = { parts: [part.trim()], line: index + 1 };
    if (continued) return;
    const joined = pending.parts.filter(Boolean).join(" ");
    const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/s.exec(joined) ?? [];
    out.push({ keyword: keyword.toUpperCase(), args: args.trim(), line: pending.line });
    pending = undefined;
  });
  return out;
}

/** Splits into build stages; `ARG`s before the first FROM are substituted into FROM lines. */
function stagesOf(instructions: Instruction[]): Stage[] {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "ARG" && stages.length === 0) {
      const [key, value = ""] = ins.args.split("=", 2) as [string, string?];
      globalArgs[key.trim()] = value.trim();
    } else if (ins.keyword === "FROM") {
      const expanded = ins.args.replace(/\$\{?(\w+)\}?/g, (_, name: string) => globalArgs[name] ?? "");
      const words = expanded.split(/\s+/).filter((word) => !word.startsWith("--"));
      const asAt = words.findIndex((word) => word.toUpperCase() === "AS");
      stages.push({ name: asAt >= 0 ? words[asAt + 1] : undefined, base: words[0] ?? "", instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

/** `["a", "b"]` (exec form) or `a b` (shell form, as `/bin/sh -c`). */
function commandOf(args: string): string[] {
  if (args.startsWith("[")) return JSON.parse(args) as string[];
  return ["/bin/sh", "-c", args];
}

function flagsAndWords(args: string): { flags: Record<string, string>; words: string[] } {
  const flags: Record<string, string> = {};
  const words: string[] = [];
  const tokens = args.startsWith("[") ? (JSON.parse(args) as string[]) : args.split(/\s+/).filter(Boolean);
  for (const token of tokens) {
    const flag = /^--([\w-]+)(?:=(.*))?$/.exec(token);
    if (flag && words.length === 0) flags[flag[1]!] = flag[2] ?? "true";
    else words.push(token);
  }
  return { flags, words };
}

/** ENV of a stage, following `FROM <earlier stage>`. Supports `K=V K2="V 2"` and the legacy `K V`. */
function envOf(stages: Stage[], stage: Stage): Record<string, string> {
  const parent = stages.find((s) => s !== stage && s.name !== undefined && s.name === stage.base);
  const env: Record<string, string> = parent ? envOf(stages, parent) : {};
  for (const ins of stage.instructions.filter((i) => i.keyword === "ENV")) {
    if (!/^\w+=/.test(ins.args)) {
      const [key = "", ...rest] = ins.args.split(/\s+/);
      env[key] = rest.join(" ");
      continue;
    }
    for (const match of ins.args.matchAll(/(\w+)=("([^"]*)"|'([^']*)'|\S*)/g)) {
      env[match[1]!] = match[3] ?? match[4] ?? match[2]!;
    }
  }
  return env;
}

// ---------------------------------------------------------------- the properties that matter

const packageManagerVersion = () =>
  (JSON.parse(read("package.json")) as { packageManager: string }).packageManager.split("@")[1]!;

/** Problems with the Dockerfile, as sentences; empty when it is right. */
function checkDockerfile(text: string): string[] {
  const problems: string[] = [];
  const stages = stagesOf(parseDockerfile(text));
  if (stages.length < 2) return [`expected a multi-stage build, found ${stages.length} stage(s)`];
  const final = stages.at(-1)!;
  const earlier = stages.slice(0, -1);
  const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
  const runs = earlier.flatMap((stage) => all(stage, "RUN").map((i) => i.args)).join("\n");

  // Build stage: the pinned pnpm, a frozen install, the generated client, the bundle, a production folder.
  const pnpmVersion = packageManagerVersion();
  if (!runs.includes(`npm install -g pnpm@${pnpmVersion}`))
    problems.push(`the build stage must install pnpm@${pnpmVersion} (package.json packageManager) with npm`);
  if (!/pnpm install [^\n]*--frozen-lockfile/.test(runs))
    problems.push("the build must run pnpm install --frozen-lockfile");
  if (!/--filter @prompt-booster\/db db:generate/.test(runs))
    problems.push("the build must generate the Prisma client");
  if (!/--filter @prompt-booster\/server build/.test(runs)) problems.push("the build must build the server");
  if (!/--filter @prompt-booster\/server deploy --prod/.test(runs))
    problems.push("the build must cut a production-only folder (pnpm deploy --prod)");
  const scripts = (file: string) => (JSON.parse(read(file)) as { scripts: Record<string, string> }).scripts;
  if (!scripts("packages/db/package.json")["db:generate"]) problems.push("packages/db has no db:generate script");
  if (!scripts("apps/server/package.json").build) problems.push("apps/server has no build script");

  // Runtime stage: nothing from the host but what an earlier stage produced.
  const finalCopies = all(final, "COPY").concat(all(final, "ADD"));
  const stageNames = new Set(earlier.map((stage) => stage.name));
  for (const copy of finalCopies) {
    const from = flagsAndWords(copy.args).flags.from;
    if (!from || !stageNames.has(from))
      problems.push(`line ${copy.line}: the runtime stage copies from the host or an unknown stage (${copy.args})`);
  }
  const copiedInto = finalCopies.map((copy) => flagsAndWords(copy.args).words.at(-1));
  if (!copiedInto.some((dest) => dest?.replace(/\/$/, "").endsWith("node_modules")))
    problems.push("the runtime stage must copy the production node_modules");
  if (!copiedInto.some((dest) => dest?.replace(/\/$/, "").endsWith("dist")))
    problems.push("the runtime stage must copy the built dist (with dist/prisma)");

  const env = envOf(stages, final);
  if (env.NODE_ENV !== "production") problems.push(`NODE_ENV must be production (is ${env.NODE_ENV})`);
  if (env.HOST !== "0.0.0.0") problems.push(`HOST must be 0.0.0.0 in a container (is ${env.HOST})`);
  const exposed = all(final, "EXPOSE").flatMap((i) => i.args.split(/\s+/).map((port) => port.split("/")[0]));
  if (env.PORT === undefined || !exposed.includes(env.PORT))
    problems.push(`EXPOSE (${exposed.join(", ") || "none"}) must include PORT (${env.PORT})`);

  const users = all(final, "USER");
  const user = users.at(-1)?.args.split(":")[0];
  if (!user || user === "root" || user === "0")
    problems.push(`the runtime stage must run as a non-root USER (is ${user ?? "root"})`);
  const userLine = users.at(-1)?.line ?? Infinity;
  const cmd = all(final, "CMD").at(-1);
  if (!cmd || cmd.line < userLine) problems.push("USER must come before CMD");

  // The embedded database's folder: a volume the user may write to.
  const dataDir = env.PGLITE_DATA_DIR;
  const volumes = all(final, "VOLUME").flatMap((i) =>
    i.args.startsWith("[") ? (JSON.parse(i.args) as string[]) : i.args.split(/\s+/),
  );
  if (!dataDir || dataDir.startsWith("memory://") || !path.posix.isAbsolute(dataDir))
    problems.push(`PGLITE_DATA_DIR must be an absolute folder (is ${dataDir})`);
  else if (!volumes.some((volume) => dataDir === volume || dataDir.startsWith(`${volume.replace(/\/$/, "")}/`)))
    problems.push(`PGLITE_DATA_DIR (${dataDir}) must lie in a VOLUME (${volumes.join(", ") || "none"})`);
  else if (
    !all(final, "RUN").some((run) => {
      const chown = /chown\s+(?:-R\s+)?([\w-]+)(?::[\w-]+)?\s+(\S+)/.exec(run.args);
      return chown && chown[1] === user && dataDir.startsWith(chown[2]!.replace(/\/$/, "")) && run.line < userLine;
    })
  )
    problems.push(`the data folder must be chown'ed to ${user} before USER`);

  const healthchecks = all(final, "HEALTHCHECK");
  const healthcheck = healthchecks.at(-1)?.args ?? "";
  const probe = /\bCMD\s+(.*)$/s.exec(healthcheck)?.[1];
  const probeCommand = probe ? commandOf(probe.trim()) : [];
  if (!probe) problems.push("the runtime stage must have a HEALTHCHECK with a command");
  else if (!probeCommand.join(" ").includes("/health")) problems.push("the HEALTHCHECK must call /health");
  else if (probeCommand[0] !== "node" && !/^node\s/.test(probeCommand[2] ?? ""))
    problems.push("the HEALTHCHECK must use node (slim images have no curl or wget)");

  if (cmd && commandOf(cmd.args).join(" ") !== "node dist/main.js")
    problems.push(`CMD must be node dist/main.js (is ${cmd.args})`);
  const tsup = fs.readFileSync(path.join(serverDir, "tsup.config.ts"), "utf8");
  if (!/main:\s*"src\/main\.ts"/.test(tsup)) problems.push("tsup no longer builds dist/main.js from src/main.ts");

  // Whatever the build copies from the host exists in the repo and is not excluded by .dockerignore.
  const ignored = read(".dockerignore")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  for (const stage of earlier) {
    for (const copy of all(stage, "COPY").concat(all(stage, "ADD"))) {
      const { flags, words } = flagsAndWords(copy.args);
      if (flags.from) continue;
      for (const source of words.slice(0, -1)) {
        if (!fs.existsSync(path.join(root, source)))
          problems.push(`line ${copy.line}: COPY source ${source} does not exist`);
        if (ignored.includes(source) || ignored.includes(`/${source}`))
          problems.push(`line ${copy.line}: COPY source ${source} is excluded by .dockerignore`);
      }
    }
  }
  return problems;
}

/** Problems with docker-compose.yml, given the Dockerfile it builds; empty when it is right. */
function checkCompose(compose: unknown, dockerfile: string): string[] {
  const problems: string[] = [];
  type Service = Record<string, unknown> & {
    environment?: Record<string, string | number> | string[];
    healthcheck?: { test?: string | string[] };
  };
  const doc = (compose ?? {}) as { services?: Record<string, Service>; volumes?: Record<string, unknown> };
  const api = doc.services?.api;
  const db = doc.services?.db;
  if (!api || !db) return ["docker-compose.yml must define the services api and db"];
  const envMap = (service: Service): Record<string, string> =>
    Array.isArray(service.environment)
      ? Object.fromEntries(service.environment.map((entry) => entry.split(/=(.*)/s, 2) as [string, string]))
      : Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value)]));
  const probe = (service: Service) => [service.healthcheck?.test ?? []].flat().join(" ");

  // api: built from this Dockerfile, published on the port the image listens on, waits for a healthy db.
  const build = api.build as string | { context?: string } | undefined;
  const context = typeof build === "string" ? build : build?.context;
  if (context !== "." && context !== "./") problems.push("api must be built from the repository root (build: .)");
  const stages = stagesOf(parseDockerfile(dockerfile));
  const imageEnv = stages.length ? envOf(stages, stages.at(-1)!) : {};
  const apiEnv = { ...imageEnv, ...envMap(api) };
  const ports = ((api.ports ?? []) as (string | number | { target?: number; published?: number | string })[]).map(
    (port) => (typeof port === "object" ? String(port.target) : String(port).split(":").at(-1)!.split("/")[0]),
  );
  if (!ports.includes(apiEnv.PORT ?? ""))
    problems.push(`api must publish its PORT ${apiEnv.PORT} (publishes ${ports.join(", ")})`);
  const dependsOn = api.depends_on as Record<string, { condition?: string }> | string[] | undefined;
  if (Array.isArray(dependsOn) || dependsOn?.db?.condition !== "service_healthy")
    problems.push("api must depend on db with condition service_healthy");
  if (!api.restart || api.restart === "no") problems.push("api must have a restart policy");
  if (!probe(api).includes("/health")) problems.push("api's healthcheck must call /health");

  // db: PostgreSQL 16 on a named volume, healthy when pg_isready says so.
  if (db.image !== "postgres:16" && !String(db.image).startsWith("postgres:16-"))
    problems.push(`db must be postgres:16 (is ${String(db.image)})`);
  const dbVolumes = ((db.volumes ?? []) as (string | { source?: string; target?: string })[]).map((volume) =>
    typeof volume === "string"
      ? { source: volume.split(":")[0], target: volume.split(":")[1] }
      : { source: volume.source, target: volume.target },
  );
  const dataVolume = dbVolumes.find((volume) => volume.target === "/var/lib/postgresql/data");
  if (!dataVolume?.source || !(dataVolume.source in (doc.volumes ?? {})))
    problems.push("db must keep /var/lib/postgresql/data on a named volume declared under volumes:");
  if (!probe(db).includes("pg_isready")) problems.push("db's healthcheck must use pg_isready");

  // DATABASE_URL: the db service, with the credentials the db service is created with.
  const dbEnv = envMap(db);
  let url: URL | undefined;
  try {
    url = new URL(apiEnv.DATABASE_URL ?? "");
  } catch {
    problems.push(`api's DATABASE_URL is not a URL (${apiEnv.DATABASE_URL})`);
  }
  if (url) {
    const user = dbEnv.POSTGRES_USER ?? "postgres";
    const database = dbEnv.POSTGRES_DB ?? user;
    if (!/^postgres(ql)?:$/.test(url.protocol)) problems.push("api's DATABASE_URL must be a postgresql:// URL");
    if (url.hostname !== "db")
      problems.push(`api's DATABASE_URL must point at the db service (points at ${url.hostname})`);
    if ((url.port || "5432") !== "5432") problems.push(`api's DATABASE_URL must use port 5432 (uses ${url.port})`);
    if (decodeURIComponent(url.username) !== user) problems.push(`api's DATABASE_URL user must be ${user}`);
    if (decodeURIComponent(url.password) !== (dbEnv.POSTGRES_PASSWORD ?? ""))
      problems.push("api's DATABASE_URL password must be db's POSTGRES_PASSWORD");
    if (url.pathname !== `/${database}`) problems.push(`api's DATABASE_URL database must be ${database}`);
  }

  // The server accepts the environment the container gets (image ENV, then compose's).
  try {
    const config = loadConfig(apiEnv);
    if (!config.production) problems.push("api must run with NODE_ENV=production");
    if (config.db.databaseUrl === undefined) problems.push("api must use PostgreSQL, not the embedded database");
  } catch (error) {
    problems.push(`the server rejects api's environment: ${(error as Error).message}`);
  }
  return problems;
}

// ---------------------------------------------------------------- runtime dependencies of the bundle

interface WorkspacePackage {
  dir: string;
  manifest: { name: string; exports?: Record<string, string>; dependencies?: Record<string, string> };
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
 * image resolves from the server's own dependencies only.
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

const dockerfile = read("Dockerfile");
const compose = parseYaml(read("docker-compose.yml")) as unknown;

describe("Dockerfile", () => {
  it("is multi-stage, production-only, non-root, healthchecked, and copies only what exists", () => {
    expect(checkDockerfile(dockerfile)).toEqual([]);
  });

  it("keeps the build context free of host builds, dependencies, data and git", () => {
    const ignored = read(".dockerignore").split(/\r?\n/);
    for (const entry of ["node_modules", "dist", ".turbo", ".data"])
      expect(
        ignored.some((line) => line === entry || line === `**/${entry}`),
        entry,
      ).toBe(true);
    expect(ignored).toContain(".git");
  });

  it("ships every npm package the server bundle imports as a dependency of the server", () => {
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
  it("runs the API on postgres:16, healthy before the API starts, with matching credentials and port", () => {
    expect(checkCompose(compose, dockerfile)).toEqual([]);
  });
});

describe("the checks catch broken files", () => {
  const replaced = (text: string, from: string | RegExp, to: string) => {
    const result = text.replace(from, to);
    expect(result, `the fixture no longer contains ${String(from)}`).not.toBe(text);
    return result;
  };

  it("parses continuation lines, comments, exec and shell forms", () => {
    const stages = stagesOf(
      parseDockerfile(
        [
          "# syntax=docker/dockerfile:1",
          "ARG BASE=node:20",
          "FROM ${BASE} AS build",
          "RUN a \\",
          "  # a comment inside a continuation",
          "  && b",
          "FROM build",
          'ENV A=1 \\\n    B="two words"',
          "ENV LEGACY some value",
          'CMD ["node", "x.js"]',
        ].join("\n"),
      ),
    );
    expect(stages.map((stage) => [stage.name, stage.base])).toEqual([
      ["build", "node:20"],
      [undefined, "build"],
    ]);
    expect(stages[0]!.instructions[0]).toMatchObject({ keyword: "RUN", args: "a && b", line: 4 });
    expect(envOf(stages, stages[1]!)).toEqual({ A: "1", B: "two words", LEGACY: "some value" });
    expect(commandOf(stages[1]!.instructions.at(-1)!.args)).toEqual(["node", "x.js"]);
  });

  it.each([
    ["a single stage", (d: string) => d.replace(/FROM \$\{NODE_IMAGE\} AS runtime[\s\S]*$/, ""), /multi-stage/],
    ["running as root", (d: string) => replaced(d, /^USER .*$/m, "USER root"), /non-root USER/],
    ["no USER", (d: string) => replaced(d, /^USER .*$/m, ""), /non-root USER/],
    ["a healthcheck off /health", (d: string) => replaced(d, "/health'", "/ready'"), /must call \/health/],
    [
      "a curl healthcheck",
      (d: string) => replaced(d, /HEALTHCHECK[^\n]*\\\n.*\n/, "HEALTHCHECK CMD curl -f http://127.0.0.1:3000/health\n"),
      /use node/,
    ],
    [
      "NODE_ENV=development",
      (d: string) => replaced(d, "NODE_ENV=production", "NODE_ENV=development"),
      /NODE_ENV must be production/,
    ],
    [
      "a wrong EXPOSE",
      (d: string) => replaced(d, /^EXPOSE 3000$/m, "EXPOSE 8080"),
      /EXPOSE \(8080\) must include PORT \(3000\)/,
    ],
    [
      "a host COPY in the runtime stage",
      (d: string) => replaced(d, "COPY --from=build /out/dist ./dist", "COPY apps/server/dist ./dist"),
      /copies from the host/,
    ],
    [
      "a missing COPY source",
      (d: string) => replaced(d, "COPY pnpm-lock.yaml", "COPY pnpm-lock.yml"),
      /pnpm-lock\.yml does not exist/,
    ],
    ["no frozen lockfile", (d: string) => replaced(d, / --frozen-lockfile/, ""), /frozen-lockfile/],
    ["no production deploy", (d: string) => replaced(d, "deploy --prod", "deploy"), /production-only folder/],
    ["no data volume", (d: string) => replaced(d, /^VOLUME .*$/m, ""), /must lie in a VOLUME/],
  ])("Dockerfile: %s", (_, mutate, expected) => {
    expect(checkDockerfile(mutate(dockerfile)).join("\n")).toMatch(expected);
  });

  type Doc = { services: Record<string, Record<string, unknown>>; volumes: Record<string, unknown> };
  const mutated = (mutate: (doc: Doc) => void) => {
    const doc = structuredClone(compose) as Doc;
    mutate(doc);
    return doc;
  };

  it.each([
    ["api not waiting for db health", (doc: Doc) => (doc.services.api!.depends_on = ["db"]), /service_healthy/],
    [
      "a port the image does not listen on",
      (doc: Doc) => (doc.services.api!.ports = ["3000:8080"]),
      /must publish its PORT 3000/,
    ],
    ["postgres 15", (doc: Doc) => (doc.services.db!.image = "postgres:15"), /must be postgres:16/],
    ["no db volume", (doc: Doc) => delete doc.services.db!.volumes, /named volume/],
    [
      "a db healthcheck without pg_isready",
      (doc: Doc) => (doc.services.db!.healthcheck = { test: ["CMD", "true"] }),
      /pg_isready/,
    ],
    ["no api restart policy", (doc: Doc) => delete doc.services.api!.restart, /restart policy/],
    [
      "a DATABASE_URL at localhost",
      (doc: Doc) =>
        ((doc.services.api!.environment as Record<string, string>).DATABASE_URL =
          "postgresql://prompt_booster:prompt_booster@localhost:5432/prompt_booster"),
      /point at the db service/,
    ],
    [
      "a changed db password",
      (doc: Doc) => ((doc.services.db!.environment as Record<string, string>).POSTGRES_PASSWORD = "other"),
      /password/,
    ],
    [
      "a bad CORS origin",
      (doc: Doc) => ((doc.services.api!.environment as Record<string, string>).CORS_ORIGINS = "not a url"),
      /rejects api's environment: .*CORS_ORIGINS/,
    ],
  ])("compose: %s", (_, mutate, expected) => {
    expect(checkCompose(mutated(mutate), dockerfile).join("\n")).toMatch(expected);
  });
});
