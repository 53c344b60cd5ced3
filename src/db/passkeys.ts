// Passkeys (WebAuthn): a ceremony's challenge, the passkey guard's read (the challenge claimed with the credential
// it names), a passkey added, a sign-in or a step-up made with one, and the owner's (or an admin's) list, rename
// and removal.
import { type AliasableExpression, expressionBuilder } from "kysely";
import { jsonArrayFrom, jsonBuildObject } from "kysely/helpers/postgres";
import type { EndedBy } from "../schemas/events.ts";
import type { PasskeyCeremony, PasskeyDeviceType } from "../schemas/passkeys.ts";
import type { UserStatus } from "../schemas/user.ts";
import { type Actor, actorStands } from "./actor.ts";
import type { Db } from "./client.ts";
import { type DeviceSignIn, deviceOfTry, readDeviceOfTry } from "./devices.ts";
import { type EventContext, recordEvents } from "./events.ts";
import type { SpentProof } from "./mfa-challenges.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, type Step, tables, withSteps } from "./parts.ts";
import { type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import { type FreshSession, openedSessionEvents, openSession, SessionStanding, sessionOpened, sessionStartColumns } from "./sessions.ts";
import { afterLockingUsers } from "./user-lock.ts";
import { waysInRemain } from "./ways-in.ts";

/** A ceremony's challenge, by the hash of its text, and what it is bound to. */
export interface NewPasskeyChallenge {
  challengeHash: Uint8Array;
  /** A registration or a re-authentication: the signed-in user and session; a sign-in: the address typed, if any. */
  binding:
    | { ceremony: "registration" | "reauthentication"; userId: string; sessionId: string }
    | { ceremony: "authentication"; address: string | undefined };
  expiresAt: Date;
  now: Date;
}

/** A passkey as a ceremony's options name it: the credential's id and how its authenticator is reached. */
export interface KnownCredential {
  credential_id: Uint8Array;
  transports: string[];
}

/** The signed-in user of a ceremony, as its options need them. */
export interface CeremonyUser {
  email: string;
  first_name: string | null;
  last_name: string | null;
  passkeys: KnownCredential[];
}

const stored = cte<{ user_id: string | null }>()("challenge_stored");

/**
 * Stores a ceremony's challenge (one round trip). For a signed-in ceremony it is stored only while the session
 * lives, and answers the user with their passkeys (a registration excludes them, a re-authentication allows only
 * them); undefined when the session has ended. A sign-in's answers nothing of any account, so its options cannot
 * tell whether an address has one.
 */
export async function storeChallenge(db: Db, challenge: NewPasskeyChallenge): Promise<CeremonyUser | undefined> {
  const { challengeHash, binding, expiresAt, now } = challenge;
  const common = { token_hash: challengeHash, ceremony: binding.ceremony, expires_at: expiresAt, created_at: now };
  const insert = tables.insertInto("passkey_challenges");
  const rows =
    binding.ceremony === "authentication"
      ? insert.values({ ...common, address: binding.address ?? null })
      : insert.columns(["token_hash", "ceremony", "expires_at", "created_at", "user_id", "session_id"]).expression(
          tables
            .selectFrom("sessions")
            .select((eb) => [
              eb.val(challengeHash).as("token_hash"),
              eb.val<PasskeyCeremony>(binding.ceremony).as("ceremony"),
              eb.val(expiresAt).as("expires_at"),
              eb.val(now).as("created_at"),
              "user_id",
              "id",
            ])
            .where("id", "=", binding.sessionId)
            .where("user_id", "=", binding.userId),
        );
  const row = await withSteps(
    db,
    stored.as(() => new QueryRows(rows.returning("user_id"))),
  )
    .selectFrom(stored.from().selectAll().as("stored"))
    .leftJoin("users as u", "u.id", "stored.user_id")
    .select((eb) => [
      "stored.user_id",
      "u.email",
      "u.first_name",
      "u.last_name",
      jsonArrayFrom(eb.selectFrom("passkeys as p").select(["p.credential_id", "p.transports"]).whereRef("p.user_id", "=", "u.id")).as(
        "passkeys",
      ),
    ])
    .executeTakeFirst();
  if (!row || row.email === null) return undefined;
  // jsonArrayFrom carries bytea as Postgres's hex text: back to bytes
  const passkeys = row.passkeys.map((passkey) => ({
    credential_id: hexBytes(String(passkey.credential_id)),
    transports: passkey.transports,
  }));
  return { email: row.email, first_name: row.first_name, last_name: row.last_name, passkeys };
}

/** Postgres's text form of bytea (`\x` and hex digits) as bytes. */
function hexBytes(text: string): Uint8Array {
  const hex = text.startsWith("\\x") ? text.slice(2) : text;
  return Uint8Array.from({ length: hex.length / 2 }, (_, index) => Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16));
}

/** A passkey as the guard judges an assertion with it. */
export interface StoredPasskey {
  id: string;
  userId: string;
  publicKey: Uint8Array;
  signCount: number;
}

/** What the guard's read came to: the challenge claimed (or not), and the credential it names, if bound to it. */
export interface PasskeyTry {
  claimed: boolean;
  passkey: StoredPasskey | undefined;
  /** A sign-in's known device (its token named one of the passkey's owner). */
  deviceId: string | undefined;
}

/** What the guard presents: the challenge's hash, its ceremony, the credential named, and for a step-up the session. */
export interface PasskeyTryRequest {
  challengeHash: Uint8Array;
  credentialId: Uint8Array;
  target:
    | { ceremony: "authentication"; deviceTokenHash: Uint8Array | undefined }
    | { ceremony: "reauthentication"; userId: string; sessionId: string };
  events: EventContext;
}

/**
 * The challenge spent (its `used_at` set), while it is live: unused, unexpired, of this ceremony and, for a
 * signed-in ceremony, of this user and session. Spent once: of statements at once, one finds it live.
 */
function spendChallenge(
  challengeHash: Uint8Array,
  binding: { ceremony: "authentication" } | { ceremony: "registration" | "reauthentication"; userId: string; sessionId: string },
  now: Date,
) {
  const claim = tables
    .updateTable("passkey_challenges")
    .set({ used_at: now })
    .where("token_hash", "=", challengeHash)
    .where("ceremony", "=", binding.ceremony)
    .where("used_at", "is", null)
    .where("expires_at", ">", now);
  const bound =
    binding.ceremony === "authentication" ? claim : claim.where("user_id", "=", binding.userId).where("session_id", "=", binding.sessionId);
  return bound.returning(["user_id", "address"]);
}

const claimed = cte<{ user_id: string | null; address: string | null }>()("challenge_claimed");

/**
 * The passkey guard's read (one round trip): the challenge claimed (spent) if it is live, of this ceremony, and for
 * a step-up of this session, in the statement that reads the credential it names, before any signature is judged.
 * A challenge is claimed once: of tries at once, one finds it, and the others find it spent. The credential is
 * found only when it is bound to the challenge: the signed-in user's own, or for a sign-in after an address was
 * typed, that address's account's.
 */
export async function claimPasskeyTry(db: Db, request: PasskeyTryRequest): Promise<PasskeyTry> {
  const { challengeHash, credentialId, target, events } = request;
  const now = events.now;
  const bound = spendChallenge(challengeHash, target.ceremony === "authentication" ? { ceremony: "authentication" } : target, now);
  const owner = () => tables.selectFrom("passkeys").select("user_id").where("credential_id", "=", credentialId);
  const device = target.ceremony === "authentication" && target.deviceTokenHash ? { tokenHash: target.deviceTokenHash } : undefined;
  const row = await withSteps(
    db,
    claimed.as(() => new QueryRows(bound)),
    ...readDeviceOfTry(device, owner, events),
  )
    .selectFrom(
      tables
        .selectNoFrom((eb) => [
          eb.exists(claimed.from().select("user_id")).as("claimed"),
          deviceOfTry.from().select("id").limit(1).$asScalar().as("device_id"),
        ])
        .as("read"),
    )
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom("passkeys as p")
          .innerJoin("users as u", "u.id", "p.user_id")
          .innerJoin(claimed.from().selectAll().as("c"), (join) => join.onTrue())
          .select(["p.id", "p.user_id", "p.public_key", "p.sign_count"])
          .where("p.credential_id", "=", credentialId)
          .where((eb) => eb.or([eb("c.user_id", "is", null), eb("c.user_id", "=", eb.ref("p.user_id"))]))
          .where((eb) => eb.or([eb("c.address", "is", null), eb("c.address", "=", eb.ref("u.email"))]))
          .as("passkey"),
      (join) => join.onTrue(),
    )
    .select(["read.claimed", "read.device_id"])
    .selectAll("passkey")
    .executeTakeFirstOrThrow();
  const passkey =
    row.id === null || row.user_id === null || row.public_key === null || row.sign_count === null
      ? undefined
      : { id: row.id, userId: row.user_id, publicKey: row.public_key, signCount: Number(row.sign_count) };
  return { claimed: row.claimed === true, passkey, deviceId: row.device_id ?? undefined };
}

/** What an assertion the guard accepted reported: the passkey's new counter and backup flags. */
export interface PasskeyUse {
  passkeyId: string;
  userId: string;
  counter: number;
  deviceType: PasskeyDeviceType;
  backedUp: boolean;
  now: Date;
}

const used = cte<{ id: string; user_id: string }>()("passkey_used");

/**
 * The passkey used, in the statement that acts on it: its counter moved on and its backup flags kept as the
 * assertion reported them, only if the counter went forward (or the authenticator keeps none: 0 and 0). Two
 * assertions of one passkey racing (a cloned key) cannot both pass.
 */
export function usePasskey(use: PasskeyUse): SpentProof {
  const { passkeyId, userId, counter, deviceType, backedUp, now } = use;
  const step = used.as(
    () =>
      new QueryRows(
        tables
          .updateTable("passkeys")
          .set({ sign_count: String(counter), device_type: deviceType, backed_up: backedUp, last_used_at: now })
          .where("id", "=", passkeyId)
          .where("user_id", "=", userId)
          .where("sign_count", counter === 0 ? "=" : "<", String(counter))
          .returning(["id", "user_id"]),
      ),
  );
  return { step, spent: expressionBuilder<object, never>().exists(used.from().select("id")), passkeyId };
}

export interface PasskeySignIn {
  use: PasskeyUse;
  fresh: FreshSession;
  /** The device it signs in from (the known one its token named, or a new one announced by `deviceNotice`). */
  device: DeviceSignIn;
  deviceNotice: MailToQueue | undefined;
  events: EventContext;
}

/**
 * What a passkey's sign-in came to: a session; the account's state refusing it (disabled, or never verified); or
 * the passkey not usable: removed meanwhile, or its counter overtaken by a racing assertion (`counter`).
 */
export type PasskeySignInOutcome =
  | { outcome: "started"; standing: SessionStanding; deviceNotice: QueuedMail | null }
  | { outcome: "refused"; status: UserStatus }
  | { outcome: "gone" | "counter" };

/**
 * Signs in with a passkey the guard accepted, in one statement after taking the user's row lock: the passkey used
 * (its counter moved on), the session started for the verified owner, the device signed in, the event recorded. A
 * passkey proves the account's every factor: no password is checked and no code asked for, and the account's run of
 * wrong passwords is left to its own path (a passkey does not lift a lock that a reset lifts).
 */
export async function startPasskeySession(db: Db, signIn: PasskeySignIn): Promise<PasskeySignInOutcome> {
  const { use, events } = signIn;
  const proof = usePasskey(use);
  const opening = openSession({
    userId: use.userId,
    proof: { passkeyUsed: proof.spent },
    fresh: signIn.fresh,
    device: signIn.device,
    notice: signIn.deviceNotice,
    events,
  });
  const statement = withSteps(
    db,
    proof.step,
    opening.step,
    recordEvents(events, { type: "login_succeeded", details: { method: "passkey" }, rows: openedSessionEvents }),
  )
    .selectFrom(
      tables
        .selectNoFrom((eb) => [
          sessionOpened().as("started"),
          eb.exists(eb.selectFrom("passkeys").select("id").where("id", "=", use.passkeyId)).as("passkey_found"),
          opening.deviceNotice.queued().as("device_notice"),
        ])
        .as("effects"),
    )
    .leftJoin(sessionStartColumns().as("start"), (join) => join.onTrue())
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [use.userId] }, mode: "change" }, statement);
  const standing = row?.started === true ? SessionStanding.fromRow(row) : undefined;
  if (row && standing) return { outcome: "started", standing, deviceNotice: row.device_notice };
  if (row?.status && row.status !== "verified") return { outcome: "refused", status: row.status };
  return { outcome: row?.passkey_found === true ? "counter" : "gone" };
}

/** A new passkey, as its attestation described it. */
export interface NewPasskey {
  id: string;
  credentialId: Uint8Array;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  deviceType: PasskeyDeviceType;
  backedUp: boolean;
  aaguid: string;
  name: string;
}

export interface PasskeyAddition {
  userId: string;
  sessionId: string;
  challengeHash: Uint8Array;
  passkey: NewPasskey;
  /** What proved the change (the current password): its run of wrong ones ends here. */
  proofSpent: Step;
  /** How many passkeys the account may hold: none is added past it. */
  perAccount: number;
  notice: MailToQueue;
  events: EventContext;
}

/** A passkey's columns, as its owner and admins see them. */
const VIEW_COLUMNS = ["id", "name", "device_type", "backed_up", "transports", "created_at", "last_used_at"] as const;

export interface PasskeyRow {
  id: string;
  name: string;
  device_type: PasskeyDeviceType;
  backed_up: boolean;
  transports: string[];
  created_at: Date;
  last_used_at: Date | null;
}

const challengeSpent = cte<{ user_id: string | null; address: string | null }>()("registration_claimed");
const added = cte<PasskeyRow & { user_id: string }>()("passkey_added");

/** The passkey stored for the user whose registration challenge the statement spent, unless its credential is known. */
/** How many passkeys the user holds, as the statement's snapshot has them (before its own insert). */
function passkeysHeld(userId: string) {
  return tables
    .selectFrom("passkeys")
    .select((eb) => eb.fn.countAll<number>().as("held"))
    .where("user_id", "=", userId);
}

function storePasskey(userId: string, passkey: NewPasskey, now: Date, perAccount: number): Step {
  return added.as(
    () =>
      new QueryRows(
        tables
          .insertInto("passkeys")
          .columns([
            "id",
            "user_id",
            "credential_id",
            "public_key",
            "sign_count",
            "transports",
            "device_type",
            "backed_up",
            "aaguid",
            "name",
            "created_at",
          ])
          .expression(
            tables
              .selectFrom(challengeSpent.from().selectAll().as("claimed"))
              .where(passkeysHeld(userId), "<", perAccount)
              .select((eb) => [
                eb.val(passkey.id).as("id"),
                eb.val(userId).as("user_id"),
                eb.val(passkey.credentialId).as("credential_id"),
                eb.val(passkey.publicKey).as("public_key"),
                eb.val(String(passkey.counter)).as("sign_count"),
                eb.val(passkey.transports).as("transports"),
                eb.val(passkey.deviceType).as("device_type"),
                eb.val(passkey.backedUp).as("backed_up"),
                eb.val(passkey.aaguid).as("aaguid"),
                eb.val(passkey.name).as("name"),
                eb.val(now).as("created_at"),
              ]),
          )
          .onConflict((oc) => oc.column("credential_id").doNothing())
          .returning([...VIEW_COLUMNS, "user_id"]),
      ),
  );
}

/**
 * Adds a passkey whose attestation was verified, in one statement after taking the user's row lock: the
 * registration's challenge spent (live, and bound to this user and session), the passkey stored unless its
 * credential is registered already or the account holds as many as it may (`full`), the owner told, the event
 * recorded. `added` undefined: the challenge was not live (`claimed` false), the account is full, or the credential
 * is known.
 */
export async function addPasskey(
  db: Db,
  addition: PasskeyAddition,
): Promise<{ claimed: boolean; full: boolean; added: PasskeyRow | undefined; notice: QueuedMail | null }> {
  const { userId, sessionId, challengeHash, passkey, perAccount, events } = addition;
  const now = events.now;
  const notice = queueMail("notice", {
    recipients: () => tables.selectFrom("users").select("email as to_address").where("id", "in", added.from().select("user_id")),
    mail: addition.notice,
  });
  const statement = withSteps(
    db,
    challengeSpent.as(() => new QueryRows(spendChallenge(challengeHash, { ceremony: "registration", userId, sessionId }, now))),
    storePasskey(userId, passkey, now, perAccount),
    addition.proofSpent,
    notice.step,
    recordEvents(events, { type: "passkey_added", rows: () => passkeyEvents(added.from().select(["id", "user_id", "name"])) }),
  )
    .selectFrom(
      tables
        .selectNoFrom((eb) => [
          eb.exists(challengeSpent.from().select("user_id")).as("claimed"),
          eb(passkeysHeld(userId), ">=", perAccount).as("full"),
          notice.queued().as("notice"),
        ])
        .as("effects"),
    )
    .leftJoin(added.from().select(VIEW_COLUMNS).as("added"), (join) => join.onTrue())
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change" }, statement);
  return { claimed: row?.claimed === true, full: row?.full === true, added: row && viewOf(row), notice: row?.notice ?? null };
}

/** Event rows naming each passkey of `rows` (its id and name, never its key). */
function passkeyEvents(rows: AliasableExpression<{ id: string; user_id: string; name: string }>) {
  return tables
    .selectFrom(rows.as("p"))
    .select((eb) => ["p.user_id", jsonBuildObject({ passkey_id: eb.ref("p.id"), name: eb.ref("p.name") }).as("row_details")]);
}

function viewOf(row: { [K in keyof PasskeyRow]: PasskeyRow[K] | null }): PasskeyRow | undefined {
  const { id, name, device_type, backed_up, transports, created_at, last_used_at } = row;
  if (id === null || name === null || device_type === null || backed_up === null || transports === null || created_at === null)
    return undefined;
  return { id, name, device_type, backed_up, transports, created_at, last_used_at };
}

/** A user's passkeys, newest first, in one statement that also tells whether the user exists (undefined when not). */
export async function listPasskeys(db: Db, userId: string): Promise<PasskeyRow[] | undefined> {
  const rows = await db
    .selectFrom("users as u")
    .leftJoin("passkeys as p", "p.user_id", "u.id")
    .select(["p.id", "p.name", "p.device_type", "p.backed_up", "p.transports", "p.created_at", "p.last_used_at"])
    .where("u.id", "=", userId)
    .orderBy("p.created_at", (ob) => ob.desc().nullsLast())
    .orderBy("p.id")
    .execute();
  if (rows.length === 0) return undefined;
  return rows.flatMap((row) => viewOf(row) ?? []);
}

const renamed = cte<PasskeyRow & { user_id: string }>()("passkey_renamed");

/** Renames one of the user's passkeys, with its event (one round trip); undefined when the user has no such passkey. */
export async function renamePasskey(
  db: Db,
  rename: { userId: string; passkeyId: string; name: string; events: EventContext },
): Promise<PasskeyRow | undefined> {
  const { userId, passkeyId, name, events } = rename;
  const row = await withSteps(
    db,
    renamed.as(
      () =>
        new QueryRows(
          tables
            .updateTable("passkeys")
            .set({ name })
            .where("id", "=", passkeyId)
            .where("user_id", "=", userId)
            .returning([...VIEW_COLUMNS, "user_id"]),
        ),
    ),
    recordEvents(events, { type: "passkey_renamed", rows: () => passkeyEvents(renamed.from().select(["id", "user_id", "name"])) }),
  )
    .selectFrom(renamed.from().select(VIEW_COLUMNS).as("renamed"))
    .selectAll()
    .executeTakeFirst();
  return row && viewOf(row);
}

export interface PasskeyRemoval {
  userId: string;
  passkeyId: string;
  /** The owner (their sessions made with this passkey end), or an admin (every session of the user ends). */
  actor: Actor;
  by: EndedBy;
  /** What proved the owner's change (the current password): its run of wrong ones ends here. */
  proofSpent: Step | undefined;
  notice: MailToQueue;
  events: EventContext;
}

export type RemovalOutcome = "removed" | "not_found" | "last_way_in" | "forbidden";

const removed = cte<{ id: string; user_id: string; name: string }>()("passkey_removed");

/**
 * Removes a passkey, in one statement after taking the user's (and the actor's) row lock, while the actor stands
 * and the account keeps another way in: the sessions it made end (an admin's removal: every session of the user),
 * the owner is told, the event recorded.
 */
export async function removePasskey(
  db: Db,
  ender: SessionEnder,
  removal: PasskeyRemoval,
): Promise<{ outcome: RemovalOutcome; notice: QueuedMail | null; endings: Endings }> {
  const { userId, passkeyId, actor, by, events } = removal;
  const allowed = actorStands(actor);
  const remain = waysInRemain(userId, { passkeyId });
  const ending =
    by === "admin"
      ? ender.endAllSessionsOf(() => removed.from().select("user_id"))
      : ender.endSessions((q) => q.selectFrom("sessions").select("id").where("passkey_id", "in", removed.from().select("id")));
  const notice = queueMail("notice", {
    recipients: () => tables.selectFrom("users").select("email as to_address").where("id", "in", removed.from().select("user_id")),
    mail: removal.notice,
  });
  const statement = withSteps(
    db,
    removed.as(
      () =>
        new QueryRows(
          tables
            .deleteFrom("passkeys")
            .where("id", "=", passkeyId)
            .where("user_id", "=", userId)
            .where(allowed)
            .where(remain)
            .returning(["id", "user_id", "name"]),
        ),
    ),
    ending.step,
    removal.proofSpent,
    notice.step,
    recordEvents(events, {
      type: "passkey_removed",
      details: { by },
      rows: () => passkeyEvents(removed.from().select(["id", "user_id", "name"])),
    }),
  ).selectNoFrom((eb) => [
    eb.exists(removed.from().select("id")).as("removed"),
    eb.exists(eb.selectFrom("passkeys").select("id").where("id", "=", passkeyId).where("user_id", "=", userId)).as("found"),
    allowed.as("allowed"),
    notice.queued().as("notice"),
    ending.ended().as("ended"),
  ]);
  const [row] = await afterLockingUsers(db, { users: { ids: [userId, actor.id] }, mode: "change" }, statement);
  const outcome: RemovalOutcome =
    row?.allowed !== true ? "forbidden" : row.removed === true ? "removed" : row.found === true ? "last_way_in" : "not_found";
  return { outcome, notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}
