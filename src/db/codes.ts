// One-time codes: issuing them (one live code per user and purpose, with the mail that carries it) and
// judging guesses at them against the budget of the address they were sent to.
import { type AliasableExpression, type Expression, expressionBuilder, type SqlBool } from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { AuthEventType } from "../schemas/events.ts";
import { type AddressProofPurpose, AddressProofPurposeSchema, type CodePurpose, type CodeScope } from "../schemas/codes.ts";
import type { Db } from "./client.ts";
import { type EventContext, type EventRow, noRowDetails, recordEvents } from "./events.ts";
import { type MailPart, type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { partBuilder, QueryRows, type Step, withSteps } from "./parts.ts";

/** A new code's hash and lifetime, and the mail that carries it. */
export interface CodeToIssue {
  hash: Uint8Array;
  expiresAt: Date;
  mail: MailToQueue;
}

export interface CodeIssue {
  /** Selects the user the code is for (none: no code). */
  owner: () => AliasableExpression<{ user_id: string }>;
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

const codeParts = partBuilder<{
  issued: { user_id: string; address: string };
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
  return codeParts.selectFrom("one_time_codes").select("id").where("address", "=", address).where("created_at", ">", since);
}

/** A code a statement issues: the step that stores it and queues its mail, and what it issued. */
export interface IssuedCode {
  step: Step;
  mail: MailPart;
  /** The user of the code issued, as event rows. */
  events(): AliasableExpression<EventRow>;
  /** Whether a code was issued. */
  wasIssued(): Expression<SqlBool>;
}

/**
 * Issues a code to the user `owner` selects, replacing their live code of the same purpose (one live code
 * per user and purpose: the old one stops working), and queues the mail that carries it to the address.
 */
export function issueCode(issue: CodeIssue): IssuedCode {
  const { owner, purpose, address, code, now } = issue;
  const mail = queueMail("mail", { recipients: () => codeParts.selectFrom("issued").select("address as to_address"), mail: code.mail });
  const store: Step = (statement) =>
    statement.with(
      "issued",
      () =>
        new QueryRows(
          codeParts
            .insertInto("one_time_codes")
            .columns(["user_id", "purpose", "code_hash", "address", "expires_at", "created_at"])
            .expression((eb) =>
              eb
                .selectFrom(owner().as("owner"))
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
            .returning(["user_id", "address"]),
        ),
    );
  return {
    step: (statement) => withSteps(statement, store, mail.step),
    mail,
    events: () => codeParts.selectFrom("issued").select(["user_id", noRowDetails()]),
    wasIssued: () => expressionBuilder<object, never>().exists(codeParts.selectFrom("issued").select("user_id")),
  };
}

/** A code for whichever user has this address, if `owner` admits them, with its mail; the mail queued, or null. */
async function issueCodeTo(
  db: Db,
  request: { email: string; purpose: CodePurpose; code: CodeToIssue; now: Date },
  owner: () => AliasableExpression<{ user_id: string }>,
  recorded?: { context: EventContext; type: AuthEventType },
): Promise<QueuedMail | null> {
  const code = issueCode({ owner, purpose: request.purpose, address: request.email, code: request.code, now: request.now });
  const row = await withSteps(db, code.step, recorded && recordEvents(recorded.context, { type: recorded.type, rows: () => code.events() }))
    .selectNoFrom(() => code.mail.queued().as("mail"))
    .executeTakeFirst();
  return row?.mail ?? null;
}

/**
 * Replaces the live verification code of an unverified user (the old one dies) and queues its mail,
 * unless a code reached the address since `notIssuedSince`. Yields nothing for an unknown, verified or
 * too-recently-served address.
 */
export function reissueVerificationCode(
  db: Db,
  request: { email: string; code: CodeToIssue; notIssuedSince: Date; now: Date },
): Promise<QueuedMail | null> {
  const { email, notIssuedSince } = request;
  return issueCodeTo(db, { ...request, purpose: "verify_email" }, () =>
    codeParts
      .selectFrom("users")
      .select("id as user_id")
      .where("email", "=", email)
      .where("status", "=", "unverified")
      .where((eb) => eb.not(eb.exists(codeSentSince(email, notIssuedSince)))),
  );
}

/**
 * Issues a password-reset code to the account with this address (not a disabled one), unless a code
 * reached the address since `notIssuedSince`, with its mail and event. Yields nothing otherwise, and
 * costs the same either way.
 */
export function issueResetCode(
  db: Db,
  request: { email: string; code: CodeToIssue; notIssuedSince: Date; events: EventContext },
): Promise<QueuedMail | null> {
  const { email, notIssuedSince, events } = request;
  return issueCodeTo(
    db,
    { ...request, purpose: "reset_password", now: events.now },
    () =>
      codeParts
        .selectFrom("users")
        .select("id as user_id")
        .where("email", "=", email)
        .where("status", "<>", "disabled")
        .where((eb) => eb.not(eb.exists(codeSentSince(email, notIssuedSince)))),
    { context: events, type: "password_reset_requested" },
  );
}

/** A guess at the code sent to an address, charged to the address's budget for its scope. */
export interface CodeGuess {
  address: string;
  hash: Uint8Array;
  scope: CodeScope;
  /** The purposes a right guess may prove. */
  purposes: CodePurpose[];
  /** The guesser's network: each has a budget of its own, so a stranger cannot use up the owner's. */
  network: string;
  /** Guesses each network may make at the address within a window, right or wrong. */
  perNetwork: number;
  /** Guesses all networks together may make at the address within a window. */
  perAddress: number;
  /** The window a first guess opens; later guesses within it share its budget. */
  windowEndsAt: Date;
  now: Date;
}

/** A guess a statement judges: the step that charges and judges it, and the code it consumed, if right. */
export interface JudgedGuess {
  step: Step;
  /** The user whose code the guess consumed (none for a wrong guess). */
  consumedBy(): ReturnType<typeof consumerOf>;
}

function consumerOf() {
  return codeParts.selectFrom("consumed").select("user_id");
}

/** The guess, counted before it is judged, so concurrent guesses cannot overspend the budget. */
function chargeGuess(guess: CodeGuess) {
  const { address, scope, network, windowEndsAt, now } = guess;
  return codeParts
    .insertInto("code_attempts")
    .values({ address, scope, client: network, attempts: 1, window_ends_at: windowEndsAt })
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
    .returning("attempts");
}

/** What the other networks spent at the address within their windows. */
function othersSpent(guess: CodeGuess) {
  return codeParts
    .selectFrom("code_attempts")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("attempts"), eb.lit(0)).as("attempts"))
    .where("address", "=", guess.address)
    .where("scope", "=", guess.scope)
    .where("client", "<>", guess.network)
    .where("window_ends_at", ">", guess.now);
}

/**
 * The live code the guess matches, if the budget allows. Codes are stored as HMACs bound to their address,
 * so a guess can only match a code sent to that address.
 */
function matchingCode(guess: CodeGuess) {
  return (
    codeParts
      .selectFrom("one_time_codes as c")
      .innerJoin("users as u", "u.id", "c.user_id")
      .select(["c.id", "c.user_id", "c.purpose", "c.address", "u.email as old_email"])
      .where("c.address", "=", guess.address)
      .where("c.code_hash", "=", guess.hash)
      .where("c.purpose", "in", guess.purposes)
      .where("c.consumed_at", "is", null)
      .where("c.expires_at", ">", guess.now)
      // a signup's or a reset's code proves the address the account still has
      .where((eb) => eb.or([eb("c.purpose", "=", "change_email"), eb("u.email", "=", eb.ref("c.address"))]))
      .where((eb) => eb.or([eb("c.purpose", "<>", "verify_email"), eb("u.status", "=", "unverified")]))
      .where((eb) => eb(eb.selectFrom("charged").select("attempts"), "<=", guess.perNetwork))
      .where((eb) =>
        eb(eb(eb.selectFrom("charged").select("attempts"), "+", eb.selectFrom("others").select("attempts")), "<=", guess.perAddress),
      )
      .limit(1)
      .forUpdate("c")
  );
}

/**
 * Charges and judges a guess: `charged` (the guess), `others` (what other networks spent), `candidate` (the
 * live code it matches, within budget) and `consumed` (that code, spent before its effect can be seen, so it
 * can never be used twice).
 */
export function judgeGuess(guess: CodeGuess): JudgedGuess {
  return {
    step: (statement) =>
      statement
        .with("charged", () => new QueryRows(chargeGuess(guess)))
        .with("others", () => othersSpent(guess))
        .with("candidate", () => matchingCode(guess))
        .with(
          "consumed",
          () =>
            new QueryRows(
              codeParts
                .updateTable("one_time_codes")
                .set({ consumed_at: guess.now })
                .where("id", "in", codeParts.selectFrom("candidate").select("id"))
                .returning(["user_id", "purpose", "address"]),
            ),
        ),
    consumedBy: consumerOf,
  };
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
  notice: QueuedMail | null;
}

/** A signup's code proves the address: the account is verified. */
const markVerified =
  (now: Date): Step =>
  (statement) =>
    statement.with(
      "verified",
      () =>
        new QueryRows(
          codeParts
            .updateTable("users")
            .set((eb) => ({ status: "verified", verified_at: eb.fn.coalesce("verified_at", eb.val(now)), updated_at: now }))
            .where("id", "in", codeParts.selectFrom("consumed").select("user_id").where("purpose", "=", "verify_email"))
            .returning("id"),
        ),
    );

/** An email change's code proves the new address: the account moves there. */
const moveToProvedAddress =
  (now: Date): Step =>
  (statement) =>
    statement.with(
      "moved",
      () =>
        new QueryRows(
          codeParts
            .updateTable("users")
            .from("consumed")
            .set((eb) => ({ email: eb.ref("consumed.address"), updated_at: now }))
            .whereRef("users.id", "=", "consumed.user_id")
            .where("consumed.purpose", "=", "change_email")
            .returning("users.id"),
        ),
    );

/**
 * Checks a guess at the code sent to an address and, if right, consumes it and applies its purpose (mark
 * the user verified, or move them to the new address, telling the old one), all in one statement.
 */
export async function proveAddress(db: Db, proof: AddressProof): Promise<AddressProofResult> {
  const { guess, changeNotice, events } = proof;
  const consumedFor = (purpose: AddressProofPurpose) => codeParts.selectFrom("consumed").where("purpose", "=", purpose);
  const notice = queueMail("notice", {
    recipients: () => codeParts.selectFrom("candidate").select("old_email as to_address").where("purpose", "=", "change_email"),
    mail: changeNotice,
  });
  const row = await withSteps(
    db,
    judgeGuess(guess).step,
    markVerified(guess.now),
    moveToProvedAddress(guess.now),
    notice.step,
    recordEvents(events, { type: "email_verified", rows: () => consumedFor("verify_email").select(["user_id", noRowDetails()]) }),
    recordEvents(events, {
      type: "email_changed",
      details: { by: "owner" },
      rows: () => consumedFor("change_email").select((eb) => ["user_id", jsonBuildObject({ to: eb.ref("address") }).as("row_details")]),
    }),
  )
    .selectNoFrom((eb) => [
      eb.selectFrom(codeParts.selectFrom("consumed").select("purpose").limit(1).as("c")).select("c.purpose").as("proved"),
      notice.queued().as("notice"),
    ])
    .executeTakeFirstOrThrow();
  return { proved: AddressProofPurposeSchema.safeParse(row.proved).data, notice: row.notice };
}
