import { Resend } from "resend";
import type { Config } from "../config.ts";
import type { OutgoingMail } from "./message.ts";

export type SendResult = { ok: true; providerId: string } | { ok: false; error: string };

/**
 * Sends one message through Resend. `idempotencyKey` makes sending the same message again (a retry after
 * a lost answer, two cron runs) deliver it once.
 */
export async function sendMail(config: Config, mail: OutgoingMail, idempotencyKey: string): Promise<SendResult> {
  const resend = new Resend(config.RESEND_API_KEY, { baseUrl: config.RESEND_BASE_URL });
  try {
    const { data, error } = await resend.emails.send(
      { from: config.MAIL_FROM, to: [mail.to], subject: mail.subject, text: mail.text, html: mail.html },
      { idempotencyKey },
    );
    if (error || !data) return { ok: false, error: error ? `${error.name}: ${error.message}` : "no answer" };
    return { ok: true, providerId: data.id };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}
