import { z } from "zod";
import { POLICY } from "./policy.ts";
import { IdentityProviderSettingSchema } from "./schemas/identities.ts";

const defaults = POLICY.lifetimes;

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const commaList = z.string().transform((value) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== ""),
);

/** A setting holding JSON, checked by `schema`. */
function jsonSetting<T extends z.ZodType>(schema: T, shape: string) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        const value: unknown = JSON.parse(text);
        return value;
      } catch {
        ctx.addIssue({ code: "custom", message: `must be ${shape}` });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const PrivateJwk = z.looseObject({
  kid: z.string().min(1, "every key needs a kid"),
  kty: z.enum(["OKP", "EC"]),
  crv: z.enum(["Ed25519", "P-256"]),
  d: z.string().min(1, "must be a private key"),
  x: z.string(),
  y: z.string().optional(),
});

const privateJwks = jsonSetting(z.array(PrivateJwk).min(1, "needs at least one key"), "a JSON array of private JWKs");

const identityProviders = jsonSetting(
  z
    .array(IdentityProviderSettingSchema)
    .refine(
      (providers) => new Set(providers.map((provider) => provider.id)).size === providers.length,
      "each provider needs an id of its own",
    ),
  "a JSON array of identity providers",
);

const ConfigSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// connection string" }),
  // A database round trip that takes longer is given up: the client hears 503 with Retry-After rather
  // than wait until the Worker's own limit.
  DATABASE_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(5000),
  CORS_ORIGINS: commaList.default(["*"]),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024),

  // The first key signs; every key listed verifies and is published, so a new key can be added
  // first and an old one removed once the tokens it signed have expired.
  JWT_PRIVATE_KEYS: privateJwks,
  JWT_ISSUER: z.string().min(1).default("coffee-shop-api"),
  JWT_AUDIENCE: z.string().min(1).default("coffee-shop"),
  ACCESS_TOKEN_TTL_SECONDS: seconds(defaults.ACCESS_TOKEN_TTL_SECONDS),
  REFRESH_TOKEN_TTL_SECONDS: seconds(defaults.REFRESH_TOKEN_TTL_SECONDS),
  // capped at the default: a longer window is a longer gift to a thief who replays a spent token
  REFRESH_REUSE_GRACE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(defaults.REFRESH_REUSE_GRACE_SECONDS)
    .default(defaults.REFRESH_REUSE_GRACE_SECONDS),

  // Keys the HMACs of one-time codes and derives refresh-token successors. A six-digit code hashed
  // without a secret would fall to a million guesses against a leaked table.
  HASH_SECRET: z.string().min(32, "must be at least 32 characters of random text"),
  VERIFICATION_CODE_TTL_SECONDS: seconds(defaults.VERIFICATION_CODE_TTL_SECONDS),
  CODE_RESEND_INTERVAL_SECONDS: seconds(defaults.CODE_RESEND_INTERVAL_SECONDS),
  UNVERIFIED_USER_TTL_SECONDS: seconds(defaults.UNVERIFIED_USER_TTL_SECONDS),

  // The cron deletes expired rows in batches of this many per table, one statement per batch, for at
  // most this long a run; what is left is reported as backlog for the next run.
  PURGE_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  PURGE_TIME_BUDGET_MS: z.coerce.number().int().positive().default(20_000),
  // The audit trail (auth_events) is kept this long.
  AUDIT_RETENTION_DAYS: z.coerce.number().int().positive().default(defaults.AUDIT_RETENTION_DAYS),

  // Second factor. A login's challenge lives this long; sensitive operations need an authentication this
  // recent (step-up); in production no admin route answers an admin whose session lacks a second factor.
  MFA_CHALLENGE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(30)
    .max(defaults.MFA_CHALLENGE_TTL_SECONDS)
    .default(defaults.MFA_CHALLENGE_TTL_SECONDS),
  STEP_UP_MAX_AGE_SECONDS: seconds(defaults.STEP_UP_MAX_AGE_SECONDS),
  ADMIN_MFA_REQUIRED: z
    .enum(["true", "false"])
    .default("false")
    .transform((value) => value === "true"),

  // Leaving: an owner's deletion waits this long (the cancel link in their mail works until then), then the
  // cron erases the account. The link is this page of the shop's app with `#token=…`: the page POSTs the token
  // to /auth/deletion/cancel (a fragment never reaches a server's logs). Unset, the mail carries the token alone.
  DELETION_GRACE_SECONDS: seconds(defaults.DELETION_GRACE_SECONDS),
  DELETION_CANCEL_URL: z.url({ protocol: /^https?$/ }).optional(),
  // Passkeys (WebAuthn). The relying party is the site whose passkeys these are: its ID is the domain they are
  // bound to (an authenticator signs its hash, and offers a passkey only on that domain and its subdomains), the
  // origins are the pages allowed to run a ceremony (the console at /admin, front ends). A challenge lives this long.
  WEBAUTHN_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]+$/, "must be a domain name, like example.com")
    .default("localhost"),
  WEBAUTHN_ORIGINS: commaList.pipe(z.array(z.url()).min(1)).default(["http://localhost:8787"]),
  PASSKEY_CHALLENGE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(30)
    .max(2 * defaults.PASSKEY_CHALLENGE_TTL_SECONDS)
    .default(defaults.PASSKEY_CHALLENGE_TTL_SECONDS),

  // New passwords are checked against Have I Been Pwned's range API (k-anonymity: 5 hex digits of the
  // SHA-1 leave the Worker); when it does not answer in time, the password is let through and it is logged.
  PWNED_PASSWORDS_RANGE_URL: z.url().default("https://api.pwnedpasswords.com/range"),
  PWNED_PASSWORDS_TIMEOUT_MS: z.coerce.number().int().min(100).max(10_000).default(1500),

  RESEND_API_KEY: z.string().min(1),
  RESEND_BASE_URL: z.url().default("https://api.resend.com"),
  MAIL_FROM: z.string().min(3),
  // Identity providers people may sign in with (a secret: it holds their client secrets). A JSON array; presets for
  // google, microsoft, apple and github, or any OpenID Connect provider by its issuer (README, "Sign in with ...").
  OIDC_PROVIDERS: identityProviders.default([]),
  // Where a sign-in with a provider may send the browser back to: exact addresses, comma-separated.
  OIDC_RETURN_URLS: commaList.default([]),
  // Where people reach the API: links in mail (a new-device notice's "this wasn't me") and the address providers
  // send their answers back to (PUBLIC_ORIGIN/auth/oidc/{provider}/callback) are made from it.
  PUBLIC_ORIGIN: z.url().default("http://localhost:8787"),
  // The name every message signs with, in its subject, heading and footer.
  PRODUCT_NAME: z.string().trim().min(1).max(60).default("Coffee Shop"),
});

export type Config = z.infer<typeof ConfigSchema>;
export type PrivateJwk = z.infer<typeof PrivateJwk>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

// Workers hand the same env object to every request of an isolate, so parse it once per isolate.
const parsed = new WeakMap<object, Config>();

export function getConfig(env: object): Config {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(env)"}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  parsed.set(env, result.data);
  return result.data;
}
