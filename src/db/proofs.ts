// What a right code proves about an address, applied: a signup's address verified, or an account moved to
// its new address. The code is spent in the same statement, so it can never prove anything twice.
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { AddressProofPurpose } from "../schemas/codes.ts";
import type { Db } from "./client.ts";
import type { MatchedCode } from "./codes.ts";
import { type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { partBuilder, QueryRows, type Step, withSteps } from "./parts.ts";
import { afterLockingUsers } from "./user-lock.ts";

const proofParts = partBuilder<{ consumed: { user_id: string; purpose: AddressProofPurpose; address: string } }>();

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
  return (statement) =>
    statement.with(
      "consumed",
      () =>
        new QueryRows(
          proofParts
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
  return (statement) =>
    statement.with(
      "verified",
      () =>
        new QueryRows(
          proofParts
            .updateTable("users")
            .set((eb) => ({ status: "verified", verified_at: eb.fn.coalesce("verified_at", eb.val(now)), updated_at: now }))
            .where("id", "in", proofParts.selectFrom("consumed").select("user_id"))
            .returning("id"),
        ),
    );
}

/** An email change's code proves the new address: the account moves there. */
function moveToProvedAddress(now: Date): Step {
  return (statement) =>
    statement.with(
      "moved",
      () =>
        new QueryRows(
          proofParts
            .updateTable("users")
            .from("consumed")
            .set((eb) => ({ email: eb.ref("consumed.address"), updated_at: now }))
            .whereRef("users.id", "=", "consumed.user_id")
            .returning("users.id"),
        ),
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
  const consumed = () => proofParts.selectFrom("consumed");
  const change = matched.purpose === "change_email";
  const notice = queueMail(
    "notice",
    change ? { recipients: () => consumed().select((eb) => eb.val(matched.email).as("to_address")), mail: proof.changeNotice } : undefined,
  );
  const statement = withSteps(
    db,
    spendCode(proof),
    change ? moveToProvedAddress(events.now) : markVerified(events.now),
    notice.step,
    change
      ? recordEvents(events, {
          type: "email_changed",
          details: { by: "owner" },
          rows: () => consumed().select((eb) => ["user_id", jsonBuildObject({ to: eb.ref("address") }).as("row_details")]),
        })
      : recordEvents(events, { type: "email_verified", rows: () => consumed().select(["user_id", noRowDetails()]) }),
  ).selectNoFrom((eb) => [eb.exists(consumed().select("user_id")).as("spent"), notice.queued().as("notice")]);
  const [row] = await afterLockingUsers(db, { users: { ids: [matched.user_id] }, mode: "change" }, statement);
  return { proved: row?.spent === true ? matched.purpose : undefined, notice: row?.notice ?? null };
}
