import { sql } from "kysely";
import type { TestProject } from "vitest/node";
import { getDb } from "../src/db/client.ts";
import { createScratchDatabase } from "../tools/local-services/scratch-database.ts";
import { type LocalServices, startLocalServices } from "../tools/local-services/server.ts";
import { newSecretSettings } from "../tools/secrets.ts";

/** Where the tests reach the API (test/worker/helpers.ts BASE_URL): providers send their answers back here. */
const TEST_API_ORIGIN = "https://api.coffee.test";

/**
 * Local services (Neon-protocol SQL endpoint and mail catcher) on a fresh database with the
 * migrations applied: an in-memory PGlite by default, or a new database on the server named by
 * TEST_DATABASE_URL, dropped at the end.
 */
async function freshServices(): Promise<{ services: LocalServices; databaseUrl: string; stop(): Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  const scratch = serverUrl ? await createScratchDatabase(serverUrl) : undefined;
  const services = await startLocalServices({
    port: 0,
    dataDir: "memory://",
    oidcRedirectUris: [`${TEST_API_ORIGIN}/auth/oidc/local/callback`],
    ...(scratch ? { databaseUrl: scratch.url } : {}),
  });
  return {
    services,
    databaseUrl: `postgres://test:test@127.0.0.1:${services.port}/coffee`,
    stop: async () => {
      await services.close();
      await scratch?.drop();
    },
  };
}

/**
 * Test files share one database and run in parallel; tests that move the clock for everything (the
 * cron's purges) get a second, isolated one.
 */
export default async function setup(project: TestProject) {
  const [shared, isolated] = await Promise.all([freshServices(), freshServices()]);
  // The edge stores (KV, the Cache API) are one for every test file, and hold entries by user id: the
  // isolated database's users get ids of their own, so an ending there never meets a user of the other.
  await sql`alter table users alter column id restart with 1000000000`.execute(getDb(isolated.databaseUrl));
  project.provide("localServicesUrl", shared.services.url);
  project.provide("oidcIssuer", shared.services.oidcIssuer);
  project.provide("databaseUrl", shared.databaseUrl);
  project.provide("isolatedServicesUrl", isolated.services.url);
  project.provide("isolatedDatabaseUrl", isolated.databaseUrl);
  project.provide("postgresServer", process.env.TEST_DATABASE_URL !== undefined);
  const secrets = newSecretSettings();
  project.provide("jwtPrivateKeys", secrets.JWT_PRIVATE_KEYS);
  project.provide("hashSecret", secrets.HASH_SECRET);
  return async () => {
    await Promise.all([shared.stop(), isolated.stop()]);
  };
}
