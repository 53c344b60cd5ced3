import { codeHash } from "../auth/codes.ts";
import { hashPassword } from "../auth/passwords.ts";
import { proveAddress, reissueVerificationCode } from "../db/codes.ts";
import { registerUser } from "../db/users.ts";
import { failure } from "../errors.ts";
import { emailChangedNotice, verificationMail } from "../mail/templates.ts";
import { AddressProofPurposeSchema } from "../schemas/codes.ts";
import type { ResendCodeRequest, SignupRequest, VerifyRequest } from "../schemas/registration.ts";
import type { PublicUser } from "../schemas/user.ts";
import { codeGuess, codeToIssue, issuingInterval } from "./codes.ts";
import type { ServiceContext } from "./context.ts";
import { translateEmailTaken } from "./email-taken.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { publicUser } from "./public-user.ts";

/**
 * Creates an unverified user and mails a verification code; the mail never decides the outcome. A signup
 * for an address nobody has proved takes that account over (new password, new code), with the same
 * answer as any signup; only an address someone proved is taken (409).
 */
export async function signup(ctx: ServiceContext, input: SignupRequest): Promise<PublicUser> {
  const [passwordHash, code] = await Promise.all([hashPassword(input.password), codeToIssue(ctx, input.email, verificationMail)]);
  const creation = await registerUser(
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
    { code, notIssuedSince: issuingInterval(ctx), events: ctx.events },
  );
  if (creation.outcome === "taken") throw failure("email_taken");
  if (creation.outcome === "created") deliverLater(ctx, creation.mail);
  return publicUser(creation.user);
}

/**
 * Proves an address with the code sent to it: a signup's address, or a new address for a user. Every
 * failure answers alike (wrong, expired, used, over budget, or no code at all), so the answer tells
 * nobody whether an address has an account or a pending change.
 */
export async function verifyCode(ctx: ServiceContext, input: VerifyRequest): Promise<string> {
  const { proved, notice } = await translateEmailTaken(
    // an address asked for in an email change may have been registered since
    proveAddress(ctx.db, {
      guess: codeGuess(ctx, {
        address: input.email,
        hash: await codeHash(ctx.config.HASH_SECRET, input.email, input.code),
        scope: "verify",
        purposes: AddressProofPurposeSchema.options,
      }),
      changeNotice: await mailToQueue(ctx, emailChangedNotice(input.email)),
      events: ctx.events,
    }),
  );
  if (proved === "verify_email") return "Email address verified. You can log in now.";
  if (proved === "change_email") {
    deliverLater(ctx, notice);
    return "Email address changed.";
  }
  throw failure("code_invalid");
}

/**
 * Sends a fresh code to an unverified address, at most once per interval. It answers the same
 * whether or not the address is registered, so it cannot be used to discover accounts.
 */
export async function resendVerificationCode(ctx: ServiceContext, input: ResendCodeRequest): Promise<void> {
  const mail = await reissueVerificationCode(ctx.db, {
    email: input.email,
    code: await codeToIssue(ctx, input.email, verificationMail),
    notIssuedSince: issuingInterval(ctx),
    now: ctx.now,
  });
  deliverLater(ctx, mail);
}
