import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalServices, type LocalServices } from "../../../tools/local-services/server.ts";
import { openTestDatabase, type TestDatabase } from "./test-database.ts";

export interface TestServices {
  services: LocalServices;
  database: TestDatabase;
  stop(): Promise<void>;
}

/**
 * Local services on a fresh test database, with the migrations in migrationsDir applied at start;
 * without one, none (the folder named does not exist), so tests make the tables they need.
 */
export async function startTestServices(migrationsDir?: string, log?: (line: string) => void): Promise<TestServices> {
  const database = await openTestDatabase();
  try {
    const services = await startLocalServices({
      port: 0,
      ...database.servicesOptions,
      migrationsDir: migrationsDir ?? join(tmpdir(), `coffee-no-migrations-${randomUUID()}`),
      ...(log ? { log } : {}),
    });
    return {
      services,
      database,
      stop: async () => {
        await services.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
