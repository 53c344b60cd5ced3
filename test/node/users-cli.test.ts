// `npm run users -- create`: the first admin, through the running local services or on any Postgres URL.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startNode } from "./support/child-process.ts";
import { neonClient } from "./support/neon-client.ts";
import { startTestServices, type TestServices } from "./support/test-services.ts";

const USERS = fileURLToPath(new URL("../../tools/cli/users.ts", import.meta.url));
const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));

let env: TestServices;

beforeAll(async () => {
  env = await startTestServices(MIGRATIONS);
});

afterAll(async () => {
  await env?.stop();
});

function users(args: string[]) {
  const inherited = { ...process.env };
  delete inherited.DATABASE_URL;
  return startNode(USERS, args, inherited).finished;
}

const PASSWORD = "correct horse battery staple";

it("creates a verified admin through the local services, with a normalised email and a PBKDF2 hash", async () => {
  const run = await users([
    "create",
    "--email",
    " Boss@Coffee.TEST ",
    "--password",
    PASSWORD,
    "--role",
    "admin",
    "--services-url",
    env.services.url,
  ]);
  expect(run).toMatchObject({ code: 0, stderr: "" });
  expect(run.stdout).toMatch(/^Created admin #\d+ <boss@coffee\.test> \(verified\)/);
  const rows = await neonClient(env.services)`
    select email, role, status, verified_at is not null as verified, password_hash from users where email = 'boss@coffee.test'`;
  expect(rows).toEqual([
    {
      email: "boss@coffee.test",
      role: "admin",
      status: "verified",
      verified: true,
      password_hash: expect.stringMatching(/^\$pbkdf2-sha256\$v=1\$/),
    },
  ]);
});

it("refuses a taken email, a weak password, a bad role and a bad command, without a stack trace", async () => {
  const services = ["--services-url", env.services.url];
  await users(["create", "--email", "twice@coffee.test", "--password", PASSWORD, ...services]);
  const cases: [string[], RegExp][] = [
    [["create", "--email", "TWICE@coffee.test", "--password", PASSWORD, ...services], /already exists/],
    [["create", "--email", "short@coffee.test", "--password", "1234567", ...services], /--password/],
    // 8 UTF-16 units but 4 characters: the API's rule, counted the API's way
    [["create", "--email", "emoji@coffee.test", "--password", "😀😀😀😀", ...services], /--password/],
    [["create", "--email", "root@coffee.test", "--password", PASSWORD, "--role", "root", ...services], /--role/],
    [["create", "--email", "not-an-email", "--password", PASSWORD, ...services], /--email/],
    [["delete", "--email", "a@coffee.test"], /usage/],
  ];
  for (const [args, message] of cases) {
    const run = await users(args);
    expect(run.code, args.join(" ")).toBe(1);
    expect(run.stderr, args.join(" ")).toMatch(message);
    expect(run.stderr).not.toContain("    at ");
  }
});

it("writes straight into a Postgres given by --database-url", async () => {
  const run = await users(["create", "--email", "direct@coffee.test", "--password", PASSWORD, "--database-url", env.database.url]);
  expect(run).toMatchObject({ code: 0, stderr: "" });
  expect(await neonClient(env.services)`select role from users where email = 'direct@coffee.test'`).toEqual([{ role: "user" }]);
});
