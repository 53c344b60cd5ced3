import type { UserRow } from "../db/users.ts";

/** The only shape in which a user leaves the server. */
export interface PublicUser {
  id: number;
  email: string;
  first_name: string | null;
  last_name: string | null;
  status: UserRow["status"];
  role: UserRow["role"];
  created_at: string;
}

export function publicUser(row: UserRow): PublicUser {
  return {
    id: Number(row.id),
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    status: row.status,
    role: row.role,
    created_at: new Date(row.created_at).toISOString(),
  };
}
