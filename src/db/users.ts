// Accounts: creating them (a signup, or an operator), reading and listing them, changing and deleting them.
import { type AliasableExpression, type Expression, expressionBuilder, type Selectable, type SqlBool } from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { UserPatch, UserRole, UserStatus } from "../schemas/user.ts";
import type { Db } from "./client.ts";
import { type CodeToIssue, codeSentSince, issueCode } from "./codes.ts";
import { type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { partBuilder, QueryRows, type Step, withSteps } from "./parts.ts";
import type { EndedSession, SessionEnder } from "./revocations.ts";
import type { DB, Users } from "./schema.ts";
import { afterLockingUsers } from "./user-lock.ts";

const USER_COLUMNS = ["id", "email", "first_name", "last_name", "status", "role", "created_at"] as const;

export type UserRow = Pick<Selectable<Users>, (typeof USER_COLUMNS)[number]>;

type UserBefore = Pick<UserRow, "id" | "email" | "role" | "status">;

const userParts = partBuilder<{
  created: UserRow & { verified_at: Date | null };
  before: UserBefore;
  updated: UserRow;
  deleted: { id: string };
}>();

export interface NewUser {
  email: string;
  passwordHash: string;
  firstName: string | null;
  lastName: string | null;
  status: UserStatus;
  role: UserRole;
  now: Date;
}

/** The row a new user is inserted as. */
function newUserRow(user: NewUser) {
  return {
    email: user.email,
    password_hash: user.passwordHash,
    first_name: user.firstName,
    last_name: user.lastName,
    status: user.status,
    role: user.role,
    verified_at: user.status === "verified" ? user.now : null,
    created_at: user.now,
    updated_at: user.now,
  };
}

/** The user a statement wrote, read back from its result columns (all null when it wrote none). */
function userFrom(row: { [K in keyof UserRow]: UserRow[K] | null }): UserRow | undefined {
  const { id, email, first_name, last_name, status, role, created_at } = row;
  if (id === null || email === null || status === null || role === null || created_at === null) return undefined;
  return { id, email, first_name, last_name, status, role, created_at };
}

/**
 * Creates a verified user (or an admin) for an operator: `npm run users -- create`, and tests. Undefined
 * when the address is taken.
 */
export async function insertUser(db: Db, user: NewUser): Promise<UserRow | undefined> {
  const events: EventContext = { actorId: null, clientAddress: null, userAgent: null, requestId: null, now: user.now };
  return withSteps(
    db.with("created", (q) =>
      q
        .insertInto("users")
        .values(newUserRow(user))
        .onConflict((oc) => oc.column("email").doNothing())
        .returning([...USER_COLUMNS, "verified_at"]),
    ),
    recordEvents(events, {
      type: "signed_up",
      details: { by: "operator" },
      rows: () => userParts.selectFrom("created").select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectFrom(userParts.selectFrom("created").select(USER_COLUMNS).as("created"))
    .selectAll()
    .executeTakeFirst();
}

/** A signup: the new user's code, and when the address last got one that a new signup must not undercut. */
export interface SignupCode {
  code: CodeToIssue;
  /** A signup for an address no one ever proved replaces that account, unless a code reached it after this. */
  notIssuedSince: Date;
  events: EventContext;
}

export type Registration =
  | { outcome: "created"; user: UserRow; mail: QueuedMail | null }
  /** The address belongs to an account that has proved it. */
  | { outcome: "taken" }
  /** A signup for the same never-proved address came moments ago: nothing changed. */
  | { outcome: "unchanged"; user: UserRow };

/**
 * The insert of a signup. Every conflict updates, so the row (locked, as a concurrent signup just wrote
 * it) is always returned; it changes only when nobody proved the address and no code reached it lately:
 * whoever registered an address first cannot wait for its owner to verify it into their hands.
 */
function upsertSignup(db: Db, user: NewUser, signup: SignupCode) {
  return db.with("created", (q) =>
    q
      .insertInto("users")
      .values(newUserRow(user))
      .onConflict((oc) =>
        oc.column("email").doUpdateSet((eb) => {
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
        }),
      )
      .returning([...USER_COLUMNS, "verified_at"]),
  );
}

/**
 * Creates an unverified user, or takes over the account of an address nobody ever proved (new password,
 * names and code; the earlier code dies), with its verification code, the mail carrying it and the event,
 * in one statement. A taken address yields `taken` without an exception, which also settles concurrent
 * signups.
 */
export async function registerUser(db: Db, user: NewUser, signup: SignupCode): Promise<Registration> {
  // a new account, or one this signup took over: its created_at is this signup's
  const madeNow = () => userParts.selectFrom("created").where("created_at", "=", user.now).where("verified_at", "is", null);
  const code = issueCode({
    owner: () => madeNow().select("id as user_id"),
    purpose: "verify_email",
    address: user.email,
    code: signup.code,
    now: user.now,
  });
  const row = await withSteps(
    upsertSignup(db, user, signup),
    code.step,
    recordEvents(signup.events, {
      type: "signed_up",
      details: { by: "signup" },
      rows: () => madeNow().select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectFrom(userParts.selectFrom("created").selectAll().as("created"))
    .selectAll()
    .select(() => code.mail.queued().as("mail"))
    .executeTakeFirstOrThrow();
  const { verified_at, mail, ...created } = row;
  if (verified_at !== null || created.status !== "unverified") return { outcome: "taken" };
  if (created.created_at.getTime() !== user.now.getTime()) return { outcome: "unchanged", user: created };
  return { outcome: "created", user: created, mail };
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom("users").select(USER_COLUMNS).where("id", "=", id).executeTakeFirst();
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

/** What a PATCH may change; each column is named, so nothing else can be set through it. */
export type UserChanges = Omit<UserPatch, "current_password">;

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

/** Why an update changed nothing. */
export type UpdateRefusal = "email_taken" | "last_admin" | "too_soon";

export type UserUpdate =
  | { outcome: "updated"; user: UserRow; mail: QueuedMail | null; notice: QueuedMail | null; endedSessions: EndedSession[] }
  | { outcome: UpdateRefusal | "not_found"; endedSessions: EndedSession[] };

/** A rule that, when it holds, stops an update, and the refusal it answers with. */
interface Guard {
  refusal: UpdateRefusal;
  holds: Expression<SqlBool>;
}

const guardBuilder = expressionBuilder<DB & { before: UserBefore }, never>();

/** The address asked for belongs to another user. */
function emailTakenGuard(id: string, email: string): Guard {
  return {
    refusal: "email_taken",
    holds: guardBuilder.exists(guardBuilder.selectFrom("users").select("id").where("email", "=", email).where("id", "<>", id)),
  };
}

/**
 * The change would leave no active admin. The statement runs with every active admin's row locked, so
 * two admins demoting each other at once cannot both see the other as the one left.
 */
function lastAdminGuard(id: string): Guard {
  const eb = guardBuilder;
  const otherAdmins = eb
    .selectFrom("users")
    .select("id")
    .where("role", "=", "admin")
    .where("status", "=", "verified")
    .where("id", "<>", id);
  const wasAdmin = eb.selectFrom("before").select("id").where("role", "=", "admin").where("status", "=", "verified");
  return { refusal: "last_admin", holds: eb.and([eb.exists(wasAdmin), eb.not(eb.exists(otherAdmins))]) };
}

/**
 * A code reached the new address, or this user started a change, moments ago: at most one code a minute
 * reaches an address, and each user starts at most one change a minute. Asking for the current address
 * back (a cancellation) sends nothing, so it is never too soon.
 */
function tooSoonGuard(id: string, change: EmailChangeStart): Guard {
  const eb = guardBuilder;
  const recentChange = eb
    .selectFrom("one_time_codes")
    .select("id")
    .where("user_id", "=", id)
    .where("purpose", "=", "change_email")
    .where("created_at", ">", change.notIssuedSince);
  return {
    refusal: "too_soon",
    holds: eb.and([
      eb.not(eb.exists(eb.selectFrom("before").select("id").where("email", "=", change.newEmail))),
      eb.or([eb.exists(codeSentSince(change.newEmail, change.notIssuedSince)), eb.exists(recentChange)]),
    ]),
  };
}

/** Whether the changes could leave an admin no longer an active one. */
function mayRemoveAdmin(changes: UserChanges): boolean {
  return changes.role === "user" || (changes.status !== undefined && changes.status !== "verified");
}

/** The guards of these changes, in the order their refusals are told. */
function guardsOf(id: string, changes: UserChanges, emailChange: EmailChangeStart | undefined): Guard[] {
  const wantedEmail = emailChange?.newEmail ?? changes.email;
  return [
    ...(wantedEmail === undefined ? [] : [emailTakenGuard(id, wantedEmail)]),
    ...(mayRemoveAdmin(changes) ? [lastAdminGuard(id)] : []),
    ...(emailChange ? [tooSoonGuard(id, emailChange)] : []),
  ];
}

/** The update itself, unless a guard holds. */
function applyChanges(id: string, changes: UserChanges, guards: Guard[], now: Date): Step {
  return (statement) =>
    statement
      .with("before", (q) => q.selectFrom("users").select(["id", "email", "role", "status"]).where("id", "=", id))
      .with(
        "updated",
        () =>
          new QueryRows(
            userParts
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
              .$if(guards.length > 0, (qb) => qb.where((eb) => eb.not(eb.or(guards.map((guard) => guard.holds)))))
              .returning(USER_COLUMNS),
          ),
      );
}

/** The refusal of the first guard that holds, or null. */
function refusalOf(guards: Guard[]): AliasableExpression<UpdateRefusal | null> {
  const eb = guardBuilder;
  const [first, ...rest] = guards;
  if (!first) return eb.val<UpdateRefusal | null>(null);
  const cases = rest.reduce(
    (chain, guard) => chain.when(guard.holds).then(guard.refusal),
    eb.case().when(first.holds).then(eb.val<UpdateRefusal>(first.refusal)),
  );
  return cases.else(null).end();
}

/** Asking for the current address back cancels a pending change: its code stops working. */
function cancelPendingChange(id: string, change: EmailChangeStart, now: Date): Step {
  return (statement) =>
    statement.with(
      "cancelled",
      () =>
        new QueryRows(
          userParts
            .updateTable("one_time_codes")
            .set({ consumed_at: now })
            .where("user_id", "=", id)
            .where("purpose", "=", "change_email")
            .where("consumed_at", "is", null)
            .where((eb) => eb.exists(eb.selectFrom("updated").select("id").where("email", "=", change.newEmail)))
            .returning("id"),
        ),
    );
}

/** The events of a change of role, status or address, from the rows before and after. */
function changeEvents(events: EventContext, changes: UserChanges): (Step | false)[] {
  const compared = () => userParts.selectFrom(["updated", "before"]);
  return [
    changes.role !== undefined &&
      recordEvents(events, {
        type: "role_changed",
        rows: () =>
          compared()
            .select((eb) => [
              "updated.id as user_id",
              jsonBuildObject({ from: eb.ref("before.role"), to: eb.ref("updated.role") }).as("row_details"),
            ])
            .whereRef("updated.role", "<>", "before.role"),
      }),
    changes.status !== undefined &&
      recordEvents(events, {
        type: "status_changed",
        rows: () =>
          compared()
            .select((eb) => [
              "updated.id as user_id",
              jsonBuildObject({ from: eb.ref("before.status"), to: eb.ref("updated.status") }).as("row_details"),
            ])
            .whereRef("updated.status", "<>", "before.status"),
      }),
    changes.email !== undefined &&
      recordEvents(events, {
        type: "email_changed",
        details: { by: "admin" },
        rows: () =>
          compared()
            .select((eb) => ["updated.id as user_id", jsonBuildObject({ to: eb.ref("updated.email") }).as("row_details")])
            .whereRef("updated.email", "<>", "before.email"),
      }),
  ];
}

/** The sessions of the user, when the update changed their role or status: their tokens carry both. */
function sessionsOfDemoted(id: string) {
  return userParts
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
    );
}

/** A code to the new address of a user who starts an email change (none when they asked for their current one back). */
function emailChangeCode(change: EmailChangeStart, now: Date) {
  return issueCode({
    owner: () => userParts.selectFrom("updated").select("id as user_id").where("email", "<>", change.newEmail),
    purpose: "change_email",
    address: change.newEmail,
    code: change.code,
    now,
  });
}

/** The current address hears of a change of address: made directly, or started (a code went to the new one). */
function oldAddressRecipients(code: ReturnType<typeof emailChangeCode> | undefined) {
  const compared = userParts.selectFrom(["before", "updated"]).select("before.email as to_address");
  return code ? compared.where(code.wasIssued()) : compared.whereRef("updated.email", "<>", "before.email");
}

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
  const guards = guardsOf(id, changes, emailChange);
  const ending = ender.endSessions(changes.role !== undefined || changes.status !== undefined ? () => sessionsOfDemoted(id) : undefined);
  const code = emailChange && emailChangeCode(emailChange, now);
  const codeMail = code?.mail ?? queueMail("mail", undefined);
  const notice = queueMail("notice", oldAddressNotice && { recipients: () => oldAddressRecipients(code), mail: oldAddressNotice });
  const statement = withSteps(
    db,
    applyChanges(id, changes, guards, now),
    emailChange && cancelPendingChange(id, emailChange, now),
    ending.step,
    code?.step,
    notice.step,
    ...changeEvents(events, changes),
    code &&
      recordEvents(events, { type: "email_change_requested", details: { to: emailChange?.newEmail ?? null }, rows: () => code.events() }),
  )
    // what the statement did, one row whether or not it updated the user
    .selectFrom(
      userParts
        .selectNoFrom([
          refusalOf(guards).as("refusal"),
          codeMail.queued().as("mail"),
          notice.queued().as("notice"),
          ending.ended().as("ended_sessions"),
        ])
        .as("effects"),
    )
    .leftJoin(userParts.selectFrom("updated").selectAll().as("updated"), (join) => join.onTrue())
    .selectAll("effects")
    .select(USER_COLUMNS.map((column) => `updated.${column}` as const));
  const [row] = await afterLockingUsers(db, { users: { ids: [id] }, mode: "change", activeAdmins: mayRemoveAdmin(changes) }, statement);
  const endedSessions = ender.parse(row?.ended_sessions ?? []);
  if (row?.refusal) return { outcome: row.refusal, endedSessions };
  const user = row && userFrom(row);
  if (!user) return { outcome: "not_found", endedSessions };
  return { outcome: "updated", user, mail: row.mail, notice: row.notice, endedSessions };
}

/** Deletes the user (codes and tokens go with it) and ends their sessions, after taking the user's row lock. */
export async function deleteUser(
  db: Db,
  ender: SessionEnder,
  id: string,
  events: EventContext,
): Promise<{ deleted: boolean; endedSessions: EndedSession[] }> {
  const ending = ender.endSessions((q) => q.selectFrom("refresh_tokens").select("session_id").where("user_id", "=", id));
  const statement = withSteps(
    db,
    ending.step,
    (statement) => statement.with("deleted", (q) => q.deleteFrom("users").where("id", "=", id).returning("id")),
    recordEvents(events, { type: "user_deleted", rows: () => userParts.selectFrom("deleted").select(["id as user_id", noRowDetails()]) }),
  ).selectNoFrom((eb) => [eb.exists(userParts.selectFrom("deleted").select("id")).as("deleted"), ending.ended().as("ended_sessions")]);
  const [row] = await afterLockingUsers(db, { users: { ids: [id] }, mode: "change" }, statement);
  return { deleted: row?.deleted === true, endedSessions: ender.parse(row?.ended_sessions ?? []) };
}
