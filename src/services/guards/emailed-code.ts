// The emailed code's guard: every endpoint that takes a code mailed to an address (verifying a signup or a new
// address, resetting a password) checks it here, under the address's budgets (POLICY.codeGuesses) and its run of
// wrong guesses (POLICY.codeRun), charged in the statement that looks the code up, before it is judged.
import { codeHash } from "../../auth/codes.ts";
import { checkCode, type MatchedCode } from "../../db/codes.ts";
import { codesPausedNotice } from "../../mail/templates.ts";
import { POLICY } from "../../policy.ts";
import type { CodePurpose, CodeScope } from "../../schemas/codes.ts";
import { secondsAfter, type ServiceContext } from "../context.ts";
import { deliverLater, mailToQueue } from "../mail-delivery.ts";

/**
 * Checks a guess at the codes sent to `address` (one round trip), charged to the address's budgets for `scope`:
 * per client network and in all within a window as long as a code lives (a new code does not refill it), and the
 * run of wrong guesses over any time. The right code is found, not spent: the statement that acts on it spends it.
 * When this guess pauses the codes, the address is told.
 */
export async function proveEmailedCode(
  ctx: ServiceContext,
  guess: { address: string; code: string; scope: CodeScope; purposes: CodePurpose[] },
): Promise<MatchedCode | undefined> {
  const { address, code, scope, purposes } = guess;
  const { codeGuesses, codeRun } = POLICY;
  const [hash, pausedMail] = await Promise.all([
    codeHash(ctx.config.HASH_SECRET, address, code),
    mailToQueue(ctx, codesPausedNotice(scope, codeRun.pauseHours)),
  ]);
  const check = await checkCode(
    ctx.db,
    {
      address,
      hash,
      scope,
      purposes,
      network: ctx.client.network,
      perNetwork: codeGuesses.perClient,
      perAddress: codeGuesses.perAddress,
      windowEndsAt: secondsAfter(ctx.now, ctx.config.VERIFICATION_CODE_TTL_SECONDS),
      pauseAfter: codeRun.pauseAfter,
      pausedUntil: secondsAfter(ctx.now, codeRun.pauseHours * 3600),
      now: ctx.now,
    },
    { mail: pausedMail, events: ctx.events },
  );
  deliverLater(ctx, check.notice);
  return check.matched;
}
