// Accounts: creating them (a signup, or an operator), reading and listing them, changing and deleting them.
import {
  type AliasableExpression,
  type Expression,
  type ExpressionBuilder,
  expressionBuilder,
  type OperandExpression,
  type Selectable,
  sql,
  type SqlBool,
} from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { UserPatch, UserRole, UserStatus } from "../schemas/user.ts";
import type { Db } from "./client.ts";
import { type CodeToIssue, issueCode, type MailAllowance, mayMailCode } from "./codes.ts";
import { type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { type Cte, cte, QueryRows, reading, type Step, tables, withSteps } from "./parts.ts";
import { type Actor, actorStands } from "./actor.ts";
import { eraseUsers, erasedUsers } from "./erasure.ts";
import { type AdvancedRows, advanceGeneration, type EndedJson, type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import type { DB, Users } from "./schema.ts";
import { endPasswordRun, type PasswordRun } from "./password-run.ts";
import { signInStandingColumns } from "./sign-in-standing.ts";
import { afterLockingUsers, type UserLock } from "./user-lock.ts";

export const USER_COLUMNS = ["id", "email", "first_name", "last_name", "status", "role", "created_at", "deletion_due_at"] as const;

export type UserRow = Pick<Selectable<Users>, (typeof USER_COLUMNS)[number]>;

type UserBefore = Pick<UserRow, "id" | "email" | "role" | "status"> & { session_generation: number };

const created = cte<UserRow>()("created");
const before = cte<UserBefore>()("before");
const updated = cte<UserRow & { session_generation: number }>()("updated");
const cancelled = cte<{ id: string }>()("cancelled");
const codesEnded = cte<{ id: string }>()("codes_ended");

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
export function userFrom(row: { [K in keyof UserRow]: UserRow[K] | null }): UserRow | undefined {
  const { id, email, first_name, last_name, status, role, created_at, deletion_due_at } = row;
  if (id === null || email === null || status === null || role === null || created_at === null) return undefined;
  return { id, email, first_name, last_name, status, role, created_at, deletion_due_at };
}

/**
 * Creates a verified user (or an admin) for an operator: `npm run users -- create`, and tests. Undefined
 * when the address is taken.
 */
export async function insertUser(db: Db, user: NewUser): Promise<UserRow | undefined> {
  const events: EventContext = { actorId: null, clientAddress: null, userAgent: null, requestId: null, now: user.now };
  return withSteps(
    db,
    created.as(
      (q) =>
        new QueryRows(
          q
            .insertInto("users")
            .values(newUserRow(user))
            .onConflict((oc) => oc.column("email").doNothing())
            .returning(USER_COLUMNS),
        ),
    ),
    recordEvents(events, {
      type: "signed_up",
      details: { by: "operator" },
      rows: () => created.from().select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectFrom(created.from().select(USER_COLUMNS).as("created"))
    .selectAll()
    .executeTakeFirst();
}

/** A signup: the new user's code, what the address may be sent, and who signed up from where. */
export interface SignupCode {
  code: CodeToIssue;
  allowance: MailAllowance;
  events: EventContext;
}

export type Registration =
  | { outcome: "created"; user: UserRow; mail: QueuedMail | null }
  /** The address belongs to an account that has proved it. */
  | { outcome: "taken" };

/**
 * The insert of a signup. An address nobody ever proved belongs to nobody yet: a signup for it starts the
 * account over (this signup's password, names and time, so its answer shows nothing an earlier signer typed;
 * the id stays the pending account's), and whoever proves the address must present the password of the
 * latest signup. An address some account proved is not touched: no row comes back.
 */
function upsertSignup(user: NewUser): Step {
  return created.as(
    (q) =>
      new QueryRows(
        q
          .insertInto("users")
          .values(newUserRow(user))
          .onConflict((oc) =>
            oc
              .column("email")
              .doUpdateSet((eb) => ({
                password_hash: eb.ref("excluded.password_hash"),
                first_name: eb.ref("excluded.first_name"),
                last_name: eb.ref("excluded.last_name"),
                created_at: eb.ref("excluded.created_at"),
                updated_at: eb.ref("excluded.updated_at"),
              }))
              .where("users.status", "=", "unverified")
              .where("users.verified_at", "is", null),
          )
          .returning(USER_COLUMNS),
      ),
  );
}

/**
 * Creates an unverified user, or starts the account of an address nobody ever proved over, with its
 * verification code (if the address may be sent one: otherwise the code already sent stays live), the mail
 * carrying it and the event, in one statement. A taken address yields `taken` without an exception, which
 * also settles concurrent signups.
 */
export async function registerUser(db: Db, user: NewUser, signup: SignupCode): Promise<Registration> {
  const code = issueCode({
    owner: () => created.from().select("id as user_id"),
    purpose: "verify_email",
    address: user.email,
    code: signup.code,
    allowance: signup.allowance,
    now: user.now,
  });
  const row = await withSteps(
    db,
    upsertSignup(user),
    code.step,
    recordEvents(signup.events, {
      type: "signed_up",
      details: { by: "signup" },
      rows: () => created.from().select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectFrom(created.from().selectAll().as("created"))
    .selectAll()
    .select(() => code.mail.queued().as("mail"))
    .executeTakeFirst();
  if (!row) return { outcome: "taken" };
  const { mail, ...createdUser } = row;
  return { outcome: "created", user: createdUser, mail };
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom("users").select(USER_COLUMNS).where("id", "=", id).executeTakeFirst();
}

/** A user as an admin reads them: the account, and where its sign-in stands at `now`. */
export async function findUserWithStanding(db: Db, id: string, now: Date) {
  return db.selectFrom("users").select(USER_COLUMNS).select(signInStandingColumns(now)).where("id", "=", id).executeTakeFirst();
}

export type UserWithStanding = NonNullable<Awaited<ReturnType<typeof findUserWithStanding>>>;
/** What a PATCH may change; each column is named, so nothing else can be set through it. */
export type UserChanges = Omit<UserPatch, "current_password">;

export interface EmailChangeStart {
  newEmail: string;
  code: CodeToIssue;
  /** What the new address may be sent; and no change starts if this user started one since `notIssuedSince`. */
  allowance: MailAllowance;
}

export interface UpdateOptions {
  /** Who makes the change, and the standing it needs: an admin for anyone else's account or a role or status. */
  actor: Actor;
  events: EventContext;
  /** A user moving their own account to a new address: a code to prove it. */
  emailChange?: EmailChangeStart | undefined;
  /** To the current address, when the address is changed directly or a change to another one starts. */
  oldAddressNotice?: MailToQueue | undefined;
  /** The user proved their password for this change: the run its try was counted in ends. */
  passwordProved?: PasswordRun | undefined;
}

/** Why an update changed nothing. */
export type UpdateRefusal = "forbidden" | "email_taken" | "last_admin" | "too_soon";

export type UserUpdate =
  | { outcome: "updated"; user: UserRow; mail: QueuedMail | null; notice: QueuedMail | null; endings: Endings }
  | { outcome: UpdateRefusal | "not_found"; endings: Endings };

/** A rule that, when it holds, stops an update, and the refusal it answers with. */
export interface Guard<R extends string> {
  refusal: R;
  holds: Expression<SqlBool>;
}

const guardBuilder = expressionBuilder<DB, never>();

/** The actor is no longer what the write needs, as the database has them now (whatever their token says). */
export function actorGuard(actor: Actor): Guard<"forbidden"> {
  return { refusal: "forbidden", holds: guardBuilder.not(actorStands(actor)) };
}

/** An account that proved its address at some time (a disabled one too): a signup nobody proved is not one. */
function provedAccount(eb: ExpressionBuilder<DB, "users">) {
  return eb.or([eb("status", "<>", "unverified"), eb("verified_at", "is not", null)]);
}

/**
 * The address asked for belongs to another user. For a change its owner proves with a code (`provedOnly`), only an
 * account that proved the address holds it: a signup nobody proved belongs to nobody yet, so it cannot block the
 * move (nor tell the mover that someone signed up), and gives way when the new address is proved.
 */
function emailTakenGuard(id: string, email: string, provedOnly: boolean): Guard<"email_taken"> {
  const holders = guardBuilder.selectFrom("users").select("id").where("email", "=", email).where("id", "<>", id);
  return {
    refusal: "email_taken",
    holds: guardBuilder.exists(provedOnly ? holders.where(provedAccount) : holders),
  };
}

/**
 * The write would leave no active admin. The statement runs with every active admin's row locked, so two
 * admins demoting, disabling or deleting each other at once cannot both see the other as the one left.
 */
export function lastAdminGuard(id: string): Guard<"last_admin"> {
  const eb = guardBuilder;
  const activeAdmins = () => eb.selectFrom("users").select("id").where("role", "=", "admin").where("status", "=", "verified");
  return {
    refusal: "last_admin",
    holds: eb.and([eb.exists(activeAdmins().where("id", "=", id)), eb.not(eb.exists(activeAdmins().where("id", "<>", id)))]),
  };
}

/**
 * The new address may not be sent a code now (one an interval per purpose, a few an hour), or this user
 * started a change moments ago. Asking for the current address back (a cancellation) sends nothing, so it
 * is never too soon.
 */
function tooSoonGuard(id: string, change: EmailChangeStart): Guard<"too_soon"> {
  const eb = guardBuilder;
  const recentChange = eb
    .selectFrom("one_time_codes")
    .select("id")
    .where("user_id", "=", id)
    .where("purpose", "=", "change_email")
    .where("created_at", ">", change.allowance.notIssuedSince);
  return {
    refusal: "too_soon",
    holds: eb.and([
      eb.not(eb.exists(before.from().select("id").where("email", "=", change.newEmail))),
      eb.or([eb.not(mayMailCode(change.newEmail, "change_email", change.allowance)), eb.exists(recentChange)]),
    ]),
  };
}

/** Whether the changes could leave an admin no longer an active one. */
function mayRemoveAdmin(changes: UserChanges): boolean {
  return changes.role === "user" || (changes.status !== undefined && changes.status !== "verified");
}

/** The guards of these changes, in the order their refusals are told. */
function guardsOf(id: string, changes: UserChanges, options: UpdateOptions): Guard<UpdateRefusal>[] {
  const { actor, emailChange } = options;
  const wantedEmail = emailChange?.newEmail ?? changes.email;
  return [
    actorGuard(actor),
    ...(wantedEmail === undefined ? [] : [emailTakenGuard(id, wantedEmail, emailChange !== undefined)]),
    ...(mayRemoveAdmin(changes) ? [lastAdminGuard(id)] : []),
    ...(emailChange ? [tooSoonGuard(id, emailChange)] : []),
  ];
}

/**
 * Tokens carry the role and status: a change of either ends every session of the user, by moving their
 * generation on in the update itself (a row is updated once per statement). Nothing when neither changes.
 */
function endsSessions(eb: ExpressionBuilder<DB, "users">, changes: UserChanges, now: Date) {
  const { role, status } = changes;
  const differs = [
    ...(role === undefined ? [] : [eb("role", "is distinct from", role)]),
    ...(status === undefined ? [] : [eb("status", "is distinct from", status)]),
  ];
  if (differs.length === 0) return {};
  const advanced = advanceGeneration(eb, now);
  return {
    session_generation: eb.case().when(eb.or(differs)).then(advanced.session_generation).else(eb.ref("session_generation")).end(),
    sessions_ended_at: eb.case().when(eb.or(differs)).then(eb.val<Date | null>(now)).else(eb.ref("sessions_ended_at")).end(),
  };
}

/**
 * The update itself, unless a guard holds. A change the user proved with their password also ends their run of
 * wrong passwords here (the row is updated once per statement).
 */
function applyChanges(id: string, changes: UserChanges, guards: Guard<UpdateRefusal>[], options: UpdateOptions): (Step | false)[] {
  const now = options.events.now;
  const proved = options.passwordProved;
  // the account's run ends in the update itself (a row is updated once per statement); a device's, beside it
  const runEnds = proved && proved.deviceId === undefined ? { login_failures: 0, login_blocked_until: null } : {};
  return [
    before.as((q) => q.selectFrom("users").select(["id", "email", "role", "status", "session_generation"]).where("id", "=", id)),
    updated.as(
      () =>
        new QueryRows(
          tables
            .updateTable("users")
            .set((eb) => ({
              first_name: changes.first_name,
              last_name: changes.last_name,
              email: changes.email,
              role: changes.role,
              status: changes.status,
              verified_at: changes.status === "verified" ? eb.fn.coalesce("verified_at", eb.val(now)) : undefined,
              // an admin's status is the account's from then on: a deletion its owner asked for is called off
              ...(changes.status === undefined ? {} : { deletion_due_at: null, deletion_cancel_hash: null }),
              updated_at: now,
              ...runEnds,
              ...endsSessions(eb, changes, now),
            }))
            .where("id", "=", id)
            .where((eb) => eb.not(eb.or(guards.map((guard) => guard.holds))))
            .returning([...USER_COLUMNS, "session_generation"]),
        ),
    ),
    proved?.deviceId !== undefined && endPasswordRun(proved),
  ];
}

/** The refusal of the first guard that holds, or null. */
export function refusalOf(guards: Guard<UpdateRefusal>[]): AliasableExpression<UpdateRefusal | null> {
  const eb = guardBuilder;
  const [first, ...rest] = guards;
  if (!first) return eb.val<UpdateRefusal | null>(null);
  const cases = rest.reduce(
    (chain, guard) => chain.when(guard.holds).then(guard.refusal),
    eb.case().when(first.holds).then(eb.val<UpdateRefusal>(first.refusal)),
  );
  return cases.else(null).end();
}

/** The live codes (of `purpose`, or all) of the users `owners` selects, spent without proving anything. */
export function spendLiveCodes(
  as: Cte<string, { id: string }>,
  request: { owners: () => OperandExpression<string>; purpose?: "change_email"; now: Date },
): Step {
  const { owners, purpose, now } = request;
  return as.as(
    () =>
      new QueryRows(
        tables
          .updateTable("one_time_codes")
          .set({ consumed_at: now })
          .where("user_id", "in", owners())
          .$if(purpose !== undefined, (qb) => qb.where("purpose", "=", "change_email"))
          .where("consumed_at", "is", null)
          .returning("id"),
      ),
  );
}

/** Asking for the current address back cancels a pending change: its code stops working. */
function cancelPendingChange(id: string, change: EmailChangeStart, now: Date): Step {
  const changedBack = () => updated.from().select("id").where("id", "=", id).where("email", "=", change.newEmail);
  return spendLiveCodes(cancelled, { owners: changedBack, purpose: "change_email", now });
}

/** A disabled account proves nothing more: its pending codes (a signup's, a reset's, an email change's) stop working. */
function endPendingCodes(id: string, now: Date): Step {
  return spendLiveCodes(codesEnded, {
    owners: () => updated.from().select("id").where("id", "=", id).where("status", "=", "disabled"),
    now,
  });
}

/** The events of a change of role, status or address, from the rows before and after. */
function changeEvents(events: EventContext, changes: UserChanges): (Step | false)[] {
  const compared = () => reading(updated, before).selectFrom(["updated", "before"]);
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
            .select((eb) => [
              "updated.id as user_id",
              jsonBuildObject({ from: eb.ref("before.email"), to: eb.ref("updated.email") }).as("row_details"),
            ])
            .whereRef("updated.email", "<>", "before.email"),
      }),
  ];
}

/** The user with their new generation, when the update moved it on (it changed their role or status). */
const demoted: AdvancedRows = () =>
  reading(updated, before)
    .selectFrom(["updated", "before"])
    .select(["updated.id", "updated.session_generation"])
    .whereRef("updated.session_generation", "<>", "before.session_generation");

/** A code to the new address of a user who starts an email change (none when they asked for their current one back). */
function emailChangeCode(change: EmailChangeStart, now: Date) {
  return issueCode({
    owner: () => updated.from().select("id as user_id").where("email", "<>", change.newEmail),
    purpose: "change_email",
    address: change.newEmail,
    code: change.code,
    allowance: change.allowance,
    now,
  });
}

/** The current address hears of a change of address: made directly, or started (a code went to the new one). */
function oldAddressRecipients(code: ReturnType<typeof emailChangeCode> | undefined) {
  const compared = reading(before, updated).selectFrom(["before", "updated"]).select("before.email as to_address");
  return code ? compared.where(code.wasIssued()) : compared.whereRef("updated.email", "<>", "before.email");
}

/**
 * Applies `changes` and, if asked, starts an email change (a code to the new address, a notice to the old
 * one); all or nothing, and only while the actor may. Asking for the current address back cancels a pending
 * change. A change of role or status ends every session of the user (their generation moves on), and
 * disabling ends their pending codes. The user's and the actor's rows are locked first, in the same
 * transaction (one round trip): a login or rotation racing this change either finishes first, and its
 * session is ended here, or waits, and sees the change; an actor demoted meanwhile changes nothing.
 */
export async function updateUser(
  db: Db,
  ender: SessionEnder,
  id: string,
  changes: UserChanges,
  options: UpdateOptions,
): Promise<UserUpdate> {
  const { actor, events, emailChange, oldAddressNotice } = options;
  const now = events.now;
  const guards = guardsOf(id, changes, options);
  const ending = ender.endAllSessionsAdvancedBy(demoted);
  const code = emailChange && emailChangeCode(emailChange, now);
  const codeMail = code?.mail ?? queueMail("mail", undefined);
  const notice = queueMail("notice", oldAddressNotice && { recipients: () => oldAddressRecipients(code), mail: oldAddressNotice });
  const statement = withSteps(
    db,
    ...applyChanges(id, changes, guards, options),
    emailChange && cancelPendingChange(id, emailChange, now),
    changes.status === "disabled" && endPendingCodes(id, now),
    (changes.role !== undefined || changes.status !== undefined) && ending.step,
    code?.step,
    notice.step,
    ...changeEvents(events, changes),
    code &&
      recordEvents(events, { type: "email_change_requested", details: { to: emailChange?.newEmail ?? null }, rows: () => code.events() }),
  )
    // what the statement did, one row whether or not it updated the user
    .selectFrom(
      tables
        .selectNoFrom([
          refusalOf(guards).as("refusal"),
          codeMail.queued().as("mail"),
          notice.queued().as("notice"),
          (changes.role !== undefined || changes.status !== undefined ? ending.ended() : sql<EndedJson>`null`).as("ended"),
        ])
        .as("effects"),
    )
    .leftJoin(updated.from().selectAll().as("updated"), (join) => join.onTrue())
    .selectAll("effects")
    .select(USER_COLUMNS.map((column) => `updated.${column}` as const));
  const locked: UserLock = { users: { ids: [id, actor.id] }, mode: "change", activeAdmins: mayRemoveAdmin(changes) };
  const [row] = await afterLockingUsers(db, locked, statement);
  const endings = endingsFrom(row?.ended ?? undefined);
  if (row?.refusal) return { outcome: row.refusal, endings };
  const user = row && userFrom(row);
  if (!user) return { outcome: "not_found", endings };
  return { outcome: "updated", user, mail: row.mail, notice: row.notice, endings };
}

/**
 * Deletes the user at once, erasing everything that names them (src/db/erasure.ts), if the actor is still an
 * active admin and the user is not the last one, after locking both rows and every active admin's. Their access
 * tokens are refused at the edge by the generation after their last.
 */
export async function deleteUser(
  db: Db,
  ender: SessionEnder,
  request: { id: string; actor: Actor; events: EventContext },
): Promise<{ outcome: "deleted" | "not_found" | UpdateRefusal; endings: Endings }> {
  const { id, actor, events } = request;
  const guards = [actorGuard(actor), lastAdminGuard(id)];
  const ending = ender.forgetSessionsOf(erasedUsers);
  const statement = withSteps(
    db,
    ...eraseUsers({
      which: (eb) => eb.and([eb("id", "=", id), eb.not(eb.or(guards.map((guard) => guard.holds)))]),
      by: "admin",
      events,
    }),
    ending.step,
  ).selectNoFrom((eb) => [eb.exists(erasedUsers()).as("deleted"), refusalOf(guards).as("refusal"), ending.ended().as("ended")]);
  const [row] = await afterLockingUsers(db, { users: { ids: [id, actor.id] }, mode: "change", activeAdmins: true }, statement);
  const endings = endingsFrom(row?.ended);
  if (row?.refusal) return { outcome: row.refusal, endings };
  return { outcome: row?.deleted === true ? "deleted" : "not_found", endings };
}
