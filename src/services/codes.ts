import { newCode } from "../auth/codes.ts";
import type { CodeGuess, CodeToIssue } from "../db/codes.ts";
import type { Letter } from "../mail/templates.ts";
import type { CodePurpose, CodeScope } from "../schemas/codes.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { mailToQueue } from "./mail-delivery.ts";

/** Guesses one client may make at the codes sent to an address within a window, right or wrong. */
export const CODE_GUESSES_PER_CLIENT = 5;
/**
 * Guesses all clients together may make at an address within a window: enough that a stranger from a
 * few networks cannot use up the owner's tries, few enough that guessing a 6-digit code stays hopeless.
 */
export const CODE_GUESSES_PER_ADDRESS = 20;

type CodeMailTemplate = (code: string, validMinutes: number) => Letter;

/** A fresh code for `address`, ready to store (hashed) with the mail that carries it (sealed). */
export async function codeToIssue(ctx: ServiceContext, address: string, template: CodeMailTemplate): Promise<CodeToIssue> {
  const lifetime = ctx.config.VERIFICATION_CODE_TTL_SECONDS;
  const { code, hash } = await newCode(ctx.config.HASH_SECRET, address);
  const expiresAt = secondsAfter(ctx.now, lifetime);
  return { hash, expiresAt, mail: await mailToQueue(ctx, template(code, Math.round(lifetime / 60)), expiresAt) };
}

/** Before this instant, a code sent to an address forbids another: one code a minute per address. */
export function issuingInterval(ctx: ServiceContext): Date {
  return secondsAfter(ctx.now, -ctx.config.CODE_RESEND_INTERVAL_SECONDS);
}

/** A guess at the code sent to `address`, charged to the address's budget for `scope`. */
export function codeGuess(
  ctx: ServiceContext,
  guess: { address: string; hash: Uint8Array; scope: CodeScope; purposes: CodePurpose[] },
): CodeGuess {
  return {
    ...guess,
    network: ctx.client.network,
    perNetwork: CODE_GUESSES_PER_CLIENT,
    perAddress: CODE_GUESSES_PER_ADDRESS,
    // a window as long as a code lives: a new code within it does not bring new guesses
    windowEndsAt: secondsAfter(ctx.now, ctx.config.VERIFICATION_CODE_TTL_SECONDS),
    now: ctx.now,
  };
}
