import { cloudflareTest } from "@cloudflare/vitest-plugin";

/**
 * The Workers pool as the tests and benches use it: the Worker from wrangler.toml, with the settings
 * that test/global-setup.ts provides (local services, fresh secrets) in place of secrets.
 */
export function workersPool() {
  return cloudflareTest(({ inject }) => ({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      bindings: {
        DATABASE_URL: inject("databaseUrl"),
        JWT_PRIVATE_KEYS: inject("jwtPrivateKeys"),
        HASH_SECRET: inject("hashSecret"),
        RESEND_API_KEY: "re_test_key",
        RESEND_BASE_URL: inject("localServicesUrl"),
        PWNED_PASSWORDS_RANGE_URL: `${inject("localServicesUrl")}/range`,
        MAIL_FROM: "Coffee Shop <no-reply@coffee.test>",
      },
    },
  }));
}
