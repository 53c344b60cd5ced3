// A person's identities at identity providers: found for a provider's sign-in, linked to an account (an existing
// one only when both sides proved the address), made into a new account, exchanged once for a session, listed and
// unlinked.
import { type AliasableExpression, expressionBuilder } from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { UserStatus } from "../schemas/user.ts";
import { type Actor, actorStands } from "./actor.ts";
import type { Db } from "./client.ts";
import { type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { challengeStored, storeChallenge } from "./mfa-challenges.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, type Step, tables, withSteps } from "./parts.ts";
import { endPasswordRun, type PasswordRun } from "./password-run.ts";
import { type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import { type FreshSession, openedSessionEvents, openSession, SessionStanding, sessionStartColumns } from "./sessions.ts";
import type { DeviceSignIn } from "./devices.ts";
import { afterLockingUsers, type UserLock } from "./user-lock.ts";
import { waysInRemain } from "./ways-in.ts";

/** Who a provider said signed in, as the account rules need it. */
export interface ProviderIdentity {
  provider: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

/**
 * What the database holds for a provider's sign-in: the identity (and its account), else the account of its
 * address; and, for a signed-in person's link, whose intent it is.
 */
export interface IdentityOwner {
  identity: { id: string; userId: string; status: UserStatus } | undefined;
  /** The account that has the identity's address, when no account has the identity yet. */
  account: { id: string; status: UserStatus; proved: boolean } | undefined;
  /** The user whose live link intent the flow carried. */
  linkFor: string | undefined;
}

/** A signed-in person's intent to link, as the flow carried it. */
export interface LinkIntentKey {
  tokenHash: Uint8Array;
  provider: string;
  now: Date;
}

/** The identity of a provider's sign-in and its account, the account its address names, the link intent: one round trip. */
export async function findIdentityOwner(db: Db, identity: ProviderIdentity, link: LinkIntentKey | undefined): Promise<IdentityOwner> {
  const row = await db
    .selectNoFrom((eb) => [
      eb
        .selectFrom("identities as i")
        .innerJoin("users as u", "u.id", "i.user_id")
        .select((eb) =>
          jsonBuildObject({ id: eb.ref("i.id"), user_id: eb.cast<string>("u.id", "text"), status: eb.ref("u.status") }).as("found"),
        )
        .where("i.provider", "=", identity.provider)
        .where("i.subject", "=", identity.subject)
        .as("identity"),
      eb
        .selectFrom("users")
        .select((eb) =>
          jsonBuildObject({
            id: eb.cast<string>("id", "text"),
            status: eb.ref("status"),
            proved: eb.or([eb("status", "<>", "unverified"), eb("verified_at", "is not", null)]),
          }).as("found"),
        )
        .where("email", "=", identity.email ?? "")
        .as("account"),
      eb
        .selectFrom("identity_links")
        .select((eb) => eb.cast<string>("user_id", "text").as("user_id"))
        .where("token_hash", "=", link?.tokenHash ?? new Uint8Array())
        .where("provider", "=", identity.provider)
        .where("expires_at", ">", link?.now ?? new Date(0))
        .as("link_for"),
    ])
    .executeTakeFirstOrThrow();
  const found = row.identity;
  const account = row.account;
  return {
    identity: found ? { id: found.id, userId: found.user_id, status: found.status } : undefined,
    account: account ? { id: account.id, status: account.status, proved: account.proved === true } : undefined,
    linkFor: row.link_for ?? undefined,
  };
}

/** A one-time code for the sign-in the callback answers: kept as SHA-256, exchanged once, a minute long. */
export interface SignInCode {
  hash: Uint8Array;
  expiresAt: Date;
  /** The provider asserted a second factor. */
  multiFactor: boolean;
}

const linkedIdentity = cte<{ id: string; user_id: string }>()("linked_identity");
const newUser = cte<{ id: string }>()("new_user");
const storedCode = cte<{ user_id: string }>()("sign_in_code");

/** The sign-in's code, for the identity `identities` selects, with its account. */
function storeSignInCode(code: SignInCode, identities: () => AliasableExpression<{ id: string; user_id: string }>, now: Date): Step {
  return storedCode.as(
    () =>
      new QueryRows(
        tables
          .insertInto("identity_sign_ins")
          .columns(["token_hash", "user_id", "identity_id", "multi_factor", "expires_at", "created_at"])
          .expression(
            tables
              .selectFrom(identities().as("i"))
              .select((eb) => [
                eb.val(code.hash).as("token_hash"),
                "i.user_id",
                "i.id",
                eb.val(code.multiFactor).as("multi_factor"),
                eb.val(code.expiresAt).as("expires_at"),
                eb.val(now).as("created_at"),
              ]),
          )
          .returning("user_id"),
      ),
  );
}

/** An identity, new, for the account `userIds` selects (one row). */
function linkIdentity(identity: ProviderIdentity & { id: string }, userIds: () => AliasableExpression<{ id: string }>, now: Date): Step {
  return linkedIdentity.as(
    () =>
      new QueryRows(
        tables
          .insertInto("identities")
          .columns(["id", "user_id", "provider", "subject", "email", "linked_at", "last_sign_in_at"])
          .expression(
            tables
              .selectFrom(userIds().as("owner"))
              .select((eb) => [
                eb.val(identity.id).as("id"),
                "owner.id",
                eb.val(identity.provider).as("provider"),
                eb.val(identity.subject).as("subject"),
                eb.val(identity.email).as("email"),
                eb.val(now).as("linked_at"),
                eb.val(now).as("last_sign_in_at"),
              ]),
          )
          .returning(["id", "user_id"]),
      ),
  );
}

/** What a provider's sign-in writes, by the account rules (decided by the service from `findIdentityOwner`). */
export type IdentitySignIn =
  /** a known identity: its account signs in */
  | { kind: "known"; identityId: string; userId: string }
  /** a new identity, linked to the account that proved its address (or that a signed-in person asked to link) */
  | { kind: "link"; identity: ProviderIdentity & { id: string }; userId: string; notice: MailToQueue; linkTokenHash?: Uint8Array }
  /** a new identity and a new account, verified (the provider verified the address), with no password */
  | { kind: "new"; identity: ProviderIdentity & { id: string }; names: { first: string | null; last: string | null } };

function knownIdentitySteps(signIn: Extract<IdentitySignIn, { kind: "known" }>, now: Date): Step[] {
  return [
    linkedIdentity.as(
      () =>
        new QueryRows(
          tables
            .updateTable("identities")
            .set({ last_sign_in_at: now })
            .where("id", "=", signIn.identityId)
            .where("user_id", "=", signIn.userId)
            .returning(["id", "user_id"]),
        ),
    ),
  ];
}

const linkSpent = cte<{ user_id: string }>()("link_spent");

/** A new identity for a user: the signed-in person's link intent spent (when it came from one), the owner told. */
function linkSteps(signIn: Extract<IdentitySignIn, { kind: "link" }>, events: EventContext) {
  const { identity, userId, linkTokenHash } = signIn;
  const owner = linkTokenHash
    ? () => linkSpent.from().select("user_id as id")
    : () => tables.selectFrom("users").select("id").where("id", "=", userId);
  const notice = queueMail("notice", {
    recipients: () => tables.selectFrom("users").select("email as to_address").where("id", "in", linkedIdentity.from().select("user_id")),
    mail: signIn.notice,
  });
  const steps: (Step | undefined)[] = [
    linkTokenHash &&
      linkSpent.as(
        (q) =>
          new QueryRows(
            q
              .deleteFrom("identity_links")
              .where("token_hash", "=", linkTokenHash)
              .where("user_id", "=", userId)
              .where("provider", "=", identity.provider)
              .where("expires_at", ">", events.now)
              .returning("user_id"),
          ),
      ),
    linkIdentity(identity, owner, events.now),
    notice.step,
    recordEvents(events, {
      type: "identity_linked",
      details: { provider: identity.provider },
      rows: () => linkedIdentity.from().select((eb) => ["user_id", jsonBuildObject({ identity_id: eb.ref("id") }).as("row_details")]),
    }),
  ];
  return { steps, notice };
}

/** A new verified account without a password, and its identity. */
function newAccountSteps(signIn: Extract<IdentitySignIn, { kind: "new" }>, events: EventContext): Step[] {
  const { identity, names } = signIn;
  const now = events.now;
  return [
    newUser.as(
      (q) =>
        new QueryRows(
          q
            .insertInto("users")
            .values({
              email: identity.email ?? "",
              password_hash: null,
              first_name: names.first,
              last_name: names.last,
              status: "verified",
              role: "user",
              verified_at: now,
              created_at: now,
              updated_at: now,
            })
            .returning("id"),
        ),
    ),
    linkIdentity(identity, () => newUser.from().select("id"), now),
    recordEvents(events, {
      type: "signed_up",
      details: { by: identity.provider },
      rows: () => newUser.from().select(["id as user_id", noRowDetails()]),
    }),
  ];
}

/**
 * Before a new account takes an address: a signup for it that nobody proved belongs to nobody, and the provider has
 * just proved the address, so it gives way (its own statement, first: the address must be free). Its password
 * never becomes a way into the provider's account.
 */
function supersedePendingSignup(db: Db, email: string) {
  return db.deleteFrom("users").where("email", "=", email).where("status", "=", "unverified").where("verified_at", "is", null);
}

/**
 * Writes a provider's sign-in, in one transaction: the identity found, linked, or made with a new account, and the
 * one-time code the callback answers (none for a signed-in person's link: they are signed in already). Undefined
 * when nothing was written (a link intent spent or expired meanwhile, the identity unlinked meanwhile).
 */
export async function recordIdentitySignIn(
  db: Db,
  request: { signIn: IdentitySignIn; code: SignInCode | undefined; events: EventContext },
): Promise<{ userId: string; notice: QueuedMail | null } | undefined> {
  const { signIn, code, events } = request;
  const link = signIn.kind === "link" ? linkSteps(signIn, events) : undefined;
  const steps =
    signIn.kind === "known"
      ? knownIdentitySteps(signIn, events.now)
      : signIn.kind === "new"
        ? newAccountSteps(signIn, events)
        : (link?.steps ?? []);
  const identities = () => linkedIdentity.from().select(["id", "user_id"]);
  const statement = withSteps(db, ...steps, code && storeSignInCode(code, identities, events.now))
    .selectFrom((code ? storedCode.from().select("user_id") : linkedIdentity.from().select("user_id")).as("written"))
    .select(["written.user_id"])
    .select(() => (link?.notice ?? queueMail("notice", undefined)).queued().as("notice"));
  // a new account's address: the row of a signup that gives way to it, if there is one
  const lock: UserLock = {
    users: signIn.kind === "new" ? { email: signIn.identity.email ?? "" } : { ids: [signIn.userId] },
    mode: "change",
  };
  const prepared = signIn.kind === "new" ? [supersedePendingSignup(db, signIn.identity.email ?? "")] : [];
  const [row] = await afterLockingUsers(db, lock, statement, prepared);
  return row && { userId: row.user_id, notice: row.notice };
}

const spentCode = cte<{ user_id: string }>()("spent_sign_in_code");
const factorOn = cte<{ user_id: string }>()("identity_factor_on");

/** How a provider's sign-in is exchanged: a session, or (an account with our factor, no factor asserted) a challenge. */
export interface IdentityExchange {
  /** The code's hash, and what the code says it is for (checked against its row: a code edited says nothing). */
  code: { hash: Uint8Array; userId: string; identityId: string; multiFactor: boolean };
  fresh: FreshSession;
  device: DeviceSignIn;
  notice: MailToQueue | undefined;
  /** A challenge for the account's second factor, stored only when the account has one and the provider asserted none. */
  challenge: { tokenHash: Uint8Array; expiresAt: Date };
  events: EventContext;
}

export type IdentityExchangeOutcome =
  { outcome: "signed_in"; standing: SessionStanding; deviceNotice: QueuedMail | null } | { outcome: "second_factor" } | { outcome: "gone" };

/** The code spent, if it is live and is what it says it is. */
function spendSignInCode(code: IdentityExchange["code"], now: Date): Step {
  return spentCode.as(
    (q) =>
      new QueryRows(
        q
          .deleteFrom("identity_sign_ins")
          .where("token_hash", "=", code.hash)
          .where("user_id", "=", code.userId)
          .where("identity_id", "=", code.identityId)
          .where("multi_factor", "=", code.multiFactor)
          .where("expires_at", ">", now)
          .returning("user_id"),
      ),
  );
}

/**
 * Exchanges a sign-in's one-time code, in one statement after locking its account's row: the code spent, then a
 * session for the identity's account (still verified, the identity still linked), or, for an account with our
 * second factor when the provider asserted none, a challenge its code completes. Nothing happens unless the code was
 * spent here.
 */
export async function exchangeSignInCode(db: Db, exchange: IdentityExchange): Promise<IdentityExchangeOutcome> {
  const { code, events } = exchange;
  const { userId, identityId, multiFactor } = code;
  const eb = expressionBuilder<object, never>();
  const spent = eb.exists(spentCode.from().select("user_id"));
  const opening = openSession({
    userId,
    proof: { identityId, secondFactor: multiFactor ? "asserted by the provider" : undefined, codeSpent: spent },
    fresh: exchange.fresh,
    device: exchange.device,
    notice: exchange.notice,
    events,
  });
  const challengeNeeded = eb.and([spent, eb.lit(!multiFactor), eb.exists(factorOn.from().select("user_id"))]);
  const statement = withSteps(
    db,
    spendSignInCode(code, events.now),
    factorOn.as((q) => q.selectFrom("totp_factors").select("user_id").where("user_id", "=", userId).where("confirmed_at", "is not", null)),
    opening.step,
    storeChallenge(
      {
        ...exchange.challenge,
        userId,
        checked: { identityId },
        generation: "current",
        device: exchange.device.known,
        now: events.now,
      },
      challengeNeeded,
    ),
    recordEvents(events, { type: "login_succeeded", details: { by: "identity" }, rows: openedSessionEvents }),
  )
    .selectFrom(tables.selectNoFrom([opening.deviceNotice.queued().as("device_notice"), challengeStored().as("challenged")]).as("effects"))
    .leftJoin(sessionStartColumns().as("start"), (join) => join.onTrue())
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change" }, statement);
  const standing = row && SessionStanding.fromRow(row);
  if (row && standing) return { outcome: "signed_in", standing, deviceNotice: row.device_notice };
  return row?.challenged === true ? { outcome: "second_factor" } : { outcome: "gone" };
}

/**
 * A signed-in person's intent to link an identity of `provider`, carried through the provider: stored when their
 * password was proved (its run ends here), or when the account has none. False when it has one and none was proved.
 */
export async function createLinkIntent(
  db: Db,
  intent: { tokenHash: Uint8Array; userId: string; provider: string; expiresAt: Date; passwordRun: PasswordRun | undefined; now: Date },
): Promise<boolean> {
  const stored = cte<{ user_id: string }>()("link_intent");
  const row = await withSteps(
    db,
    stored.as(
      (q) =>
        new QueryRows(
          q
            .insertInto("identity_links")
            .columns(["token_hash", "user_id", "provider", "expires_at", "created_at"])
            .expression(
              q
                .selectFrom("users")
                .select((eb) => [
                  eb.val(intent.tokenHash).as("token_hash"),
                  "id",
                  eb.val(intent.provider).as("provider"),
                  eb.val(intent.expiresAt).as("expires_at"),
                  eb.val(intent.now).as("created_at"),
                ])
                .where("id", "=", intent.userId)
                .where("status", "=", "verified")
                .$if(intent.passwordRun === undefined, (qb) => qb.where("password_hash", "is", null)),
            )
            .returning("user_id"),
        ),
    ),
    intent.passwordRun && endPasswordRun(intent.passwordRun),
  )
    .selectNoFrom((eb) => eb.exists(stored.from().select("user_id")).as("stored"))
    .executeTakeFirstOrThrow();
  return row.stored === true;
}

/** A user's identities, oldest first. */
export async function listIdentities(db: Db, userId: string) {
  return db
    .selectFrom("identities")
    .select(["id", "provider", "email", "linked_at", "last_sign_in_at"])
    .where("user_id", "=", userId)
    .orderBy("linked_at")
    .orderBy("id")
    .execute();
}

const unlinked = cte<{ id: string; user_id: string; provider: string }>()("unlinked_identity");

/** Who unlinks: the owner ends the sessions the identity started; an admin (a taken-over provider account) all of them. */
export type UnlinkedBy = "owner" | "admin";

/**
 * Unlinks one of a user's identities, while the actor stands and it is not the account's last way to sign in (a
 * password, a passkey, or another identity): sessions end (see UnlinkedBy), the owner is told, the event recorded.
 */
export async function unlinkIdentity(
  db: Db,
  ender: SessionEnder,
  request: { userId: string; identityId: string; actor: Actor; by: UnlinkedBy; notice: MailToQueue; events: EventContext },
): Promise<{ outcome: "unlinked" | "not_found" | "last_way" | "forbidden"; notice: QueuedMail | null; endings: Endings }> {
  const { userId, identityId, actor, by, events } = request;
  const allowed = actorStands(actor);
  const ownIdentity = (q: typeof tables) =>
    q.selectFrom("identities").select("id").where("id", "=", identityId).where("user_id", "=", userId);
  const ending =
    by === "admin"
      ? ender.endAllSessionsOf(() => unlinked.from().select("user_id"))
      : ender.endSessions((q) => q.selectFrom("sessions").select("id").where("identity_id", "in", unlinked.from().select("id")));
  const notice = queueMail("notice", {
    recipients: () => tables.selectFrom("users").select("email as to_address").where("id", "in", unlinked.from().select("user_id")),
    mail: request.notice,
  });
  const statement = withSteps(
    db,
    unlinked.as(
      (q) =>
        new QueryRows(
          q
            .deleteFrom("identities")
            .where("id", "=", identityId)
            .where("user_id", "=", userId)
            .where(allowed)
            .where(waysInRemain(userId, { identityId }))
            .returning(["id", "user_id", "provider"]),
        ),
    ),
    ending.step,
    notice.step,
    recordEvents(events, {
      type: "identity_unlinked",
      details: { by },
      rows: () => unlinked.from().select((eb) => ["user_id", jsonBuildObject({ provider: eb.ref("provider") }).as("row_details")]),
    }),
  ).selectNoFrom((eb) => [
    eb.exists(unlinked.from().select("id")).as("unlinked"),
    eb.exists(ownIdentity(tables)).as("found"),
    allowed.as("allowed"),
    notice.queued().as("notice"),
    ending.ended().as("ended"),
  ]);
  const [row] = await afterLockingUsers(db, { users: { ids: [userId, actor.id] }, mode: "change" }, statement);
  const endings = endingsFrom(row?.ended);
  const outcome = row?.allowed !== true ? "forbidden" : row.unlinked === true ? "unlinked" : row.found === true ? "last_way" : "not_found";
  return { outcome, notice: row?.notice ?? null, endings };
}
