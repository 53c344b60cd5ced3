import type { UserRow } from "../db/users.ts";
import type { PublicUser } from "../schemas/user.ts";

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
