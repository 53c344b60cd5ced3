// The numbers of the security rules, in one place: docs/SECURITY.md's tables name each one by its path here
// (`POLICY.passwordRun.lockAt`). Statements take them as parameters; none of src/db/ holds a number of its own.
// The lifetimes and the step-up age are defaults of settings (src/config.ts) a deployment may change.

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const POLICY = {
  /**
   * Wrong passwords in a row, per account (NIST SP 800-63B §5.2.2: at most 100 consecutive failures): the first
   * `free` cost nothing, then each try waits twice as long as the one before, up to `maxWaitSeconds`; after
   * `lockAt` only a reset opens the account.
   */
  passwordRun: { free: 4, maxWaitSeconds: HOUR, lockAt: 100 },
  /**
   * Guesses at the codes mailed to one address within a window as long as a code lives: `perClient` from one
   * client network, `perAddress` from all together (a new code does not refill them).
   */
  codeGuesses: { perClient: 5, perAddress: 20 },
  /**
   * Wrong codes in a row (mailed codes per address and kind; an authenticator app's codes and recovery codes per
   * account), over any length of time, before the codes pause for `pauseHours`; each further wrong one pauses
   * them again.
   */
  codeRun: { pauseAfter: 100, pauseHours: 12 },
  /** Messages one address may be sent in an hour, whatever their purpose. */
  mail: { perAddressPerHour: 10 },
  /** An authenticator app's code is accepted this many 30-second steps either side of now (phones drift), never more. */
  totp: { window: 1 },
  /**
   * Known devices: a new device's sign-in is announced to the owner, at most once every `noticeEveryMinutes` (a
   * burst waits and goes as one list); the notice's "this wasn't me" link works `reportLinkHours`. A device not
   * signed in from for `forgottenAfterDays` is forgotten (its next sign-in is a new device's).
   */
  devices: { noticeEveryMinutes: 60, reportLinkHours: 24, forgottenAfterDays: 365 },
  /**
   * A person's data leaves the service in one export per `intervalSeconds`, whoever asks (the owner, or an admin for
   * them), and the owner is mailed each time: a stolen session cannot pull it again and again unseen.
   */
  exports: { intervalSeconds: 15 * MINUTE },
  /**
   * Signing in with an identity provider: a flow (start to callback) lives `flowMinutes` in its browser; the
   * callback's one-time code is exchanged within `codeSeconds`; a signed-in person's link intent lives
   * `linkMinutes`; a provider that cannot be reached is tried again after `retryAfterSeconds`.
   */
  identities: { flowMinutes: 10, codeSeconds: 60, linkMinutes: 10, retryAfterSeconds: 30 },
  /**
   * Passkeys one account may hold: more than anyone's devices, few enough that a stolen session and password
   * cannot fill the table, and that a registration's list of passkeys to exclude stays small.
   */
  passkeys: { perAccount: 20 },
  /**
   * What one request may ask of the database (OWASP API4:2023): the users list counts the users its filters match up
   * to `countUsersUpTo`, and says "more than" past it, so no filter makes a page scan the whole table.
   */
  lists: { countUsersUpTo: 10_000 },
  /** Defaults of the settings of the same names (src/config.ts). */
  lifetimes: {
    ACCESS_TOKEN_TTL_SECONDS: 15 * MINUTE,
    REFRESH_TOKEN_TTL_SECONDS: 30 * DAY,
    /** Two tabs refreshing at once need about a second; a longer grace is a longer gift to a thief (RFC 9700 §4.14.2). */
    REFRESH_REUSE_GRACE_SECONDS: 2,
    VERIFICATION_CODE_TTL_SECONDS: 10 * MINUTE,
    /** One code a minute per address and purpose, whoever asks. */
    CODE_RESEND_INTERVAL_SECONDS: MINUTE,
    UNVERIFIED_USER_TTL_SECONDS: 48 * HOUR,
    MFA_CHALLENGE_TTL_SECONDS: 5 * MINUTE,
    /** WebAuthn §15.1 asks for 5 to 10 minutes when the user is verified (a PIN or a fingerprint takes time): the shorter. */
    PASSKEY_CHALLENGE_TTL_SECONDS: 5 * MINUTE,
    /** Sensitive operations need a sign-in (with every factor of the account) this recent. */
    STEP_UP_MAX_AGE_SECONDS: 10 * MINUTE,
    AUDIT_RETENTION_DAYS: 90,
    /** An owner's deletion waits this long, cancellable by the link mailed to them, before the cron erases the account. */
    DELETION_GRACE_SECONDS: 7 * DAY,
  },
} as const;

export type PasswordRunPolicy = typeof POLICY.passwordRun;
export type CodeRunPolicy = typeof POLICY.codeRun;
