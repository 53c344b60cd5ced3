// What a right code proves about an address, applied: a signup's address verified, or an account moved to
// its new address. The code is spent in the same statement, so it can never prove anything twice.
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { AddressProofPurpose, CodePurpose } from "../schemas/codes.ts";
import type { Db } from "./client.ts";
import type { MatchedCode } from "./codes.ts";
import { type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, reading, type Step, tables, withSteps } from "./parts.ts";
import { afterLockingUsers, type UserLock } from "./user-lock.ts";

const consumed = cte<{ user_id: string; purpose: CodePurpose; address: string }>()("consumed");
const verified = cte<{ id: string }>()("verified");
const moved = cte<{ id: string }>()("moved");

export interface AddressProof {
  matched: MatchedCode & { purpose: AddressProofPurpose };
  /**
   * A signup's proof: the password hash the presented password was checked against. The code proves the
   * address only while that is still the account's hash: a later signup for the address replaces it.
   */
  checkedPasswordHash?: string | undefined;
  /** Sent to the old address when an email change completes, so a hijack does not go unnoticed. */
  changeNotice: MailToQueue;
  events: EventContext;
}

/** The code, spent, if it is still live (and, for a signup, its account still holds the checked password). */
function spendCode(proof: AddressProof): Step {
  const { matched, checkedPasswordHash, events } = proof;
  return consumed.as(
    () =>
      new QueryRows(
        tables
          .updateTable("one_time_codes")
          .set({ consumed_at: events.now })
          .where("id", "=", matched.code_id)
          .where("consumed_at", "is", null)
          .$if(matched.purpose === "verify_email", (qb) =>
            qb.where((eb) =>
              eb.exists(
                eb
                  .selectFrom("users")
                  .select("id")
                  .where("id", "=", matched.user_id)
                  .where("password_hash", "=", checkedPasswordHash ?? "")
                  .where("status", "=", "unverified"),
              ),
            ),
          )
          .returning(["user_id", "purpose", "address"]),
      ),
  );
}

/** A signup's code proves the address: the account is verified. */
function markVerified(now: Date): Step {
  return verified.as(
    () =>
      new QueryRows(
        tables
          .updateTable("users")
          .set((eb) => ({ status: "verified", verified_at: eb.fn.coalesce("verified_at", eb.val(now)), updated_at: now }))
          .where("id", "in", consumed.from().select("user_id"))
          .returning("id"),
      ),
  );
}

/** An email change's code proves the new address: the account moves there. */
function moveToProvedAddress(now: Date): Step {
  return moved.as(
    () =>
      new QueryRows(
        reading(consumed)
          .updateTable("users")
          .from("consumed")
          .set((eb) => ({ email: eb.ref("consumed.address"), updated_at: now }))
          .whereRef("users.id", "=", "consumed.user_id")
          .returning("users.id"),
      ),
  );
}

/**
 * Before an email change's code moves an account: a signup for the new address that nobody proved belongs to
 * nobody, and the mailbox holder has just proved the address, so it gives way (its own statement, first in the
 * transaction: the address must be free when the account moves there). Only while the code is still live.
 */
function supersedePendingSignup(db: Db, matched: MatchedCode) {
  return db
    .deleteFrom("users")
    .where("email", "=", matched.address)
    .where("id", "<>", matched.user_id)
    .where("status", "=", "unverified")
    .where("verified_at", "is", null)
    .where((eb) =>
      eb.exists(eb.selectFrom("one_time_codes").select("id").where("id", "=", matched.code_id).where("consumed_at", "is", null)),
    );
}

/**
 * Applies what a right code proves, after taking the account's row lock, in one statement: the code is spent
 * and the signup verified (or the account moved, telling the old address). Nothing when the code was spent
 * or replaced meanwhile, or a later signup replaced the password: `proved` is then undefined.
 */
export async function proveAddress(
  db: Db,
  proof: AddressProof,
): Promise<{ proved: AddressProofPurpose | undefined; notice: QueuedMail | null }> {
  const { matched, events } = proof;
  const change = matched.purpose === "change_email";
  const notice = queueMail(
    "notice",
    change
      ? { recipients: () => consumed.from().select((eb) => eb.val(matched.email).as("to_address")), mail: proof.changeNotice }
      : undefined,
  );
  const statement = withSteps(
    db,
    spendCode(proof),
    change ? moveToProvedAddress(events.now) : markVerified(events.now),
    notice.step,
    change
      ? recordEvents(events, {
          type: "email_changed",
          // the address it leaves: an erasure of the account finds every address it held in its events
          details: { by: "owner", from: matched.email },
          rows: () => consumed.from().select((eb) => ["user_id", jsonBuildObject({ to: eb.ref("address") }).as("row_details")]),
        })
      : recordEvents(events, { type: "email_verified", rows: () => consumed.from().select(["user_id", noRowDetails()]) }),
  ).selectNoFrom((eb) => [eb.exists(consumed.from().select("user_id")).as("spent"), notice.queued().as("notice")]);
  const lock: UserLock = { users: { ids: [matched.user_id] }, mode: "change" };
  const [row] = await afterLockingUsers(db, lock, statement, change ? [supersedePendingSignup(db, matched)] : []);
  return { proved: row?.spent === true ? matched.purpose : undefined, notice: row?.notice ?? null };
}
