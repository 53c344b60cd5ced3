// The passkey's guard: every endpoint that takes an assertion (a sign-in, a step-up) checks it here. Guessing a
// signature is hopeless (it would take the private key); what an attacker can try is to replay an assertion, or to
// race many answers at one challenge. So the challenge is claimed (spent) in the statement that reads it with the
// credential it names, before the signature is judged: one challenge is judged at most once, and tries at once meet
// that as tries in a row do.
import { verifyAuthenticationResponse } from "@simplewebauthn/server";
import { base64url } from "jose";
import { z } from "zod";
import { sha256 } from "../../auth/crypto.ts";
import { recordEvent } from "../../db/events.ts";
import { claimPasskeyTry, type PasskeyTryRequest, type PasskeyUse, type StoredPasskey } from "../../db/passkeys.ts";
import { ApiError } from "../../errors.ts";
import type { AuthMethod } from "../../schemas/mfa.ts";
import type { PasskeyAssertion } from "../../schemas/passkeys.ts";
import type { ServiceContext } from "../context.ts";

/** What an assertion is presented for, in the `passkey_failed` event of a refused one. */
export type PasskeyPurpose = "sign_in" | "step_up";

/** Why an assertion was refused, in its event. */
type Refusal = "unreadable" | "unknown_credential" | "invalid_assertion" | "counter_regressed";

export const passkeyRefused = () =>
  new ApiError("passkey_invalid", "The passkey's answer was not accepted. Try again, or sign in another way.");
export const challengeGone = () =>
  new ApiError("passkey_challenge_invalid", "The challenge is unknown, expired, used or not this ceremony's: ask for new options.");

const ClientDataSchema = z.object({ challenge: z.string().min(1).max(256) });

/** The challenge a ceremony's client data says was signed; undefined when the client data cannot be read. */
export function signedChallenge(clientDataJSON: string): string | undefined {
  try {
    const parsed = ClientDataSchema.safeParse(JSON.parse(new TextDecoder().decode(base64url.decode(clientDataJSON))));
    return parsed.success ? parsed.data.challenge : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes of a base64url text; undefined when it is not one. */
export function bytesOf(text: string): Uint8Array | undefined {
  try {
    return base64url.decode(text);
  } catch {
    return undefined;
  }
}

/**
 * The user handle an account's passkeys carry (WebAuthn §14.6.1: nothing that names the person): its id, as
 * bytes of its decimal text. An assertion that carries one must carry its credential owner's (§7.2 step 6).
 */
export function userHandleOf(userId: string): string {
  return base64url.encode(userId);
}

/**
 * Whether an assertion's signature counter went backwards (WebAuthn §6.1.1): a counter that does not go forward
 * means the key may have been cloned. An authenticator that keeps no counter reports 0 every time, and is let be.
 */
export function counterWentBack(stored: number, reported: number): boolean {
  return (stored > 0 || reported > 0) && reported <= stored;
}

/** A refused assertion: recorded after the answer (with its account, when the credential is known), and the answer thrown. */
function refuse(ctx: ServiceContext, passkey: StoredPasskey | undefined, reason: Refusal, during: PasskeyPurpose): never {
  ctx.defer(recordEvent(ctx.db, ctx.events, { type: "passkey_failed", userId: passkey?.userId ?? null, details: { reason, during } }));
  throw passkeyRefused();
}

/** An assertion the guard accepted: the passkey, what it reported (for the statement that uses it), and how it counts in `amr`. */
export interface ProvedPasskey {
  passkey: StoredPasskey;
  use: PasskeyUse;
  /** A synced passkey is a software key (`swk`); one that never leaves its authenticator, a hardware key (`hwk`). */
  methods: AuthMethod[];
  /** A sign-in's known device (its token named one of the passkey owner's devices). */
  deviceId: string | undefined;
}

/** The library's verdict on the assertion: what it reported, or undefined when anything in it is wrong. */
async function judge(ctx: ServiceContext, credential: PasskeyAssertion, challenge: string, passkey: StoredPasskey) {
  try {
    const verification = await verifyAuthenticationResponse({
      response: credential,
      expectedChallenge: challenge,
      expectedOrigin: ctx.config.WEBAUTHN_ORIGINS,
      expectedRPID: ctx.config.WEBAUTHN_RP_ID,
      // the counter's rule is ours (`counterWentBack`), so that a regression is told apart and logged
      credential: { id: credential.id, publicKey: new Uint8Array(passkey.publicKey), counter: 0 },
      requireUserVerification: true,
    });
    return verification.verified ? verification.authenticationInfo : undefined;
  } catch (error) {
    // the library's account of a malformed or mismatched answer (origin, relying party, flags, CBOR)
    ctx.log.info("passkey assertion refused", { reason: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}

/**
 * Checks an assertion: its challenge claimed with the credential it names (one round trip), then its signature,
 * origin, relying party, user verification and counter judged. Throws the answer for every failure; answers what
 * the assertion proved, for the statement that acts on it (which checks the counter again, under the user's lock).
 */
export async function provePasskey(
  ctx: ServiceContext,
  target: PasskeyTryRequest["target"],
  credential: PasskeyAssertion,
  during: PasskeyPurpose,
): Promise<ProvedPasskey> {
  const challenge = signedChallenge(credential.response.clientDataJSON);
  const credentialId = bytesOf(credential.id);
  if (challenge === undefined || credentialId === undefined) return refuse(ctx, undefined, "unreadable", during);
  const attempt = await claimPasskeyTry(ctx.db, { challengeHash: await sha256(challenge), credentialId, target, events: ctx.events });
  if (!attempt.claimed) throw challengeGone();
  const { passkey } = attempt;
  if (!passkey) return refuse(ctx, undefined, "unknown_credential", during);
  const { userHandle } = credential.response;
  if (userHandle !== undefined && userHandle !== userHandleOf(passkey.userId)) return refuse(ctx, passkey, "invalid_assertion", during);
  const verdict = await judge(ctx, credential, challenge, passkey);
  if (!verdict) return refuse(ctx, passkey, "invalid_assertion", during);
  if (counterWentBack(passkey.signCount, verdict.newCounter)) {
    ctx.log.warn("passkey counter went backwards: the key may be cloned", {
      user_id: passkey.userId,
      passkey_id: passkey.id,
      stored: passkey.signCount,
      reported: verdict.newCounter,
    });
    return refuse(ctx, passkey, "counter_regressed", during);
  }
  return {
    passkey,
    use: {
      passkeyId: passkey.id,
      userId: passkey.userId,
      counter: verdict.newCounter,
      deviceType: verdict.credentialDeviceType,
      backedUp: verdict.credentialBackedUp,
      now: ctx.now,
    },
    methods: [verdict.credentialDeviceType === "multiDevice" ? "swk" : "hwk", "user"],
    deviceId: attempt.deviceId,
  };
}
