// Erasing accounts, in the statement that deletes them: the user's row goes, and with it (by `on delete cascade`)
// every row that references it: codes, sessions and refresh tokens, the second factor and its recovery codes,
// challenges, and whatever table is added later that names a user. What names a person without referencing the row
// goes in the same statement: mail queued to their addresses, and the guessing budgets and runs of those addresses.
// The audit trail keeps its events, with the person's id (as the account, or as the actor) replaced by a pseudonym,
// their addresses and their clients' addresses and user agents removed: what happened, and when, survives.
import { type Expression, type ExpressionBuilder, expressionBuilder, sql, type SqlBool } from "kysely";
import type { EndedBy } from "../schemas/events.ts";
import { type EventContext, noRowDetails, recordErasedEvents } from "./events.ts";
import { cte, QueryRows, reading, type Step, tables } from "./parts.ts";
import type { DB, Json } from "./schema.ts";

/** The accounts the statement erases. */
const erased = cte<{ id: string; email: string; session_generation: number }>()("erased");
/** Every address an erased person held: the one they had last, and each one their address changes left or reached. */
const addresses = cte<{ address: string }>()("erased_addresses");

/** Events whose address is one of these keys of their details. */
const EMAIL_CHANGE_EVENTS = ["email_change_requested", "email_changed"] as const;

export interface Erasure {
  /** Which users go: a condition on their row, checked by the statement that deletes them. */
  which: (eb: ExpressionBuilder<DB, "users">) => Expression<SqlBool>;
  /** Who asked: an admin (erased at once), or the owner (erased by the cron once their grace period is over). */
  by: EndedBy;
  events: EventContext;
}

/** The users the statement erased, with their last session generation. */
export function erasedUsers() {
  return erased.from().select(["id", "session_generation"]);
}

/**
 * The pseudonym of a user id in this statement: a UUID made from the id and a salt drawn for the statement and
 * never kept, so all of one person's events share it and nobody can tell whose it was.
 */
function pseudonymOf(salt: string, id: Expression<string | null>) {
  const eb = expressionBuilder<object, never>();
  return eb.cast<string>(eb.fn<string>("md5", [eb(eb.val(salt), "||", eb.cast<string>(id, "text"))]), "uuid");
}

/** The rows go, and every row that references them. */
function deleteRows(erasure: Erasure): Step {
  return erased.as((q) => new QueryRows(q.deleteFrom("users").where(erasure.which).returning(["id", "email", "session_generation"])));
}

function collectAddresses(): Step {
  return addresses.as(() =>
    reading(erased)
      .selectFrom("erased")
      .select("email as address")
      .union(
        tables
          .selectFrom("auth_events")
          .select(sql<string>`details ->> ${sql.lit("to")}`.as("address"))
          .where("user_id", "in", erased.from().select("id"))
          .where("type", "=", "email_changed"),
      )
      .union(
        tables
          .selectFrom("auth_events")
          .select(sql<string>`details ->> ${sql.lit("from")}`.as("address"))
          .where("user_id", "in", erased.from().select("id"))
          .where("type", "=", "email_changed")
          .where("details", "?", sql.lit("from")),
      ),
  );
}

/** Whether an event names one of the erased addresses under `key` of its details (as the partial indexes on them read it). */
function namesAddress(eb: ExpressionBuilder<DB, "auth_events">, key: "email" | "to") {
  const value = sql<string>`${sql.ref("details")} ->> ${sql.lit(key)}`;
  const carries = key === "email" ? eb("details", "?", sql.lit("email")) : eb("type", "in", EMAIL_CHANGE_EVENTS);
  return eb.and([carries, eb(value, "in", addresses.from().select("address"))]);
}

/** An event's account or actor, when it is an erased person: the id gone, the pseudonym in its place. */
function renamed(eb: ExpressionBuilder<DB, "auth_events">, salt: string, id: "user_id" | "actor_id") {
  const pseudonym = id === "user_id" ? "user_pseudonym" : "actor_pseudonym";
  const erasedHere = eb(id, "in", erased.from().select("id"));
  return {
    erasedHere,
    id: eb.case().when(erasedHere).then(null).else(eb.ref(id)).end(),
    pseudonym: eb
      .case()
      .when(erasedHere)
      .then(pseudonymOf(salt, eb.ref(id)))
      .else(eb.ref(pseudonym))
      .end(),
  };
}

/** The details without the person's addresses. */
function scrubbedDetails(eb: ExpressionBuilder<DB, "auth_events">, about: Expression<SqlBool>) {
  const without = (...keys: string[]) =>
    sql<Json>`${sql.ref("details")} - ${sql.join(
      keys.map((key) => sql.lit(key)),
      sql` - `,
    )}`;
  return eb
    .case()
    .when(namesAddress(eb, "email"))
    .then(without("email"))
    .when(eb.and([eb("type", "in", EMAIL_CHANGE_EVENTS), about]))
    .then(without("to", "from"))
    .when(namesAddress(eb, "to"))
    .then(without("to"))
    .else(eb.ref("details"))
    .end();
}

/** The trail without the person: ids become the pseudonym; their addresses, networks and user agents go. */
function scrubEvents(salt: string): Step {
  return cte<{ id: string }>()("events_scrubbed").as(
    () =>
      new QueryRows(
        tables
          .updateTable("auth_events")
          .set((eb) => {
            const user = renamed(eb, salt, "user_id");
            const actor = renamed(eb, salt, "actor_id");
            // the client of their own requests, or of requests at their account that nobody signed in for
            const theirClient = eb.or([actor.erasedHere, eb.and([user.erasedHere, eb("actor_id", "is", null)])]);
            return {
              user_id: user.id,
              user_pseudonym: user.pseudonym,
              actor_id: actor.id,
              actor_pseudonym: actor.pseudonym,
              client_address: eb.case().when(theirClient).then(null).else(eb.ref("client_address")).end(),
              user_agent: eb.case().when(theirClient).then(null).else(eb.ref("user_agent")).end(),
              details: scrubbedDetails(eb, user.erasedHere),
            };
          })
          .where((eb) =>
            eb.or([
              eb("user_id", "in", erased.from().select("id")),
              eb("actor_id", "in", erased.from().select("id")),
              namesAddress(eb, "email"),
              namesAddress(eb, "to"),
            ]),
          )
          .returning("id"),
      ),
  );
}

/** What names an address without referencing a user: mail to it, and its guessing budgets and runs. */
function forgetAddresses(): Step[] {
  const erasedAddresses = () => addresses.from().select("address");
  return [
    cte<{ id: string }>()("erased_mail").as(
      () => new QueryRows(tables.deleteFrom("email_outbox").where("to_address", "in", erasedAddresses()).returning("id")),
    ),
    cte<{ address: string }>()("erased_attempts").as(
      () => new QueryRows(tables.deleteFrom("code_attempts").where("address", "in", erasedAddresses()).returning("address")),
    ),
    cte<{ address: string }>()("erased_failures").as(
      () => new QueryRows(tables.deleteFrom("code_failures").where("address", "in", erasedAddresses()).returning("address")),
    ),
  ];
}

/**
 * Erases the users `erasure.which` selects, in the statement these steps join, and records a `user_deleted` event
 * for each under its pseudonym. The statement must have locked their rows first (src/db/user-lock.ts).
 */
export function eraseUsers(erasure: Erasure): Step[] {
  const salt = crypto.randomUUID();
  return [
    deleteRows(erasure),
    collectAddresses(),
    scrubEvents(salt),
    ...forgetAddresses(),
    recordErasedEvents(erasure.events, {
      type: "user_deleted",
      details: { by: erasure.by },
      rows: () => erased.from().select((eb) => [pseudonymOf(salt, eb.ref("id")).as("user_pseudonym"), noRowDetails()]),
    }),
  ];
}
