import type { Expression, Selectable, SqlBool } from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { EndedSession, SessionEnder } from "../revocation.ts";
import type { UserRole, UserStatus } from "../schemas/user.ts";
import { type Db, runAfter } from "./client.ts";
import { type CodeToIssue, codeSentSince, withIssuedCode } from "./codes.ts";
import { type EventContext, noRowDetails, withEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queuedMail, withQueuedMail, withQueuedNotice } from "./outbox.ts";
import type { DB, Users } from "./schema.ts";

const USER_COLUMNS = ["id", "email", "first_name", "last_name", "status", "role", "created_at"] as const;

export type UserRow = Pick<Selectable<Users>, (typeof USER_COLUMNS)[number]>;

export interface NewUser {
  email: string;
  passwordHash: string;
  firstName: string | null;
  lastName: string | null;
  status: UserStatus;
  role: UserRole;
  now: Date;
}

/** A signup: the new user's code, and when the address last got one that a new signup must not undercut. */
export interface SignupCode {
  code: CodeToIssue;
  /** A signup for an address no one ever proved replaces that account, unless a code reached it after this. */
  notIssuedSince: Date;
  events: EventContext;
}

export type Creation =
  | { outcome: "created"; user: UserRow; mail: QueuedMail | undefined }
  /** The address belongs to an account that has proved it. */
  | { outcome: "taken" }
  /** A signup for the same never-proved address came moments ago: nothing changed. */
  | { outcome: "unchanged"; user: UserRow };

/**
 * Creates the user and, for a signup, its verification code and the mail carrying it, in one statement.
 * An address nobody ever proved does not make an account: a signup for it replaces the password and
 * names and sends a fresh code (the earlier code dies), so whoever registered it first cannot wait for
 * the owner to verify it into their hands (account pre-hijacking). A taken address yields `taken`
 * without an exception, which also settles concurrent signups.
 */
export async function createUser(db: Db, user: NewUser, signup?: SignupCode): Promise<Creation> {
  const row = await withEvents(
    withQueuedMail(
      withIssuedCode(
        db
          .with("one", (q) => q.selectNoFrom((eb) => eb.lit(1).as("one")))
          .with("created", (q) =>
            q
              .insertInto("users")
              .values({
                email: user.email,
                password_hash: user.passwordHash,
                first_name: user.firstName,
                last_name: user.lastName,
                status: user.status,
                role: user.role,
                verified_at: user.status === "verified" ? user.now : null,
                created_at: user.now,
                updated_at: user.now,
              })
              .onConflict((oc) => {
                if (!signup) return oc.column("email").doNothing();
                // Every conflict updates, so the row (locked, as a concurrent signup just wrote it) is always
                // returned; it changes only when nobody proved the address and no code reached it lately.
                return oc.column("email").doUpdateSet((eb) => {
                  const replace = eb.and([
                    eb("users.status", "=", "unverified"),
                    eb("users.verified_at", "is", null),
                    eb("users.created_at", "<=", signup.notIssuedSince),
                    eb.not(eb.exists(codeSentSince(user.email, signup.notIssuedSince))),
                  ]);
                  const newer = <C extends "password_hash" | "first_name" | "last_name" | "created_at" | "updated_at">(column: C) =>
                    eb
                      .case()
                      .when(replace)
                      .then(eb.ref(`excluded.${column}`))
                      .else(eb.ref(`users.${column}`))
                      .end();
                  return {
                    password_hash: newer("password_hash"),
                    first_name: newer("first_name"),
                    last_name: newer("last_name"),
                    created_at: newer("created_at"),
                    updated_at: newer("updated_at"),
                  };
                });
              })
              .returning([...USER_COLUMNS, "verified_at"]),
          ),
        signup && {
          // a new account, or one this signup took over: its created_at is this signup's
          owner: (q) => q.selectFrom("created").select("id as user_id").where("created_at", "=", user.now).where("verified_at", "is", null),
          purpose: "verify_email",
          address: user.email,
          code: signup.code,
          now: user.now,
        },
      ),
      signup && { recipients: (q) => q.selectFrom("issued").select((eb) => eb.val(user.email).as("to_address")), mail: signup.code.mail },
    ),
    signup?.events ?? { actorId: null, clientAddress: null, userAgent: null, requestId: null, now: user.now },
    [
      {
        type: "signed_up",
        details: { by: signup ? "signup" : "operator" },
        rows: (q) => q.selectFrom("created").select(["id as user_id", noRowDetails()]).where("created_at", "=", user.now),
      },
    ],
  )
    .selectFrom("one")
    .leftJoin("created", (join) => join.onTrue())
    .select([...USER_COLUMNS.map((column) => `created.${column}` as const), "created.verified_at"])
    .select(() => queuedMail("mail").as("mail"))
    .executeTakeFirstOrThrow();
  const { id, email, first_name, last_name, status, role, created_at, verified_at } = row;
  if (id === null || email === null || status === null || role === null || created_at === null) return { outcome: "taken" };
  const created = { id, email, first_name, last_name, status, role, created_at };
  if (signup) {
    if (verified_at !== null || status !== "unverified") return { outcome: "taken" };
    if (created_at.getTime() !== user.now.getTime()) return { outcome: "unchanged", user: created };
  }
  return { outcome: "created", user: created, mail: row.mail ?? undefined };
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom("users").select(USER_COLUMNS).where("id", "=", id).executeTakeFirst();
}

/** What a password check needs, by email (login) or by id (re-authentication). */
export async function findPasswordHolder(db: Db, by: { email: string } | { id: string }) {
  return db
    .selectFrom("users")
    .select(["id", "email", "password_hash", "status", "role"])
    .where((eb) => ("email" in by ? eb("email", "=", by.email) : eb("id", "=", by.id)))
    .executeTakeFirst();
}

/**
 * Replaces an outdated password hash with `to`, only if `from` is still the stored one: a password
 * changed or reset meanwhile is never overwritten by the old password's upgrade.
 */
export async function upgradePasswordHash(db: Db, upgrade: { userId: string; from: string; to: string; now: Date }): Promise<void> {
  await db
    .updateTable("users")
    .set({ password_hash: upgrade.to, updated_at: upgrade.now })
    .where("id", "=", upgrade.userId)
    .where("password_hash", "=", upgrade.from)
    .execute();
}

export interface UserFilters {
  status?: UserStatus | undefined;
  role?: UserRole | undefined;
  emailPrefix?: string | undefined;
  beforeId?: string | undefined;
  limit: number;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** Newest first, paged by id: a keyset page costs the same at page 1 and page 1,000. */
export async function listUsers(db: Db, filters: UserFilters): Promise<UserRow[]> {
  return usersPageQuery(db, filters).execute();
}

/** The statement of `listUsers`, for measuring its plan at scale. */
export function usersPageQuery(db: Db, filters: UserFilters) {
  const { status, role, emailPrefix, beforeId, limit } = filters;
  return db
    .selectFrom("users")
    .select(USER_COLUMNS)
    .where((eb) => {
      const conditions: Expression<SqlBool>[] = [];
      if (status !== undefined) conditions.push(eb("status", "=", status));
      if (role !== undefined) conditions.push(eb("role", "=", role));
      if (emailPrefix !== undefined) conditions.push(eb("email", "like", `${escapeLike(emailPrefix)}%`));
      if (beforeId !== undefined) conditions.push(eb("id", "<", beforeId));
      return eb.and(conditions);
    })
    .orderBy("id", "desc")
    .limit(limit);
}

/**
 * Takes the user's row lock, so a statement run after it sees every session started before (logins take
 * a share lock on the row while they write theirs). With `admins`, every active admin's row too: two
 * admins demoting each other at once must not both see the other as the one left.
 */
function lockUser(db: Db, id: string, admins = false) {
  return db
    .selectFrom("users")
    .select("id")
    .where((eb) => eb.or([eb("id", "=", id), eb.and([eb.lit(admins), eb("role", "=", "admin"), eb("status", "=", "verified")])]))
    .orderBy("id")
    .forNoKeyUpdate()
    .compile();
}

/** What a PATCH may change; each column is named, so nothing else can be set through it. */
export interface UserChanges {
  first_name?: string | null | undefined;
  last_name?: string | null | undefined;
  email?: string | undefined;
  role?: UserRole | undefined;
  status?: UserStatus | undefined;
}

export interface EmailChangeStart {
  newEmail: string;
  code: CodeToIssue;
  /** No code if one reached the new address, or this user asked for a change, after this. */
  notIssuedSince: Date;
}

export interface UpdateOptions {
  events: EventContext;
  /** A user moving their own account to a new address: a code to prove it. */
  emailChange?: EmailChangeStart | undefined;
  /** To the current address, when the address is changed directly or a change to another one starts. */
  oldAddressNotice?: MailToQueue | undefined;
}

export type UserUpdate =
  | { outcome: "updated"; user: UserRow; mail: QueuedMail | undefined; notice: QueuedMail | undefined; endedSessions: EndedSession[] }
  /** The new address belongs to another user: nothing was changed. */
  | { outcome: "email_taken"; endedSessions: EndedSession[] }
  /** A code reached the new address, or this user started a change, moments ago: nothing was changed. */
  | { outcome: "too_soon"; endedSessions: EndedSession[] }
  /** The change would leave no active admin: nothing was changed. */
  | { outcome: "last_admin"; endedSessions: EndedSession[] }
  | { outcome: "not_found"; endedSessions: EndedSession[] };

/**
 * Applies `changes` and, if asked, starts an email change (a code to the new address, a notice to the
 * old one); all or nothing. Asking to change back to the current address cancels a pending change. When
 * the role or status changed, the user's sessions end, so tokens carrying the old role stop working.
 * The user's row is locked first, in the same transaction (one round trip): a login racing this change
 * either finishes first, and its session is ended here, or waits, and sees the change.
 */
export async function updateUser(
  db: Db,
  ender: SessionEnder,
  id: string,
  changes: UserChanges,
  options: UpdateOptions,
): Promise<UserUpdate> {
  const { events, emailChange, oldAddressNotice } = options;
  const now = events.now;
  const wantedEmail = emailChange?.newEmail ?? changes.email;
  // an admin who would no longer be an active one
  const mayRemoveAdmin = changes.role === "user" || (changes.status !== undefined && changes.status !== "verified");
  const statement = withEvents(
    withQueuedNotice(
      withQueuedMail(
        withIssuedCode(
          ender.ctes(
            db
              // one row to hang the result on, whether or not the user exists
              .with("one", (q) => q.selectNoFrom((eb) => eb.lit(1).as("one")))
              .with("before", (q) => q.selectFrom("users").select(["id", "email", "role", "status"]).where("id", "=", id))
              .with("taken", (q) =>
                q
                  .selectFrom("users")
                  .select("id")
                  .where((eb) => (wantedEmail === undefined ? eb.lit(false) : eb("email", "=", wantedEmail)))
                  .where("id", "<>", id),
              )
              .with("too_soon", (q) =>
                q
                  .selectNoFrom((eb) => eb.lit(1).as("one"))
                  .where((eb) => {
                    if (!emailChange) return eb.lit(false);
                    const { newEmail, notIssuedSince } = emailChange;
                    return eb.and([
                      eb.not(eb.exists(q.selectFrom("before").select("id").where("email", "=", newEmail))),
                      eb.or([
                        eb.exists(codeSentSince(newEmail, notIssuedSince)),
                        eb.exists(
                          q
                            .selectFrom("one_time_codes")
                            .select("id")
                            .where("user_id", "=", id)
                            .where("purpose", "=", "change_email")
                            .where("created_at", ">", notIssuedSince),
                        ),
                      ]),
                    ]);
                  }),
              )
              .with("last_admin", (q) =>
                q
                  .selectFrom("before")
                  .select("id")
                  .where("role", "=", "admin")
                  .where("status", "=", "verified")
                  .where((eb) => eb.lit(mayRemoveAdmin))
                  .where((eb) =>
                    eb.not(
                      eb.exists(
                        q
                          .selectFrom("users")
                          .select("id")
                          .where("role", "=", "admin")
                          .where("status", "=", "verified")
                          .where("id", "<>", id),
                      ),
                    ),
                  ),
              )
              .with("updated", (q) =>
                q
                  .updateTable("users")
                  .set((eb) => ({
                    first_name: changes.first_name,
                    last_name: changes.last_name,
                    email: changes.email,
                    role: changes.role,
                    status: changes.status,
                    verified_at: changes.status === "verified" ? eb.fn.coalesce("verified_at", eb.val(now)) : undefined,
                    updated_at: now,
                  }))
                  .where("id", "=", id)
                  .where((eb) => eb.not(eb.exists(eb.selectFrom("taken").select("id"))))
                  .where((eb) => eb.not(eb.exists(eb.selectFrom("too_soon").select("one"))))
                  .where((eb) => eb.not(eb.exists(eb.selectFrom("last_admin").select("id"))))
                  .returning(USER_COLUMNS),
              )
              .with("cancelled", (q) =>
                q
                  .updateTable("one_time_codes")
                  .set({ consumed_at: now })
                  .where("user_id", "=", id)
                  .where("purpose", "=", "change_email")
                  .where("consumed_at", "is", null)
                  .where((eb) =>
                    emailChange === undefined
                      ? eb.lit(false)
                      : eb.exists(eb.selectFrom("updated").select("id").where("email", "=", emailChange.newEmail)),
                  ),
              ),
            (q) =>
              q
                .selectFrom("refresh_tokens")
                .select("session_id")
                .where("user_id", "=", id)
                .where((eb) =>
                  eb.exists(
                    eb
                      .selectFrom(["updated", "before"])
                      .select("updated.id")
                      .where((eb) =>
                        eb.or([eb("updated.role", "<>", eb.ref("before.role")), eb("updated.status", "<>", eb.ref("before.status"))]),
                      ),
                  ),
                ),
          ),
          emailChange && {
            // no code when the "new" address is the current one: that cancels instead
            owner: (q) => q.selectFrom("updated").select("id as user_id").where("email", "<>", emailChange.newEmail),
            purpose: "change_email",
            address: emailChange.newEmail,
            code: emailChange.code,
            now,
          },
        ),
        emailChange && {
          recipients: (q) => q.selectFrom("issued").select((eb) => eb.val(emailChange.newEmail).as("to_address")),
          mail: emailChange.code.mail,
        },
      ),
      oldAddressNotice && {
        recipients: (q) =>
          q
            .selectFrom(["before", "updated"])
            .select("before.email as to_address")
            .where((eb) =>
              eb.or([eb("updated.email", "<>", eb.ref("before.email")), eb.exists(eb.selectFrom("issued").select("user_id"))]),
            ),
        mail: oldAddressNotice,
      },
    ),
    events,
    [
      {
        type: "role_changed",
        rows: (q) =>
          q
            .selectFrom(["updated", "before"])
            .select((eb) => [
              "updated.id as user_id",
              jsonBuildObject({ from: eb.ref("before.role"), to: eb.ref("updated.role") }).as("row_details"),
            ])
            .whereRef("updated.role", "<>", "before.role"),
      },
      {
        type: "status_changed",
        rows: (q) =>
          q
            .selectFrom(["updated", "before"])
            .select((eb) => [
              "updated.id as user_id",
              jsonBuildObject({ from: eb.ref("before.status"), to: eb.ref("updated.status") }).as("row_details"),
            ])
            .whereRef("updated.status", "<>", "before.status"),
      },
      {
        type: "email_changed",
        details: { by: "admin" },
        rows: (q) =>
          q
            .selectFrom(["updated", "before"])
            .select((eb) => ["updated.id as user_id", jsonBuildObject({ to: eb.ref("updated.email") }).as("row_details")])
            .whereRef("updated.email", "<>", "before.email"),
      },
      {
        type: "email_change_requested",
        details: { to: emailChange?.newEmail ?? null },
        rows: (q) => q.selectFrom("issued").select(["user_id", noRowDetails()]),
      },
    ],
  )
    .selectFrom("one")
    .leftJoin("updated", (join) => join.onTrue())
    .select(USER_COLUMNS.map((column) => `updated.${column}` as const))
    .select((eb) => [
      eb.exists(eb.selectFrom("taken").select("id")).as("email_taken"),
      eb.exists(eb.selectFrom("too_soon").select("one")).as("too_soon"),
      eb.exists(eb.selectFrom("last_admin").select("id")).as("last_admin"),
      queuedMail("mail").as("mail"),
      queuedMail("notice").as("notice"),
      ender.endedSessions().as("ended_sessions"),
    ]);
  const [row] = await runAfter(db, lockUser(db, id, mayRemoveAdmin), statement.compile());
  const endedSessions = ender.parse(row?.ended_sessions ?? []);
  if (row?.email_taken === true) return { outcome: "email_taken", endedSessions };
  if (row?.last_admin === true) return { outcome: "last_admin", endedSessions };
  if (row?.too_soon === true) return { outcome: "too_soon", endedSessions };
  if (!row || row.id === null || row.email === null || row.status === null || row.role === null || row.created_at === null) {
    return { outcome: "not_found", endedSessions };
  }
  const { id: userId, email, first_name, last_name, status, role, created_at } = row;
  return {
    outcome: "updated",
    user: { id: userId, email, first_name, last_name, status, role, created_at: new Date(created_at) },
    mail: row.mail ?? undefined,
    notice: row.notice ?? undefined,
    endedSessions,
  };
}

/** Deletes the user (codes and tokens go with it) and ends their sessions, after taking the user's row lock. */
export async function deleteUser(
  db: Db,
  ender: SessionEnder,
  id: string,
  events: EventContext,
): Promise<{ deleted: boolean; endedSessions: EndedSession[] }> {
  const statement = withEvents(
    ender
      .ctes<DB>(db, (q) => q.selectFrom("refresh_tokens").select("session_id").where("user_id", "=", id))
      .with("deleted", (q) => q.deleteFrom("users").where("id", "=", id).returning("id")),
    events,
    [{ type: "user_deleted", rows: (q) => q.selectFrom("deleted").select(["id as user_id", noRowDetails()]) }],
  ).selectNoFrom((eb) => [eb.exists(eb.selectFrom("deleted").select("id")).as("deleted"), ender.endedSessions().as("ended_sessions")]);
  const [row] = await runAfter(db, lockUser(db, id), statement.compile());
  return { deleted: row?.deleted === true, endedSessions: ender.parse(row?.ended_sessions ?? []) };
}
