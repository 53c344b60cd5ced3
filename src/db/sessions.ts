// Sessions and their refresh tokens: starting one (with the standing its tokens carry), listing them, rotating a
// token, ending them.
import {
  type AliasableExpression,
  type Expression,
  type ExpressionBuilder,
  expressionBuilder,
  type QueryCreator,
  sql,
  type SqlBool,
} from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { EndedBy } from "../schemas/events.ts";
import type { AuthMethod } from "../schemas/mfa.ts";
import type { UserRole, UserStatus } from "../schemas/user.ts";
import type { Db } from "./client.ts";
import { type EventContext, recordEvents } from "./events.ts";
import { cte, QueryRows, reading, type Step, tables, withSteps } from "./parts.ts";
import { type DeviceSignIn, forgetDevicesOf, signedInDevice, signInDevice } from "./devices.ts";
import type { MailPart, MailToQueue, QueuedMail } from "./outbox.ts";
import type { DeviceNotice } from "../schemas/devices.ts";
import { type Actor, actorStands } from "./actor.ts";
import { blacklistEntryOf, type Endings, endingsFrom, NOTHING_ENDED, type SessionEnder } from "./revocations.ts";
import type { DB } from "./schema.ts";
import { afterLockingUsers } from "./user-lock.ts";

export type RotationOutcome = "rotated" | "replayed" | "reused" | "expired" | "revoked";

/** A session's row as a statement returned it, with its user's role. */
interface StandingRow {
  id: string;
  user_id: string;
  role: UserRole;
  generation: number;
  amr: AuthMethod[];
  auth_time: Date;
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

/**
 * What every token of a session carries: whose it is, the role and generation it was made under, how its person
 * proved who they are (RFC 8176 `amr`) and when they last proved every factor of the account (`auth_time`). Made
 * only from a session's row as the statement that wrote or renewed it returned it: no caller can compute one.
 */
export class SessionStanding {
  readonly userId: string;
  readonly sessionId: string;
  readonly role: UserRole;
  readonly generation: number;
  readonly amr: AuthMethod[];
  readonly authTime: Date;

  private constructor(row: StandingRow) {
    this.userId = row.user_id;
    this.sessionId = row.id;
    this.role = row.role;
    this.generation = row.generation;
    this.amr = row.amr;
    this.authTime = row.auth_time;
  }

  /** The standing of the session a statement returned (undefined when it returned none: every column null). */
  static fromRow(row: Nullable<StandingRow>): SessionStanding | undefined {
    const { id, user_id, role, generation, amr, auth_time } = row;
    if (id === null || user_id === null || role === null || generation === null || amr === null || auth_time === null) return undefined;
    return new SessionStanding({ id, user_id, role, generation, amr, auth_time });
  }
}

/**
 * How the person behind a new session proved who they are: `proved` just now with these methods (a sign-in:
 * its `auth_time` is now; `passkeyId`: the passkey it was made with, whose removal ends it), or a session that `continues` as a new one after a change of how its account signs
 * in (it keeps the old one's `auth_time`, and its `amr` with the second factor kept, added or removed).
 */
export type SessionProof =
  | { proved: AuthMethod[]; report: ReportLink; passkeyId?: string | undefined; identityId?: string | undefined }
  | { continues: string; factor: "kept" | "added" | "removed" };

/**
 * The hash of a sign-in's "this wasn't me" link, stored on the session only when its new-device notice goes out
 * with the sign-in (a notice that waits for the hour's list gets links of its own).
 */
export interface ReportLink {
  tokenHash: Uint8Array;
  expiresAt: Date;
}

/** A session about to start: its id, its first refresh token, where it starts from, and how it was proved. */
export interface FreshSession {
  id: string;
  tokenHash: Uint8Array;
  expiresAt: Date;
  /** What the session list shows of where it was started. */
  userAgent: string;
  clientAddress: string | null;
  proof: SessionProof;
}

/** The user a session starts for, as the statement sees their row: the generation its tokens carry. */
export type SessionOwner = () => AliasableExpression<{ id: string; session_generation: number }>;

const opened = cte<SessionColumns>()("opened");
const token = cte<{ user_id: string }>()("token");

/** The `amr` a continued session carries: the old one's, with the second factor kept, added or removed. */
function continuedAmr(
  previous: AliasableExpression<AuthMethod[]>,
  factor: "kept" | "added" | "removed",
): AliasableExpression<AuthMethod[]> {
  if (factor === "kept") return previous;
  const eb = expressionBuilder<object, never>();
  const otp = eb.cast<AuthMethod>(eb.val("otp"), "text");
  const without = eb.fn<AuthMethod[]>("array_remove", [previous, otp]);
  return factor === "added" ? eb.fn<AuthMethod[]>("array_append", [without, otp]) : without;
}

/** The new session's row, from its owner (and, for a continued session, the session it continues). */
function sessionRow(owner: SessionOwner, fresh: FreshSession, now: Date) {
  const { id, userAgent, clientAddress, proof } = fresh;
  const row = tables
    .selectFrom(owner().as("owner"))
    .select((eb) => [
      eb.val(id).as("id"),
      "owner.id as user_id",
      eb.val(now).as("created_at"),
      eb.val(userAgent).as("user_agent"),
      eb.val(clientAddress).as("client_address"),
      "owner.session_generation as generation",
    ]);
  if ("proved" in proof) {
    // a sign-in: the device the statement signed in from, its link's hash when its notice goes out now
    const announced = (eb: ExpressionBuilder<DB & { device: { notice: DeviceNotice } }, "device">) => eb("device.notice", "=", "sent");
    return row
      .innerJoin(signedInDevice.from().selectAll().as("device"), (join) => join.onTrue())
      .select((eb) => [
        eb.val(now).as("auth_time"),
        eb.val(proof.proved).as("amr"),
        eb.cast<string | null>(eb.val(proof.passkeyId ?? null), "uuid").as("passkey_id"),
        "device.id as device_id",
        "device.known as device_known",
        eb.cast<string | null>(eb.val(proof.identityId ?? null), "uuid").as("identity_id"),
        eb
          .case()
          .when(announced(eb))
          .then(eb.cast<Uint8Array | null>(eb.val(proof.report.tokenHash), "bytea"))
          .else(null)
          .end()
          .as("report_token_hash"),
        eb
          .case()
          .when(announced(eb))
          .then(eb.cast<Date | null>(eb.val(proof.report.expiresAt), "timestamptz"))
          .else(null)
          .end()
          .as("report_expires_at"),
      ]);
  }
  // a change of how the account signs in: the session goes on from the same device
  return row
    .innerJoin("sessions as previous", (join) => join.on("previous.id", "=", proof.continues).onRef("previous.user_id", "=", "owner.id"))
    .select((eb) => [
      "previous.auth_time",
      continuedAmr(eb.ref("previous.amr"), proof.factor).as("amr"),
      "previous.passkey_id",
      "previous.device_id",
      "previous.device_known",
      "previous.identity_id",
      eb.cast<Uint8Array | null>(eb.val(null), "bytea").as("report_token_hash"),
      eb.cast<Date | null>(eb.val(null), "timestamptz").as("report_expires_at"),
    ]);
}

/** A refresh token (by its hash) for the session each row of `sessions` names, joining the whitelist. */
function storeRefreshToken(
  sessions: AliasableExpression<{ session_id: string; user_id: string }>,
  hash: Uint8Array,
  expiresAt: Date,
  now: Date,
) {
  return tables
    .insertInto("refresh_tokens")
    .columns(["token_hash", "session_id", "user_id", "expires_at", "created_at"])
    .expression(
      tables
        .selectFrom(sessions.as("sessions"))
        .select((eb) => [
          eb.val(hash).as("token_hash"),
          "sessions.session_id",
          "sessions.user_id",
          eb.val(expiresAt).as("expires_at"),
          eb.val(now).as("created_at"),
        ]),
    )
    .returning(["session_id", "user_id"]);
}

/**
 * Starts the session, with its first refresh token, for the user `owner` selects (none: no session), in the
 * statement that decided it: `opened` and `token`. Its generation is the owner's as the statement sees it.
 */
export function openSessionFor(owner: SessionOwner, fresh: FreshSession, now: Date): Step {
  const { tokenHash, expiresAt } = fresh;
  return (statement) =>
    withSteps(
      statement,
      opened.as(
        () =>
          new QueryRows(
            tables
              .insertInto("sessions")
              .columns([
                "id",
                "user_id",
                "created_at",
                "user_agent",
                "client_address",
                "generation",
                "auth_time",
                "amr",
                "passkey_id",
                "device_id",
                "device_known",
                "identity_id",
                "report_token_hash",
                "report_expires_at",
              ])
              .expression(sessionRow(owner, fresh, now))
              .returning(["id", "user_id", "generation", "amr", "auth_time"]),
          ),
      ),
      token.as(() => new QueryRows(storeRefreshToken(opened.from().select(["id as session_id", "user_id"]), tokenHash, expiresAt, now))),
    );
}

/** The session the statement started, as an event row naming it. */
export function openedSessionEvents() {
  return opened.from().select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("id") }).as("row_details")]);
}

/** Whether the statement started its session. */
export function sessionOpened(): AliasableExpression<SqlBool> {
  return expressionBuilder<object, never>().exists(token.from().select("user_id"));
}

/** A session's columns that its tokens carry, as a statement that wrote the row returns them. */
export type SessionColumns = Omit<StandingRow, "role">;

/**
 * The standing of the sessions `rows` returned by their statement, with their user's role (which no statement
 * that starts or renews a session changes).
 */
export function standingOf(rows: AliasableExpression<SessionColumns>) {
  return tables
    .selectFrom(rows.as("s"))
    .innerJoin("users", "users.id", "s.user_id")
    .select(["s.id", "s.user_id", "users.role", "s.generation", "s.amr", "s.auth_time"]);
}

/** The standing of the session the statement started. */
export function openedStanding() {
  return standingOf(opened.from().selectAll());
}

/** A login's owner: the user whose password was checked, with the columns the login's answer needs. */
const owner = cte<{ id: string; role: UserRole; status: UserStatus; session_generation: number }>()("owner");

/**
 * What a login's first step checked, which must still hold when its session starts: the password hash it was
 * checked against (changed since, the sign-in is void), or the identity it came through (unlinked since, likewise).
 */
export type CheckedProof = { passwordHash: string } | { identityId: string };

/**
 * What a sign-in proved, as its statement checks that it still holds. A password, or an identity provider's
 * sign-in (see CheckedProof), and whether the statement proved the second factor too: either alone starts a session
 * only for an account without one (one confirmed meanwhile voids the login); with the factor, only when the
 * statement used it (a challenge's other bindings are checked by the statement that uses the factor), or when the
 * provider asserted a second factor of its own, which stands in for the account's. A provider's sign-in also needs
 * its one-time code spent in the statement. A passkey: whether the statement used it (its counter moved on), which
 * proves every factor at once.
 */
export type SignInProof =
  | { passwordHash: string; secondFactor?: Expression<SqlBool> | undefined }
  | { identityId: string; secondFactor?: Expression<SqlBool> | "asserted by the provider" | undefined; codeSpent?: Expression<SqlBool> }
  | { passkeyUsed: Expression<SqlBool> };

export interface NewSession {
  userId: string;
  proof: SignInProof;
  fresh: FreshSession;
  /** The device it signs in from: a known one (its token rotates) or a new one, announced to the owner by `notice`. */
  device: DeviceSignIn;
  /**
   * The right password's try was counted in the account's run (a sign-in from no known device): the run ends as the
   * session starts, in the same write of the user's row as the sign-in's record.
   */
  endsAccountRun?: boolean | undefined;
  notice: MailToQueue | undefined;
  events: EventContext;
}

const signedIn = cte<{ id: string }>()("signed_in");

/**
 * The account's record of its last sign-in (when, which client, from which network), for "was that me?": written
 * when the session starts, with the end of the account's run of wrong passwords when the sign-in ends it (a row is
 * updated once per statement).
 */
function recordSignIn(session: NewSession): Step {
  const { fresh, events, endsAccountRun } = session;
  return signedIn.as(
    () =>
      new QueryRows(
        tables
          .updateTable("users")
          .set({
            last_sign_in_at: events.now,
            last_sign_in_user_agent: fresh.userAgent || null,
            last_sign_in_address: fresh.clientAddress,
            ...(endsAccountRun ? { login_failures: 0, login_blocked_until: null } : {}),
          })
          .where("id", "in", opened.from().select("user_id"))
          .returning("id"),
      ),
  );
}

/**
 * A sign-in's session, for a verified owner whose proof still holds (`SignInProof`), from the device it signs in
 * from (rotated or added only when the session starts), recorded as the account's last sign-in.
 */
export function openSession(session: NewSession): { step: Step; deviceNotice: MailPart } {
  const { userId, proof, events } = session;
  const ownerStep = owner.as((q) => {
    const user = q.selectFrom("users").select(["id", "role", "status", "session_generation"]).where("id", "=", userId);
    if ("passkeyUsed" in proof) return user.where(proof.passkeyUsed);
    const factor = q.selectFrom("totp_factors").select("user_id").where("user_id", "=", userId).where("confirmed_at", "is not", null);
    const checked =
      "passwordHash" in proof
        ? user.where("password_hash", "=", proof.passwordHash)
        : user
            .where((eb) =>
              eb.exists(eb.selectFrom("identities").select("id").where("id", "=", proof.identityId).whereRef("user_id", "=", "users.id")),
            )
            .where(proof.codeSpent ?? sql.lit(true));
    const { secondFactor } = proof;
    if (secondFactor === "asserted by the provider") return checked;
    return secondFactor ? checked.where((eb) => eb.exists(factor)).where(secondFactor) : checked.where((eb) => eb.not(eb.exists(factor)));
  });
  const verifiedOwner = () => owner.from().select(["id", "session_generation"]).where("status", "=", "verified");
  const device = signInDevice(session.device, session.notice, expressionBuilder<object, never>().exists(verifiedOwner()));
  return {
    step: (statement) =>
      withSteps(statement, ownerStep, ...device.steps, openSessionFor(verifiedOwner, session.fresh, events.now), recordSignIn(session)),
    deviceNotice: device.notice,
  };
}

/**
 * What a login's statement came to: the session's standing, if it started, the account's status as it saw it, and
 * the new-device notice it queued.
 */
export interface SessionStart {
  standing: SessionStanding | undefined;
  status: UserStatus;
  deviceNotice: QueuedMail | null;
}

/** A login's answer: the owner's status, and the standing of the session started (all null when none). */
export function sessionStartColumns() {
  return owner
    .from()
    .leftJoin(openedStanding().as("standing"), (join) => join.onTrue())
    .select([
      "owner.status",
      "standing.id",
      "standing.user_id",
      "standing.role",
      "standing.generation",
      "standing.amr",
      "standing.auth_time",
    ]);
}

/**
 * Starts a session for a user whose password was just checked, and returns its standing as this statement wrote
 * it under the user's row lock: a role or status change racing the login either commits first, and is seen
 * here, or waits for this statement and then ends the session it started. Only a verified account gets a
 * session, which ends the account's run of wrong ones and records the sign-in on the account (so the lock is the
 * changing kind: two logins of one user take turns). Undefined when the user is gone or the password changed since it was checked.
 */
export async function startSession(db: Db, session: NewSession): Promise<SessionStart | undefined> {
  // a known device's run ends as its token rotates; the account's, with the record of the sign-in
  const opening = openSession({ ...session, endsAccountRun: session.device.known === undefined });
  const statement = withSteps(db, opening.step, recordEvents(session.events, { type: "login_succeeded", rows: openedSessionEvents }))
    .selectFrom(sessionStartColumns().as("start"))
    .selectAll()
    .select(() => opening.deviceNotice.queued().as("device_notice"));
  const [row] = await afterLockingUsers(db, { users: { ids: [session.userId] }, mode: "change" }, statement);
  return row && { standing: SessionStanding.fromRow(row), status: row.status, deviceNotice: row.device_notice };
}

/** A session as its owner sees it in "where am I logged in". */
export interface SessionListing {
  id: string;
  created_at: Date;
  last_refreshed_at: Date | null;
  user_agent: string;
  client_address: string | null;
  /** The device it was signed in from (still known), whether that device was known then, and its last sign-in. */
  device: { id: string; known: boolean; lastSignInAt: Date } | null;
}

/**
 * The user's live sessions (with a refresh token that has not expired), newest first, in one statement
 * that also tells whether the user exists (`undefined` when not).
 */
export async function listSessions(db: Db, userId: string, now: Date): Promise<SessionListing[] | undefined> {
  const rows = await db
    .selectFrom("users as u")
    .leftJoin("sessions as s", "s.user_id", "u.id")
    .leftJoin("refresh_tokens as t", (join) => join.onRef("t.session_id", "=", "s.id").on("t.expires_at", ">", now))
    .leftJoin("devices as d", "d.id", "s.device_id")
    .select((eb) => [
      "s.id",
      "s.created_at",
      "s.user_agent",
      "s.client_address",
      "s.device_known",
      "d.id as device_id",
      "d.last_sign_in_at",
      // the newest token of the chain was made by the last refresh, unless it is the login's own
      eb.fn.max("t.created_at").filterWhere("t.created_at", ">", eb.ref("s.created_at")).as("last_refreshed_at"),
      eb.fn.count("t.token_hash").as("live_tokens"),
    ])
    .where("u.id", "=", userId)
    .groupBy(["u.id", "s.id", "d.id"])
    .orderBy("s.created_at", (ob) => ob.desc().nullsLast())
    .orderBy("s.id")
    .execute();
  if (rows.length === 0) return undefined;
  return rows.flatMap(({ id, created_at, user_agent, client_address, last_refreshed_at, live_tokens, ...device }) => {
    if (id === null || created_at === null || user_agent === null || Number(live_tokens) === 0) return [];
    const { device_id, device_known, last_sign_in_at } = device;
    const known =
      device_id === null || last_sign_in_at === null
        ? null
        : { id: device_id, known: device_known === true, lastSignInAt: last_sign_in_at };
    return [{ id, created_at, user_agent, client_address, last_refreshed_at, device: known }];
  });
}

export interface Rotation {
  outcome: RotationOutcome;
  /** The session's standing, read from its row: the successor's tokens carry it. */
  standing: SessionStanding;
  status: UserStatus;
}

export interface RotationRequest {
  tokenHash: Uint8Array;
  successorHash: Uint8Array;
  successorExpiresAt: Date;
  /** The client presenting the token (a hash of its user agent and network). */
  clientFingerprint: Uint8Array;
  /** A token spent after this instant, by the same client, may be replayed for the same successor. */
  graceStart: Date;
  events: EventContext;
}

const presented = cte<{ session_id: string; user_id: string; used_at: Date | null; used_by: Uint8Array | null; expires_at: Date }>()(
  "presented",
);
const sessionRevoked = cte<{ token_id: string }>()("session_revoked");
const spent = cte<{ session_id: string; user_id: string }>()("spent");
const successor = cte<{ session_id: string }>()("successor");
const verdict = cte<{ session_id: string; user_id: string; outcome: RotationOutcome }>()("verdict");

/**
 * The token presented, locked (FOR UPDATE) so concurrent rotations of it queue: exactly one spends it.
 * It is spent only while live and while its session is not on the blacklist, and its successor joins the
 * whitelist in the same statement.
 */
function spendToken(request: RotationRequest): Step[] {
  const { tokenHash, successorHash, successorExpiresAt, clientFingerprint, events } = request;
  const now = events.now;
  return [
    presented.as((q) =>
      q
        .selectFrom("refresh_tokens")
        .select(["session_id", "user_id", "used_at", "used_by", "expires_at"])
        .where("token_hash", "=", tokenHash)
        .forUpdate(),
    ),
    // a session ended by a concurrent statement cannot live on through a rotation
    sessionRevoked.as(() => blacklistEntryOf(presented.from().select("session_id"))),
    spent.as(
      () =>
        new QueryRows(
          tables
            .updateTable("refresh_tokens")
            .set({ used_at: now, used_by: clientFingerprint })
            .where("token_hash", "=", tokenHash)
            .where("used_at", "is", null)
            .where("expires_at", ">", now)
            .where((eb) => eb.not(eb.exists(sessionRevoked.from().select("token_id"))))
            .returning(["session_id", "user_id"]),
        ),
    ),
    successor.as(
      () => new QueryRows(storeRefreshToken(spent.from().select(["session_id", "user_id"]), successorHash, successorExpiresAt, now)),
    ),
  ];
}

/**
 * What became of the presentation: spent now (`rotated`), expired, on the blacklist (`revoked`), spent
 * moments ago by this same client whose successor is still unused (`replayed`: two tabs refreshing at
 * once), or else `reused`: a spent token in someone else's hands (RFC 9700 §4.14.2).
 */
function judgePresentation(request: RotationRequest): Step {
  const { successorHash, clientFingerprint, graceStart, events } = request;
  return verdict.as(() =>
    presented.from().select((eb) => [
      "session_id",
      "user_id",
      eb
        .case()
        .when(eb.exists(spent.from().select("session_id")))
        .then(eb.val<RotationOutcome>("rotated"))
        .when("expires_at", "<=", events.now)
        .then(eb.val<RotationOutcome>("expired"))
        .when(eb.exists(sessionRevoked.from().select("token_id")))
        .then(eb.val<RotationOutcome>("revoked"))
        .when(
          eb.and([
            eb("used_at", ">", graceStart),
            eb("used_by", "=", clientFingerprint),
            eb.not(
              eb.exists(
                eb
                  .selectFrom("refresh_tokens")
                  .select("session_id")
                  .where("token_hash", "=", successorHash)
                  .where("used_at", "is not", null),
              ),
            ),
          ]),
        )
        .then(eb.val<RotationOutcome>("replayed"))
        .else(eb.val<RotationOutcome>("reused"))
        .end()
        .as("outcome"),
    ]),
  );
}

/** The presentations judged `outcome`, as event rows naming their session. */
function verdictEvents(outcome: RotationOutcome) {
  return verdict
    .from()
    .select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("session_id") }).as("row_details")])
    .where("outcome", "=", outcome);
}

/** The verdict with the session's standing, read from its row, and its user's status. */
function judgedStanding() {
  return reading(verdict)
    .selectFrom("verdict")
    .innerJoin("users", "users.id", "verdict.user_id")
    .innerJoin("sessions", "sessions.id", "verdict.session_id")
    .select([
      "verdict.outcome",
      "users.status",
      "sessions.id",
      "sessions.user_id",
      "users.role",
      "sessions.generation",
      "sessions.amr",
      "sessions.auth_time",
    ]);
}

/**
 * Spends a refresh token and stores its successor, in one statement, after taking its user's row lock
 * (shared: rotations of one user run side by side, and anything that ends sessions waits for them, or they
 * for it, and then sees the other). A reused token ends its whole session; a session on the blacklist never
 * rotates. `rotation` is undefined for a token that is not (or no longer) in the whitelist, or whose user or
 * session is gone.
 */
export async function rotateRefreshToken(
  db: Db,
  ender: SessionEnder,
  request: RotationRequest,
): Promise<{ rotation: Rotation | undefined; endings: Endings }> {
  const ending = ender.endSessions(() => verdict.from().select("session_id").where("outcome", "=", "reused"));
  const statement = withSteps(
    db,
    ...spendToken(request),
    judgePresentation(request),
    ending.step,
    recordEvents(request.events, { type: "refresh_reuse_detected", rows: () => verdictEvents("reused") }),
    recordEvents(request.events, { type: "refresh_replayed", rows: () => verdictEvents("replayed") }),
  )
    .selectFrom(judgedStanding().as("judged"))
    .selectAll("judged")
    .select(() => ending.ended().as("ended"));
  const [row] = await afterLockingUsers(db, { users: { refreshTokenHash: request.tokenHash }, mode: "share" }, statement);
  const standing = row && SessionStanding.fromRow(row);
  if (!row || !standing) return { rotation: undefined, endings: NOTHING_ENDED };
  return { rotation: { outcome: row.outcome, standing, status: row.status }, endings: endingsFrom(row.ended) };
}

/**
 * Ends the session a live refresh token belongs to, after taking its user's row lock, so a rotation of the
 * same session either comes first, and its successor ends here, or comes after and finds nothing to rotate.
 * Nothing ends when the token is unknown or expired.
 */
export async function endSessionOfToken(
  db: Db,
  ender: SessionEnder,
  tokenHash: Uint8Array,
  events: EventContext,
): Promise<{ endings: Endings }> {
  const ending = ender.endSessions((q) =>
    q.selectFrom("refresh_tokens").select("session_id").where("token_hash", "=", tokenHash).where("expires_at", ">", events.now),
  );
  const statement = withSteps(
    db,
    ending.step,
    recordEvents(events, { type: "logged_out", rows: () => ending.closedSessionEvents() }),
  ).selectNoFrom(() => ending.ended().as("ended"));
  const [row] = await afterLockingUsers(db, { users: { refreshTokenHash: tokenHash }, mode: "change" }, statement);
  return { endings: endingsFrom(row?.ended) };
}

/**
 * Ends sessions of a user, chosen by `which`: one of them (by id), or all (the user's generation moves on).
 * Every ended session is recorded as `session_ended`. The user's row (and an admin actor's) is locked first,
 * in the same transaction, so a login or rotation racing it is ended too, or comes after. An admin acting on
 * another user must still be an active admin as the database has them now.
 */
export async function endUserSessions(
  db: Db,
  ender: SessionEnder,
  request: { userId: string; which: { sessionId: string } | "all"; by: EndedBy; actor: Actor; events: EventContext },
): Promise<{ userFound: boolean; allowed: boolean; endings: Endings }> {
  const { userId, which, by, actor, events } = request;
  const allowed = actorStands(actor);
  const ofUser = (q: QueryCreator<DB>) => q.selectFrom("users").select("id").where("id", "=", userId).where(allowed);
  const ending =
    which === "all"
      ? ender.endAllSessionsOf(ofUser)
      : ender.endSessions((q) => q.selectFrom("sessions").select("id").where("id", "=", which.sessionId).where("user_id", "in", ofUser(q)));
  const statement = withSteps(
    db,
    ending.step,
    // signing out everywhere forgets the user's devices too: the next sign-in on each is a new device's
    which === "all" && forgetDevicesOf(ofUser),
    recordEvents(events, { type: "session_ended", details: { by, all: which === "all" }, rows: () => ending.closedSessionEvents() }),
  ).selectNoFrom((eb) => [
    eb.exists(eb.selectFrom("users").select("id").where("id", "=", userId)).as("user_found"),
    allowed.as("allowed"),
    ending.ended().as("ended"),
  ]);
  const [row] = await afterLockingUsers(db, { users: { ids: [userId, actor.id] }, mode: "change" }, statement);
  return { userFound: row?.user_found === true, allowed: row?.allowed === true, endings: endingsFrom(row?.ended) };
}
