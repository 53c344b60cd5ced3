import type { AliasableExpression, QueryCreator } from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { EndedSession, SessionEnder } from "../revocation.ts";
import { type AddressProofPurpose, AddressProofPurposeSchema, type CodePurpose, type CodeScope } from "../schemas/codes.ts";
import type { UserStatus } from "../schemas/user.ts";
import { type Db, runAfter } from "./client.ts";
import { type EventContext, noRowDetails, withEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queuedMail, withQueuedMail, withQueuedNotice } from "./outbox.ts";
import type { DB } from "./schema.ts";
import { partBuilder, QueryRows } from "./statement-parts.ts";

/** A new code's hash and lifetime, and the mail that carries it. */
export interface CodeToIssue {
  hash: Uint8Array;
  expiresAt: Date;
  mail: MailToQueue;
}

export interface CodeIssue<D> {
  /** Selects the user the code is for. */
  owner: (q: QueryCreator<D>) => AliasableExpression<{ user_id: string }>;
  purpose: CodePurpose;
  /** The address the code is sent to, and proves. */
  address: string;
  code: CodeToIssue;
  now: Date;
}

interface GuessRow {
  id: string;
  user_id: string;
  purpose: CodePurpose;
  address: string;
  old_email: string;
}

const part = partBuilder<{
  owner: { user_id: string };
  charged: { attempts: number };
  others: { attempts: number };
  candidate: GuessRow;
  consumed: Pick<GuessRow, "user_id" | "purpose" | "address">;
}>();

/**
 * True when a code was sent to `address` after `since`, whoever asked for it: at most one code a minute
 * reaches an address, so nobody can flood an inbox with codes or buy fresh guesses.
 */
export function codeSentSince(address: string, since: Date) {
  return part.selectFrom("one_time_codes").select("id").where("address", "=", address).where("created_at", ">", since);
}

/**
 * Adds the common table expression `issued`: a new code for the user `owner` selects, replacing the live
 * code of the same purpose (one live code per user and purpose; the old one stops working), or none when
 * `issue` is undefined. Returns the user_id of each code issued.
 */
export function withIssuedCode<D>(qc: QueryCreator<D>, issue: CodeIssue<D> | undefined) {
  if (!issue)
    return qc.with("issued", () =>
      part
        .selectFrom("one_time_codes")
        .select("user_id")
        .where((eb) => eb.lit(false)),
    );
  const { owner, purpose, address, code, now } = issue;
  return qc.with(
    "issued",
    (q) =>
      new QueryRows(
        part
          .insertInto("one_time_codes")
          .columns(["user_id", "purpose", "code_hash", "address", "expires_at", "created_at"])
          .expression((eb) =>
            eb
              .selectFrom(owner(q).as("owner"))
              .select((eb) => [
                "owner.user_id",
                eb.val(purpose).as("purpose"),
                eb.val(code.hash).as("code_hash"),
                eb.val(address).as("address"),
                eb.val(code.expiresAt).as("expires_at"),
                eb.val(now).as("created_at"),
              ]),
          )
          .onConflict((oc) =>
            oc
              .columns(["user_id", "purpose"])
              .where("consumed_at", "is", null)
              .doUpdateSet((eb) => ({
                code_hash: eb.ref("excluded.code_hash"),
                address: eb.ref("excluded.address"),
                expires_at: eb.ref("excluded.expires_at"),
                created_at: eb.ref("excluded.created_at"),
              })),
          )
          .returning("user_id"),
      ),
  );
}

/**
 * Replaces the live verification code of an unverified user (the old one dies) and queues its mail,
 * unless a code reached the address since `notIssuedSince`. Yields nothing for an unknown, verified or
 * too-recently-served address.
 */
export async function reissueVerificationCode(
  db: Db,
  request: { email: string; code: CodeToIssue; notIssuedSince: Date; now: Date },
): Promise<QueuedMail | undefined> {
  const { email, code, notIssuedSince, now } = request;
  const row = await withQueuedMail(
    withIssuedCode<DB>(db, {
      owner: (q) =>
        q
          .selectFrom("users")
          .select("id as user_id")
          .where("email", "=", email)
          .where("status", "=", "unverified")
          .where((eb) => eb.not(eb.exists(codeSentSince(email, notIssuedSince)))),
      purpose: "verify_email",
      address: email,
      code,
      now,
    }),
    { recipients: (q) => q.selectFrom("issued").select((eb) => eb.val(email).as("to_address")), mail: code.mail },
  )
    .selectNoFrom(() => queuedMail("mail").as("mail"))
    .executeTakeFirst();
  return row?.mail ?? undefined;
}

/** A guess at the code sent to an address, charged to the address's budget for its scope. */
export interface CodeGuess {
  address: string;
  hash: Uint8Array;
  scope: CodeScope;
  /** The purposes a right guess may prove. */
  purposes: CodePurpose[];
  /** The guesser's network: each has a budget of its own, so a stranger cannot use up the owner's. */
  client: string;
  /** Guesses each client may make at the address within a window, right or wrong. */
  perClient: number;
  /** Guesses all clients together may make at the address within a window. */
  perAddress: number;
  /** The window a first guess opens; later guesses within it share its budget. */
  windowEndsAt: Date;
  now: Date;
}

/**
 * Adds the common table expressions of a guess: `charged` (the guess, counted before it is judged, so
 * concurrent guesses cannot overspend), `others` (what other clients spent), `candidate` (the live code
 * the guess matches, if the budget allows) and `consumed` (that code, spent). Codes are stored as HMACs
 * bound to their address, so a guess can only match a code sent to that address.
 */
export function withCodeGuess<D>(qc: QueryCreator<D>, guess: CodeGuess) {
  const { address, hash, scope, purposes, client, perClient, perAddress, windowEndsAt, now } = guess;
  return qc
    .with(
      "charged",
      () =>
        new QueryRows(
          part
            .insertInto("code_attempts")
            .values({ address, scope, client, attempts: 1, window_ends_at: windowEndsAt })
            .onConflict((oc) =>
              oc.columns(["address", "scope", "client"]).doUpdateSet((eb) => {
                const windowOver = eb("code_attempts.window_ends_at", "<=", now);
                return {
                  attempts: eb
                    .case()
                    .when(windowOver)
                    .then(1)
                    .else(eb("code_attempts.attempts", "+", 1))
                    .end(),
                  window_ends_at: eb
                    .case()
                    .when(windowOver)
                    .then(eb.ref("excluded.window_ends_at"))
                    .else(eb.ref("code_attempts.window_ends_at"))
                    .end(),
                };
              }),
            )
            .returning("attempts"),
        ),
    )
    .with("others", () =>
      part
        .selectFrom("code_attempts")
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("attempts"), eb.lit(0)).as("attempts"))
        .where("address", "=", address)
        .where("scope", "=", scope)
        .where("client", "<>", client)
        .where("window_ends_at", ">", now),
    )
    .with("candidate", () =>
      part
        .selectFrom("one_time_codes as c")
        .innerJoin("users as u", "u.id", "c.user_id")
        .select(["c.id", "c.user_id", "c.purpose", "c.address", "u.email as old_email"])
        .where("c.address", "=", address)
        .where("c.code_hash", "=", hash)
        .where("c.purpose", "in", purposes)
        .where("c.consumed_at", "is", null)
        .where("c.expires_at", ">", now)
        // a signup's or a reset's code proves the address the account still has
        .where((eb) => eb.or([eb("c.purpose", "=", "change_email"), eb("u.email", "=", eb.ref("c.address"))]))
        .where((eb) => eb.or([eb("c.purpose", "<>", "verify_email"), eb("u.status", "=", "unverified")]))
        .where((eb) => eb(eb.selectFrom("charged").select("attempts"), "<=", perClient))
        .where((eb) =>
          eb(eb(eb.selectFrom("charged").select("attempts"), "+", eb.selectFrom("others").select("attempts")), "<=", perAddress),
        )
        .limit(1)
        .forUpdate("c"),
    )
    .with(
      "consumed",
      () =>
        new QueryRows(
          part
            .updateTable("one_time_codes")
            .set({ consumed_at: now })
            .where("id", "in", part.selectFrom("candidate").select("id"))
            .returning(["user_id", "purpose", "address"]),
        ),
    );
}

export interface AddressProof {
  guess: CodeGuess;
  /** Sent to the old address when an email change completes, so a hijack does not go unnoticed. */
  changeNotice: MailToQueue;
  events: EventContext;
}

export interface AddressProofResult {
  /** What the right code proved, or undefined for any failure (wrong, expired, none, over budget). */
  proved: AddressProofPurpose | undefined;
  notice: QueuedMail | undefined;
}

/**
 * Checks a guess at the code sent to an address and, if right, consumes it and applies its purpose (mark
 * the user verified, or move them to the new address), all in one statement: the code is spent before its
 * effect can be seen, so it can never be used twice.
 */
export async function proveAddress(db: Db, proof: AddressProof): Promise<AddressProofResult> {
  const { now } = proof.guess;
  const row = await withEvents(
    withQueuedNotice(
      withCodeGuess<DB>(db, proof.guess)
        .with("verified", (q) =>
          q
            .updateTable("users")
            .set((eb) => ({ status: "verified", verified_at: eb.fn.coalesce("verified_at", eb.val(now)), updated_at: now }))
            .where("id", "in", q.selectFrom("consumed").select("user_id").where("purpose", "=", "verify_email")),
        )
        .with("moved", (q) =>
          q
            .updateTable("users")
            .from("consumed")
            .set((eb) => ({ email: eb.ref("consumed.address"), updated_at: now }))
            .whereRef("users.id", "=", "consumed.user_id")
            .where("consumed.purpose", "=", "change_email"),
        ),
      {
        recipients: (q) => q.selectFrom("candidate").select("old_email as to_address").where("purpose", "=", "change_email"),
        mail: proof.changeNotice,
      },
    ),
    proof.events,
    [
      {
        type: "email_verified",
        rows: (q) => q.selectFrom("consumed").select(["user_id", noRowDetails()]).where("purpose", "=", "verify_email"),
      },
      {
        type: "email_changed",
        details: { by: "owner" },
        rows: (q) =>
          q
            .selectFrom("consumed")
            .select((eb) => ["user_id", jsonBuildObject({ to: eb.ref("address") }).as("row_details")])
            .where("purpose", "=", "change_email"),
      },
    ],
  )
    .selectNoFrom((eb) => [eb.selectFrom("consumed").select("purpose").limit(1).as("proved"), queuedMail("notice").as("notice")])
    .executeTakeFirstOrThrow();
  return { proved: AddressProofPurposeSchema.safeParse(row.proved).data, notice: row.notice ?? undefined };
}

/**
 * Issues a password-reset code to the account with this address (not a disabled one), unless a code
 * reached the address since `notIssuedSince`, with its mail and event. Yields nothing otherwise, and
 * costs the same either way.
 */
export async function issueResetCode(
  db: Db,
  request: { email: string; code: CodeToIssue; notIssuedSince: Date; events: EventContext },
): Promise<QueuedMail | undefined> {
  const { email, code, notIssuedSince, events } = request;
  const row = await withEvents(
    withQueuedMail(
      withIssuedCode<DB>(db, {
        owner: (q) =>
          q
            .selectFrom("users")
            .select("id as user_id")
            .where("email", "=", email)
            .where("status", "<>", "disabled")
            .where((eb) => eb.not(eb.exists(codeSentSince(email, notIssuedSince)))),
        purpose: "reset_password",
        address: email,
        code,
        now: events.now,
      }),
      { recipients: (q) => q.selectFrom("issued").select((eb) => eb.val(email).as("to_address")), mail: code.mail },
    ),
    events,
    [{ type: "password_reset_requested", rows: (q) => q.selectFrom("issued").select(["user_id", noRowDetails()]) }],
  )
    .selectNoFrom(() => queuedMail("mail").as("mail"))
    .executeTakeFirst();
  return row?.mail ?? undefined;
}

export interface PasswordReset {
  guess: CodeGuess;
  passwordHash: string;
  /** To the account's address once the password is reset: no code in it. */
  notice: MailToQueue;
  events: EventContext;
}

/**
 * Checks a guess at the reset code of an address and, if right, in one transaction: consumes the code,
 * sets the new password, marks the address proved (the code reached it), ends every session of the
 * account, queues a notice and records the event. The account's row is locked first, so a login racing
 * the reset either commits first, and its session is ended here, or sees the new password.
 */
export async function resetPassword(
  db: Db,
  ender: SessionEnder,
  reset: PasswordReset,
): Promise<{ reset: boolean; notice: QueuedMail | undefined; endedSessions: EndedSession[] }> {
  const { guess, passwordHash, notice, events } = reset;
  const now = guess.now;
  const lock = db.selectFrom("users").select("id").where("email", "=", guess.address).forNoKeyUpdate().compile();
  const statement = withEvents(
    withQueuedNotice(
      ender.ctes(
        withCodeGuess<DB>(db, guess).with("changed", (q) =>
          q
            .updateTable("users")
            .set((eb) => ({
              password_hash: passwordHash,
              status: eb.case().when("status", "=", "unverified").then(eb.val<UserStatus>("verified")).else(eb.ref("status")).end(),
              verified_at: eb.fn.coalesce("verified_at", eb.val(now)),
              updated_at: now,
            }))
            .where("id", "in", q.selectFrom("consumed").select("user_id"))
            .returning(["id", "email"]),
        ),
        (q) => q.selectFrom("refresh_tokens").select("session_id").where("user_id", "in", q.selectFrom("changed").select("id")),
      ),
      { recipients: (q) => q.selectFrom("changed").select("email as to_address"), mail: notice },
    ),
    events,
    [{ type: "password_reset_completed", rows: (q) => q.selectFrom("changed").select(["id as user_id", noRowDetails()]) }],
  ).selectNoFrom((eb) => [
    eb.exists(eb.selectFrom("changed").select("id")).as("reset"),
    queuedMail("notice").as("notice"),
    ender.endedSessions().as("ended_sessions"),
  ]);
  const [row] = await runAfter(db, lock, statement.compile());
  return { reset: row?.reset === true, notice: row?.notice ?? undefined, endedSessions: ender.parse(row?.ended_sessions ?? []) };
}
