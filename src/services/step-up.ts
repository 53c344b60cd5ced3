import type { AccessClaims } from "../auth/tokens.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { provedEveryFactor } from "../schemas/mfa.ts";
import type { ServiceContext } from "./context.ts";

/**
 * Sensitive operations (an email or password change, a change of the second factor, an admin's writes) need
 * the person behind the token to have proved who they are recently: within STEP_UP_MAX_AGE_SECONDS of their
 * session's last authentication (a login, or POST /auth/reauthenticate). A session made with a second factor
 * stays one: every live session of a user with a factor on was made with it (turning a factor on ends the
 * others), so recency is all there is to check here.
 */
export function requireRecentAuthentication(ctx: ServiceContext, actor: AccessClaims): void {
  const ageSeconds = (ctx.now.getTime() - actor.authTime.getTime()) / 1000;
  if (ageSeconds > ctx.config.STEP_UP_MAX_AGE_SECONDS) {
    const how = actor.amr.includes("fed")
      ? "sign in with your provider again (or confirm your password with POST /auth/reauthenticate, or use a passkey, if your account has one)"
      : `confirm your password${actor.amr.includes("otp") ? " and a code of your authenticator app" : ""} with POST /auth/reauthenticate, or use a passkey (POST /auth/passkeys/reauthentication/options)`;
    throw new ApiError("reauthentication_required", `This needs a recent sign-in: ${how}, then try again.`);
  }
}

/**
 * An admin's password is every account: where ADMIN_MFA_REQUIRED is on, an admin acts as one only in a session
 * made with more than a password (a code of the app, a passkey that verified its user, or an identity provider's
 * second factor). Without one they can still sign in, and enrol one.
 */
export function requireAdminFactor(config: Config, actor: AccessClaims): void {
  if (config.ADMIN_MFA_REQUIRED && !provedEveryFactor(actor.amr)) {
    throw new ApiError(
      "mfa_enrollment_required",
      "Admins must sign in with a second factor or a passkey: enrol an app at POST /auth/mfa/totp (the session its confirmation answers has it), or sign in with a passkey.",
    );
  }
}
