import { hashPassword, verifyPassword } from "../auth/passwords.ts";
import { reissueVerificationCode } from "../db/codes.ts";
import { proveAddress } from "../db/proofs.ts";
import { registerUser } from "../db/users.ts";
import { ApiError, failure } from "../errors.ts";
import { emailChangedNotice, verificationMail } from "../mail/templates.ts";
import { AddressProofPurposeSchema } from "../schemas/codes.ts";
import type { ResendCodeRequest, SignupRequest, VerifyRequest } from "../schemas/registration.ts";
import type { PublicUser } from "../schemas/user.ts";
import { refuseBreachedPassword } from "./breached-passwords.ts";
import { codeToIssue, mailAllowance } from "./codes.ts";
import { proveEmailedCode } from "./guards/emailed-code.ts";
import type { ServiceContext } from "./context.ts";
import { translateEmailTaken } from "./email-taken.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { publicUser } from "./public-user.ts";

/**
 * Creates an unverified user and mails a verification code; the mail never decides the outcome. A signup
 * for an address nobody has proved starts that account over (this signup's password and names, a new id, a
 * new code if the address may be sent one), with the same answer as any signup; only an address someone
 * proved is taken (409).
 */
export async function signup(ctx: ServiceContext, input: SignupRequest): Promise<PublicUser> {
  await refuseBreachedPassword(ctx, input.password);
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
    { code, allowance: mailAllowance(ctx), events: ctx.events },
  );
  if (creation.outcome === "taken") throw failure("email_taken");
  deliverLater(ctx, creation.mail);
  return publicUser(creation.user);
}

/**
 * Proves an address with the code sent to it: a signup's address (with the password of the latest signup
 * for it: whoever proves the address decides the password, and nothing another person typed survives the
 * proof), or a new address for a user. A wrong code costs no password work and answers alike whatever
 * failed (wrong, expired, used, over budget, paused, or no code at all), so the answer tells nobody whether
 * an address has an account or a pending change. One round trip for a wrong code, two for a right one.
 */
export async function verifyCode(ctx: ServiceContext, input: VerifyRequest): Promise<string> {
  const matched = await proveEmailedCode(ctx, {
    address: input.email,
    code: input.code,
    scope: "verify",
    purposes: AddressProofPurposeSchema.options,
  });
  const purpose = AddressProofPurposeSchema.safeParse(matched?.purpose).data;
  if (!matched || !purpose) throw failure("code_invalid");
  if (purpose === "verify_email") await checkSignupPassword(matched.password_hash, input.password);
  const { proved, notice } = await translateEmailTaken(
    // an address asked for in an email change may have been registered since
    proveAddress(ctx.db, {
      matched: { ...matched, purpose },
      checkedPasswordHash: matched.password_hash ?? undefined,
      changeNotice: await mailToQueue(ctx, emailChangedNotice(input.email)),
      events: ctx.events,
    }),
  );
  if (proved === "verify_email") return "Email address verified. You can log in now.";
  if (proved === "change_email") {
    deliverLater(ctx, notice);
    return "Email address changed.";
  }
  // spent or replaced meanwhile, or a signup for the address came between the check and the proof
  throw failure("code_invalid");
}

/** Completing a signup needs its password: the code alone would hand the account to whoever chose it. */
async function checkSignupPassword(storedHash: string | null, password: string | undefined): Promise<void> {
  if (password === undefined)
    throw new ApiError("validation_failed", "Completing a signup needs the password you signed up with (password).");
  if (storedHash === null || !(await verifyPassword(password, storedHash)).valid) throw failure("signup_password_mismatch");
}

/**
 * Sends a fresh code to an unverified address, if it may be sent one. It answers the same whether or not
 * the address is registered, so it cannot be used to discover accounts.
 */
export async function resendVerificationCode(ctx: ServiceContext, input: ResendCodeRequest): Promise<void> {
  const mail = await reissueVerificationCode(ctx.db, {
    email: input.email,
    code: await codeToIssue(ctx, input.email, verificationMail),
    allowance: mailAllowance(ctx),
    now: ctx.now,
  });
  deliverLater(ctx, mail);
}
