// Who the local identity provider knows: the API's client, and the people who can sign in on its login page. Plain
// data, so the tests (in workerd) and their configuration can name them without loading the provider.

/** Where the provider is mounted in the local services. */
export const OIDC_PATH = "/oidc";

/** The API's client at the local provider (a development secret: it guards nothing outside this machine). */
export const LOCAL_OIDC_CLIENT = { client_id: "coffee-shop-local", client_secret: "local-provider-client-secret-for-development-only" };

/** The people who can sign in at the local provider, by the name typed on its login page. */
export const LOCAL_OIDC_ACCOUNTS: Record<string, { email: string; email_verified: boolean; name: string; amr: string[] }> = {
  ada: { email: "ada@oidc.test", email_verified: true, name: "Ada Lovelace", amr: ["pwd"] },
  grace: { email: "grace@oidc.test", email_verified: true, name: "Grace Hopper", amr: ["pwd"] },
  mallory: { email: "mallory@oidc.test", email_verified: false, name: "Mallory Unverified", amr: ["pwd"] },
  // a person who signed in at the provider with a second factor: the provider says so in `amr`
  margaret: { email: "margaret@oidc.test", email_verified: true, name: "Margaret Hamilton", amr: ["pwd", "mfa", "hwk"] },
};

/**
 * A person at the provider by the name typed on its login page: one of LOCAL_OIDC_ACCOUNTS, or one of them with a
 * tag ("ada/k3x9": someone like ada, with a subject and an address of their own, so each test meets someone new).
 */
export function localOidcAccount(login: string): { email: string; email_verified: boolean; name: string; amr: string[] } | undefined {
  const [base = "", tag, ...rest] = login.split("/");
  const account = LOCAL_OIDC_ACCOUNTS[base];
  if (!account || rest.length > 0 || (tag !== undefined && !/^[a-z0-9-]{1,40}$/.test(tag))) return undefined;
  return tag === undefined ? account : { ...account, email: `${base}.${tag}@oidc.test` };
}
