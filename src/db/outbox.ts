import type { AliasableExpression, Insertable, QueryCreator, Selectable } from "kysely";
import { jsonObjectFrom } from "kysely/helpers/postgres";
import type { Db } from "./client.ts";
import type { EmailOutbox } from "./schema.ts";
import { partBuilder, QueryRows } from "./statement-parts.ts";

/** A message as the outbox stores it until it is sent. */
export type OutboxMessage = Pick<Insertable<EmailOutbox>, "subject" | "text_body" | "html_body">;

const QUEUED_COLUMNS = ["id", "to_address", "subject", "text_body", "html_body"] as const;

/** A message waiting in the outbox, with the id that makes its delivery idempotent. */
export type QueuedMail = Pick<Selectable<EmailOutbox>, (typeof QUEUED_COLUMNS)[number]>;

export interface MailToQueue {
  message: OutboxMessage;
  /** When the cron may retry it if the immediate send did not mark it sent. */
  retryAfter: Date;
  now: Date;
}

const part = partBuilder<{ mail: QueuedMail }>();

/** A message to queue for each address that `recipients` selects within the statement. */
export interface MailForRecipients<D> {
  recipients: (q: QueryCreator<D>) => AliasableExpression<{ to_address: string }>;
  mail: MailToQueue;
}

/**
 * Adds the common table expression `mail`: the message queued in the same statement as the change that
 * causes it, so a change never commits without its message or the other way round; nothing when
 * `queue` is undefined.
 */
export function withQueuedMail<D>(qc: QueryCreator<D>, queue: MailForRecipients<D> | undefined) {
  if (!queue) return qc.with("mail", () => part.selectFrom("email_outbox").select(QUEUED_COLUMNS).where((eb) => eb.lit(false)));
  const { recipients, mail } = queue;
  return qc.with(
    "mail",
    (q) =>
      new QueryRows(
        part
          .insertInto("email_outbox")
          .columns(["to_address", "subject", "text_body", "html_body", "next_attempt_at", "created_at"])
          .expression((eb) =>
            eb
              .selectFrom(recipients(q).as("recipients"))
              .select((eb) => [
                "recipients.to_address",
                eb.val(mail.message.subject).as("subject"),
                eb.val(mail.message.text_body).as("text_body"),
                eb.val(mail.message.html_body).as("html_body"),
                eb.val(mail.retryAfter).as("next_attempt_at"),
                eb.val(mail.now).as("created_at"),
              ]),
          )
          .returning(QUEUED_COLUMNS),
      ),
  );
}

/** The message `withQueuedMail` queued (the first, if several), as a JSON object to select in the statement's result. */
export function queuedMail() {
  return jsonObjectFrom(part.selectFrom("mail").select(QUEUED_COLUMNS).limit(1));
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
  return db
    .updateTable("email_outbox")
    .set({ next_attempt_at: leaseUntil })
    .where(
      "id",
      "in",
      db
        .selectFrom("email_outbox")
        .select("id")
        .where("sent_at", "is", null)
        .where("next_attempt_at", "<=", now)
        .orderBy("next_attempt_at")
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returning(QUEUED_COLUMNS)
    .execute();
}
