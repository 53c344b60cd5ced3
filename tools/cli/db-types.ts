// `npm run db:types [-- --check]`: regenerates src/db/schema.ts, the Kysely table types, from the schema
// that the migrations build, so a column renamed in SQL fails the typecheck instead of a request.
// Migrates a throwaway embedded database and reads it through the same Neon-protocol endpoint and
// driver the Worker uses; --check compares instead of writing (CI fails on a difference).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { generate, PostgresDialect } from "kysely-codegen";
import { getDb } from "../../src/db/client.ts";
import { parseFlags } from "../command-line.ts";
import { startLocalServices } from "../local-services/server.ts";

const USAGE = `npm run db:types -- [--check]: regenerates src/db/schema.ts from the migrated schema
  --check   do not write; fail (exit 1) if the file differs from what the migrations give`;

const SCHEMA_FILE = fileURLToPath(new URL("../../src/db/schema.ts", import.meta.url));

/**
 * Columns whose values the database constrains to a closed set: typed with the contract's zod-derived
 * types, so the set is spelled once in TypeScript (and once in the migration's check constraint, which a
 * test compares with it).
 */
const CONTRACT_TYPES = {
  customImports: {
    UserRole: "../schemas/user.ts#UserRole",
    UserStatus: "../schemas/user.ts#UserStatus",
    CodePurpose: "../schemas/codes.ts#CodePurpose",
    CodeScope: "../schemas/codes.ts#CodeScope",
    AuthEventType: "../schemas/events.ts#AuthEventType",
    AuthMethod: "../schemas/mfa.ts#AuthMethod",
    DeviceNotice: "../schemas/devices.ts#DeviceNotice",
    PasskeyCeremony: "../schemas/passkeys.ts#PasskeyCeremony",
    PasskeyDeviceType: "../schemas/passkeys.ts#PasskeyDeviceType",
  },
  overrides: {
    columns: {
      "users.role": "Generated<UserRole>",
      "users.status": "Generated<UserStatus>",
      "one_time_codes.purpose": "CodePurpose",
      "code_attempts.scope": "CodeScope",
      "code_failures.scope": "CodeScope",
      "auth_events.type": "AuthEventType",
      "sessions.amr": "Generated<AuthMethod[]>",
      "devices.notice": "DeviceNotice",
      "passkey_challenges.ceremony": "PasskeyCeremony",
      "passkeys.device_type": "PasskeyDeviceType",
    },
  },
};

const { check } = parseFlags({ check: { type: "boolean", default: false } }, USAGE);

const services = await startLocalServices({ port: 0, dataDir: "memory://" });
const db = getDb(`postgres://types:types@127.0.0.1:${services.port}/coffee`);
try {
  const generated = await generate({
    db,
    dialect: new PostgresDialect(),
    outFile: null,
    excludePattern: "schema_migrations",
    // the Worker has no Node Buffer type; the driver's Buffers are Uint8Arrays
    typeMapping: { bytea: "Uint8Array" },
    ...CONTRACT_TYPES,
  });
  const current = await readFile(SCHEMA_FILE, "utf8").catch(() => "");
  if (check) {
    if (generated !== current) {
      console.error("src/db/schema.ts is not what the migrations give: run `npm run db:types` and commit the result.");
      process.exitCode = 1;
    } else {
      console.log("src/db/schema.ts matches the migrations.");
    }
  } else if (generated !== current) {
    await writeFile(SCHEMA_FILE, generated);
    console.log("Wrote src/db/schema.ts.");
  } else {
    console.log("src/db/schema.ts is up to date.");
  }
} finally {
  await db.destroy();
  await services.close();
}
