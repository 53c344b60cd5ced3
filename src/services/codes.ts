import { newCode } from "../auth/codes.ts";
import type { CodeToIssue } from "../db/codes.ts";
import type { MailContent } from "../mail/message.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { mailToQueue } from "./mail-delivery.ts";

type CodeMailTemplate = (code: string, validMinutes: number) => Promise<MailContent>;

/** A fresh code for `address`, ready to store (hashed) with the mail that carries it in the clear. */
export async function codeToIssue(ctx: ServiceContext, address: string, template: CodeMailTemplate): Promise<CodeToIssue> {
  const lifetime = ctx.config.VERIFICATION_CODE_TTL_SECONDS;
  const { code, hash } = await newCode(ctx.config.HASH_SECRET, address);
  return {
    hash,
    expiresAt: secondsAfter(ctx.now, lifetime),
    mail: mailToQueue(ctx, await template(code, Math.round(lifetime / 60))),
  };
}
