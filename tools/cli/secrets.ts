// `npm run secrets`: prints fresh values for the secret settings, to store with `wrangler secret put`.
// To rotate the signing key, put the new key first in JWT_PRIVATE_KEYS and keep the old one after it
// until every token it signed has expired (ACCESS_TOKEN_TTL_SECONDS).
import { newSecretSettings } from "../secrets.ts";

for (const [name, value] of Object.entries(newSecretSettings())) {
  console.log(`${name}=${value}`);
}
// the other secrets are not made here: they come from the services that issue them
console.log("# DATABASE_URL: your Neon database's connection string");
console.log("# RESEND_API_KEY: an API key of your Resend account");
console.log(
  '# OIDC_PROVIDERS: the identity providers people sign in with, e.g. [{"id":"google","preset":"google","client_id":"…","client_secret":"…"}] (README, "Sign in with a provider"); leave unset for none',
);
