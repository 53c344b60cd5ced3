import type { UserRow, UserWithStanding } from "../db/users.ts";
import type { AdminUser, LastSignIn, PublicUser, SignInStanding } from "../schemas/user.ts";
import { describeUserAgent } from "../mail/user-agent.ts";
import { secondsAfter } from "./context.ts";

export function publicUser(row: UserRow): PublicUser {
  return {
    id: Number(row.id),
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    status: row.status,
    role: row.role,
    created_at: row.created_at.toISOString(),
    deletion_due_at: row.deletion_due_at?.toISOString() ?? null,
  };
}

/** The account's last sign-in, as recorded by the statement that started its session. */
export function lastSignIn(
  row: Pick<UserWithStanding, "last_sign_in_at" | "last_sign_in_user_agent" | "last_sign_in_address">,
): LastSignIn | null {
  const { last_sign_in_at: at, last_sign_in_user_agent: userAgent, last_sign_in_address: address } = row;
  if (at === null) return null;
  return { at: at.toISOString(), client: describeUserAgent(userAgent ?? ""), user_agent: userAgent, client_address: address };
}

/** Where the account's sign-in stands at `now`; a wait is told to the second (its end, rounded up). */
function signInStanding(row: UserWithStanding, now: Date): SignInStanding {
  const waitSeconds = row.locked ? null : row.wait_seconds;
  return {
    password: {
      standing: row.locked ? "locked" : waitSeconds === null ? "open" : "waiting",
      wrong_in_a_row: row.login_failures,
      until: waitSeconds === null ? null : secondsAfter(now, waitSeconds).toISOString(),
      blocked_devices: row.blocked_devices ?? 0,
    },
    second_factor: { standing: row.factor_standing, until: row.factor_paused_until?.toISOString() ?? null },
    // JSON from the statement, its times as text; only paused ones were selected
    codes_paused: row.codes_paused.flatMap(({ scope, paused_until: until }) =>
      until === null ? [] : [{ purpose: scope, until: new Date(until).toISOString() }],
    ),
    last: lastSignIn(row),
  };
}

/** A user as an admin sees them: the account and where its sign-in stands. */
export function adminUser(row: UserWithStanding, now: Date): AdminUser {
  return { ...publicUser(row), sign_in: signInStanding(row, now) };
}
