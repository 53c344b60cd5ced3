import { type RawBuilder, sql } from "kysely";
import type { Db } from "./client.ts";

export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

export interface OutgoingMail extends MailContent {
  to: string;
}

export interface QueuedMail extends OutgoingMail {
  id: string;
}

export interface OutboxRow {
  id: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
}

export function queuedMailFromRow(row: OutboxRow): QueuedMail {
  return { id: row.id, to: row.to_address, subject: row.subject, text: row.text_body, html: row.html_body };
}

/**
 * A CTE body that queues `content` to each `to_address` that `recipients` (a query) yields, so mail is
 * written in the same statement as the change that causes it. `retryAfter` is when the cron may try
 * it if the immediate send did not mark it sent.
 */
export function queueMailTo(recipients: RawBuilder<unknown>, content: MailContent, retryAfter: Date): RawBuilder<OutboxRow> {
  return sql<OutboxRow>`
    insert into email_outbox (to_address, subject, text_body, html_body, next_attempt_at)
    select to_address, ${content.subject}, ${content.text}, ${content.html}, ${retryAfter}
    from (${recipients}) as recipients
    returning id, to_address, subject, text_body, html_body`;
}

/** Queues `mail` only if the CTE named `onlyIf` produced a row. */
export function queueMailIf(onlyIf: string, mail: OutgoingMail, retryAfter: Date): RawBuilder<OutboxRow> {
  const recipient = sql`select ${mail.to}::text as to_address where exists (select 1 from ${sql.table(onlyIf)})`;
  return queueMailTo(recipient, mail, retryAfter);
}

/** The bodies hold one-time codes: once delivered they are not kept. */
export async function markMailSent(db: Db, id: string, providerId: string, now: Date): Promise<void> {
  await db
    .updateTable("email_outbox")
    .set({ sent_at: now, provider_id: providerId, text_body: "", html_body: "", last_error: null })
    .where("id", "=", id)
    .execute();
}

export async function markMailFailed(db: Db, id: string, error: string, retryAt: Date): Promise<void> {
  await db
    .updateTable("email_outbox")
    .set((eb) => ({ attempts: eb("attempts", "+", 1), last_error: error.slice(0, 500), next_attempt_at: retryAt }))
    .where("id", "=", id)
    .where("sent_at", "is", null)
    .execute();
}

/**
 * Takes up to `limit` due messages and pushes their next attempt past `leaseUntil`, so a second cron
 * run at the same time skips them (and Resend's idempotency key covers a send whose outcome was lost).
 */
export async function claimDueMail(db: Db, now: Date, leaseUntil: Date, limit: number): Promise<QueuedMail[]> {
  const { rows } = await sql<OutboxRow>`
    update email_outbox set next_attempt_at = ${leaseUntil}
    where id in (
      select id from email_outbox
      where sent_at is null and next_attempt_at <= ${now}
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    returning id, to_address, subject, text_body, html_body`.execute(db);
  return rows.map(queuedMailFromRow);
}
