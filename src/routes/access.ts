// Who may call an operation, shared by every router: the bearer guard's two levels, and what the
// document says of them.
import { requireAuth } from "../http/middleware/guard.ts";
import { limitWritesPerUser } from "../http/middleware/rate-limit.ts";

export const anyUser = requireAuth();
export const adminOnly = requireAuth({ roles: ["admin"] });
/** After a guard: a signed-in user's writes, counted per user. */
export const userWrites = limitWritesPerUser();

export const bearerSecurity = [{ bearerAuth: [] }];
