import { randomBytes } from "node:crypto";
import pg from "pg";

export interface ScratchDatabase {
  /** The new database's URL: the server URL with its database name replaced. */
  url: string;
  /** Drops the database, ending any connections still open to it. */
  drop(): Promise<void>;
}

/** Creates a fresh, uniquely named database on a real Postgres server, e.g. for one test run. */
export async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = `coffee_test_${randomBytes(8).toString("hex")}`;
  await runOnServer(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    // FORCE (Postgres 13+) terminates the connections still open to it first.
    drop: () => runOnServer(serverUrl, `drop database if exists ${name} with (force)`),
  };
}

async function runOnServer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
