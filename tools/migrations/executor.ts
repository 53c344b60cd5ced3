/** What the migration runner needs from a database: transactions on one connection. */
export interface MigrationExecutor {
  /** Runs work in one transaction: committed if it resolves, rolled back if it throws. */
  inTransaction<T>(work: (session: MigrationSession) => Promise<T>): Promise<T>;
}

export interface MigrationSession {
  /** Runs a script of any number of statements (the simple query protocol). */
  runScript(script: string): Promise<void>;
  /** Runs one statement with text parameters and returns its rows. */
  query(statement: string, params?: string[]): Promise<Record<string, unknown>[]>;
}
