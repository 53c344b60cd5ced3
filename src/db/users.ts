import { type RawBuilder, sql } from "kysely";
import type { Db } from "./client.ts";
import type { CodeToIssue } from "./codes.ts";
import { type OutboxRow, type QueuedMail, queueMailIf, queuedMailFromRow } from "./outbox.ts";
import type { UserRole, UserStatus } from "./schema.ts";
import {
  ENDED_AS_JSON,
  type RevokedSessionJson,
  type RevokedSessionRow,
  revokedSessionFromJson,
  revokeSessionsCtes,
} from "./sessions.ts";

export interface UserRow {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  status: UserStatus;
  role: UserRole;
  created_at: Date;
}

const USER_COLUMNS = sql.raw("id, email, first_name, last_name, status, role, created_at");

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
 * Creates the user and, for an unverified one, its verification code and the mail carrying it, in
 * one statement. A taken email yields nothing (no exception), which also settles concurrent signups.
 */
export async function insertUser(
  db: Db,
  user: NewUser,
  code: CodeToIssue | undefined,
): Promise<{ user: UserRow; mail: QueuedMail | undefined } | undefined> {
  const created = sql`
    insert into users (email, password_hash, first_name, last_name, status, role, verified_at)
    values (${user.email}, ${user.passwordHash}, ${user.firstName}, ${user.lastName}, ${user.status}, ${user.role},
            ${user.status === "verified" ? user.now : null})
    on conflict (email) do nothing
    returning ${USER_COLUMNS}`;
  if (!code) {
    const { rows } = await sql<UserRow>`${created}`.execute(db);
    return rows[0] && { user: rows[0], mail: undefined };
  }
  const { rows } = await sql<UserRow & { mail_id: string; to_address: string; subject: string; text_body: string; html_body: string }>`
    with created as (${created}),
    code as (
      insert into one_time_codes (user_id, purpose, code_hash, expires_at)
      select id, 'verify_email', ${code.hash}, ${code.expiresAt} from created
    ),
    mail as (${queueMailIf("created", code.mail, code.mailRetryAfter)})
    select created.*, mail.id as mail_id, mail.to_address, mail.subject, mail.text_body, mail.html_body
    from created cross join mail`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { mail_id, to_address, subject, text_body, html_body, ...created_user } = row;
  return { user: created_user, mail: queuedMailFromRow({ id: mail_id, to_address, subject, text_body, html_body }) };
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  const { rows } = await sql<UserRow>`select ${USER_COLUMNS} from users where id = ${id}`.execute(db);
  return rows[0];
}

export interface LoginCandidate {
  id: string;
  password_hash: string;
  status: UserStatus;
  role: UserRole;
}

export async function findLoginCandidate(db: Db, email: string): Promise<LoginCandidate | undefined> {
  return db
    .selectFrom("users")
    .select(["id", "password_hash", "status", "role"])
    .where("email", "=", email)
    .executeTakeFirst();
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
  let query = db
    .selectFrom("users")
    .select(["id", "email", "first_name", "last_name", "status", "role", "created_at"])
    .orderBy("id", "desc")
    .limit(filters.limit);
  if (filters.status) query = query.where("status", "=", filters.status);
  if (filters.role) query = query.where("role", "=", filters.role);
  if (filters.emailPrefix) query = query.where("email", "like", `${escapeLike(filters.emailPrefix)}%`);
  if (filters.beforeId) query = query.where("id", "<", filters.beforeId);
  return query.execute();
}

export interface UserChanges {
  first_name?: string | null | undefined;
  last_name?: string | null | undefined;
  email?: string | undefined;
  role?: UserRole | undefined;
  status?: UserStatus | undefined;
}

export interface EmailChangeRequest extends CodeToIssue {
  newEmail: string;
}

export type UserUpdate =
  | { outcome: "updated"; user: UserRow; mail: QueuedMail | undefined; revokedSessions: RevokedSessionRow[] }
  /** The new address belongs to another user: nothing was changed. */
  | { outcome: "email_taken" }
  | { outcome: "not_found" };

function assignments(changes: UserChanges, now: Date): RawBuilder<unknown> {
  const parts = Object.entries(changes)
    .filter(([, value]) => value !== undefined)
    .map(([column, value]) => sql`${sql.ref(column)} = ${value}`);
  if (changes.status === "verified") parts.push(sql`verified_at = coalesce(verified_at, ${now})`);
  return sql.join([...parts, sql`updated_at = ${now}`]);
}

/**
 * Applies `changes` and, if asked, starts an email change (a code to the new address); all or
 * nothing: if the new address (set directly or to be proved) belongs to another user, nothing
 * changes. When the role or status changed, the user's sessions end, so tokens carrying the old role
 * stop working. One statement.
 */
export async function updateUser(
  db: Db,
  id: string,
  changes: UserChanges,
  options: { now: Date; emailChange?: EmailChangeRequest | undefined },
): Promise<UserUpdate> {
  const { now, emailChange } = options;
  const wantedEmail = emailChange?.newEmail ?? changes.email;
  const emailChangeCtes = emailChange
    ? sql`
    free as (select 1 from updated where email <> ${emailChange.newEmail}),
    code as (
      insert into one_time_codes (user_id, purpose, code_hash, new_email, expires_at, created_at)
      select ${id}, 'change_email', ${emailChange.hash}, ${emailChange.newEmail}, ${emailChange.expiresAt}, ${now} from free
      on conflict (user_id, purpose) where consumed_at is null
      do update set code_hash = excluded.code_hash, new_email = excluded.new_email, expires_at = excluded.expires_at,
                    attempts = 0, created_at = excluded.created_at
    ),
    mail as (${queueMailIf("free", emailChange.mail, emailChange.mailRetryAfter)}),`
    : sql``;
  const { rows } = await sql<
    Nullable<UserRow> & { email_taken: boolean; mail: OutboxRow | null; revoked_sessions: RevokedSessionJson[] }
  >`
    with taken as (select 1 from users where email = ${wantedEmail ?? null} and id <> ${id}),
    before as (select role, status from users where id = ${id}),
    updated as (
      update users set ${assignments(changes, now)}
      where id = ${id} and not exists (select 1 from taken)
      returning ${USER_COLUMNS}
    ),
    ${emailChangeCtes}
    ${revokeSessionsCtes(
      sql`select session_id from refresh_tokens where user_id = ${id} and exists (
            select 1 from updated u, before b where u.role <> b.role or u.status <> b.status)`,
      now,
    )}
    select updated.*,
      exists (select 1 from taken) as email_taken,
      ${emailChange ? sql`(select row_to_json(mail) from mail)` : sql`null`} as mail,
      ${ENDED_AS_JSON} as revoked_sessions
    from (select 1) as one left join updated on true`.execute(db);
  const row = rows[0];
  if (row?.email_taken) return { outcome: "email_taken" };
  const { email_taken, mail, revoked_sessions, ...user } = row ?? {};
  if (!isUserRow(user)) return { outcome: "not_found" };
  return {
    outcome: "updated",
    user,
    mail: mail ? queuedMailFromRow(mail) : undefined,
    revokedSessions: (revoked_sessions ?? []).map(revokedSessionFromJson),
  };
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

function isUserRow(row: Partial<Nullable<UserRow>>): row is UserRow {
  return typeof row.id === "string";
}

/** Deletes the user (codes and tokens go with it) and blacklists their sessions; undefined if absent. */
export async function deleteUser(db: Db, id: string, now: Date): Promise<RevokedSessionRow[] | undefined> {
  const { rows } = await sql<{ revoked_sessions: RevokedSessionJson[] }>`
    with ${revokeSessionsCtes(sql`select session_id from refresh_tokens where user_id = ${id}`, now)},
    deleted as (delete from users where id = ${id} returning id)
    select ${ENDED_AS_JSON} as revoked_sessions from deleted`.execute(db);
  return rows[0]?.revoked_sessions.map(revokedSessionFromJson);
}
