import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import { markMailFailed, markMailSent, type QueuedMail } from "../db/outbox.ts";
import { sendMail } from "../mail/mailer.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";

/** How long a new message belongs to the request that queued it before the cron may retry it. */
const FIRST_SEND_LEASE_SECONDS = 2 * 60;
const RETRY_BACKOFF_SECONDS = 5 * 60;

export function firstRetryAt(now: Date): Date {
  return secondsAfter(now, FIRST_SEND_LEASE_SECONDS);
}

/** Sends a queued message and records the outcome; a failure stays queued for the cron to retry. */
export async function deliverMail(db: Db, config: Config, mail: QueuedMail, now: Date): Promise<boolean> {
  const result = await sendMail(config, mail);
  if (result.ok) {
    await markMailSent(db, mail.id, result.providerId, now);
    return true;
  }
  console.error(JSON.stringify({ level: "warn", msg: "mail not sent; will retry", outbox_id: mail.id, error: result.error }));
  await markMailFailed(db, mail.id, result.error, secondsAfter(now, RETRY_BACKOFF_SECONDS));
  return false;
}

/** Sends after the response, so a slow or failing mail provider never delays or fails the request. */
export function deliverLater(ctx: ServiceContext, mail: QueuedMail | undefined): void {
  if (mail) ctx.defer(deliverMail(ctx.db, ctx.config, mail, ctx.now));
}
