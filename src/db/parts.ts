// How statements are assembled: each use case is one SQL statement built from small named parts (a
// guard, an effect, a record), each a common table expression, so a use case costs one round trip.
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
  type QueryCreator,
} from "kysely";
import type { DB } from "./schema.ts";

/**
 * A query builder that never executes: a module builds its parts with it against the tables plus the
 * common table expressions that module defines, so a part is typed although the statement that takes it
 * in has other expressions of its own.
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
 * statement's own tables, and a part is built against its module's.
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

/**
 * Adds common table expressions to a statement. The statement's own type does not grow: what a step
 * adds is read back only through functions of the module that defines it.
 */
export type Step = (statement: QueryCreator<DB>) => QueryCreator<DB>;

/** Applies the steps in order; a step that is `undefined` or `false` is left out (an optional part). */
export function withSteps(statement: QueryCreator<DB>, ...steps: (Step | undefined | false)[]): QueryCreator<DB> {
  return steps.reduce<QueryCreator<DB>>((built, step) => (step ? step(built) : built), statement);
}
