import { CODE_MAX_ATTEMPTS, codeHash } from "../auth/codes.ts";
import { hashPassword } from "../auth/passwords.ts";
import { consumeCode, reissueVerificationCode } from "../db/codes.ts";
import { createUser } from "../db/users.ts";
import { ApiError } from "../errors.ts";
import { emailChangedNotice, verificationMail } from "../mail/templates.ts";
import type { PublicUser } from "../schemas/user.ts";
import { codeToIssue } from "./codes.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { emailTakenError, translateEmailTaken } from "./email-taken.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { publicUser } from "./public-user.ts";

export interface SignupInput {
  email: string;
  password: string;
  first_name?: string | null | undefined;
  last_name?: string | null | undefined;
}

/** Creates an unverified user and mails a verification code; the mail never decides the outcome. */
export async function signup(ctx: ServiceContext, input: SignupInput): Promise<PublicUser> {
  const [passwordHash, code] = await Promise.all([
    hashPassword(input.password),
    codeToIssue(ctx, input.email, verificationMail),
  ]);
  const created = await createUser(
    ctx.db,
    {
      email: input.email,
      passwordHash,
      firstName: input.first_name ?? null,
      lastName: input.last_name ?? null,
      status: "unverified",
      role: "user",
      now: ctx.now,
    },
    code,
  );
  if (!created) throw emailTakenError();
  deliverLater(ctx, created.mail);
  return publicUser(created.user);
}

const CODE_PROBLEMS = {
  wrong: ["code_invalid", "The code is wrong."],
  expired: ["code_expired", "The code has expired. Ask for a new one."],
  exhausted: ["code_exhausted", "Too many wrong tries: this code no longer works. Ask for a new one."],
} as const;

/** Proves an address with the code sent to it: a signup's address, or a new address for a user. */
export async function verifyCode(ctx: ServiceContext, input: { email: string; code: string }): Promise<string> {
  // an address asked for in an email change may have been registered since
  const result = await translateEmailTaken(
    consumeCode(ctx.db, {
      address: input.email,
      hash: await codeHash(ctx.config.HASH_SECRET, input.email, input.code),
      maxAttempts: CODE_MAX_ATTEMPTS,
      now: ctx.now,
      changeNotice: mailToQueue(ctx, await emailChangedNotice(input.email)),
    }),
  );
  if (!result) throw new ApiError("code_invalid", "There is no pending code for this address.");
  const { outcome, notice } = result;
  if (outcome === "verified") return "Email address verified. You can log in now.";
  if (outcome === "email_changed") {
    deliverLater(ctx, notice);
    return "Email address changed.";
  }
  const [code, detail] = CODE_PROBLEMS[outcome];
  throw new ApiError(code, detail);
}

/**
 * Sends a fresh code to an unverified address, at most once per interval. It answers the same
 * whether or not the address is registered, so it cannot be used to discover accounts.
 */
export async function resendVerificationCode(ctx: ServiceContext, input: { email: string }): Promise<void> {
  const mail = await reissueVerificationCode(ctx.db, {
    email: input.email,
    code: await codeToIssue(ctx, input.email, verificationMail),
    notIssuedSince: secondsAfter(ctx.now, -ctx.config.CODE_RESEND_INTERVAL_SECONDS),
    now: ctx.now,
  });
  deliverLater(ctx, mail);
}
