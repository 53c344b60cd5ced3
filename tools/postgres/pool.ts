import pg from "pg";

/**
 * A node-postgres pool that survives the server ending an idle connection (a scratch database dropped
 * WITH (FORCE), a restart). The pool already discards such a connection and opens a new one when next
 * asked, but it also emits 'error', and an EventEmitter with no listener for 'error' crashes the process.
 */
export function openPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on("error", () => {});
  return pool;
}
