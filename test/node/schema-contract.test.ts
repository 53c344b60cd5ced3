// The closed sets the contract defines (src/schemas/) are enforced by the database too, by check
// constraints in the migrations: the two spellings must stay the same set.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CodePurposeSchema, CodeScopeSchema } from "../../src/schemas/codes.ts";
import { DeviceNoticeSchema } from "../../src/schemas/devices.ts";
import { AuthEventTypeSchema } from "../../src/schemas/events.ts";
import { PasskeyCeremonySchema, PasskeyDeviceTypeSchema } from "../../src/schemas/passkeys.ts";
import { UserRoleSchema, UserStatusSchema } from "../../src/schemas/user.ts";
import { neonClient } from "./support/neon-client.ts";
import { startTestServices, type TestServices } from "./support/test-services.ts";

const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));

let env: TestServices;

beforeAll(async () => {
  env = await startTestServices(MIGRATIONS);
});

afterAll(async () => {
  await env?.stop();
});

/** The values a check constraint of the form `column in ('a', 'b')` allows, as Postgres prints it back. */
async function allowedValues(constraint: string): Promise<string[]> {
  const [row] = await neonClient(env.services)`
    select pg_get_constraintdef(oid) as definition from pg_constraint where conname = ${constraint}`;
  const definition = String(row?.definition ?? "");
  return [...definition.matchAll(/'([^']*)'::text/g)].map((match) => match[1] ?? "").sort();
}

it.each([
  ["users_status_check", UserStatusSchema.options],
  ["users_role_check", UserRoleSchema.options],
  ["one_time_codes_purpose_check", CodePurposeSchema.options],
  ["code_attempts_scope_check", CodeScopeSchema.options],
  ["code_failures_scope_check", CodeScopeSchema.options],
  ["auth_events_type_check", AuthEventTypeSchema.options],
  ["devices_notice_check", DeviceNoticeSchema.options],
  ["passkeys_device_type_check", PasskeyDeviceTypeSchema.options],
  ["passkey_challenges_ceremony_check", PasskeyCeremonySchema.options],
])("%s allows exactly the contract's values", async (constraint, options) => {
  expect(await allowedValues(constraint)).toEqual([...options].sort());
});

// An erasure deletes the user's row and counts on every table that names a user to let go with it, tables added
// later included (src/db/erasure.ts).
it("every foreign key to users deletes with the user (on delete cascade)", async () => {
  const keys = await neonClient(env.services)`
    select conrelid::regclass::text as referencing, confdeltype as on_delete from pg_constraint
    where contype = 'f' and confrelid = 'users'::regclass order by 1`;
  expect(keys.length).toBeGreaterThan(0);
  expect(keys.filter((key) => key.on_delete !== "c")).toEqual([]);
});
