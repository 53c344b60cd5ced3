// An account imported from the old service logs in through the API with its old password, and that login
// replaces the bcrypt hash with the current format. The row goes in through the import's own code (the plan,
// then the batched statement of tools/import) on the tests' database; test/node/users-import.test.ts runs the
// whole command, on a real old table.
import { hash as bcryptHash } from "bcryptjs";
import { expect, inject, it } from "vitest";
// Before the import's modules: the app's routes call `.openapi` on src/schemas' zod schemas, which only
// schemas made after @hono/zod-openapi has loaded have.
import { api, bearer, expectProblem, json, type Tokens, uniqueEmail } from "./helpers.ts";
import { getDb } from "../../src/db/client.ts";
import { type OldUser, planImport } from "../../tools/import/plan.ts";
import { writeUsers } from "../../tools/import/write.ts";

const db = getDb(inject("databaseUrl"));
const OLD_PASSWORD = "my password from the old service";

/** Far above any id the shared database hands out while the tests run, so the identity need not move for it. */
function farId(): string {
  return String(9_000_000_000_000 + Math.floor(Math.random() * 1_000_000_000));
}

async function importOldUser(): Promise<{ id: string; email: string }> {
  const email = uniqueEmail("old");
  const row: OldUser = {
    id: farId(),
    // as the old service kept it; the import stores it normalised
    email: ` ${email.toUpperCase()}`,
    password: await bcryptHash(OLD_PASSWORD, 4),
    first_name: "Old",
    last_name: "Timer",
    status: "verified",
    role: "user",
    created_at: new Date("2020-01-02T03:04:05Z"),
    updated_at: null,
  };
  const written = await writeUsers(db, planImport([row], new Date()).users, { dryRun: false });
  expect(written.imported).toBe(1);
  return { id: row.id, email };
}

function storedHash(id: string): Promise<string | null> {
  return db
    .selectFrom("users")
    .select("password_hash")
    .where("id", "=", id)
    .executeTakeFirstOrThrow()
    .then((row) => row.password_hash);
}

it("an imported user logs in with the old password, keeps the old id, and from then on holds a current hash", async () => {
  const user = await importOldUser();
  const bcrypt = await storedHash(user.id);
  expect(bcrypt).toMatch(/^\$2b\$04\$/);

  await expectProblem(
    await api("/auth/login", json("POST", { email: user.email, password: "not my old password" })),
    401,
    "invalid_credentials",
  );
  expect(await storedHash(user.id)).toBe(bcrypt);

  const first = await api("/auth/login", json("POST", { email: user.email, password: OLD_PASSWORD }));
  expect(first.status).toBe(200);
  const tokens: Tokens = await first.json();
  const me = await api("/users/me", bearer(tokens.access_token));
  expect(await me.json()).toMatchObject({ id: Number(user.id), email: user.email, first_name: "Old", status: "verified" });
  const upgraded = await storedHash(user.id);
  expect(upgraded).toMatch(/^\$pbkdf2-sha256\$v=1\$i=600000,c=100000\$/);

  expect((await api("/auth/login", json("POST", { email: user.email, password: OLD_PASSWORD }))).status).toBe(200);
  expect(await storedHash(user.id)).toBe(upgraded);
});
