// Who may write: a privileged write checks the actor as the database has them now, in its own statement,
// never only the role an access token claims (a token outlives a demotion by up to its lifetime elsewhere).
import { type AliasableExpression, expressionBuilder, type SqlBool } from "kysely";
import type { DB } from "./schema.ts";

/** The signed-in user making a write, and the standing it needs: an active admin, or any active user. */
export interface Actor {
  id: string;
  needs: "admin" | "user";
}

/** True while the actor is still a verified user, and an admin if the write needs one. */
export function actorStands(actor: Actor): AliasableExpression<SqlBool> {
  const eb = expressionBuilder<DB, never>();
  const current = eb.selectFrom("users").select("id").where("id", "=", actor.id).where("status", "=", "verified");
  return eb.exists(actor.needs === "admin" ? current.where("role", "=", "admin") : current);
}
