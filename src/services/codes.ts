import { newCode } from "../auth/codes.ts";
import type { CodeToIssue, MailAllowance } from "../db/codes.ts";
import type { Letter } from "../mail/templates.ts";
import { POLICY } from "../policy.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { mailToQueue } from "./mail-delivery.ts";

const HOUR_SECONDS = 60 * 60;

type CodeMailTemplate = (code: string, validMinutes: number) => Letter;

/** A fresh code for `address`, ready to store (hashed) with the mail that carries it (sealed). */
export async function codeToIssue(ctx: ServiceContext, address: string, template: CodeMailTemplate): Promise<CodeToIssue> {
  const lifetime = ctx.config.VERIFICATION_CODE_TTL_SECONDS;
  const { code, hash } = await newCode(ctx.config.HASH_SECRET, address);
  const expiresAt = secondsAfter(ctx.now, lifetime);
  return { hash, expiresAt, mail: await mailToQueue(ctx, template(code, Math.round(lifetime / 60)), expiresAt) };
}

/** What an address may be sent now: one code a purpose per interval, and POLICY.mail.perAddressPerHour an hour. */
export function mailAllowance(ctx: ServiceContext): MailAllowance {
  return {
    notIssuedSince: secondsAfter(ctx.now, -ctx.config.CODE_RESEND_INTERVAL_SECONDS),
    hourStart: secondsAfter(ctx.now, -HOUR_SECONDS),
    perHour: POLICY.mail.perAddressPerHour,
  };
}
