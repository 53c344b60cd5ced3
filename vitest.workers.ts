import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { LOCAL_OIDC_CLIENT } from "./tools/local-services/oidc/accounts.ts";

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
        PUBLIC_ORIGIN: "https://api.coffee.test",
        OIDC_PROVIDERS: JSON.stringify([
          { id: "local", label: "Local provider", issuer: inject("oidcIssuer"), ...LOCAL_OIDC_CLIENT, mfa_amr: ["mfa", "hwk"] },
          // nothing listens on the discard port: a provider that is down
          { id: "offline", label: "Offline provider", issuer: "http://127.0.0.1:9/oidc", ...LOCAL_OIDC_CLIENT },
        ]),
        // a web page's address, and an app's own scheme (which must send a code challenge)
        OIDC_RETURN_URLS: "https://app.coffee.test/signed-in,coffeeshop://signed-in",
      },
    },
  }));
}
