// Leaving the shop: an owner deletes their account (it waits out a grace period, cancellable by the link mailed to
// them, then the cron erases it), and anyone whose data we keep can take a copy of it along.
import { randomToken, sha256 } from "../auth/crypto.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import { exportAccount } from "../db/export.ts";
import { cancelDeletion, requestDeletion } from "../db/leaving.ts";
import { endingSessions } from "../edge/revocations.ts";
import { ApiError, failure } from "../errors.ts";
import { dataExportedNotice, deletionCancelledNotice, deletionRequestedMail } from "../mail/templates.ts";
import { POLICY } from "../policy.ts";
import type { EndedBy } from "../schemas/events.ts";
import type { CancelDeletionRequest, DataExport } from "../schemas/leaving.ts";
import type { PublicUser } from "../schemas/user.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { publicEvent } from "./events.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { lastSignIn, publicUser } from "./public-user.ts";
import { requireRecentAuthentication } from "./step-up.ts";

/**
 * The owner's deletion of their own account (one round trip): with a recent sign-in with every factor (a stolen
 * access token alone cannot do it), the account turns `pending_deletion` until the grace period ends, every session
 * ends, and the owner is mailed a single-use link that cancels it until then. The last active admin cannot leave.
 */
export async function deleteOwnAccount(ctx: ServiceContext, actor: AccessClaims): Promise<PublicUser> {
  requireRecentAuthentication(ctx, actor);
  const token = randomToken();
  const dueAt = secondsAfter(ctx.now, ctx.config.DELETION_GRACE_SECONDS);
  const letter = deletionRequestedMail({ token, pageUrl: ctx.config.DELETION_CANCEL_URL }, dueAt);
  // the link is worth sending as long as it works
  const [cancelHash, mail] = await Promise.all([sha256(token), mailToQueue(ctx, letter, dueAt)]);
  const result = await endingSessions(ctx, (ender) =>
    requestDeletion(ctx.db, ender, { userId: actor.userId, cancelHash, dueAt, mail, events: ctx.events }),
  );
  if (result.outcome !== "scheduled") {
    throw result.outcome === "last_admin"
      ? new ApiError("last_admin", "This is the last active admin: make another admin first.")
      : new ApiError("forbidden", "Your account no longer allows this.");
  }
  deliverLater(ctx, result.mail);
  return publicUser(result.user);
}

/** Cancels a deletion with the token of its link (one round trip): the account is as it was; nobody is signed in. */
export async function cancelOwnDeletion(ctx: ServiceContext, input: CancelDeletionRequest): Promise<void> {
  const [cancelHash, notice] = await Promise.all([sha256(input.token), mailToQueue(ctx, deletionCancelledNotice())]);
  const result = await cancelDeletion(ctx.db, { cancelHash, notice, events: ctx.events });
  if (!result.cancelled) {
    throw new ApiError(
      "deletion_token_invalid",
      "This link is unknown or was used already, or the account's grace period is over. Sign in to see where the account stands.",
    );
  }
  deliverLater(ctx, result.notice);
}

/**
 * A copy of everything kept about an account (one round trip): for its owner, or for an admin at a request
 * received by other means (audited). Needs a recent sign-in; at most one export of an account per
 * `POLICY.exports.intervalSeconds`, whoever asks, and the owner is mailed each time, so a stolen session cannot
 * carry the data off again and again unseen.
 */
export async function exportData(ctx: ServiceContext, actor: AccessClaims, userId: string): Promise<DataExport> {
  requireRecentAuthentication(ctx, actor);
  const by: EndedBy = actor.userId === userId ? "owner" : "admin";
  const interval = POLICY.exports.intervalSeconds;
  const row = await exportAccount(ctx.db, {
    userId,
    actor: { id: actor.userId, needs: by === "owner" ? "user" : "admin" },
    by,
    notSince: secondsAfter(ctx.now, -interval),
    notice: await mailToQueue(ctx, dataExportedNotice(by)),
    events: ctx.events,
  });
  const account = row?.account;
  if (!row?.found || !account) throw by === "owner" ? failure("user_gone") : failure("user_not_found");
  if (!row.permitted) throw new ApiError("forbidden", "Your account no longer allows this.");
  if (row.last_export_at !== null) {
    const wait = Math.max(1, Math.ceil(interval - (ctx.now.getTime() - row.last_export_at.getTime()) / 1000));
    throw new ApiError("too_many_requests", `This account's data was exported moments ago: try again in ${wait} seconds.`, {
      retryAfterSeconds: wait,
    });
  }
  deliverLater(ctx, row.notice);
  return documentOf(ctx.now, row, account);
}

type ExportRow = NonNullable<Awaited<ReturnType<typeof exportAccount>>>;

/** Times arrive as JSON's text of a timestamp; the document has them as ISO 8601 in UTC. */
function iso(time: string): string;
function iso(time: string | null): string | null;
function iso(time: string | null): string | null {
  return time === null ? null : new Date(time).toISOString();
}

function documentOf(now: Date, row: ExportRow, account: NonNullable<ExportRow["account"]>): DataExport {
  const { factor } = row;
  return {
    exported_at: now.toISOString(),
    account: {
      ...publicUser({ ...account, created_at: new Date(account.created_at), deletion_due_at: null }),
      deletion_due_at: iso(account.deletion_due_at),
      verified_at: iso(account.verified_at),
      updated_at: iso(account.updated_at),
      last_sign_in: lastSignIn({
        ...account,
        last_sign_in_at: account.last_sign_in_at === null ? null : new Date(account.last_sign_in_at),
      }),
    },
    sessions: row.sessions.map((session) => ({
      ...session,
      created_at: iso(session.created_at),
      last_refreshed_at: iso(session.last_refreshed_at),
      auth_time: iso(session.auth_time),
    })),
    second_factor: factor && {
      method: "totp",
      on_since: iso(factor.confirmed_at),
      recovery_codes_left: Number(factor.recovery_codes_left),
    },
    identities: row.identities.map((identity) => ({
      ...identity,
      linked_at: iso(identity.linked_at),
      last_sign_in_at: iso(identity.last_sign_in_at),
    })),
    passkeys: row.passkeys.map((passkey) => ({
      ...passkey,
      created_at: iso(passkey.created_at),
      last_used_at: iso(passkey.last_used_at),
    })),
    devices: row.devices.map((device) => ({
      first_sign_in_at: iso(device.created_at),
      last_sign_in_at: iso(device.last_sign_in_at),
      user_agent: device.user_agent,
      client_address: device.client_address,
      country: device.country,
    })),
    codes: row.codes.map((code) => ({
      purpose: code.purpose,
      address: code.address,
      created_at: iso(code.created_at),
      expires_at: iso(code.expires_at),
      used_at: iso(code.consumed_at),
    })),
    mail: row.mail.map((mail) => ({
      to: mail.to_address,
      subject: mail.subject,
      created_at: iso(mail.created_at),
      sent_at: iso(mail.sent_at),
    })),
    events: row.events.map(publicEvent),
  };
}
