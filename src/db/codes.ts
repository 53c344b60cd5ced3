import { sql } from "kysely";
import type { Db } from "./client.ts";
import {
  type MailContent,
  type OutboxRow,
  type OutgoingMail,
  type QueuedMail,
  queueMailIf,
  queueMailTo,
  queuedMailFromRow,
} from "./outbox.ts";


/** A new code's hash and lifetime, and the mail that carries it. */
export interface CodeToIssue {
  hash: Uint8Array;
  expiresAt: Date;
  mail: OutgoingMail;
  /** When the cron may retry the mail if the immediate send did not mark it sent. */
  mailRetryAfter: Date;
}

export interface ReissueRequest extends CodeToIssue {
  email: string;
  /** No new code if the live one was issued after this instant. */
  notIssuedSince: Date;
  now: Date;
}

/**
 * Replaces the live verification code of an unverified user (the old one dies) and queues its mail,
 * at most once per interval. Yields nothing for an unknown, verified or too-recently-served address.
 */
export async function reissueVerificationCode(db: Db, request: ReissueRequest): Promise<QueuedMail | undefined> {
  const { rows } = await sql<OutboxRow>`
    with target as (select id from users where email = ${request.email} and status = 'unverified'),
    issued as (
      insert into one_time_codes (user_id, purpose, code_hash, expires_at, created_at)
      select id, 'verify_email', ${request.hash}, ${request.expiresAt}, ${request.now} from target
      on conflict (user_id, purpose) where consumed_at is null
      do update set code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0,
                    created_at = excluded.created_at
      where one_time_codes.created_at <= ${request.notIssuedSince}
      returning user_id
    ),
    mail as (${queueMailIf("issued", request.mail, request.mailRetryAfter)})
    select * from mail`.execute(db);
  return rows[0] && queuedMailFromRow(rows[0]);
}

export type CodeOutcome = "verified" | "email_changed" | "wrong" | "expired" | "exhausted";

export interface CodeCheck {
  address: string;
  hash: Uint8Array;
  maxAttempts: number;
  now: Date;
  /** Sent to the old address when an email change completes, so a hijack does not go unnoticed. */
  changeNotice: { content: MailContent; retryAfter: Date };
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
  const { rows } = await sql<{ outcome: CodeOutcome; notice: OutboxRow | null }>`
    with candidate as (
      select c.id, c.user_id, c.purpose, c.new_email, u.email as old_email,
        case
          when c.attempts >= ${check.maxAttempts} then 'exhausted'
          when c.expires_at <= ${check.now} then 'expired'
          when c.code_hash = ${check.hash} then 'right'
          else 'wrong'
        end as verdict
      from one_time_codes c join users u on u.id = c.user_id
      where c.consumed_at is null
        and ((c.purpose = 'verify_email' and u.email = ${check.address} and u.status = 'unverified')
          or (c.purpose = 'change_email' and c.new_email = ${check.address}))
      order by c.code_hash = ${check.hash} desc, c.created_at desc
      limit 1
      for update of c
    ),
    consumed as (
      update one_time_codes set consumed_at = ${check.now}
      where id in (select id from candidate where verdict = 'right')
      returning user_id, purpose, new_email
    ),
    counted as (
      update one_time_codes set attempts = attempts + 1
      where id in (select id from candidate where verdict = 'wrong')
    ),
    verified as (
      update users set status = 'verified', verified_at = coalesce(verified_at, ${check.now}), updated_at = ${check.now}
      where id in (select user_id from consumed where purpose = 'verify_email')
    ),
    moved as (
      update users set email = consumed.new_email, updated_at = ${check.now}
      from consumed where users.id = consumed.user_id and consumed.purpose = 'change_email'
    ),
    notice as (${queueMailTo(
      sql`select old_email as to_address from candidate where verdict = 'right' and purpose = 'change_email'`,
      check.changeNotice.content,
      check.changeNotice.retryAfter,
    )})
    select case verdict
        when 'right' then (select case purpose when 'verify_email' then 'verified' else 'email_changed' end from consumed)
        else verdict
      end as outcome,
      (select row_to_json(notice) from notice) as notice
    from candidate`.execute(db);
  const row = rows[0];
  return row && { outcome: row.outcome, notice: row.notice ? queuedMailFromRow(row.notice) : undefined };
}

