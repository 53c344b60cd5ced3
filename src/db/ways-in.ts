// The rule that no removal locks a person out: an account keeps at least one way to sign in.
import { type Expression, expressionBuilder, type SqlBool } from "kysely";
import type { DB } from "./schema.ts";

/**
 * Whether the account keeps a way to sign in once `leaving` goes: its password, a passkey, or an identity at a
 * provider, other than the one leaving. (An account a provider made has no password.)
 */
export function waysInRemain(userId: string, leaving: { passkeyId: string } | { identityId: string }): Expression<SqlBool> {
  const eb = expressionBuilder<DB, never>();
  const passkeys = eb.selectFrom("passkeys").select("id").where("user_id", "=", userId);
  const identities = eb.selectFrom("identities").select("id").where("user_id", "=", userId);
  return eb.or([
    eb.exists(eb.selectFrom("users").select("id").where("id", "=", userId).where("password_hash", "is not", null)),
    eb.exists("passkeyId" in leaving ? passkeys.where("id", "!=", leaving.passkeyId) : passkeys),
    eb.exists("identityId" in leaving ? identities.where("id", "!=", leaving.identityId) : identities),
  ]);
}
