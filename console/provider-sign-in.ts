// A sign-in through an identity provider, in this browser: the start carries an S256 code challenge (RFC 7636) of a
// verifier this tab keeps until the provider sends it back, so the code that comes back in the address opens
// nothing for anyone who reads the address but not this tab's storage. The verifier is good for one sign-in and
// opens nothing by itself.
import { base64url } from "./base64url.ts";

const KEY = "coffee-shop-admin-oidc-verifier";

/** Goes to the provider's start with a fresh challenge, its verifier kept for this tab. */
export async function goToProvider(providerId: string, returnTo: string): Promise<void> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const query = new URLSearchParams({ return_to: returnTo, code_challenge: challenge });
  try {
    sessionStorage.setItem(KEY, verifier);
  } catch {
    // storage turned off: the start goes without a challenge, as a browser's page may
    query.delete("code_challenge");
  }
  location.assign(`/auth/oidc/${encodeURIComponent(providerId)}/start?${query}`);
}

/** The verifier of the sign-in this tab started, taken out of storage: it serves one exchange. */
export function takeCodeVerifier(): string | undefined {
  try {
    const verifier = sessionStorage.getItem(KEY) ?? undefined;
    sessionStorage.removeItem(KEY);
    return verifier;
  } catch {
    return undefined;
  }
}
