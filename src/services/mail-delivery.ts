import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import { type MailToQueue, markMailFailed, markMailSent, type QueuedMail } from "../db/outbox.ts";
import type { Logger } from "../log.ts";
import { sendMail } from "../mail/mailer.ts";
import type { MailContent } from "../mail/message.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";

/** How long a new message belongs to the request that queued it before the cron may retry it. */
const FIRST_SEND_LEASE_SECONDS = 2 * 60;
const RETRY_BACKOFF_SECONDS = 5 * 60;

/** A message to queue in the statement that causes it, sent right after it commits. */
export function mailToQueue(ctx: ServiceContext, content: MailContent): MailToQueue {
  return {
    message: { subject: content.subject, text_body: content.text, html_body: content.html },
    retryAfter: secondsAfter(ctx.now, FIRST_SEND_LEASE_SECONDS),
    now: ctx.now,
  };
}

/** Sends a queued message and records the outcome; a failure stays queued for the cron to retry. */
export async function deliverMail(db: Db, config: Config, mail: QueuedMail, now: Date, log: Logger): Promise<boolean> {
  const result = await sendMail(
    config,
    { to: mail.to_address, subject: mail.subject, text: mail.text_body, html: mail.html_body },
    // the outbox id: sending the same row again never delivers it twice
    `outbox-${mail.id}`,
  );
  if (result.ok) {
    await markMailSent(db, mail.id, result.providerId, now);
    return true;
  }
  log.warn("mail not sent; will retry", { outbox_id: mail.id, error: result.error });
  await markMailFailed(db, mail.id, result.error, secondsAfter(now, RETRY_BACKOFF_SECONDS));
  return false;
}

/** Sends after the response, so a slow or failing mail provider never delays or fails the request. */
export function deliverLater(ctx: ServiceContext, mail: QueuedMail | undefined): void {
  if (mail) ctx.defer(deliverMail(ctx.db, ctx.config, mail, ctx.now, ctx.log));
}
