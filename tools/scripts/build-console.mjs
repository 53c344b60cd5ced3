// Builds the admin console (console/) into the Worker's static assets (public/, git-ignored): the page
// at /admin (public/admin.html), its script, styles and icon (public/admin/) and the headers that make
// it safe (public/_headers, which Workers static assets apply in `wrangler dev` and in production alike).
// Runs after `npm install` (postinstall) and before `npm run dev`, so the tests, the dev server and
// `wrangler deploy` all see the current console. Plain JavaScript: postinstall may run on whatever Node
// ran npm.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const source = join(root, "console");
const assets = join(root, "public");
const target = join(assets, "admin");

/** Builds the console; answers the sizes of its script, for the record. */
export async function buildConsole() {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  await build({
    entryPoints: { console: join(source, "main.ts") },
    outdir: target,
    bundle: true,
    minify: true,
    format: "esm",
    // every browser an operator is likely to use in 2026; no polyfills
    target: "es2022",
    legalComments: "none",
    logLevel: "warning",
  });
  await build({ entryPoints: { console: join(source, "console.css") }, outdir: target, bundle: true, minify: true, logLevel: "warning" });
  copyFileSync(join(source, "icon.svg"), join(target, "icon.svg"));
  // served at /admin (not /admin/): Workers assets serve "admin.html" at "/admin"
  copyFileSync(join(source, "index.html"), join(assets, "admin.html"));
  copyFileSync(join(source, "_headers"), join(assets, "_headers"));
  const script = readFileSync(join(target, "console.js"));
  return { bytes: script.length, gzipped: gzipSync(script).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { bytes, gzipped } = await buildConsole();
  process.stdout.write(`admin console built into public/: console.js ${bytes} bytes (${gzipped} gzipped)\n`);
}
