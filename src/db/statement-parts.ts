// Building blocks for statements that several repositories share (ending sessions, queueing mail):
// pieces of one SQL statement, typed by Kysely, that any statement can take in as common table
// expressions without an extra round trip.
import {
  type Compilable,
  DummyDriver,
  type Expression,
  Kysely,
  type OperationNode,
  type OperationNodeSource,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
} from "kysely";
import type { DB } from "./schema.ts";

/**
 * A query builder that never executes: it builds statement parts against the tables plus the common
 * table expressions a part defines, so the part is typed although the statement that takes it in has
 * other expressions of its own.
 */
export function partBuilder<Ctes>(): Kysely<DB & Ctes> {
  return new Kysely<DB & Ctes>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}

/**
 * A data-modifying query as an expression with the rows it returns, which is what a common table
 * expression of another statement accepts: Kysely types a CTE's insert, update or delete by the
 * statement's own tables, and a shared part is built against its own.
 */
export class QueryRows<O> implements Expression<O> {
  readonly #query: OperationNodeSource;

  constructor(query: OperationNodeSource & Compilable<O>) {
    this.#query = query;
  }

  get expressionType(): O | undefined {
    return undefined;
  }

  toOperationNode(): OperationNode {
    return this.#query.toOperationNode();
  }
}
