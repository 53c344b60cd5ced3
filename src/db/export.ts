// An export: everything kept about one account, read in the statement that records it (its event and the owner's
// notice), at most once per interval per account, whoever asks.
import { type AliasableExpression, expressionBuilder, type SqlBool } from "kysely";
import { jsonArrayFrom, jsonObjectFrom } from "kysely/helpers/postgres";
import type { EndedBy } from "../schemas/events.ts";
import { type Actor, actorStands } from "./actor.ts";
import type { Db } from "./client.ts";
import { EVENT_COLUMNS, type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, queueMail } from "./outbox.ts";
import { cte, tables, withSteps } from "./parts.ts";
import type { DB } from "./schema.ts";
import { afterLockingUsers } from "./user-lock.ts";
import { USER_COLUMNS } from "./users.ts";

const subject = cte<{ id: string; email: string }>()("subject");

export interface ExportRequest {
  userId: string;
  /** Who asks: the owner, or an admin for them (still an active one, as the database has them now). */
  actor: Actor;
  by: EndedBy;
  /** An export of the account after this refuses another. */
  notSince: Date;
  /** To the owner: a copy of their data was made. */
  notice: MailToQueue;
  events: EventContext;
}

/** The account's sessions, newest first, each with when its chain was last refreshed. */
function sessionsOf(userId: string) {
  const eb = expressionBuilder<DB, never>();
  return jsonArrayFrom(
    eb
      .selectFrom("sessions as s")
      .select((eb) => [
        "s.id",
        "s.created_at",
        "s.user_agent",
        "s.client_address",
        "s.amr",
        "s.auth_time",
        // the newest token of the chain was made by the last refresh, unless it is the sign-in's own
        eb
          .selectFrom("refresh_tokens as t")
          .select((eb) => eb.fn.max("t.created_at").as("last"))
          .whereRef("t.session_id", "=", "s.id")
          .whereRef("t.created_at", ">", "s.created_at")
          .as("last_refreshed_at"),
      ])
      .where("s.user_id", "=", userId)
      .orderBy("s.created_at", "desc"),
  );
}

/** The account's second factor as facts: since when, and how many recovery codes are left. */
function factorOf(userId: string) {
  const eb = expressionBuilder<DB, never>();
  return jsonObjectFrom(
    eb
      .selectFrom("totp_factors as f")
      .select((eb) => [
        "f.confirmed_at",
        eb
          .selectFrom("recovery_codes as r")
          .select((eb) => eb.fn.countAll<number>().as("left"))
          .whereRef("r.user_id", "=", "f.user_id")
          .where("r.used_at", "is", null)
          .as("recovery_codes_left"),
      ])
      .where("f.user_id", "=", userId),
  );
}

/** The account's rows, each kind as JSON: facts about its secrets, never one of them. */
function accountData(userId: string) {
  const eb = expressionBuilder<DB, never>();
  return [
    jsonObjectFrom(
      eb
        .selectFrom("users")
        .select([...USER_COLUMNS, "verified_at", "updated_at", "last_sign_in_at", "last_sign_in_user_agent", "last_sign_in_address"])
        .where("id", "=", userId),
    ).as("account"),
    sessionsOf(userId).as("sessions"),
    factorOf(userId).as("factor"),
    jsonArrayFrom(
      eb
        .selectFrom("identities")
        .select(["provider", "email", "linked_at", "last_sign_in_at"])
        .where("user_id", "=", userId)
        .orderBy("linked_at"),
    ).as("identities"),
    jsonArrayFrom(
      eb
        .selectFrom("passkeys")
        .select(["id", "name", "device_type", "backed_up", "transports", "created_at", "last_used_at"])
        .where("user_id", "=", userId)
        .orderBy("created_at", "desc"),
    ).as("passkeys"),
    jsonArrayFrom(
      eb
        .selectFrom("devices")
        .select(["created_at", "last_sign_in_at", "user_agent", "client_address", "country"])
        .where("user_id", "=", userId)
        .orderBy("last_sign_in_at", "desc"),
    ).as("devices"),
    jsonArrayFrom(
      eb
        .selectFrom("one_time_codes")
        .select(["purpose", "address", "created_at", "expires_at", "consumed_at"])
        .where("user_id", "=", userId)
        .orderBy("created_at", "desc"),
    ).as("codes"),
    jsonArrayFrom(
      eb
        .selectFrom("email_outbox")
        .select(["to_address", "subject", "created_at", "sent_at"])
        .where("to_address", "in", eb.selectFrom("users").select("email").where("id", "=", userId))
        .orderBy("created_at", "desc"),
    ).as("mail"),
    jsonArrayFrom(eb.selectFrom("auth_events").select(EVENT_COLUMNS).where("user_id", "=", userId).orderBy("id", "desc")).as("events"),
  ] as const;
}

/** The last export of the account after `since`, if any: another waits until the interval since it is over. */
function lastExport(userId: string, since: Date): AliasableExpression<Date | null> {
  return tables
    .selectFrom("auth_events")
    .select((eb) => eb.fn.max("created_at").as("last"))
    .where("user_id", "=", userId)
    .where("type", "=", "data_exported")
    .where("created_at", ">", since)
    .$asScalar();
}

/**
 * Reads everything kept about the account and, when the actor may and the account had no export since
 * `notSince`, records the export and queues the owner's notice, in one statement after locking the account's row
 * (two exports at once take turns: the second sees the first). The data comes back only when the export was made.
 */
export async function exportAccount(db: Db, request: ExportRequest) {
  const { userId, actor, by, notSince, events } = request;
  const eb = expressionBuilder<DB, never>();
  const allowed: AliasableExpression<SqlBool> = eb.and([actorStands(actor), eb(lastExport(userId, notSince), "is", null)]);
  const notice = queueMail("notice", {
    recipients: () =>
      subject
        .from()
        .select("email as to_address")
        .where(() => allowed),
    mail: request.notice,
  });
  const statement = withSteps(
    db,
    subject.as((q) => q.selectFrom("users").select(["id", "email"]).where("id", "=", userId)),
    notice.step,
    recordEvents(events, {
      type: "data_exported",
      details: { by },
      rows: () =>
        subject
          .from()
          .select(["id as user_id", noRowDetails()])
          .where(() => allowed),
    }),
  ).selectNoFrom((eb) => [
    eb.exists(subject.from().select("id")).as("found"),
    actorStands(actor).as("permitted"),
    lastExport(userId, notSince).as("last_export_at"),
    notice.queued().as("notice"),
    ...accountData(userId),
  ]);
  const [row] = await afterLockingUsers(db, { users: { ids: [userId, actor.id] }, mode: "change" }, statement);
  return row;
}
