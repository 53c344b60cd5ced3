// Passkeys (WebAuthn Level 3) through @simplewebauthn/server: each ceremony as options (a challenge stored on the
// server, single use, short-lived, bound to its ceremony and signer) and a verification; signing in and step-up with
// one; the owner's list, rename and removal, and an admin's removal.
import { generateAuthenticationOptions, generateRegistrationOptions, verifyRegistrationResponse } from "@simplewebauthn/server";
import { base64url } from "jose";
import { sha256 } from "../auth/crypto.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import { renewAuthentication } from "../db/mfa-challenges.ts";
import {
  addPasskey,
  type CeremonyUser,
  type KnownCredential,
  listPasskeys,
  type NewPasskey,
  type NewPasskeyChallenge,
  type PasskeyRow,
  removePasskey,
  renamePasskey,
  startPasskeySession,
  storeChallenge,
  usePasskey,
} from "../db/passkeys.ts";
import { endPasswordRun } from "../db/password-run.ts";
import { endingSessions } from "../edge/revocations.ts";
import { ApiError, failure } from "../errors.ts";
import { passkeyAddedNotice, passkeyRemovedNotice } from "../mail/templates.ts";
import { POLICY } from "../policy.ts";
import type { AccessToken } from "../schemas/mfa.ts";
import {
  type PasskeyAttestation,
  type PasskeyCreationOptions,
  type PasskeyReauthenticationRequest,
  type PasskeyRequestOptions,
  type PasskeySignInOptionsRequest,
  type PasskeySignInRequest,
  type PasskeyView,
  type RegisterPasskeyRequest,
  type RemovePasskeyRequest,
  type RenamePasskeyRequest,
  type Transport,
  TransportSchema,
} from "../schemas/passkeys.ts";
import type { SignedIn } from "../schemas/tokens.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { signingInDevice } from "./devices.ts";
import { foundDevice } from "../db/devices.ts";
import { bytesOf, challengeGone, passkeyRefused, provePasskey, signedChallenge } from "./guards/passkey.ts";
import { provePassword, signedIn } from "./guards/password.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { statusRefusal } from "./sessions.ts";
import { requireRecentAuthentication } from "./step-up.ts";
import { mintAccessToken, mintSignIn, newSession } from "./tokens.ts";

/** COSE algorithms accepted: Ed25519, ECDSA P-256 and RSA (RS256, which Windows Hello still makes), all on WebCrypto. */
const ALGORITHMS = [-8, -7, -257];

/** A fresh challenge: 32 random bytes, and their base64url text, which the client data carries back. */
function newChallenge(): { bytes: Uint8Array<ArrayBuffer>; text: string } {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return { bytes, text: base64url.encode(bytes) };
}

function isTransport(transport: string): transport is Transport {
  return TransportSchema.safeParse(transport).success;
}

function descriptors(passkeys: KnownCredential[]) {
  return passkeys.map((passkey) => ({ id: base64url.encode(passkey.credential_id), transports: passkey.transports.filter(isTransport) }));
}

/** Stores a ceremony's challenge (one round trip) and answers its text, with the signed-in user when it has one. */
async function storedChallenge(ctx: ServiceContext, binding: NewPasskeyChallenge["binding"]) {
  const challenge = newChallenge();
  const user = await storeChallenge(ctx.db, {
    challengeHash: await sha256(challenge.text),
    binding,
    expiresAt: secondsAfter(ctx.now, ctx.config.PASSKEY_CHALLENGE_TTL_SECONDS),
    now: ctx.now,
  });
  return { challenge, user };
}

function signedInUser(user: CeremonyUser | undefined): CeremonyUser {
  if (!user) throw failure("session_ended");
  return user;
}

/**
 * A registration's options (one round trip): a challenge bound to the signed-in user and session, the user's
 * handle, and their passkeys to exclude (an authenticator holding one says so instead of making a second). A
 * resident key and user verification are required: every passkey here signs in on its own, as every factor.
 */
export async function registrationOptions(ctx: ServiceContext, actor: AccessClaims): Promise<PasskeyCreationOptions> {
  requireRecentAuthentication(ctx, actor);
  const { challenge, user } = await storedChallenge(ctx, { ceremony: "registration", userId: actor.userId, sessionId: actor.sessionId });
  const { email, first_name, last_name, passkeys } = signedInUser(user);
  // refused before the authenticator makes a key the API would not keep
  if (passkeys.length >= POLICY.passkeys.perAccount) throw accountFull();
  return generateRegistrationOptions({
    rpName: ctx.config.PRODUCT_NAME,
    rpID: ctx.config.WEBAUTHN_RP_ID,
    userName: email,
    // the bytes `userHandleOf` encodes
    userID: new Uint8Array(new TextEncoder().encode(actor.userId)),
    userDisplayName: [first_name, last_name].filter(Boolean).join(" ") || email,
    challenge: challenge.bytes,
    timeout: ctx.config.PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
    attestationType: "none",
    excludeCredentials: descriptors(passkeys),
    authenticatorSelection: { residentKey: "required", userVerification: "required" },
    supportedAlgorithmIDs: ALGORITHMS,
  });
}

/** The new passkey an attestation describes, once the library verified it (origin, relying party, flags, key). */
async function verifiedPasskey(ctx: ServiceContext, credential: PasskeyAttestation, challenge: string, name: string): Promise<NewPasskey> {
  const verification = await verifyRegistrationResponse({
    response: credential,
    expectedChallenge: challenge,
    expectedOrigin: ctx.config.WEBAUTHN_ORIGINS,
    expectedRPID: ctx.config.WEBAUTHN_RP_ID,
    requireUserVerification: true,
    supportedAlgorithmIDs: ALGORITHMS,
  }).catch((error: unknown) => {
    ctx.log.info("passkey attestation refused", { reason: error instanceof Error ? error.message : String(error) });
    return undefined;
  });
  const info = verification?.registrationInfo;
  const credentialId = info && bytesOf(info.credential.id);
  if (!info || !credentialId) throw passkeyRefused();
  return {
    id: crypto.randomUUID(),
    credentialId,
    publicKey: info.credential.publicKey,
    counter: info.credential.counter,
    transports: credential.response.transports ?? [],
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    aaguid: info.aaguid,
    name,
  };
}

const accountFull = () =>
  new ApiError(
    "passkey_limit_reached",
    `This account holds ${POLICY.passkeys.perAccount} passkeys, as many as it may: remove one you no longer use first.`,
  );

/**
 * Adds a passkey (two round trips): the current password through its guard, the attestation verified, then the
 * registration's challenge spent (live, bound to this user and session) and the passkey stored in one statement;
 * the owner is told. Like enrolling an authenticator app, it needs a recent sign-in and the password: a stolen
 * access token alone must not add a way in.
 */
export async function registerPasskey(ctx: ServiceContext, actor: AccessClaims, input: RegisterPasskeyRequest): Promise<PasskeyView> {
  requireRecentAuthentication(ctx, actor);
  const challenge = signedChallenge(input.credential.response.clientDataJSON);
  if (challenge === undefined) throw passkeyRefused();
  const proved = await provePassword(ctx, signedIn(actor), input.current_password, "passkey_change");
  const name = input.name ?? `Passkey of ${ctx.now.toISOString().slice(0, 10)}`;
  const [passkey, notice] = await Promise.all([
    verifiedPasskey(ctx, input.credential, challenge, name).catch((error: unknown) => {
      proved.settle();
      throw error;
    }),
    mailToQueue(ctx, passkeyAddedNotice(name)),
  ]);
  const result = await addPasskey(ctx.db, {
    userId: actor.userId,
    sessionId: actor.sessionId,
    challengeHash: await sha256(challenge),
    passkey,
    proofSpent: endPasswordRun(proved.holder.run),
    perAccount: POLICY.passkeys.perAccount,
    notice,
    events: ctx.events,
  });
  if (!result.claimed) throw challengeGone();
  if (result.full) throw accountFull();
  if (!result.added) throw new ApiError("passkey_exists", "This passkey is registered already.");
  deliverLater(ctx, result.notice);
  return viewOf(result.added);
}

/**
 * A sign-in's options (one round trip): a challenge for any account's passkey, or for the typed address's. No list
 * of credentials is sent: it would tell whether the address has an account and passkeys, and every passkey made
 * here is discoverable, so the authenticator finds it without one.
 */
export async function signInOptions(ctx: ServiceContext, input: PasskeySignInOptionsRequest): Promise<PasskeyRequestOptions> {
  const { challenge } = await storedChallenge(ctx, { ceremony: "authentication", address: input.email });
  return generateAuthenticationOptions({
    rpID: ctx.config.WEBAUTHN_RP_ID,
    challenge: challenge.bytes,
    timeout: ctx.config.PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
    userVerification: "required",
  });
}

/**
 * Signs in with a passkey (two round trips): the passkey guard's read (the challenge claimed with the credential),
 * the assertion judged, then the passkey used and the session started in one statement, as a login does (the device
 * signed in; a new device's sign-in mailed to the owner). A passkey with user verification proves every factor: no
 * password, and no code of an authenticator app.
 */
export async function signInWithPasskey(ctx: ServiceContext, input: PasskeySignInRequest): Promise<SignedIn> {
  const deviceTokenHash = input.device_token === undefined ? undefined : await sha256(input.device_token);
  const proved = await provePasskey(ctx, { ceremony: "authentication", deviceTokenHash }, input.credential, "sign_in");
  const device = await signingInDevice(ctx, proved.passkey.userId, foundDevice(proved.deviceId));
  const { fresh, refreshToken } = await newSession(ctx, { proved: proved.methods, report: device.report, passkeyId: proved.passkey.id });
  const started = await startPasskeySession(ctx.db, {
    use: proved.use,
    fresh,
    device: device.signIn,
    deviceNotice: device.notice,
    events: ctx.events,
  });
  if (started.outcome === "refused") throw statusRefusal(started.status, null);
  // removed meanwhile, or a racing assertion of the same passkey moved its counter past this one's
  if (started.outcome !== "started") throw passkeyRefused();
  deliverLater(ctx, started.deviceNotice);
  return mintSignIn(ctx, started.standing, refreshToken, device.token);
}

/** A step-up's options (one round trip): a challenge bound to the session, for one of the user's own passkeys. */
export async function reauthenticationOptions(ctx: ServiceContext, actor: AccessClaims): Promise<PasskeyRequestOptions> {
  const { challenge, user } = await storedChallenge(ctx, {
    ceremony: "reauthentication",
    userId: actor.userId,
    sessionId: actor.sessionId,
  });
  return generateAuthenticationOptions({
    rpID: ctx.config.WEBAUTHN_RP_ID,
    challenge: challenge.bytes,
    timeout: ctx.config.PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
    userVerification: "required",
    allowCredentials: descriptors(signedInUser(user).passkeys),
  });
}

/**
 * Step-up with a passkey (two round trips): the guard's read of the session's challenge, the assertion judged, then
 * the passkey used and the session's `auth_time` and `amr` renewed in one statement. A passkey with user
 * verification proves every factor, so it renews a sign-in made with an authenticator app's code too.
 */
export async function reauthenticateWithPasskey(
  ctx: ServiceContext,
  actor: AccessClaims,
  input: PasskeyReauthenticationRequest,
): Promise<AccessToken> {
  const target = { ceremony: "reauthentication" as const, userId: actor.userId, sessionId: actor.sessionId };
  const proved = await provePasskey(ctx, target, input.credential, "step_up");
  const standing = await renewAuthentication(ctx.db, {
    userId: actor.userId,
    sessionId: actor.sessionId,
    proved: proved.methods,
    spends: usePasskey(proved.use),
    endsPasswordRun: undefined,
    events: ctx.events,
  });
  if (!standing) throw passkeyRefused();
  return mintAccessToken(ctx, standing);
}

function viewOf(row: PasskeyRow): PasskeyView {
  return {
    ...row,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
  };
}

/** The caller's passkeys, or (for an admin) a user's; newest first. */
export async function listUserPasskeys(ctx: ServiceContext, userId: string, whose: "own" | "user"): Promise<PasskeyView[]> {
  const rows = await listPasskeys(ctx.db, userId);
  if (!rows) throw failure(whose === "own" ? "user_gone" : "user_not_found");
  return rows.map(viewOf);
}

const passkeyNotFound = () => new ApiError("passkey_not_found", "There is no passkey with this id on this account.");

export async function renameOwnPasskey(ctx: ServiceContext, actor: AccessClaims, passkeyId: string, input: RenamePasskeyRequest) {
  const row = await renamePasskey(ctx.db, { userId: actor.userId, passkeyId, name: input.name, events: ctx.events });
  if (!row) throw passkeyNotFound();
  return viewOf(row);
}

/** What a removal's outcome answers, when it is not done. */
function refusedRemoval(outcome: "not_found" | "last_way_in" | "forbidden"): ApiError {
  if (outcome === "forbidden") return new ApiError("forbidden", "Your account no longer allows this.");
  if (outcome === "not_found") return passkeyNotFound();
  return new ApiError("last_sign_in_method", "This passkey is the account's last way to sign in: add another first.");
}

/**
 * Removes one of the caller's passkeys (two round trips): a recent sign-in and the current password (through its
 * guard), as for adding one; the sessions it signed in end (this one too, if it was one of them), the owner is
 * told. The account's last way to sign in is never removed.
 */
export async function removeOwnPasskey(ctx: ServiceContext, actor: AccessClaims, passkeyId: string, input: RemovePasskeyRequest) {
  requireRecentAuthentication(ctx, actor);
  const proved = await provePassword(ctx, signedIn(actor), input.current_password, "passkey_change");
  const notice = await mailToQueue(ctx, passkeyRemovedNotice("owner"));
  const result = await endingSessions(ctx, (ender) =>
    removePasskey(ctx.db, ender, {
      userId: actor.userId,
      passkeyId,
      actor: { id: actor.userId, needs: "user" },
      by: "owner",
      proofSpent: endPasswordRun(proved.holder.run),
      notice,
      events: ctx.events,
    }),
  );
  if (result.outcome !== "removed") throw refusedRemoval(result.outcome);
  deliverLater(ctx, result.notice);
}

/**
 * An admin's removal of a user's passkey (a lost or stolen device): every session of the user ends, the user is
 * told. Not one's own: an admin removes theirs as its owner, with the password.
 */
export async function removeUserPasskey(ctx: ServiceContext, actor: AccessClaims, userId: string, passkeyId: string): Promise<void> {
  if (actor.userId === userId) {
    throw new ApiError("cannot_remove_own_passkey", "Remove your own passkeys with DELETE /auth/passkeys/{id} and your password.");
  }
  requireRecentAuthentication(ctx, actor);
  const notice = await mailToQueue(ctx, passkeyRemovedNotice("admin"));
  const result = await endingSessions(ctx, (ender) =>
    removePasskey(ctx.db, ender, {
      userId,
      passkeyId,
      actor: { id: actor.userId, needs: "admin" },
      by: "admin",
      proofSpent: undefined,
      notice,
      events: ctx.events,
    }),
  );
  if (result.outcome !== "removed") throw refusedRemoval(result.outcome);
  deliverLater(ctx, result.notice);
}
