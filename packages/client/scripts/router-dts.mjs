// Writes the router's types as plain declarations (generated/app-router.d.ts), which the declaration build
// inlines in place of "@prompt-booster/api" (tsup.config.ts). The checker prints every procedure's input and
// output as the structural type it resolves to, so the published client carries AppRouter without the server's
// context type (Prisma, config) or OpenAPI metadata, and imports nothing of this repository: an app with a
// package named @prompt-booster/api of its own cannot shadow it.
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

const root = path.resolve(import.meta.dirname, "..");
const probe = path.join(root, "src", "__router-probe.ts");
const probeText = `import type { AppRouter } from "@prompt-booster/api";\nexport type Probe = AppRouter;\n`;

const config = ts.getParsedCommandLineOfConfigFile(
  path.join(root, "tsconfig.json"),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  },
);
const host = ts.createCompilerHost(config.options);
const readFile = host.readFile.bind(host);
host.readFile = (file) => (path.resolve(file) === probe ? probeText : readFile(file));
const fileExists = host.fileExists.bind(host);
host.fileExists = (file) => path.resolve(file) === probe || fileExists(file);
const program = ts.createProgram([probe], config.options, host);
const checker = program.getTypeChecker();
const source = program.getSourceFile(probe);
const alias = source.statements.find(ts.isTypeAliasDeclaration);
const routerType = checker.getTypeAtLocation(alias.name);

const FLAGS =
  ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias | ts.TypeFormatFlags.UseStructuralFallback;
const print = (type) => checker.typeToString(type, alias, FLAGS);
const prop = (type, name) => {
  const symbol = type.getProperty(name);
  if (!symbol) throw new Error(`no ${name} on ${print(type)}`);
  return checker.getTypeOfSymbolAtLocation(symbol, alias);
};

const KIND = {
  query: "TRPCQueryProcedure",
  mutation: "TRPCMutationProcedure",
  subscription: "TRPCSubscriptionProcedure",
};

function record(type, indent) {
  const pad = "  ".repeat(indent);
  const lines = type.getProperties().map((symbol) => {
    const member = checker.getTypeOfSymbolAtLocation(symbol, alias);
    const def = member.getProperty("_def") ? prop(member, "_def") : null;
    if (def && def.getProperty("procedure")) {
      const kind = prop(def, "type").value;
      const types = prop(def, "$types");
      return `${pad}${symbol.name}: ${KIND[kind]}<{ input: ${print(prop(types, "input"))}; output: ${print(prop(types, "output"))}; meta: object }>;`;
    }
    return `${pad}${symbol.name}: {\n${record(member, indent + 1)}\n${pad}};`;
  });
  return lines.join("\n");
}

const rootTypes = prop(prop(prop(routerType, "_def"), "_config"), "$types");
const body = `import type { inferRouterInputs, inferRouterOutputs, TRPC_ERROR_CODE_NUMBER, TRPCBuiltRouter, TRPCMutationProcedure, TRPCQueryProcedure, TRPCSubscriptionProcedure } from "@trpc/server";

export type AppRouter = TRPCBuiltRouter<
  { ctx: object; meta: object; errorShape: ${print(prop(rootTypes, "errorShape"))}; transformer: true },
  {
${record(prop(prop(routerType, "_def"), "record"), 2)}
  }
>;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
`;

// Types tRPC declares in an internal chunk print as `import("…/unstable-core-do-not-import-<hash>").<alias>`:
// name them by what the chunk exports under that alias, then by public or local declarations.
const PUBLIC = new Set(["TRPC_ERROR_CODE_NUMBER"]);
const LOCAL = {
  TrackedData:
    "/** What a tracked subscription yields (tRPC's TrackedData). */\ninterface TrackedData<TData> {\n  id: string;\n  data: TData;\n}\n",
};
const locals = new Set();
const out = body.replace(
  /import\("([^"]*unstable-core-do-not-import-[^"]*)"\)\.([A-Za-z_$][\w$]*)/g,
  (_, chunk, alias) => {
    const declared = chunkAliases(chunk).get(alias);
    if (declared && PUBLIC.has(declared)) return declared;
    if (declared && LOCAL[declared]) {
      locals.add(declared);
      return declared;
    }
    throw new Error(
      `router-dts: no public name for tRPC's internal type ${declared ?? alias}; add it to PUBLIC or LOCAL`,
    );
  },
);
const leftover = out.match(/import\("[^"]*"\)/);
if (leftover) throw new Error(`router-dts: the router's types refer to ${leftover[0]}, which an app cannot resolve`);

function chunkAliases(chunk) {
  const text = fs.readFileSync(`${chunk}.d.mts`, "utf8");
  const list = [...text.matchAll(/^export \{([^}]*)\}/gm)].at(-1)?.[1] ?? "";
  const aliases = new Map();
  for (const entry of list.split(",")) {
    const [declared, alias] = entry
      .replace(/^\s*type\s+/, "")
      .trim()
      .split(/\s+as\s+/);
    if (declared) aliases.set(alias ?? declared, declared);
  }
  return aliases;
}

const target = path.join(root, "generated", "app-router.d.ts");
fs.mkdirSync(path.dirname(target), { recursive: true });
// Tests build the client in parallel (the browser tests, the package test): a reader never sees half a file.
const temporary = `${target}.${process.pid}.tmp`;
fs.writeFileSync(
  temporary,
  `// Generated by scripts/router-dts.mjs from the API's router; do not edit.\n${out}\n${[...locals].map((name) => LOCAL[name]).join("\n")}`,
);
fs.renameSync(temporary, target);
