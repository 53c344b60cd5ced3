import type { ColumnType, Generated, GeneratedAlways } from "kysely";

// Mirrors migrations/. int8 columns arrive as strings from the driver, timestamptz as Date.
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

/** A user id as clients write it: a positive integer that fits Postgres's bigint. */
export const USER_ID_PATTERN = /^[1-9]\d{0,17}$/;

export type UserStatus = "unverified" | "verified";
export type UserRole = "user" | "admin";
export type CodePurpose = "verify_email" | "change_email" | "reset_password";

export interface UsersTable {
  id: GeneratedAlways<string>;
  email: string;
  password_hash: string;
  first_name: string | null;
  last_name: string | null;
  status: Generated<UserStatus>;
  role: Generated<UserRole>;
  verified_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Generated<Timestamp>;
}

export interface OneTimeCodesTable {
  id: GeneratedAlways<string>;
  user_id: string;
  purpose: CodePurpose;
  code_hash: Uint8Array;
  new_email: string | null;
  expires_at: Timestamp;
  attempts: Generated<number>;
  consumed_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface RefreshTokensTable {
  token_hash: Uint8Array;
  session_id: string;
  user_id: string;
  expires_at: Timestamp;
  created_at: CreatedAt;
  used_at: Timestamp | null;
}

export interface RevokedTokensTable {
  token_id: string;
  expires_at: Timestamp;
  revoked_at: CreatedAt;
}

export interface EmailOutboxTable {
  id: Generated<string>;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  created_at: CreatedAt;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  sent_at: Timestamp | null;
  provider_id: string | null;
}

export interface Database {
  users: UsersTable;
  one_time_codes: OneTimeCodesTable;
  refresh_tokens: RefreshTokensTable;
  revoked_tokens: RevokedTokensTable;
  email_outbox: EmailOutboxTable;
}
