// Known devices: the device token a sign-in answers, the notice of a sign-in from a new device with its "this
// wasn't me" link, the report that link makes, and the owner's (or an admin's) ending of one device's sessions.
import { randomToken, sha256 } from "../auth/crypto.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import {
  type DeviceSignIn,
  dueDeviceNotices,
  type KnownDevice,
  forgetDevice,
  type PendingNotice,
  reportSignIn,
  sendDeviceNotice,
} from "../db/devices.ts";
import type { MailToQueue } from "../db/outbox.ts";
import type { ReportLink } from "../db/sessions.ts";
import { endingSessions } from "../edge/revocations.ts";
import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type NewSignIn, newSignInNotice } from "../mail/templates.ts";
import { describeUserAgent } from "../mail/user-agent.ts";
import { POLICY } from "../policy.ts";
import type { EndedBy } from "../schemas/events.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { deliverMail, mailToQueue } from "./mail-delivery.ts";
import { requireRecentAuthentication } from "./step-up.ts";

/** What a sign-in needs for its device: the statement's part, the token to answer, and the new device's notice and link. */
export interface SigningInDevice {
  signIn: DeviceSignIn;
  /** The device token the answer carries: the known device's next one, or the new device's first. */
  token: string;
  report: ReportLink;
  /** To the owner, when the device is new and its sign-in is announced now (the statement decides). */
  notice: MailToQueue | undefined;
}

/** The page a notice's link opens: the token in the fragment, which no server or mail scanner is sent. */
function reportUrl(config: Config, token: string): string {
  return `${config.PUBLIC_ORIGIN}/report#${token}`;
}

function reportLinkExpiry(now: Date): Date {
  return secondsAfter(now, POLICY.devices.reportLinkHours * 3600);
}

/**
 * The device of a sign-in by `userId`: the known device its token named (the password guard found it, or the
 * sign-in's statement finds it), whose token rotates, or a new one, whose sign-in the owner hears of with a link
 * that ends it.
 */
export async function signingInDevice(ctx: ServiceContext, userId: string, known: KnownDevice): Promise<SigningInDevice> {
  const { now, client } = ctx;
  const token = randomToken();
  const reportToken = randomToken();
  const [tokenHash, reportHash] = await Promise.all([sha256(token), sha256(reportToken)]);
  const signIn: DeviceSignIn = {
    userId,
    known,
    tokenHash,
    newDeviceId: crypto.randomUUID(),
    client: { userAgent: client.userAgent, clientAddress: client.address ?? null, country: client.country },
    noticeWindowStart: secondsAfter(now, -POLICY.devices.noticeEveryMinutes * 60),
    now,
  };
  const announced: NewSignIn = {
    at: now,
    client: describeUserAgent(client.userAgent),
    network: client.address ?? null,
    country: client.country,
    reportUrl: reportUrl(ctx.config, reportToken),
  };
  // a device found already is not new; one only the statement can find may be
  const notice =
    known === undefined || !("id" in known)
      ? await mailToQueue(ctx, newSignInNotice([announced], POLICY.devices.reportLinkHours))
      : undefined;
  return { signIn, token, report: { tokenHash: reportHash, expiresAt: reportLinkExpiry(now) }, notice };
}

/**
 * "This wasn't me", from a new-device notice, without signing in: that device's sessions end at once (as a logout
 * ends one) and it is forgotten. The link works once, while it is good; the answer tells the owner to reset the
 * password, which whoever signed in knows.
 */
export async function reportUnknownSignIn(ctx: ServiceContext, token: string): Promise<string> {
  const tokenHash = await sha256(token);
  const { reported } = await endingSessions(ctx, (ender) => reportSignIn(ctx.db, ender, { tokenHash, events: ctx.events }));
  if (!reported) throw new ApiError("link_invalid", "This link was used already, has expired, or its device was signed out already.");
  return "That device is signed out. Whoever signed in knows your password or holds one of your passkeys: choose a new one with “Forgot password” now, and remove any passkey you do not know.";
}

/** Ends every session of one device of a user and forgets it: the owner's own, or an admin's for a user. */
export async function forgetUserDevice(
  ctx: ServiceContext,
  actor: AccessClaims,
  target: { userId: string; deviceId: string; by: EndedBy },
) {
  const { userId, deviceId, by } = target;
  if (by === "admin") requireRecentAuthentication(ctx, actor);
  const result = await endingSessions(ctx, (ender) =>
    forgetDevice(ctx.db, ender, {
      userId,
      deviceId,
      actor: { id: actor.userId, needs: by === "admin" ? "admin" : "user" },
      events: ctx.events,
    }),
  );
  if (!result.allowed) throw new ApiError("forbidden", "Your account no longer allows this.");
  if (!result.forgotten) throw new ApiError("device_not_found", "There is no known device with this id.");
}

/** One account's list of new devices: each live sign-in given a fresh link, the message queued, and sent. */
async function sendOneNotice(db: Db, config: Config, pending: PendingNotice, now: Date, log: Logger): Promise<boolean> {
  const links = await Promise.all(
    pending.devices.map(async (device) => {
      const token = randomToken();
      return { device, token, tokenHash: await sha256(token) };
    }),
  );
  const signIns: NewSignIn[] = links.map(({ device, token }) => ({
    at: device.signedInAt,
    client: describeUserAgent(device.userAgent),
    network: device.clientAddress,
    country: device.country,
    reportUrl: reportUrl(config, token),
  }));
  const mail = await mailToQueue({ config, now }, newSignInNotice(signIns, POLICY.devices.reportLinkHours));
  const queued = await sendDeviceNotice(db, {
    userId: pending.userId,
    deviceIds: pending.devices.map((device) => device.id),
    links: links.flatMap(({ device, tokenHash }) => (device.sessionId === null ? [] : [{ sessionId: device.sessionId, tokenHash }])),
    expiresAt: reportLinkExpiry(now),
    mail,
    now,
  });
  return queued ? deliverMail(db, config, queued, now, log) : false;
}

/**
 * The cron's part of the notices: accounts whose new devices waited (a burst within the hour of an earlier notice)
 * get one message listing them, once the hour has passed. Returns how many messages went out.
 */
export async function sendDueDeviceNotices(db: Db, config: Config, now: Date, log: Logger, limit: number): Promise<number> {
  const due = await dueDeviceNotices(db, { windowStart: secondsAfter(now, -POLICY.devices.noticeEveryMinutes * 60), limit });
  const sent = await Promise.all(due.map((pending) => sendOneNotice(db, config, pending, now, log)));
  return sent.filter(Boolean).length;
}
