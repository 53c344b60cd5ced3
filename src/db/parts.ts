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

/** A builder over the tables alone, for parts that read or write only them. */
export const tables = partBuilder<object>();

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
 * Adds common table expressions to a statement. The statement's own type does not grow: what a step adds is
 * read back through the handle (`Cte`) it was added with.
 */
export type Step = (statement: QueryCreator<DB>) => QueryCreator<DB>;

/** Applies the steps in order; a step that is `undefined` or `false` is left out (an optional part). */
export function withSteps(statement: QueryCreator<DB>, ...steps: (Step | undefined | false)[]): QueryCreator<DB> {
  return steps.reduce<QueryCreator<DB>>((built, step) => (step ? step(built) : built), statement);
}

/**
 * A common table expression of a statement, named once. The step that adds it and every step that reads its
 * rows go through this handle, so a rename is one edit, and a reader asking for a column its writer does not
 * return fails `npm run typecheck`.
 */
export class Cte<Name extends string, Row extends object> {
  readonly name: Name;

  constructor(name: Name) {
    this.name = name;
  }

  /** The step that adds it, with the rows `rows` builds (a data-modifying query goes in `QueryRows`). */
  as(rows: (q: QueryCreator<DB>) => Expression<Row>): Step {
    // the statement's own type does not grow (see Step): any name and rows are all `with` needs to know here
    const name: string = this.name;
    const anyRows: (q: QueryCreator<DB>) => Expression<object> = rows;
    return (statement) => statement.with(name, anyRows);
  }

  /** Its rows, read by a later step of a statement that added it. */
  from() {
    return partBuilder<{ [N in Name]: Row }>().selectFrom(this.name);
  }
}

/** A handle for a common table expression whose rows are `Row`: `cte<Row>()("name")`. */
export function cte<Row extends object>() {
  return <Name extends string>(name: Name) => new Cte<Name, Row>(name);
}

type RowsOf<C> = C extends [Cte<infer N, infer R>, ...infer Rest] ? { [K in N]: R } & RowsOf<Rest> : unknown;

/** A builder that reads the rows of several common table expressions at once (to join them), typed by their handles. */
export function reading<C extends Cte<string, object>[]>(..._ctes: C): Kysely<DB & RowsOf<C>> {
  return partBuilder<RowsOf<C>>();
}
