import type { Expression, Selectable, SqlBool } from "kysely";
import type { EndedSession, SessionEnder } from "../revocation.ts";
import type { UserRole, UserStatus } from "../schemas/user.ts";
import type { Db } from "./client.ts";
import { type CodeToIssue, withIssuedCode } from "./codes.ts";
import { type QueuedMail, queuedMail, withQueuedMail } from "./outbox.ts";
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

/**
 * Creates the user and, when `verification` is given, its verification code and the mail carrying it,
 * in one statement. A taken email yields nothing (no exception), which also settles concurrent signups.
 */
export async function createUser(
  db: Db,
  user: NewUser,
  verification?: CodeToIssue,
): Promise<{ user: UserRow; mail: QueuedMail | undefined } | undefined> {
  const row = await withQueuedMail(
    withIssuedCode(
      db.with("created", (q) =>
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
          .onConflict((oc) => oc.column("email").doNothing())
          .returning(USER_COLUMNS),
      ),
      verification && {
        owner: (q) => q.selectFrom("created").select("id as user_id"),
        purpose: "verify_email",
        code: verification,
        now: user.now,
      },
    ),
    verification && { recipients: (q) => q.selectFrom("created").select("email as to_address"), mail: verification.mail },
  )
    .selectFrom("created")
    .select(USER_COLUMNS)
    .select(() => queuedMail().as("mail"))
    .executeTakeFirst();
  if (!row) return undefined;
  const { mail, ...created } = row;
  return { user: created, mail: mail ?? undefined };
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom("users").select(USER_COLUMNS).where("id", "=", id).executeTakeFirst();
}

export async function findLoginCandidate(db: Db, email: string) {
  return db.selectFrom("users").select(["id", "password_hash", "status", "role"]).where("email", "=", email).executeTakeFirst();
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
    .limit(limit)
    .execute();
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
}

export type UserUpdate =
  | { outcome: "updated"; user: UserRow; mail: QueuedMail | undefined; endedSessions: EndedSession[] }
  /** The new address belongs to another user: nothing was changed. */
  | { outcome: "email_taken"; endedSessions: EndedSession[] }
  | { outcome: "not_found"; endedSessions: EndedSession[] };

/**
 * Applies `changes` and, if asked, starts an email change (a code to the new address); all or nothing:
 * if the new address (set directly or to be proved) belongs to another user, nothing changes. When the
 * role or status changed, the user's sessions end, so tokens carrying the old role stop working. One
 * statement.
 */
export async function updateUser(
  db: Db,
  ender: SessionEnder,
  id: string,
  changes: UserChanges,
  options: { now: Date; emailChange?: EmailChangeStart | undefined },
): Promise<UserUpdate> {
  const { now, emailChange } = options;
  const wantedEmail = emailChange?.newEmail ?? changes.email;
  const row = await withQueuedMail(
    withIssuedCode(
      ender.ctes(
        db
          // one row to hang the result on, whether or not the user exists
          .with("one", (q) => q.selectNoFrom((eb) => eb.lit(1).as("one")))
          .with("taken", (q) =>
            q
              .selectFrom("users")
              .select("id")
              .where((eb) => (wantedEmail === undefined ? eb.lit(false) : eb("email", "=", wantedEmail)))
              .where("id", "<>", id),
          )
          .with("before", (q) => q.selectFrom("users").select(["role", "status"]).where("id", "=", id))
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
              .returning(USER_COLUMNS),
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
                  .where((eb) => eb.or([eb("updated.role", "<>", eb.ref("before.role")), eb("updated.status", "<>", eb.ref("before.status"))])),
              ),
            ),
      ),
      emailChange && {
        // a code only when the address really changes
        owner: (q) => q.selectFrom("updated").select("id as user_id").where("email", "<>", emailChange.newEmail),
        purpose: "change_email",
        code: emailChange.code,
        newEmail: emailChange.newEmail,
        now,
      },
    ),
    emailChange && {
      recipients: (q) => q.selectFrom("issued").select((eb) => eb.val(emailChange.newEmail).as("to_address")),
      mail: emailChange.code.mail,
    },
  )
    .selectFrom("one")
    .leftJoin("updated", (join) => join.onTrue())
    .select(USER_COLUMNS.map((column) => `updated.${column}` as const))
    .select((eb) => [
      eb.exists(eb.selectFrom("taken").select("id")).as("email_taken"),
      queuedMail().as("mail"),
      ender.endedSessions().as("ended_sessions"),
    ])
    .executeTakeFirstOrThrow();
  const endedSessions = ender.parse(row.ended_sessions);
  if (row.email_taken === true) return { outcome: "email_taken", endedSessions };
  const { id: userId, email, first_name, last_name, status, role, created_at } = row;
  if (userId === null || email === null || status === null || role === null || created_at === null) {
    return { outcome: "not_found", endedSessions };
  }
  return {
    outcome: "updated",
    user: { id: userId, email, first_name, last_name, status, role, created_at },
    mail: row.mail ?? undefined,
    endedSessions,
  };
}

/** Deletes the user (codes and tokens go with it) and ends their sessions; `deleted` is false if absent. */
export async function deleteUser(
  db: Db,
  ender: SessionEnder,
  id: string,
): Promise<{ deleted: boolean; endedSessions: EndedSession[] }> {
  const row = await ender
    .ctes<DB>(db, (q) => q.selectFrom("refresh_tokens").select("session_id").where("user_id", "=", id))
    .with("deleted", (q) => q.deleteFrom("users").where("id", "=", id).returning("id"))
    .selectNoFrom((eb) => [eb.exists(eb.selectFrom("deleted").select("id")).as("deleted"), ender.endedSessions().as("ended_sessions")])
    .executeTakeFirstOrThrow();
  return { deleted: row.deleted === true, endedSessions: ender.parse(row.ended_sessions) };
}
