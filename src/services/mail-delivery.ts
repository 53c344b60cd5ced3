import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import { type MailToQueue, markMailFailed, markMailSent, type QueuedMail } from "../db/outbox.ts";
import { describeError, type Logger } from "../log.ts";
import { sendMail } from "../mail/mailer.ts";
import type { Letter } from "../mail/templates.ts";
import { seal, unseal } from "../auth/seal.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";

/** How long a new message belongs to the request that queued it before the cron may retry it. */
const FIRST_SEND_LEASE_SECONDS = 2 * 60;
/** With the cron every 5 minutes, a code's mail (10 minutes) gets another try or two while the code lives. */
const RETRY_BACKOFF_SECONDS = 2 * 60;
/** Tries before a message is given up as dead. */
export const MAIL_MAX_ATTEMPTS = 8;
/** A notice (no code in it) is still worth sending this long after it was queued. */
const NOTICE_LIFETIME_SECONDS = 24 * 60 * 60;

/**
 * A message to queue in the statement that causes it, sent right after it commits. Its bodies are
 * sealed at rest; `expiresAt` (default: a day) is when it is no longer worth sending, for a code the
 * code's own expiry.
 */
export async function mailToQueue(ctx: Pick<ServiceContext, "config" | "now">, letter: Letter, expiresAt?: Date): Promise<MailToQueue> {
  const secret = ctx.config.HASH_SECRET;
  const content = await letter(ctx.config.PRODUCT_NAME);
  const [textBody, htmlBody] = await Promise.all([seal(secret, content.text), seal(secret, content.html)]);
  return {
    message: { subject: content.subject, text_body: textBody, html_body: htmlBody },
    retryAfter: secondsAfter(ctx.now, FIRST_SEND_LEASE_SECONDS),
    expiresAt: expiresAt ?? secondsAfter(ctx.now, NOTICE_LIFETIME_SECONDS),
    now: ctx.now,
  };
}

/** Sends a queued message and records the outcome; a failure stays queued for the cron to retry. */
export async function deliverMail(db: Db, config: Config, mail: QueuedMail, now: Date, log: Logger): Promise<boolean> {
  const [text, html] = await Promise.all([unseal(config.HASH_SECRET, mail.text_body), unseal(config.HASH_SECRET, mail.html_body)]);
  // the outbox id: sending the same row again never delivers it twice
  const result = await sendMail(config, { to: mail.to_address, subject: mail.subject, text, html }, `outbox-${mail.id}`);
  if (result.ok) {
    try {
      await markMailSent(db, mail.id, result.providerId, now);
    } catch (error) {
      // its lease ends and it is sent again under the same idempotency key: it still lands once
      log.error("mail sent but not marked sent; it will be retried", { outbox_id: mail.id, error: describeError(error) });
    }
    return true;
  }
  const died = await markMailFailed(db, {
    id: mail.id,
    error: result.error,
    retryAt: secondsAfter(now, RETRY_BACKOFF_SECONDS),
    maxAttempts: MAIL_MAX_ATTEMPTS,
    now,
  });
  if (died) log.error("mail given up after its last try", { outbox_id: mail.id, error: result.error });
  else log.warn("mail not sent; will retry", { outbox_id: mail.id, error: result.error });
  return false;
}

/** Sends after the response, so a slow or failing mail provider never delays or fails the request. */
export function deliverLater(ctx: ServiceContext, mail: QueuedMail | null | undefined): void {
  if (mail) ctx.defer(deliverMail(ctx.db, ctx.config, mail, ctx.now, ctx.log));
}
