import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/generated/**", "**/.turbo/**", "**/.data/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // The root's shared vitest config belongs to no package's tsconfig: typed lint reads it with defaults.
        projectService: { allowDefaultProject: ["vitest.shared.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  {
    files: ["**/test/**/*.ts", "**/bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // Plain .mjs scripts run on Node; TypeScript files get their globals from @types/node.
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-console": "off",
      // Stores and limiters implement async interfaces with synchronous bodies: `async` is the honest signature.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // Config is data: the environment is read where the process starts (config.ts and the entry points) and
    // passed down, so nothing else changes behaviour behind the config's back. Tests, bench and scripts are free.
    files: ["apps/*/src/**/*.ts", "packages/*/src/**/*.ts"],
    ignores: [
      "apps/server/src/config.ts",
      "apps/server/src/main.ts",
      "apps/server/src/cli/**",
      "packages/*/src/cli/**",
      "packages/db/src/testing.ts",
    ],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read the environment in config.ts and pass the value down." },
      ],
    },
  },
);
