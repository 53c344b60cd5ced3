// Known devices (OWASP's device cookies): a sign-in answers a device token the client keeps; presented at a later
// sign-in it gives that device a run of wrong passwords of its own, and spares the owner a new-device notice. It
// opens nothing by itself. Stored as SHA-256, rotated at each sign-in; a replay of the token it rotated from
// forgets the device. A sign-in from a device the account has not seen is announced to the owner (one mail an
// hour at most: a burst waits and goes as one list), with a link that ends that device's sessions.
import {
  type AliasableExpression,
  type Expression,
  expressionBuilder,
  type OperandExpression,
  type QueryCreator,
  sql,
  type SqlBool,
} from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { PasswordRunPolicy } from "../policy.ts";
import type { DeviceNotice } from "../schemas/devices.ts";
import { type Actor, actorStands } from "./actor.ts";
import type { Db } from "./client.ts";
import { type EventContext, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, reading, type Step, tables, withSteps } from "./parts.ts";
import { nextTryAfter, runColumns } from "./password-run.ts";
import { type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import type { DB } from "./schema.ts";
import { afterLockingUsers } from "./user-lock.ts";

/** Which device a password try comes from: the one a sign-in's token names, or a signed-in caller's session's. */
export type DeviceOfTry = { tokenHash: Uint8Array } | { sessionId: string } | undefined;

/** A known device's run, as the password guard's read finds it. */
export interface DeviceRunRow {
  id: string;
  login_failures: number;
  locked: boolean;
  wait_seconds: number | null;
}

export const deviceOfTry = cte<DeviceRunRow>()("device_of_try");
const deviceCharged = cte<{ login_failures: number }>()("device_charged");
const replayed = cte<{ id: string; user_id: string }>()("device_replayed");

type UserIds = () => OperandExpression<string>;

/**
 * The password guard's read of a device: the known device of the account (`userIds`) the try comes from, with its
 * run; and, when a sign-in presented the token a device rotated away from, that device forgotten (a copy of its
 * token is in other hands) and the replay recorded. A try from no known device meets the account's run.
 */
export function readDeviceOfTry(device: DeviceOfTry, userIds: UserIds, events: EventContext): Step[] {
  const own = (q: QueryCreator<DB>) =>
    q
      .selectFrom("devices as d")
      .select(["d.id", ...runColumns(events.now)])
      .where("d.user_id", "in", userIds());
  if (device === undefined) return [deviceOfTry.as((q) => own(q).where(sql.lit(false)))];
  if ("sessionId" in device) {
    return [
      deviceOfTry.as((q) => own(q).where("d.id", "in", q.selectFrom("sessions").select("device_id").where("id", "=", device.sessionId))),
    ];
  }
  return [
    deviceOfTry.as((q) => own(q).where("d.token_hash", "=", device.tokenHash)),
    replayed.as(
      () =>
        new QueryRows(
          tables
            .deleteFrom("devices")
            .where("previous_token_hash", "=", device.tokenHash)
            .where("user_id", "in", userIds())
            .returning(["id", "user_id"]),
        ),
    ),
    recordEvents(events, {
      type: "device_replayed",
      rows: () => replayed.from().select((eb) => ["user_id", jsonBuildObject({ device_id: eb.ref("id") }).as("row_details")]),
    }),
  ];
}

/** The device's run, with this try counted before it is judged (see the account's, in passwords.ts). */
export function chargeDeviceTry(now: Date, run: PasswordRunPolicy): Step {
  return deviceCharged.as(
    () =>
      new QueryRows(
        tables
          .updateTable("devices")
          .set((eb) => ({
            login_failures: eb("login_failures", "+", 1),
            login_blocked_until: nextTryAfter(eb("login_failures", "+", 1), now, run),
          }))
          .where("id", "in", deviceOfTry.from().select("id"))
          .where((eb) => eb.or([eb("login_blocked_until", "is", null), eb("login_blocked_until", "<=", now)]))
          .returning("login_failures"),
      ),
  );
}

/** What the read found of the device: its run, and the try's count in it (null when the device waits). */
export function deviceRunColumns() {
  return reading(deviceOfTry)
    .selectFrom("device_of_try")
    .select([
      "device_of_try.id as device_id",
      "device_of_try.login_failures as device_failures",
      "device_of_try.locked as device_locked",
      "device_of_try.wait_seconds as device_wait_seconds",
      deviceCharged.from().select("login_failures").limit(1).$asScalar().as("device_charged"),
    ]);
}

/** Where a sign-in comes from, as its new-device notice and the owner's list of devices tell it. */
export interface SignInClient {
  userAgent: string;
  clientAddress: string | null;
  country: string | null;
}

/**
 * The known device a sign-in names: by the id its password guard found, or (a sign-in no guard read for, a provider's
 * code exchanged) by the token it presented, found in the sign-in's own statement.
 */
export type KnownDevice = { id: string } | { presentedTokenHash: Uint8Array } | undefined;

/** The known device of a guard's read (its run's device), if it found one. */
export function foundDevice(id: string | undefined): KnownDevice {
  return id === undefined ? undefined : { id };
}

/** The id of the known device a sign-in names, if the user has it (in the statement). */
export function knownDeviceId(userId: string, known: KnownDevice): AliasableExpression<string | null> {
  const eb = expressionBuilder<DB, never>();
  if (known === undefined) return eb.cast<string | null>(eb.val(null), "uuid");
  if ("id" in known) return eb.cast<string | null>(eb.val(known.id), "uuid");
  return eb.selectFrom("devices").select("id").where("user_id", "=", userId).where("token_hash", "=", known.presentedTokenHash).$asScalar();
}

/** A sign-in's device: the known one its token named (its token rotates), or a new one. */
export interface DeviceSignIn {
  userId: string;
  known: KnownDevice;
  /** The hash of the token this sign-in answers: the known device's next one, or the new device's first. */
  tokenHash: Uint8Array;
  newDeviceId: string;
  client: SignInClient;
  /** A new device's sign-in is announced now unless one was within this window (then it waits for the digest). */
  noticeWindowStart: Date;
  now: Date;
}

/** The device a statement signed in from: known (its token rotated) or new, and where its notice stands. */
export const signedInDevice = cte<{ id: string; known: boolean; notice: DeviceNotice }>()("signed_in_device");
const rotated = cte<{ id: string }>()("device_rotated");
const added = cte<{ id: string; notice: DeviceNotice }>()("device_added");

/** A known device's token, rotated: the one presented becomes the previous (a replay of it forgets the device). */
function rotateKnownDevice(signIn: DeviceSignIn, when: Expression<SqlBool>): Step {
  const { userId, known, tokenHash, client, now } = signIn;
  return rotated.as(
    () =>
      new QueryRows(
        tables
          .updateTable("devices")
          .set((eb) => ({
            previous_token_hash: eb.ref("token_hash"),
            token_hash: tokenHash,
            last_sign_in_at: now,
            user_agent: client.userAgent,
            client_address: client.clientAddress,
            country: client.country,
            // the right password ends the device's run (the account's is left to the account's own path)
            login_failures: 0,
            login_blocked_until: null,
          }))
          .where("id", "=", knownDeviceId(userId, known))
          .where("user_id", "=", userId)
          .where(when)
          .returning("id"),
      ),
  );
}

/**
 * A new device (when no known one was rotated): announced at once, or pending when a notice went out within the
 * window; an account's first device is not announced (its owner has just proved the address or signed up).
 */
function addNewDevice(signIn: DeviceSignIn, when: Expression<SqlBool>): Step {
  const { userId, newDeviceId, tokenHash, client, noticeWindowStart, now } = signIn;
  const eb = expressionBuilder<DB, never>();
  const devicesOf = () => eb.selectFrom("devices").select("id").where("user_id", "=", userId);
  const notice = eb
    .case()
    .when(eb.not(eb.exists(devicesOf())))
    .then(eb.val<DeviceNotice>("none"))
    .when(eb.exists(devicesOf().where("noticed_at", ">", noticeWindowStart)))
    .then(eb.val<DeviceNotice>("pending"))
    .else(eb.val<DeviceNotice>("sent"))
    .end();
  return added.as(
    () =>
      new QueryRows(
        tables
          .insertInto("devices")
          .columns([
            "id",
            "user_id",
            "token_hash",
            "user_agent",
            "client_address",
            "country",
            "created_at",
            "last_sign_in_at",
            "notice",
            "noticed_at",
          ])
          .expression(
            tables
              .selectNoFrom((eb) => [
                eb.val(newDeviceId).as("id"),
                eb.val(userId).as("user_id"),
                eb.val(tokenHash).as("token_hash"),
                eb.val(client.userAgent).as("user_agent"),
                eb.val(client.clientAddress).as("client_address"),
                eb.val(client.country).as("country"),
                eb.val(now).as("created_at"),
                eb.val(now).as("last_sign_in_at"),
                notice.as("notice"),
                eb
                  .case()
                  .when(notice, "=", "sent")
                  .then(eb.cast<Date | null>(eb.val(now), "timestamptz"))
                  .else(null)
                  .end()
                  .as("noticed_at"),
              ])
              .where((eb) => eb.not(eb.exists(rotated.from().select("id"))))
              .where(when),
          )
          .returning(["id", "notice"]),
      ),
  );
}

/**
 * The device of a sign-in, in its statement: the known device rotated, or else a new one added, as
 * `signedInDevice`; and the new device's notice, queued when it is announced now.
 */
export function signInDevice(
  signIn: DeviceSignIn,
  notice: MailToQueue | undefined,
  when: Expression<SqlBool>,
): { steps: (Step | undefined)[]; notice: ReturnType<typeof queueMail> } {
  const mail = queueMail(
    "device_notice",
    notice && {
      recipients: () =>
        tables
          .selectFrom("users")
          .select("email as to_address")
          .where("id", "=", signIn.userId)
          .where((eb) => eb.exists(added.from().select("id").where("notice", "=", "sent"))),
      mail: notice,
    },
  );
  return {
    steps: [
      rotateKnownDevice(signIn, when),
      addNewDevice(signIn, when),
      signedInDevice.as(() =>
        reading(rotated, added)
          .selectFrom("device_rotated")
          .select((eb) => ["id", eb.lit(true).$castTo<boolean>().as("known"), eb.cast<DeviceNotice>(eb.val("none"), "text").as("notice")])
          .unionAll((eb) => eb.selectFrom("device_added").select((eb) => ["id", eb.lit(false).$castTo<boolean>().as("known"), "notice"])),
      ),
      mail.step,
    ],
    notice: mail,
  };
}

/** Every device of the users `userIds` selects, forgotten: after signing out everywhere, or a reset. */
export function forgetDevicesOf(userIds: (q: QueryCreator<DB>) => OperandExpression<string>): Step {
  return cte<{ id: string }>()("devices_forgotten").as(
    (q) => new QueryRows(tables.deleteFrom("devices").where("user_id", "in", userIds(q)).returning("id")),
  );
}

const reported = cte<{ id: string; user_id: string }>()("reported_device");
const forgotten = cte<{ id: string; user_id: string }>()("forgotten_device");

/**
 * The owner says a sign-in was not theirs (the notice's link, without signing in): the device of that sign-in is
 * forgotten and every session of it ends, at once. The link works once, while it is good.
 */
export async function reportSignIn(
  db: Db,
  ender: SessionEnder,
  report: { tokenHash: Uint8Array; events: EventContext },
): Promise<{ reported: boolean; endings: Endings }> {
  const { tokenHash, events } = report;
  const device = (q: QueryCreator<DB>) =>
    q.selectFrom("sessions").select("device_id").where("report_token_hash", "=", tokenHash).where("report_expires_at", ">", events.now);
  const ending = ender.endSessions((q) => q.selectFrom("sessions").select("id").where("device_id", "in", device(q)));
  const statement = withSteps(
    db,
    ending.step,
    reported.as((q) => new QueryRows(q.deleteFrom("devices").where("id", "in", device(q)).returning(["id", "user_id"]))),
    recordEvents(events, {
      type: "sign_in_reported",
      rows: () => reported.from().select((eb) => ["user_id", jsonBuildObject({ device_id: eb.ref("id") }).as("row_details")]),
    }),
  ).selectNoFrom((eb) => [eb.exists(reported.from().select("id")).as("reported"), ending.ended().as("ended")]);
  const [row] = await afterLockingUsers(db, { users: { reportTokenHash: tokenHash }, mode: "change" }, statement);
  return { reported: row?.reported === true, endings: endingsFrom(row?.ended) };
}

/**
 * Ends every session of one device of a user and forgets the device (its token then opens nothing known), while
 * the actor stands: the owner, or an admin.
 */
export async function forgetDevice(
  db: Db,
  ender: SessionEnder,
  request: { userId: string; deviceId: string; actor: Actor; events: EventContext },
): Promise<{ forgotten: boolean; allowed: boolean; endings: Endings }> {
  const { userId, deviceId, actor, events } = request;
  const allowed = actorStands(actor);
  const device = (q: QueryCreator<DB>) =>
    q.selectFrom("devices").select("id").where("id", "=", deviceId).where("user_id", "=", userId).where(allowed);
  const ending = ender.endSessions((q) => q.selectFrom("sessions").select("id").where("device_id", "in", device(q)));
  const statement = withSteps(
    db,
    ending.step,
    forgotten.as((q) => new QueryRows(q.deleteFrom("devices").where("id", "in", device(q)).returning(["id", "user_id"]))),
    recordEvents(events, {
      type: "device_forgotten",
      rows: () => forgotten.from().select((eb) => ["user_id", jsonBuildObject({ device_id: eb.ref("id") }).as("row_details")]),
    }),
  ).selectNoFrom((eb) => [eb.exists(forgotten.from().select("id")).as("forgotten"), allowed.as("allowed"), ending.ended().as("ended")]);
  const [row] = await afterLockingUsers(db, { users: { ids: [userId, actor.id] }, mode: "change" }, statement);
  return { forgotten: row?.forgotten === true, allowed: row?.allowed === true, endings: endingsFrom(row?.ended) };
}

/** A device whose sign-in waits for the hour's list, with the session it started (if still live). */
export interface PendingDevice {
  id: string;
  userAgent: string;
  clientAddress: string | null;
  country: string | null;
  signedInAt: Date;
  sessionId: string | null;
}

/** An account whose new devices wait for a notice, now that the last one is older than the window. */
export interface PendingNotice {
  userId: string;
  email: string;
  devices: PendingDevice[];
}

/** Up to `limit` accounts whose pending new devices are due to be announced (no notice within the window). */
export async function dueDeviceNotices(db: Db, request: { windowStart: Date; limit: number }): Promise<PendingNotice[]> {
  const rows = await db
    .selectFrom("devices as d")
    .innerJoin("users as u", "u.id", "d.user_id")
    .leftJoin("sessions as s", (join) => join.onRef("s.device_id", "=", "d.id").onRef("s.created_at", "=", "d.created_at"))
    .select(["d.id", "d.user_id", "u.email", "d.user_agent", "d.client_address", "d.country", "d.created_at", "s.id as session_id"])
    .where("d.notice", "=", "pending")
    .where("d.user_id", "in", (eb) =>
      eb
        .selectFrom("devices as p")
        .select("p.user_id")
        .where("p.notice", "=", "pending")
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom("devices as n")
                .select("n.id")
                .whereRef("n.user_id", "=", "p.user_id")
                .where("n.noticed_at", ">", request.windowStart),
            ),
          ),
        )
        .limit(request.limit),
    )
    .orderBy("d.user_id")
    .orderBy("d.created_at")
    .execute();
  const byUser = new Map<string, PendingNotice>();
  for (const row of rows) {
    const notice = byUser.get(row.user_id) ?? { userId: row.user_id, email: row.email, devices: [] };
    notice.devices.push({
      id: row.id,
      userAgent: row.user_agent,
      clientAddress: row.client_address,
      country: row.country,
      signedInAt: row.created_at,
      sessionId: row.session_id,
    });
    byUser.set(row.user_id, notice);
  }
  return [...byUser.values()];
}

/** The hour's list of new devices, sent: each device marked announced, each live session given its link's hash. */
export async function sendDeviceNotice(
  db: Db,
  notice: {
    userId: string;
    deviceIds: string[];
    links: { sessionId: string; tokenHash: Uint8Array }[];
    expiresAt: Date;
    mail: MailToQueue;
    now: Date;
  },
): Promise<QueuedMail | null> {
  const { userId, deviceIds, links, expiresAt, mail, now } = notice;
  const marked = cte<{ id: string }>()("devices_announced");
  const linked = cte<{ id: string }>()("sessions_linked");
  const queued = queueMail("notice", {
    recipients: () =>
      tables
        .selectFrom("users")
        .select("email as to_address")
        .where("id", "=", userId)
        .where((eb) => eb.exists(marked.from().select("id"))),
    mail,
  });
  const linkRows = sql<{ session_id: string; token_hash: Uint8Array }>`(select * from (values ${sql.join(
    links.map((link) => sql`(${link.sessionId}::uuid, ${link.tokenHash}::bytea)`),
  )}) as v(session_id, token_hash))`;
  const row = await withSteps(
    db,
    marked.as(
      () =>
        new QueryRows(
          tables
            .updateTable("devices")
            .set({ notice: "sent", noticed_at: now })
            .where("id", "in", deviceIds)
            .where("user_id", "=", userId)
            .where("notice", "=", "pending")
            .returning("id"),
        ),
    ),
    links.length > 0 &&
      linked.as(
        () =>
          new QueryRows(
            tables
              .updateTable("sessions")
              .from(linkRows.as("links"))
              .set((eb) => ({ report_token_hash: eb.ref("links.token_hash"), report_expires_at: expiresAt }))
              .whereRef("sessions.id", "=", "links.session_id")
              .returning("sessions.id"),
          ),
      ),
    queued.step,
  )
    .selectNoFrom(() => queued.queued().as("notice"))
    .executeTakeFirstOrThrow();
  return row.notice;
}
