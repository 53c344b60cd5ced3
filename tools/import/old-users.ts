// Reading the old FastAPI service's `users` table, whatever of its optional columns it has.
import type { Pool } from "pg";
import type { OldUser } from "./plan.ts";

type TimestampColumn = "created_at" | "updated_at";

/**
 * A timestamp column as a timestamptz, or null when the table has none. SQLAlchemy's DateTime is a timestamp
 * without time zone, which the old service filled with UTC; one with a time zone is taken as it is.
 */
function timestamp(name: TimestampColumn, types: Map<string, string>): string {
  const type = types.get(name);
  if (type === undefined) return `null::timestamptz as ${name}`;
  return type === "timestamp without time zone" ? `${name} at time zone 'UTC' as ${name}` : `${name}::timestamptz as ${name}`;
}

/** Every row, oldest id first; the enums and varchars as text. */
export async function readOldUsers(pool: Pool): Promise<OldUser[]> {
  const columns = await pool.query<{ column_name: string; data_type: string }>(
    "select column_name, data_type from information_schema.columns where table_schema = current_schema() and table_name = 'users'",
  );
  if (columns.rows.length === 0) throw new Error("the old database has no users table");
  const types = new Map(columns.rows.map((column) => [column.column_name, column.data_type]));
  const { rows } = await pool.query<OldUser>(
    `select id::text as id, email::text as email, password::text as password, first_name::text as first_name,
            last_name::text as last_name, status::text as status, role::text as role,
            ${timestamp("created_at", types)}, ${timestamp("updated_at", types)}
     from users order by id`,
  );
  return rows;
}
