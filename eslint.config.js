import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Dependencies point one way: http and routes → services → edge → db, with auth, mail and schemas below
// them all; nothing in src/ reaches tools/.
const noTools = { group: ["**/tools/**"], message: "src/ must not import tools/ (Node-side tooling is never bundled)" };
const layer = (files, patterns) => ({
  files,
  rules: { "no-restricted-imports": ["error", { patterns: [noTools, ...patterns] }] },
});

export default tseslint.config(
  {
    ignores: ["node_modules/", "clients/openapi.generated.ts", "**/.wrangler/", ".local/", "public/", "worker-configuration.d.ts", "dist/"],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
      "no-console": "off",
    },
  },
  layer(["src/**/*.ts"], []),
  // a function longer than a screen holds more than one idea: name the parts (route definitions are data)
  {
    files: ["src/**/*.ts", "console/**/*.ts"],
    ignores: ["src/routes/**/*.routes.ts"],
    rules: { "max-lines-per-function": ["error", { max: 60, skipBlankLines: true, skipComments: true }] },
  },
  layer(["src/routes/**/*.ts"], [{ group: ["kysely", "kysely/*", "**/db/**"], message: "routes never touch SQL: call a service" }]),
  layer(
    ["src/http/**/*.ts"],
    [{ group: ["kysely", "kysely/*", "**/db/**"], message: "the HTTP layer never touches SQL: go through a service" }],
  ),
  layer(
    ["src/services/**/*.ts"],
    [{ group: ["hono", "hono/*", "@hono/*", "**/routes/**", "**/middleware/**"], message: "services know nothing of HTTP" }],
  ),
  layer(
    ["src/db/**/*.ts"],
    [{ group: ["hono", "hono/*", "@hono/*", "**/routes/**", "**/middleware/**", "**/services/**"], message: "repositories hold SQL only" }],
  ),
  layer(
    ["src/auth/**/*.ts", "src/mail/**/*.ts"],
    [{ group: ["**/db/**", "**/services/**"], message: "auth/ and mail/ own their types and sit below services" }],
  ),
  {
    // one log helper (src/log.ts) writes every line the Worker logs
    files: ["src/**/*.ts"],
    ignores: ["src/log.ts"],
    rules: { "no-console": "error" },
  },
);
