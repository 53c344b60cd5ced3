import { type AliasableExpression, expressionBuilder, type Insertable, type Selectable } from "kysely";
import { jsonObjectFrom } from "kysely/helpers/postgres";
import type { Db } from "./client.ts";
import type { EmailOutbox } from "./schema.ts";
import { cte, QueryRows, type Step, tables } from "./parts.ts";

/** A message as the outbox stores it until it is sent (bodies sealed by the caller). */
export type OutboxMessage = Pick<Insertable<EmailOutbox>, "subject" | "text_body" | "html_body">;

const QUEUED_COLUMNS = ["id", "to_address", "subject", "text_body", "html_body"] as const;

/** A message waiting in the outbox, with the id that makes its delivery idempotent. */
export type QueuedMail = Pick<Selectable<EmailOutbox>, (typeof QUEUED_COLUMNS)[number]>;

export interface MailToQueue {
  message: OutboxMessage;
  /** When the cron may retry it if the immediate send did not mark it sent. */
  retryAfter: Date;
  /** After this it is pointless (the code it carries has expired): it dies unsent. */
  expiresAt: Date;
  now: Date;
}

/** A message to queue for each address that `recipients` selects within the statement. */
export interface MailForRecipients {
  recipients: () => AliasableExpression<{ to_address: string }>;
  mail: MailToQueue;
}

/**
 * The names a statement may give its queued messages: one for the message it is about, one for a notice to someone
 * else, one for the notice of a sign-in from a new device (which can come with another notice).
 */
export type QueuedMailName = "mail" | "notice" | "device_notice";

/** A message of a statement: the step that queues it (none when there is nothing to queue), and what it queued. */
export interface MailPart {
  step: Step | undefined;
  /** The message queued (the first, if several), as a JSON object to select in the statement's result, or null. */
  queued(): AliasableExpression<QueuedMail | null>;
}

/**
 * Queues `queue.mail`, as `name`, for each address its `recipients` select, in the statement of the change
 * that causes it: a change never commits without its message or the other way round.
 */
export function queueMail(name: QueuedMailName, queue: MailForRecipients | undefined): MailPart {
  if (!queue) return { step: undefined, queued: () => expressionBuilder<object, never>().val<QueuedMail | null>(null) };
  const { recipients, mail } = queue;
  const queued = cte<QueuedMail>()(name);
  return {
    step: queued.as(
      () =>
        new QueryRows(
          tables
            .insertInto("email_outbox")
            .columns(["to_address", "subject", "text_body", "html_body", "next_attempt_at", "expires_at", "created_at"])
            .expression((eb) =>
              eb
                .selectFrom(recipients().as("recipients"))
                .select((eb) => [
                  "recipients.to_address",
                  eb.val(mail.message.subject).as("subject"),
                  eb.val(mail.message.text_body).as("text_body"),
                  eb.val(mail.message.html_body).as("html_body"),
                  eb.val(mail.retryAfter).as("next_attempt_at"),
                  eb.val(mail.expiresAt).as("expires_at"),
                  eb.val(mail.now).as("created_at"),
                ]),
            )
            .returning(QUEUED_COLUMNS),
        ),
    ),
    queued: () => jsonObjectFrom(queued.from().select(QUEUED_COLUMNS).limit(1)),
  };
}

/** Once delivered, the bodies are not kept. */
export async function markMailSent(db: Db, id: string, providerId: string, now: Date): Promise<void> {
  await db
    .updateTable("email_outbox")
    .set({ sent_at: now, provider_id: providerId, text_body: "", html_body: "", last_error: null })
    .where("id", "=", id)
    .execute();
}

/**
 * Records a failed send: the message is tried again at `retryAt`, unless this was its last allowed try,
 * after which it is dead (bodies scrubbed). Returns whether it died.
 */
export async function markMailFailed(
  db: Db,
  failure: { id: string; error: string; retryAt: Date; maxAttempts: number; now: Date },
): Promise<boolean> {
  const { id, error, retryAt, maxAttempts, now } = failure;
  const row = await db
    .updateTable("email_outbox")
    .set((eb) => {
      const dies = eb("attempts", ">=", maxAttempts - 1);
      return {
        attempts: eb("attempts", "+", 1),
        last_error: error.slice(0, 500),
        next_attempt_at: retryAt,
        // typed: Postgres cannot tell a parameter's type inside CASE
        dead_at: eb
          .case()
          .when(dies)
          .then(eb.cast<Date>(eb.val(now), "timestamptz"))
          .else(null)
          .end(),
        text_body: eb.case().when(dies).then("").else(eb.ref("text_body")).end(),
        html_body: eb.case().when(dies).then("").else(eb.ref("html_body")).end(),
      };
    })
    .where("id", "=", id)
    .where("sent_at", "is", null)
    .returning("dead_at")
    .executeTakeFirst();
  return row?.dead_at != null;
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
        .where("dead_at", "is", null)
        .where("next_attempt_at", "<=", now)
        .where("expires_at", ">", now)
        .orderBy("next_attempt_at")
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returning(QUEUED_COLUMNS)
    .execute();
}
