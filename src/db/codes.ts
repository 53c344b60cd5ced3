// One-time codes: issuing them (one live code per user and purpose, with the mail that carries it, within
// what an address may be sent) and checking guesses at them against the budgets of the address they were
// sent to. A right guess is only found here; what it proves is applied by the statement of that proof.
import { type AliasableExpression, type Expression, expressionBuilder, sql, type SqlBool } from "kysely";
import type { AuthEventType } from "../schemas/events.ts";
import type { CodePurpose, CodeScope } from "../schemas/codes.ts";
import type { Db } from "./client.ts";
import { type EventContext, type EventRow, noRowDetails, recordEvents } from "./events.ts";
import { type MailPart, type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, type Step, tables, withSteps } from "./parts.ts";

/** A new code's hash and lifetime, and the mail that carries it. */
export interface CodeToIssue {
  hash: Uint8Array;
  expiresAt: Date;
  mail: MailToQueue;
}

/**
 * How much code mail an address may be sent: one code of a purpose per interval (so a reset asked for right
 * after a signup's code still arrives), and a few codes an hour whatever their purpose (so nobody can flood
 * an inbox, or buy fresh guesses, by asking again and again).
 */
export interface MailAllowance {
  /** No code of the same purpose to the address after this. */
  notIssuedSince: Date;
  /** At most `perHour` messages to the address after this. */
  hourStart: Date;
  perHour: number;
}

export interface CodeIssue {
  /** Selects the user the code is for (none: no code). */
  owner: () => AliasableExpression<{ user_id: string }>;
  purpose: CodePurpose;
  /** The address the code is sent to, and proves. */
  address: string;
  code: CodeToIssue;
  allowance: MailAllowance;
  now: Date;
}

/** A live code a guess matched, and the account it belongs to. */
export interface MatchedCode {
  code_id: string;
  user_id: string;
  purpose: CodePurpose;
  address: string;
  /** The account's address now (an email change's code is for another one). */
  email: string;
  /** None for an account a provider made (a reset can give it one). */
  password_hash: string | null;
}

const issued = cte<{ user_id: string; address: string }>()("issued");
/** A guess's window budget, with this guess counted. */
const charged = cte<{ attempts: number }>()("charged");
/** What the other networks spent at the address. */
const others = cte<{ attempts: number }>()("others");
const streak = cte<{ failures: number; paused: SqlBool }>()("streak");
const candidate = cte<MatchedCode>()("candidate");
const counted = cte<{ failures: number; paused_until: Date | null }>()("counted");

/** A code of this purpose reached the address after `since`, whoever asked for it. */
export function codeSentSince(address: string, purpose: CodePurpose, since: Date) {
  return tables
    .selectFrom("one_time_codes")
    .select("id")
    .where("address", "=", address)
    .where("purpose", "=", purpose)
    .where("created_at", ">", since);
}

/** True while the address may be sent a code of this purpose (see MailAllowance). */
export function mayMailCode(address: string, purpose: CodePurpose, allowance: MailAllowance): Expression<SqlBool> {
  const eb = expressionBuilder<object, never>();
  const sentThisHour = tables
    .selectFrom("email_outbox")
    .select((eb) => eb.fn.countAll<number>().as("sent"))
    .where("to_address", "=", address)
    .where("created_at", ">", allowance.hourStart);
  return eb.and([eb.not(eb.exists(codeSentSince(address, purpose, allowance.notIssuedSince))), eb(sentThisHour, "<", allowance.perHour)]);
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

/** The code itself, replacing the owner's live code of the same purpose (one live code per user and purpose). */
function storeCode(issue: CodeIssue) {
  const { owner, purpose, address, code, allowance, now } = issue;
  return tables
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
        ])
        .where(mayMailCode(address, purpose, allowance)),
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
        }))
        // judged on the live code as it is now, not as this statement's snapshot saw it: of requests for one
        // user and purpose at the same moment, only the first replaces the code (and mails it)
        .where("one_time_codes.created_at", "<=", allowance.notIssuedSince),
    )
    .returning(["user_id", "address"]);
}

/**
 * Issues a code to the user `owner` selects, if the address may be sent one, replacing their live code of
 * the same purpose (the old one stops working), and queues the mail that carries it to the address.
 */
export function issueCode(issue: CodeIssue): IssuedCode {
  const mail = queueMail("mail", {
    recipients: () => issued.from().select("address as to_address"),
    mail: issue.code.mail,
  });
  const store = issued.as(() => new QueryRows(storeCode(issue)));
  return {
    step: (statement) => withSteps(statement, store, mail.step),
    mail,
    events: () => issued.from().select(["user_id", noRowDetails()]),
    wasIssued: () => expressionBuilder<object, never>().exists(issued.from().select("user_id")),
  };
}

/** A code for whichever user has this address, if `owner` admits them, with its mail; the mail queued, or null. */
async function issueCodeTo(
  db: Db,
  request: { email: string; purpose: CodePurpose; code: CodeToIssue; allowance: MailAllowance; now: Date },
  owner: () => AliasableExpression<{ user_id: string }>,
  recorded?: { context: EventContext; type: AuthEventType },
): Promise<QueuedMail | null> {
  const code = issueCode({ ...request, owner, address: request.email });
  const row = await withSteps(db, code.step, recorded && recordEvents(recorded.context, { type: recorded.type, rows: () => code.events() }))
    .selectNoFrom(() => code.mail.queued().as("mail"))
    .executeTakeFirst();
  return row?.mail ?? null;
}

/**
 * Replaces the live verification code of an unverified user (the old one dies) and queues its mail, if the
 * address may be sent one. Yields nothing for an unknown, verified or too-recently-served address.
 */
export function reissueVerificationCode(
  db: Db,
  request: { email: string; code: CodeToIssue; allowance: MailAllowance; now: Date },
): Promise<QueuedMail | null> {
  return issueCodeTo(db, { ...request, purpose: "verify_email" }, () =>
    tables.selectFrom("users").select("id as user_id").where("email", "=", request.email).where("status", "=", "unverified"),
  );
}

/**
 * Issues a password-reset code to the account with this address (not a disabled one, nor one being deleted), if
 * the address may be sent one, with its mail and event. Yields nothing otherwise, and costs the same either way.
 */
export function issueResetCode(
  db: Db,
  request: { email: string; code: CodeToIssue; allowance: MailAllowance; events: EventContext },
): Promise<QueuedMail | null> {
  const { email, events } = request;
  return issueCodeTo(
    db,
    { ...request, purpose: "reset_password", now: events.now },
    () => tables.selectFrom("users").select("id as user_id").where("email", "=", email).where("status", "in", ["unverified", "verified"]),
    { context: events, type: "password_reset_requested" },
  );
}

/** A guess at the code sent to an address, charged to the address's budgets for its scope. */
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
  /** After this many wrong guesses in a row, whatever the windows, codes of the scope pause until `pausedUntil`; each further wrong one pauses them again. */
  pauseAfter: number;
  pausedUntil: Date;
  now: Date;
}

/** The guess, counted in its window before it is judged, so concurrent guesses cannot overspend the budget. */
function chargeGuess(guess: CodeGuess) {
  const { address, scope, network, windowEndsAt, now } = guess;
  return tables
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
  return tables
    .selectFrom("code_attempts")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("attempts"), eb.lit(0)).as("attempts"))
    .where("address", "=", guess.address)
    .where("scope", "=", guess.scope)
    .where("client", "<>", guess.network)
    .where("window_ends_at", ">", guess.now);
}

/** The address's run of wrong guesses for the scope, and whether its codes are paused now. */
function currentStreak(guess: CodeGuess) {
  return tables
    .selectFrom("code_failures")
    .select((eb) => ["failures", eb("paused_until", ">", guess.now).as("paused")])
    .where("address", "=", guess.address)
    .where("scope", "=", guess.scope);
}

/** Whether the guess is judged at all: within both window budgets, and while the scope's codes are not paused. */
function judged(guess: CodeGuess): Expression<SqlBool> {
  const eb = expressionBuilder<object, never>();
  const spent = charged.from().select("attempts");
  return eb.and([
    eb(spent, "<=", guess.perNetwork),
    eb(eb(spent, "+", others.from().select("attempts")), "<=", guess.perAddress),
    eb.not(eb.exists(streak.from().select("paused").where("paused", "=", true))),
  ]);
}

/**
 * The live code the guess matches, if it is judged. Codes are stored as HMACs bound to their address, so a
 * guess can only match a code sent to that address.
 */
function matchingCode(guess: CodeGuess) {
  return (
    tables
      .selectFrom("one_time_codes as c")
      .innerJoin("users as u", "u.id", "c.user_id")
      .select(["c.id as code_id", "c.user_id", "c.purpose", "c.address", "u.email", "u.password_hash"])
      .where("c.address", "=", guess.address)
      .where("c.code_hash", "=", guess.hash)
      .where("c.purpose", "in", guess.purposes)
      .where("c.consumed_at", "is", null)
      .where("c.expires_at", ">", guess.now)
      // a signup's or a reset's code proves the address the account still has
      .where((eb) => eb.or([eb("c.purpose", "=", "change_email"), eb("u.email", "=", eb.ref("c.address"))]))
      .where((eb) => eb.or([eb("c.purpose", "<>", "verify_email"), eb("u.status", "=", "unverified")]))
      .where(judged(guess))
      .limit(1)
  );
}

/**
 * The run of wrong guesses, judged ones only: a right guess ends it, a wrong one lengthens it, and from
 * `pauseAfter` on each wrong one pauses the scope's codes again. Guesses refused unjudged (over a window's
 * budget, or while paused) learn nothing and count for nothing.
 */
function countGuess(guess: CodeGuess) {
  const { address, scope, pauseAfter, pausedUntil, now } = guess;
  return tables
    .insertInto("code_failures")
    .columns(["address", "scope", "failures", "paused_until", "last_failure_at"])
    .expression(
      tables
        .selectNoFrom((eb) => [
          eb.val(address).as("address"),
          eb.val(scope).as("scope"),
          eb
            .case()
            .when(eb.exists(candidate.from().select("code_id")))
            .then(0)
            .else(1)
            .end()
            .as("failures"),
          eb.val<Date | null>(null).as("paused_until"),
          eb.val(now).as("last_failure_at"),
        ])
        .where(judged(guess)),
    )
    .onConflict((oc) =>
      oc.columns(["address", "scope"]).doUpdateSet((eb) => {
        const right = eb.exists(candidate.from().select("code_id"));
        const failures = eb("code_failures.failures", "+", 1);
        return {
          failures: eb.case().when(right).then(0).else(failures).end(),
          paused_until: eb
            .case()
            .when(right)
            .then(eb.val<Date | null>(null))
            .when(failures, ">=", pauseAfter)
            .then(eb.val<Date | null>(pausedUntil))
            .else(eb.ref("code_failures.paused_until"))
            .end(),
          last_failure_at: now,
        };
      }),
    )
    .returning(["failures", "paused_until"]);
}

/** When a guess pauses the scope's codes: the address is told, if an account or a code belongs to it, and the pause is recorded. */
export interface PauseNotice {
  mail: MailToQueue;
  events: EventContext;
}

export interface CodeCheck {
  /** The live code the guess matched, if right; undefined for any failure (wrong, expired, none, over budget, paused). */
  matched: MatchedCode | undefined;
  /** The notice queued when this guess paused the address's codes. */
  notice: QueuedMail | null;
}

/**
 * Checks a guess at the codes sent to an address, in one statement: the guess is charged to the window
 * budgets and the run of wrong guesses before it is judged, and a right one is only found, not spent: what
 * it proves is applied (and the code spent) by the statement of that proof, after any work it needs.
 */
export async function checkCode(db: Db, guess: CodeGuess, pause: PauseNotice): Promise<CodeCheck> {
  const paused = () => counted.from().where("failures", "=", guess.pauseAfter);
  const owner = () =>
    tables
      .selectFrom("users")
      .select("id as user_id")
      .where("email", "=", guess.address)
      .where(expressionBuilder<object, never>().exists(paused().select("failures")));
  const notice = queueMail("notice", {
    recipients: () =>
      paused()
        .select(sql.val(guess.address).as("to_address"))
        .where((eb) =>
          eb.or([
            eb.exists(eb.selectFrom("users").select("id").where("email", "=", guess.address)),
            eb.exists(eb.selectFrom("one_time_codes").select("id").where("address", "=", guess.address).where("consumed_at", "is", null)),
          ]),
        ),
    mail: pause.mail,
  });
  const statement = withSteps(
    db,
    charged.as(() => new QueryRows(chargeGuess(guess))),
    others.as(() => othersSpent(guess)),
    streak.as(() => currentStreak(guess)),
    candidate.as(() => matchingCode(guess)),
    counted.as(() => new QueryRows(countGuess(guess))),
    notice.step,
    recordEvents(pause.events, { type: "codes_paused", details: { scope: guess.scope }, rows: () => owner().select(noRowDetails()) }),
  )
    .selectFrom(tables.selectNoFrom([notice.queued().as("notice")]).as("effects"))
    .leftJoin(candidate.from().selectAll().as("candidate"), (join) => join.onTrue())
    .selectAll();
  const row = await statement.executeTakeFirstOrThrow();
  const { code_id, user_id, purpose, address, email, password_hash } = row;
  const matched =
    code_id !== null && user_id !== null && purpose !== null && address !== null && email !== null
      ? { code_id, user_id, purpose, address, email, password_hash }
      : undefined;
  return { matched, notice: row.notice };
}
