// Where an account's sign-in stands, for an admin answering "I cannot sign in" and "was that me?": its run of wrong
// passwords, its second factor, its address's paused codes and its last sign-in, read beside the account by the
// statement that reads it (no round trip of its own).
import { expressionBuilder } from "kysely";
import { jsonArrayFrom } from "kysely/helpers/postgres";
import type { FactorStanding } from "../schemas/user.ts";
import { runColumns } from "./password-run.ts";
import type { DB } from "./schema.ts";

/** The columns of where each user's sign-in stands, for a statement that selects from `users`. */
export function signInStandingColumns(now: Date) {
  const eb = expressionBuilder<DB, "users">();
  const factor = () => eb.selectFrom("totp_factors as f").whereRef("f.user_id", "=", "users.id").where("f.confirmed_at", "is not", null);
  const paused = () => factor().where("f.paused_until", ">", now);
  return [
    ...runColumns(now),
    "last_sign_in_at",
    "last_sign_in_user_agent",
    "last_sign_in_address",
    eb
      .selectFrom("devices as d")
      .select((eb) => eb.cast<number>(eb.fn.countAll(), "integer").as("blocked"))
      .whereRef("d.user_id", "=", "users.id")
      .where("d.login_blocked_until", ">", now)
      .$asScalar()
      .as("blocked_devices"),
    eb
      .case()
      .when(eb.exists(paused().select("f.user_id")))
      .then(eb.val<FactorStanding>("paused"))
      .when(eb.exists(factor().select("f.user_id")))
      .then(eb.val<FactorStanding>("on"))
      .else(eb.val<FactorStanding>("off"))
      .end()
      .as("factor_standing"),
    paused().select("f.paused_until").$asScalar().as("factor_paused_until"),
    jsonArrayFrom(
      eb
        .selectFrom("code_failures as c")
        .select(["c.scope", "c.paused_until"])
        .whereRef("c.address", "=", "users.email")
        .where("c.paused_until", ">", now)
        .orderBy("c.scope"),
    ).as("codes_paused"),
  ] as const;
}
