// The public shape of a user and the rules for the fields people type. The API validates with these,
// the OpenAPI document is generated from them, the database types refer to them, and the CLI checks its
// arguments with them: one definition each.
import { z } from "zod";
import { CodeScopeSchema } from "./codes.ts";

export const UserRoleSchema = z.enum(["user", "admin"]).meta({ id: "UserRole" });
export type UserRole = z.infer<typeof UserRoleSchema>;

export const UserStatusSchema = z.enum(["unverified", "verified", "disabled", "pending_deletion"]).meta({
  id: "UserStatus",
  description:
    "`unverified` until the address is proved with its code; `disabled` by an admin: no login, no sessions; " +
    "`pending_deletion`: its owner deleted it, and its data goes at `deletion_due_at` unless the owner cancels",
});
export type UserStatus = z.infer<typeof UserStatusSchema>;

/** The statuses an admin sets (or an old service had): an account becomes `pending_deletion` only by its owner's request. */
export const SettableStatusSchema = UserStatusSchema.exclude(["pending_deletion"]).meta({ id: "SettableUserStatus" });

/** A user id as clients write it: a positive integer that fits Postgres's bigint. */
export const USER_ID_PATTERN = /^[1-9]\d{0,17}$/;

export const UserIdSchema = z.string().regex(USER_ID_PATTERN, "Must be a positive integer");

/** RFC 5321 §4.5.3.1: a local part of at most 64 octets, a path of at most 256 (254 without its brackets). */
const LOCAL_PART_MAX_OCTETS = 64;
export const EMAIL_MAX_OCTETS = 254;

function octets(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** An email address, normalised the one way every entry point uses (trimmed, lower-cased), within RFC 5321's lengths. */
export const EmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .check(z.email({ error: "Not a valid email address" }))
  .refine((address) => octets(address) <= EMAIL_MAX_OCTETS, `Must be at most ${EMAIL_MAX_OCTETS} octets`)
  .refine(
    (address) => octets(address.slice(0, address.lastIndexOf("@"))) <= LOCAL_PART_MAX_OCTETS,
    `The part before @ must be at most ${LOCAL_PART_MAX_OCTETS} octets`,
  )
  .meta({ maxLength: EMAIL_MAX_OCTETS, example: "ada@example.com", description: "Compared and stored trimmed and lower-cased" });

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** The number of characters as people count them (code points): an emoji is one, not two UTF-16 units. */
function characters(text: string): number {
  return [...text].length;
}

/** A new password: its length is checked on the password as typed, before normalisation. */
export const NewPasswordSchema = z
  .string()
  .refine((password) => characters(password) >= PASSWORD_MIN_LENGTH, `Must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .refine((password) => characters(password) <= PASSWORD_MAX_LENGTH, `Must be at most ${PASSWORD_MAX_LENGTH} characters`)
  .meta({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, example: "correct horse battery" });

/** A password presented to be checked: any length a new one could have had, so old short ones still log in. */
export const PresentedPasswordSchema = z
  .string()
  .min(1)
  .refine((password) => characters(password) <= PASSWORD_MAX_LENGTH, `Must be at most ${PASSWORD_MAX_LENGTH} characters`)
  .meta({ maxLength: PASSWORD_MAX_LENGTH, example: "correct horse battery" });

/**
 * Characters a name may not hold: controls (line breaks, tabs, escapes) and the invisible ones that reorder or
 * hide text (Unicode's bidirectional controls, as in CVE-2021-42574, and zero-width spaces), which could make one
 * name display as another in the console and in mail. Joiners stay: some scripts and emoji need them.
 */
const HIDDEN_CHARACTER = /[\p{Cc}\p{Zl}\p{Zp}\u061C\u200B\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/u;

function codePoint(character: string): string {
  return `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

export const NameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .superRefine((name, ctx) => {
    const hidden = HIDDEN_CHARACTER.exec(name)?.[0];
    if (hidden !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `Must not contain control characters or characters that reorder or hide text (found ${codePoint(hidden)})`,
      });
    }
  })
  .nullable();

export const UserSchema = z
  .object({
    id: z.number().int().meta({ example: 42 }),
    email: z.string().meta({ example: "ada@example.com" }),
    first_name: z.string().nullable().meta({ example: "Ada" }),
    last_name: z.string().nullable().meta({ example: "Lovelace" }),
    status: UserStatusSchema,
    role: UserRoleSchema,
    created_at: z.iso.datetime().meta({ example: "2026-11-24T12:00:00.000Z" }),
    deletion_due_at: z.iso
      .datetime()
      .nullable()
      .meta({ description: "For an account pending deletion, when its data is erased; otherwise null", example: null }),
  })
  .meta({ id: "User" });

/** The only shape in which a user leaves the server. */
export type PublicUser = z.infer<typeof UserSchema>;

/** Where the account's run of wrong passwords (POLICY.passwordRun) leaves a sign-in with a password now. */
export const PasswordStandingSchema = z.enum(["open", "waiting", "locked"]).meta({
  id: "PasswordStanding",
  description:
    "`open`: a password is judged at once; `waiting`: after wrong passwords in a row, the next try waits until `until`; " +
    "`locked`: after 100 in a row, no password is accepted until a reset or an admin's unlock",
});
export type PasswordStanding = z.infer<typeof PasswordStandingSchema>;

/** Where the account's second factor stands. */
export const FactorStandingSchema = z.enum(["off", "on", "paused"]).meta({
  id: "FactorStanding",
  description:
    "`off`: no authenticator app (or one whose enrolment was never confirmed); `on`: sign-ins ask for its code; " +
    "`paused`: after 100 wrong codes in a row its codes are refused until `until`",
});
export type FactorStanding = z.infer<typeof FactorStandingSchema>;

const instant = () => z.iso.datetime();

/** An account's last sign-in: when, with which client, from which network. */
export const LastSignInSchema = z
  .object({
    at: instant(),
    client: z.string().meta({ description: "The client in words, from its User-Agent", example: "Safari on iPhone" }),
    user_agent: z.string().nullable().meta({ example: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Safari/604.1" }),
    client_address: z.string().nullable().meta({ example: "203.0.113.9" }),
  })
  .meta({ id: "LastSignIn" });
export type LastSignIn = z.infer<typeof LastSignInSchema>;

/** Why an account may not be able to sign in now, as facts: the console turns them into badges and buttons. */
export const SignInStandingSchema = z
  .object({
    password: z.object({
      standing: PasswordStandingSchema,
      wrong_in_a_row: z.number().int().meta({ description: "The account's wrong passwords in a row (a right one ends the run)" }),
      until: instant().nullable().meta({ description: "While `waiting`, when the next try may come; otherwise null" }),
      blocked_devices: z
        .number()
        .int()
        .meta({
          description:
            "The account's known devices whose own run of wrong passwords makes them wait or locks them now (a known device's " +
            "sign-ins meet its own run, not the account's)",
        }),
    }),
    second_factor: z.object({
      standing: FactorStandingSchema,
      until: instant().nullable().meta({ description: "While `paused`, when its codes are accepted again; otherwise null" }),
    }),
    codes_paused: z
      .array(z.object({ purpose: CodeScopeSchema, until: instant() }))
      .meta({ description: "The kinds of emailed code the account's address refuses for now, after 100 wrong ones in a row" }),
    last: LastSignInSchema.nullable().meta({ description: "The account's last sign-in; null if it never signed in" }),
  })
  .meta({ id: "SignInStanding" });
export type SignInStanding = z.infer<typeof SignInStandingSchema>;

/**
 * The orders the users list comes in: by when each was created, last signed in (never: last), or by address; a
 * leading `-` for the other way round (newest, latest, Z first).
 */
export const UserSortSchema = z.enum(["-created_at", "created_at", "-last_sign_in_at", "last_sign_in_at", "email", "-email"]).meta({
  id: "UserSort",
  description:
    "`-created_at` newest first (the default), `created_at` oldest first; `-last_sign_in_at` the latest sign-in first, " +
    "`last_sign_in_at` the longest ago first (who never signed in come last in the one, first in the other); `email` " +
    "A to Z, `-email` Z to A",
});
export type UserSort = z.infer<typeof UserSortSchema>;

/** Where a page of the users list ended, in its order: the last user's sort key (null: never signed in) and id. */
export interface UserCursor {
  sort: UserSort;
  key: string | null;
  id: string;
}

/** A user as an admin sees them: the account, and where its sign-in stands. */
export const AdminUserSchema = UserSchema.extend({ sign_in: SignInStandingSchema }).meta({ id: "AdminUser" });
export type AdminUser = z.infer<typeof AdminUserSchema>;

/** What a PATCH of a user may carry: the user's names and address, and an admin's role and status. */
export const UserPatchSchema = z
  .strictObject({
    first_name: NameSchema.optional(),
    last_name: NameSchema.optional(),
    email: EmailSchema.optional(),
    role: UserRoleSchema.optional(),
    status: SettableStatusSchema.optional(),
    current_password: PresentedPasswordSchema.optional().meta({ description: "Required to change your own email" }),
  })
  .refine((patch) => Object.keys(patch).some((key) => key !== "current_password"), "Nothing to change")
  .meta({ id: "UserPatch" });
export type UserPatch = z.infer<typeof UserPatchSchema>;
