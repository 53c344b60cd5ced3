// `npm run secrets`: prints fresh values for the secret settings, to store with `wrangler secret put`.
// To rotate the signing key, put the new key first in JWT_PRIVATE_KEYS and keep the old one after it
// until every token it signed has expired (ACCESS_TOKEN_TTL_SECONDS).
import { newSecretSettings } from "../secrets.ts";

for (const [name, value] of Object.entries(newSecretSettings())) {
  console.log(`${name}=${value}`);
}
