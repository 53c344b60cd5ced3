// The users list as an admin pages through it: filters (status, role, an address's start, a search anywhere in the
// address or the names, or an id), six orders each paged by keyset on an index of its own, and the count of the
// users the filters match, in one statement; and the batches of its CSV export.
import { type Expression, type ExpressionBuilder, type RawBuilder, sql, type SqlBool } from "kysely";
import { USER_ID_PATTERN, type UserCursor, type UserRole, type UserSort, type UserStatus } from "../schemas/user.ts";
import { type Actor, actorStands } from "./actor.ts";
import type { Db } from "./client.ts";
import { type EventContext, type EventDetails, noRowDetails, recordEvents } from "./events.ts";
import { tables, withSteps } from "./parts.ts";
import type { DB } from "./schema.ts";
import { signInStandingColumns } from "./sign-in-standing.ts";
import { USER_COLUMNS } from "./users.ts";

export interface UserFilters {
  status?: UserStatus | undefined;
  role?: UserRole | undefined;
  /** The start of the address. */
  emailPrefix?: string | undefined;
  /** Anywhere in the address, the first or last name or both (case aside), or the id itself. */
  search?: string | undefined;
}

/** Where a page ended in its order: the last user's sort key (as the statement selected it) and id. */
export type UserPosition = Omit<UserCursor, "sort">;

export interface UserPage {
  filters: UserFilters;
  sort: UserSort;
  /** After this user, in the order; none: from the start. */
  after?: UserPosition | undefined;
  limit: number;
  /** Where each user's sign-in stands is read as of this time. */
  now: Date;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/**
 * What a search reads: the address and the names in one text, the expression of the trigram index that finds a part
 * of it anywhere (the statement must spell it as the index does, literals and all, for the planner to use it).
 */
const SEARCHED = sql<string>`email || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, '')`;

function matching(eb: ExpressionBuilder<DB, "users">, filters: UserFilters): Expression<SqlBool> {
  const { status, role, emailPrefix, search } = filters;
  const conditions: Expression<SqlBool>[] = [];
  if (status !== undefined) conditions.push(eb("status", "=", status));
  if (role !== undefined) conditions.push(eb("role", "=", role));
  if (emailPrefix !== undefined) conditions.push(eb("email", "like", `${escapeLike(emailPrefix)}%`));
  if (search !== undefined) {
    const found = eb(SEARCHED, "ilike", `%${escapeLike(search)}%`);
    conditions.push(USER_ID_PATTERN.test(search) ? eb.or([found, eb("id", "=", search)]) : found);
  }
  return eb.and(conditions);
}

/** An instant as text, to the microsecond, so a page's end is exact however the row's time was written. */
const exactly = (time: RawBuilder<Date | null> | RawBuilder<Date>) =>
  sql<string | null>`to_char(${time} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * An order: what it sorts on (as its index spells it), its sort key as text for a cursor, and that key read back. Who
 * never signed in sorts as `-infinity`: last when the latest come first.
 */
function orderOf(sort: UserSort) {
  const descending = sort.startsWith("-");
  switch (sort.replace(/^-/, "")) {
    case "created_at":
      return {
        descending,
        value: sql<Date>`created_at`,
        key: exactly(sql<Date>`created_at`),
        readBack: (key: string | null) => sql<Date>`${key}::timestamptz`,
      };
    case "last_sign_in_at":
      return {
        descending,
        value: sql<Date>`coalesce(last_sign_in_at, '-infinity'::timestamptz)`,
        key: exactly(sql<Date | null>`last_sign_in_at`),
        readBack: (key: string | null) => sql<Date>`coalesce(${key}::timestamptz, '-infinity'::timestamptz)`,
      };
    default:
      return {
        descending,
        value: sql<string>`email`,
        key: sql<string | null>`email`,
        readBack: (key: string | null) => sql<string>`${key}`,
      };
  }
}

/** A page of users in its order, each with where their sign-in stands and its sort key (where the next page starts). */
export function usersPageQuery(db: Db, page: UserPage) {
  const { filters, sort, after, limit, now } = page;
  const order = orderOf(sort);
  const direction = order.descending ? "desc" : "asc";
  const beyond =
    after && sql<SqlBool>`(${order.value}, id) ${sql.raw(order.descending ? "<" : ">")} (${order.readBack(after.key)}, ${after.id})`;
  return db
    .selectFrom("users")
    .select(USER_COLUMNS)
    .select(signInStandingColumns(now))
    .select(order.key.as("sort_key"))
    .where((eb) => (beyond ? eb.and([matching(eb, filters), beyond]) : matching(eb, filters)))
    .orderBy(order.value, direction)
    .orderBy("id", direction)
    .limit(limit);
}

/**
 * A page of users and, in the same statement, how many users the filters match, counted up to `countUpTo` (a count
 * past it stops there: its cost stays bounded however many match). The count rides on every row; an empty page has
 * none.
 */
export async function listUsers(db: Db, page: UserPage & { countUpTo: number }) {
  return usersListQuery(db, page).execute();
}

/** The statement of `listUsers`, for measuring its plan at scale. */
export function usersListQuery(db: Db, page: UserPage & { countUpTo: number }) {
  const counted = tables
    .selectFrom((eb) =>
      eb
        .selectFrom("users")
        .select(sql.lit(1).as("one"))
        .where((eb) => matching(eb, page.filters))
        .limit(page.countUpTo)
        .as("matching"),
    )
    .select((eb) => eb.cast<number>(eb.fn.countAll(), "integer").as("total"));
  return usersPageQuery(db, page).select(() => counted.$asScalar().as("matching"));
}

/**
 * Records an export of the users list (`users_exported`, with the filters and order it was asked with), only while the
 * actor is an active admin as the database has them now; answers whether it was recorded, which is whether the export
 * may go on (one round trip, before its first batch).
 */
export async function recordUsersExport(db: Db, request: { actor: Actor; details: EventDetails; events: EventContext }): Promise<boolean> {
  const allowed = actorStands(request.actor);
  const row = await withSteps(
    db,
    recordEvents(request.events, {
      type: "users_exported",
      details: request.details,
      // about no one account: the list
      rows: () =>
        tables.selectNoFrom((eb) => [eb.cast<string | null>(eb.val(null), "bigint").as("user_id"), noRowDetails()]).where(allowed),
    }),
  )
    .selectNoFrom(allowed.as("allowed"))
    .executeTakeFirst();
  return row?.allowed === true;
}
