import { DatabaseError, type Pool, type PoolClient } from "pg";

/**
 * Runs work on one pooled connection. Unlike `pool.query`, which drops the connection on any error, an
 * SQL error gives it back to the pool (it is still usable); it is discarded only when something else
 * failed (a dropped socket) or when it is left inside a transaction (a lone BEGIN), as Neon discards it.
 */
export async function withClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let usable = false;
  try {
    const result = await work(client);
    usable = true;
    return result;
  } catch (error) {
    usable = error instanceof DatabaseError;
    throw error;
  } finally {
    client.release(!usable || client.getTransactionStatus() !== "I");
  }
}

/** Runs work between `begin` (a BEGIN statement) and COMMIT on one connection; rolls back if it throws. */
export function inTransaction<T>(pool: Pool, begin: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query(begin);
    try {
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK");
      throw error;
    }
  });
}
