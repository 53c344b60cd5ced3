// Builds the admin console (console/) into the Worker's static assets (public/, git-ignored): the page
// at /admin (public/admin.html), its script, styles and icon (public/admin/), the page of a new-device
// notice's link at /report (public/report.html, public/report/) and the headers that make them
// safe (public/_headers, which Workers static assets apply in `wrangler dev` and in production alike).
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
// the page of a new-device notice's "this wasn't me" link: /report, its script under /report/
const reportTarget = join(assets, "report");

/** Builds the console; answers the sizes of its script, for the record. */
export async function buildConsole() {
  rmSync(target, { recursive: true, force: true });
  rmSync(reportTarget, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  // every browser an operator (or an account's owner) is likely to use in 2026; no polyfills
  const scripts = { bundle: true, minify: true, format: "esm", target: "es2022", legalComments: "none", logLevel: "warning" };
  await build({ ...scripts, entryPoints: { console: join(source, "main.ts") }, outdir: target });
  await build({ ...scripts, entryPoints: { report: join(source, "report", "report.ts") }, outdir: reportTarget });
  copyFileSync(join(source, "report", "index.html"), join(assets, "report.html"));
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
