// What the browser test drives, started as `npm run dev` starts it but on free ports and a throwaway
// database: the local services (PGlite in memory) in this process, `wrangler dev` serving the Worker
// and its static assets (the console) in a process group of its own, and users made as the README
// says, with `npm run users -- create`.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { type Db, getDb } from "../../src/db/client.ts";
import { LOCAL_OIDC_CLIENT } from "../../tools/local-services/oidc/accounts.ts";
import { startLocalServices } from "../../tools/local-services/server.ts";
import { newSecretSettings } from "../../tools/secrets.ts";
import { startNode, unusedPort } from "../node/support/child-process.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const USERS_CLI = join(ROOT, "tools", "cli", "users.ts");

/**
 * Changes need a sign-in this recent (seconds). Short, so the browser test sees the console ask the admin to
 * confirm who they are without waiting the production window (10 minutes) out.
 */
export const STEP_UP_MAX_AGE_SECONDS = 5;

export interface NewUser {
  email: string;
  password: string;
  role: "user" | "admin";
  firstName: string;
  lastName: string;
}

export interface DevStack {
  /** The Worker: the API, /admin and /docs. */
  url: string;
  /** The same at localhost: a passkey needs a domain (an IP address is no relying party), and the stack's is localhost. */
  localUrl: string;
  /** Writes the files the test leaves behind (screenshots when not asked for elsewhere). */
  scratch: string;
  /** The Worker's database, for what a test sets up without waiting for it (a run of wrong passwords a day long). */
  db: Db;
  /** The subjects of the messages the mail catcher got for `address`, newest first. */
  subjectsTo(address: string): Promise<string[]>;
  createUser(user: NewUser): Promise<void>;
  stop(): Promise<void>;
}

function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid ?? 0), name);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  return Promise.race([exited, delay(5_000).then(() => signal("SIGKILL"))]);
}

async function answers(url: string): Promise<boolean> {
  return fetch(url).then(
    (response) => response.ok,
    () => false,
  );
}

export async function startDevStack(): Promise<DevStack> {
  const scratch = mkdtempSync(join(tmpdir(), "coffee-console-"));
  const [port, inspectorPort] = [await unusedPort(), await unusedPort()];
  const url = `http://127.0.0.1:${port}`;
  // the local identity provider sends the browser back to this Worker's callback
  const services = await startLocalServices({ port: 0, dataDir: "memory://", oidcRedirectUris: [`${url}/auth/oidc/local/callback`] });
  const provider = { id: "local", label: "the local provider", issuer: services.oidcIssuer, ...LOCAL_OIDC_CLIENT };
  const databaseUrl = `postgres://console:console@127.0.0.1:${services.port}/coffee`;
  const envFile = join(scratch, "worker.env");
  const secrets = newSecretSettings();
  writeFileSync(
    envFile,
    [
      `DATABASE_URL=${databaseUrl}`,
      `JWT_PRIVATE_KEYS='${secrets.JWT_PRIVATE_KEYS}'`,
      `HASH_SECRET=${secrets.HASH_SECRET}`,
      "RESEND_API_KEY=re_console_test",
      `RESEND_BASE_URL=${services.url}`,
      `PWNED_PASSWORDS_RANGE_URL=${services.url}/range`,
      "MAIL_FROM=Coffee Shop <no-reply@coffee.test>",
      `STEP_UP_MAX_AGE_SECONDS=${STEP_UP_MAX_AGE_SECONDS}`,
      `PUBLIC_ORIGIN=${url}`,
      `OIDC_PROVIDERS='${JSON.stringify([provider])}'`,
      `OIDC_RETURN_URLS=${url}/admin`,
      `WEBAUTHN_ORIGINS=http://localhost:${port}`,
    ].join("\n"),
  );
  const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspectorPort)];
  args.push("--persist-to", join(scratch, "state"), "--env-file", envFile, "--log-level", "warn", "--show-interactive-dev-session=false");
  const wrangler = spawn(join(ROOT, "node_modules", ".bin", "wrangler"), args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    // its own process group, so stopping it stops workerd too
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  wrangler.stdout?.on("data", keep);
  wrangler.stderr?.on("data", keep);

  // should this process end without stop() (a crash, a runner that gives up), take workerd with it
  const killOnExit = () => {
    if (wrangler.pid !== undefined && wrangler.exitCode === null) process.kill(-wrangler.pid, "SIGKILL");
  };
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    await stopGroup(wrangler);
    await services.close();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    for (let attempt = 0; !(await answers(`${url}/health/live`)); attempt++) {
      if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
      if (attempt > 240) throw new Error(`wrangler dev did not answer within 60 s:\n${output}`);
      await delay(250);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const createUser = async (user: NewUser) => {
    const env = { ...process.env };
    // the CLI would take a DATABASE_URL of the environment for a Postgres of its own
    delete env.DATABASE_URL;
    const run = await startNode(
      USERS_CLI,
      [
        "create",
        "--email",
        user.email,
        "--password",
        user.password,
        "--role",
        user.role,
        "--first-name",
        user.firstName,
        "--last-name",
        user.lastName,
        "--services-url",
        services.url,
      ],
      env,
    ).finished;
    if (run.code !== 0) throw new Error(`npm run users -- create ${user.email} failed:\n${run.stdout}${run.stderr}`);
  };
  const subjectsTo = async (address: string) => {
    const response = await fetch(`${services.url}/emails?to=${encodeURIComponent(address)}`);
    const messages: { subject: string }[] = await response.json();
    return messages.map((message) => message.subject);
  };
  return { url, localUrl: `http://localhost:${port}`, scratch, db: getDb(databaseUrl), subjectsTo, createUser, stop };
}
