// What importing the old service's users would do, decided row by row with the API's own schemas: which
// rows become users (their emails normalised as the API normalises them), which collide, which are invalid.
import { z } from "zod";
import { BCRYPT_CHECK_COST, bcryptCost } from "../../src/auth/passwords.ts";
import {
  EmailSchema,
  NameSchema,
  UserIdSchema,
  type UserRole,
  UserRoleSchema,
  SettableStatusSchema,
  type UserStatus,
} from "../../src/schemas/user.ts";

/** A row of the old service's `users` table as read: nothing in it has been checked. */
export interface OldUser {
  id: string;
  email: string | null;
  /** passlib's bcrypt hash. */
  password: string | null;
  first_name: string | null;
  last_name: string | null;
  status: string | null;
  role: string | null;
  /** Null when the old table has no such column. */
  created_at: Date | null;
  updated_at: Date | null;
}

/** A row for this schema's `users`, the id and the bcrypt hash kept. */
export interface ImportedUser {
  id: string;
  email: string;
  password_hash: string;
  first_name: string | null;
  last_name: string | null;
  status: UserStatus;
  role: UserRole;
  verified_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** Old rows whose addresses are one address once normalised: whose it is, only their owners can say. */
export interface Collision {
  email: string;
  ids: string[];
}

export interface InvalidRow {
  id: string;
  /** `field: message`, as the API would word them. */
  reasons: string[];
}

export interface ImportPlan {
  /** Rows read from the old table. */
  read: number;
  users: ImportedUser[];
  collisions: Collision[];
  invalid: InvalidRow[];
  /** The old table's largest id: new accounts start after it, so a row fixed and imported later keeps its id too. */
  largestId: string | undefined;
  /** Users whose hash has a bcrypt cost other than BCRYPT_CHECK_COST: their checks take a different time. */
  otherBcryptCost: number;
}

// The old service stored a missing name as "" as well as null; here it is null, and "" is not a name.
const OldNameSchema = z.preprocess((name) => (typeof name === "string" && name.trim() === "" ? null : name), NameSchema);

const OldUserSchema = z.object({
  id: UserIdSchema,
  email: EmailSchema,
  password: z.string().refine((hash) => bcryptCost(hash) !== undefined, "Not a bcrypt hash the API can check"),
  first_name: OldNameSchema,
  last_name: OldNameSchema,
  // an account is pending deletion only by its owner's request here, with a due time and a cancel link
  status: SettableStatusSchema,
  role: UserRoleSchema,
});

function largest(ids: string[]): string | undefined {
  return ids.reduce<string | undefined>((max, id) => (max === undefined || BigInt(id) > BigInt(max) ? id : max), undefined);
}

/** The old rows grouped by normalised address, for the addresses more than one row has. */
function collisionsOf(rows: OldUser[]): Collision[] {
  const idsByEmail = new Map<string, string[]>();
  for (const row of rows) {
    const email = EmailSchema.safeParse(row.email);
    if (email.success) idsByEmail.set(email.data, [...(idsByEmail.get(email.data) ?? []), row.id]);
  }
  return [...idsByEmail].filter(([, ids]) => ids.length > 1).map(([email, ids]) => ({ email, ids }));
}

/**
 * `now` stands in for timestamps the old table does not have. The old service kept no verification time:
 * a verified account's is taken to be its creation, the earliest it can have been.
 */
export function planImport(rows: OldUser[], now: Date): ImportPlan {
  const collisions = collisionsOf(rows);
  const colliding = new Set(collisions.flatMap((collision) => collision.ids));
  const users: ImportedUser[] = [];
  const invalid: InvalidRow[] = [];
  for (const row of rows) {
    if (colliding.has(row.id)) continue;
    const parsed = OldUserSchema.safeParse(row);
    if (!parsed.success) {
      invalid.push({ id: row.id, reasons: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) });
      continue;
    }
    const { id, email, password, first_name, last_name, status, role } = parsed.data;
    const createdAt = row.created_at ?? now;
    users.push({
      id,
      email,
      password_hash: password,
      first_name,
      last_name,
      status,
      role,
      verified_at: status === "verified" ? createdAt : null,
      created_at: createdAt,
      updated_at: row.updated_at ?? createdAt,
    });
  }
  const validIds = rows.map((row) => row.id).filter((id) => UserIdSchema.safeParse(id).success);
  return {
    read: rows.length,
    users,
    collisions,
    invalid,
    largestId: largest(validIds),
    otherBcryptCost: users.filter((user) => bcryptCost(user.password_hash) !== BCRYPT_CHECK_COST).length,
  };
}
