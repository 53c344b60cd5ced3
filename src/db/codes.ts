import type { AliasableExpression, QueryCreator } from "kysely";
import type { CodePurpose } from "../schemas/codes.ts";
import type { Db } from "./client.ts";
import type { DB } from "./schema.ts";
import { type MailToQueue, type QueuedMail, queuedMail, withQueuedMail } from "./outbox.ts";
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
  code: CodeToIssue;
  /** For an email change: the address the code proves. */
  newEmail?: string | undefined;
  /** Replace a live code of the same purpose only if it was issued at or before this instant (default: now). */
  notIssuedSince?: Date | undefined;
  now: Date;
}

const part = partBuilder<{ owner: { user_id: string } }>();

/**
 * Adds the common table expression `issued`: a new code for the user `owner` selects, replacing the live
 * code of the same purpose (one live code per user and purpose; the old one stops working), or none when
 * `issue` is undefined. Returns the user_id of each code issued.
 */
export function withIssuedCode<D>(qc: QueryCreator<D>, issue: CodeIssue<D> | undefined) {
  if (!issue) return qc.with("issued", () => part.selectFrom("one_time_codes").select("user_id").where((eb) => eb.lit(false)));
  const { owner, purpose, code, newEmail, notIssuedSince, now } = issue;
  return qc.with(
    "issued",
    (q) =>
      new QueryRows(
        part
          .insertInto("one_time_codes")
          .columns(["user_id", "purpose", "code_hash", "new_email", "expires_at", "created_at"])
          .expression((eb) =>
            eb
              .selectFrom(owner(q).as("owner"))
              .select((eb) => [
                "owner.user_id",
                eb.val(purpose).as("purpose"),
                eb.val(code.hash).as("code_hash"),
                eb.val(newEmail ?? null).as("new_email"),
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
                new_email: eb.ref("excluded.new_email"),
                expires_at: eb.ref("excluded.expires_at"),
                attempts: 0,
                created_at: eb.ref("excluded.created_at"),
              }))
              .where("one_time_codes.created_at", "<=", notIssuedSince ?? now),
          )
          .returning("user_id"),
      ),
  );
}

/**
 * Replaces the live verification code of an unverified user (the old one dies) and queues its mail,
 * at most once per interval. Yields nothing for an unknown, verified or too-recently-served address.
 */
export async function reissueVerificationCode(
  db: Db,
  request: { email: string; code: CodeToIssue; notIssuedSince: Date; now: Date },
): Promise<QueuedMail | undefined> {
  const { email, code, notIssuedSince, now } = request;
  const row = await withQueuedMail(
    withIssuedCode<DB>(db, {
      owner: (q) => q.selectFrom("users").select("id as user_id").where("email", "=", email).where("status", "=", "unverified"),
      purpose: "verify_email",
      code,
      notIssuedSince,
      now,
    }),
    { recipients: (q) => q.selectFrom("issued").select((eb) => eb.val(email).as("to_address")), mail: code.mail },
  )
    .selectNoFrom(() => queuedMail().as("mail"))
    .executeTakeFirst();
  return row?.mail ?? undefined;
}

export type CodeOutcome = "verified" | "email_changed" | "wrong" | "expired" | "exhausted";

type Verdict = "right" | "wrong" | "expired" | "exhausted";

export interface CodeCheck {
  address: string;
  hash: Uint8Array;
  maxAttempts: number;
  now: Date;
  /** Sent to the old address when an email change completes, so a hijack does not go unnoticed. */
  changeNotice: MailToQueue;
}

export interface CodeResult {
  outcome: CodeOutcome;
  notice: QueuedMail | undefined;
}

/**
 * Checks a code sent to `address` and, if right, consumes it and applies its purpose (mark the user
 * verified, or move them to the new address), all in one statement: the code is spent before its
 * effect can be seen, so it can never be used twice. A wrong guess counts against the code.
 * Yields nothing when no live code was sent to that address.
 */
export async function consumeCode(db: Db, check: CodeCheck): Promise<CodeResult | undefined> {
  const { address, hash, maxAttempts, now } = check;
  const row = await withQueuedMail(
    db
      .with("candidate", (q) =>
        q
          .selectFrom("one_time_codes as c")
          .innerJoin("users as u", "u.id", "c.user_id")
          .select((eb) => [
            "c.id",
            "c.user_id",
            "c.purpose",
            "c.new_email",
            "u.email as old_email",
            eb
              .case()
              .when("c.attempts", ">=", maxAttempts)
              .then(eb.val<Verdict>("exhausted"))
              .when("c.expires_at", "<=", now)
              .then(eb.val<Verdict>("expired"))
              .when("c.code_hash", "=", hash)
              .then(eb.val<Verdict>("right"))
              .else(eb.val<Verdict>("wrong"))
              .end()
              .as("verdict"),
          ])
          .where("c.consumed_at", "is", null)
          .where((eb) =>
            eb.or([
              eb.and([eb("c.purpose", "=", "verify_email"), eb("u.email", "=", address), eb("u.status", "=", "unverified")]),
              eb.and([eb("c.purpose", "=", "change_email"), eb("c.new_email", "=", address)]),
            ]),
          )
          // the code that matches, else the newest, takes the guess
          .orderBy((eb) => eb("c.code_hash", "=", hash), "desc")
          .orderBy("c.created_at", "desc")
          .limit(1)
          .forUpdate("c"),
      )
      .with("consumed", (q) =>
        q
          .updateTable("one_time_codes")
          .set({ consumed_at: now })
          .where("id", "in", q.selectFrom("candidate").select("id").where("verdict", "=", "right"))
          .returning(["user_id", "purpose", "new_email"]),
      )
      .with("counted", (q) =>
        q
          .updateTable("one_time_codes")
          .set((eb) => ({ attempts: eb("attempts", "+", 1) }))
          .where("id", "in", q.selectFrom("candidate").select("id").where("verdict", "=", "wrong")),
      )
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
          .set((eb) => ({ email: eb.fn.coalesce("consumed.new_email", "users.email"), updated_at: now }))
          .whereRef("users.id", "=", "consumed.user_id")
          .where("consumed.purpose", "=", "change_email"),
      ),
    {
      recipients: (q) =>
        q.selectFrom("candidate").select("old_email as to_address").where("verdict", "=", "right").where("purpose", "=", "change_email"),
      mail: check.changeNotice,
    },
  )
    .selectFrom("candidate")
    .select(["verdict", "purpose"])
    .select(() => queuedMail().as("notice"))
    .executeTakeFirst();
  if (!row) return undefined;
  return { outcome: outcomeOf(row.verdict, row.purpose), notice: row.notice ?? undefined };
}

function outcomeOf(verdict: Verdict, purpose: CodePurpose): CodeOutcome {
  if (verdict !== "right") return verdict;
  return purpose === "change_email" ? "email_changed" : "verified";
}
