// The two typed clients a front end can use (clients/), compiled by the typecheck against the app's
// type and the document's, and driving the API the way a client does: signup, the emailed code,
// verify, login, /users/me.
import createClient from "openapi-fetch";
import { describe, expect, it } from "vitest";
import { createApiClient, type paths } from "../../clients/index.ts";
import { api, BASE_URL, latestCode, PASSWORD, uniqueEmail } from "./helpers.ts";

/** fetch for the clients: every request goes to the Worker's entry point, checked against the document. */
const viaWorker: typeof fetch = (input, init) => {
  const request = new Request(input, init);
  const url = new URL(request.url);
  return api(`${url.pathname}${url.search}`, request);
};

describe("typed clients", () => {
  it("hono/client over the app's type: signup, verify, login, /users/me", async () => {
    const client = createApiClient(BASE_URL, { fetch: viaWorker });
    const email = uniqueEmail("hc");

    const signup = await client.auth.signup.$post({ json: { email, password: PASSWORD, first_name: "Ada" } });
    if (signup.status !== 201) throw new Error(`signup: ${signup.status}`);
    const created = await signup.json();
    expect(created).toMatchObject({ email, first_name: "Ada", status: "unverified" });

    const verified = await client.auth.verify.$post({ json: { email, code: await latestCode(email), password: PASSWORD } });
    expect(verified.status).toBe(200);

    const login = await client.auth.login.$post({ json: { email, password: PASSWORD } });
    if (login.status !== 200) throw new Error(`login: ${login.status}`);
    const tokens = await login.json();
    expect(tokens.token_type).toBe("bearer");

    const me = await client.users.me.$get({}, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    if (me.status !== 200) throw new Error(`/users/me: ${me.status}`);
    const user = await me.json();
    expect(user).toMatchObject({ id: created.id, email, status: "verified", role: "user" });
  });

  it("openapi-fetch over the document's types: the same flow, and a typed problem", async () => {
    const client = createClient<paths>({ baseUrl: BASE_URL, fetch: viaWorker });
    const email = uniqueEmail("oaf");

    const signup = await client.POST("/auth/signup", { body: { email, password: PASSWORD } });
    expect(signup.response.status).toBe(201);
    expect(signup.data?.email).toBe(email);

    const wrong = await client.POST("/auth/verify", { body: { email, code: "000000", password: PASSWORD } });
    expect(wrong.error?.code).toBe("code_invalid");

    const verified = await client.POST("/auth/verify", { body: { email, code: await latestCode(email), password: PASSWORD } });
    expect(verified.data?.message).toEqual(expect.any(String));

    const login = await client.POST("/auth/login", { body: { email, password: PASSWORD } });
    const accessToken = login.data?.access_token;
    if (!accessToken) throw new Error(`login: ${login.response.status}`);

    const me = await client.GET("/users/me", { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(me.data).toMatchObject({ id: signup.data?.id, email, status: "verified" });
  });
});
