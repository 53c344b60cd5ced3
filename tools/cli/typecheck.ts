// `npm run typecheck`: every TypeScript program of the project, checked by TypeScript 7's native compiler
// (about three times faster here than TypeScript 6, which stays installed for typescript-eslint and
// openapi-typescript, whose API TypeScript 7 does not offer). Both install a `tsc`, so this names 7's.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import process from "node:process";

const programs = [".", "tools", "tools/tsconfig.document.json", "test", "bench", "bench/http", "console", "test/browser"];
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript-native/package.json")), "bin", "tsc");

for (const program of programs) {
  const run = spawnSync(process.execPath, [tsc, "-p", program], { stdio: "inherit" });
  if (run.status !== 0) {
    process.stderr.write(`typecheck: ${program} failed\n`);
    process.exit(run.status ?? 1);
  }
}
