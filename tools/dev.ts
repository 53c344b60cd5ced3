// `npm run dev`: the local services (Neon-protocol SQL endpoint on embedded PGlite, mail catcher) on
// :8788 with migrations applied, then `wrangler dev` on :8787 with local KV and the Cron Trigger's
// test route. Ctrl-C stops both.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startLocalServices } from "./local-services/server.ts";
import { newSecretSettings } from "./secrets.ts";

const root = join(import.meta.dirname, "..");
const SERVICES_PORT = 8788;
const API_PORT = 8787;

const devVars = join(root, ".dev.vars");
if (!existsSync(devVars)) {
  // the example leaves secrets empty; each machine gets its own
  let text = readFileSync(join(root, ".dev.vars.example"), "utf8");
  for (const [name, value] of Object.entries(newSecretSettings())) {
    text = text.replace(new RegExp(`^${name}=$`, "m"), `${name}=${value}`);
  }
  writeFileSync(devVars, text, { mode: 0o600 });
  console.log("Created .dev.vars from .dev.vars.example, with fresh secrets");
}

const services = await startLocalServices({ port: SERVICES_PORT, log: (line) => console.log(`[services] ${line}`) });
console.log(`[services] SQL endpoint ${services.url}/sql · mail catcher ${services.url}/ · emails ${services.url}/emails`);

const wrangler = spawn("wrangler", ["dev", "--port", String(API_PORT), "--ip", "127.0.0.1", "--test-scheduled"], {
  cwd: root,
  stdio: "inherit",
});

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    wrangler.kill("SIGTERM");
    await services.close();
  }
  process.exit(code);
}

process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
wrangler.on("exit", (code) => void stop(code ?? 0));
