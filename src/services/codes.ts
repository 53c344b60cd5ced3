import { codeHash, newCode } from "../auth/codes.ts";
import { type CodeCheck, checkCode, type CodeToIssue, type MailAllowance, type MatchedCode } from "../db/codes.ts";
import { codesPausedNotice, type Letter } from "../mail/templates.ts";
import type { CodePurpose, CodeScope } from "../schemas/codes.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";

/** Guesses one client may make at the codes sent to an address within a window, right or wrong. */
export const CODE_GUESSES_PER_CLIENT = 5;
/**
 * Guesses all clients together may make at an address within a window: enough that a stranger from a
 * few networks cannot use up the owner's tries, few enough that guessing a 6-digit code stays hopeless.
 */
export const CODE_GUESSES_PER_ADDRESS = 20;
/**
 * Wrong guesses in a row at an address's codes of one kind, over any length of time, before those codes
 * pause (NIST SP 800-63B §5.2.2: at most 100 consecutive failures); each further wrong one pauses them again.
 */
export const CODE_FAILURES_BEFORE_PAUSE = 100;
export const CODE_PAUSE_HOURS = 12;
/** Messages an address may be sent in an hour before no more codes go to it, whatever their purpose. */
export const MAIL_PER_ADDRESS_PER_HOUR = 10;

const HOUR_SECONDS = 60 * 60;

type CodeMailTemplate = (code: string, validMinutes: number) => Letter;

/** A fresh code for `address`, ready to store (hashed) with the mail that carries it (sealed). */
export async function codeToIssue(ctx: ServiceContext, address: string, template: CodeMailTemplate): Promise<CodeToIssue> {
  const lifetime = ctx.config.VERIFICATION_CODE_TTL_SECONDS;
  const { code, hash } = await newCode(ctx.config.HASH_SECRET, address);
  const expiresAt = secondsAfter(ctx.now, lifetime);
  return { hash, expiresAt, mail: await mailToQueue(ctx, template(code, Math.round(lifetime / 60)), expiresAt) };
}

/** What an address may be sent now: one code a purpose per interval, and MAIL_PER_ADDRESS_PER_HOUR an hour. */
export function mailAllowance(ctx: ServiceContext): MailAllowance {
  return {
    notIssuedSince: secondsAfter(ctx.now, -ctx.config.CODE_RESEND_INTERVAL_SECONDS),
    hourStart: secondsAfter(ctx.now, -HOUR_SECONDS),
    perHour: MAIL_PER_ADDRESS_PER_HOUR,
  };
}

/**
 * Checks a guess at the codes sent to `address` (one round trip), charged to the address's budgets for
 * `scope`: CODE_GUESSES_PER_CLIENT per network and CODE_GUESSES_PER_ADDRESS in all within a window as long as a
 * code lives (a new code does not refill it), and CODE_FAILURES_BEFORE_PAUSE wrong ones in a row over any time.
 * The right code is found, not spent. When this guess pauses the codes, the address is told.
 */
export async function checkGuess(
  ctx: ServiceContext,
  guess: { address: string; code: string; scope: CodeScope; purposes: CodePurpose[] },
): Promise<MatchedCode | undefined> {
  const { address, code, scope, purposes } = guess;
  const [hash, pausedMail] = await Promise.all([
    codeHash(ctx.config.HASH_SECRET, address, code),
    mailToQueue(ctx, codesPausedNotice(scope, CODE_PAUSE_HOURS)),
  ]);
  const check: CodeCheck = await checkCode(
    ctx.db,
    {
      address,
      hash,
      scope,
      purposes,
      network: ctx.client.network,
      perNetwork: CODE_GUESSES_PER_CLIENT,
      perAddress: CODE_GUESSES_PER_ADDRESS,
      windowEndsAt: secondsAfter(ctx.now, ctx.config.VERIFICATION_CODE_TTL_SECONDS),
      pauseAfter: CODE_FAILURES_BEFORE_PAUSE,
      pausedUntil: secondsAfter(ctx.now, CODE_PAUSE_HOURS * HOUR_SECONDS),
      now: ctx.now,
    },
    { mail: pausedMail, events: ctx.events },
  );
  deliverLater(ctx, check.notice);
  return check.matched;
}
