// Runs after `npm install`: puts Swagger UI's files where wrangler serves static assets from,
// so /docs works with no internet, and builds the admin console there (/admin).
// Plain JavaScript: it may run on whatever Node ran npm.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConsole } from "./build-console.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);
const swaggerUi = dirname(require.resolve("swagger-ui-dist/package.json"));
const target = join(root, "public", "docs");

mkdirSync(target, { recursive: true });
for (const file of ["swagger-ui.css", "swagger-ui-bundle.js"]) {
  copyFileSync(join(swaggerUi, file), join(target, file));
}

await buildConsole();
