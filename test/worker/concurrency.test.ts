import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import { api, json, login, mailTo, PASSWORD, uniqueEmail, verifiedUser } from "./helpers.ts";

// Meaningful on the PostgreSQL server (TEST_DATABASE_URL), where these requests really run at once on
// separate connections; on PGlite they are serialised and the same answers must still come out.
describe("requests racing each other", () => {
  it("ten refreshes of one token never yield two different live successors", async () => {
    const user = await verifiedUser();
    const { refresh_token } = await login(user);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => api("/auth/refresh", json("POST", { refresh_token }))),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.every((status) => status === 200 || status === 401)).toBe(true);
    const successors = new Set(
      await Promise.all(
        responses
          .filter((response) => response.status === 200)
          .map(async (response) => (await response.json<{ refresh_token: string }>()).refresh_token),
      ),
    );
    expect(successors.size).toBe(1);
    const [successor] = [...successors];
    // the one successor is live, exactly once
    const next = await api("/auth/refresh", json("POST", { refresh_token: successor }));
    expect(next.status).toBe(200);
  });

  it("ten signups of one email make exactly one user, and mail one code", async () => {
    const email = uniqueEmail();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => api("/auth/signup", json("POST", { email, password: PASSWORD }))),
    );
    // an address nobody proved is anyone's to sign up again, with the same answer
    expect(responses.map((response) => response.status)).toEqual(Array<number>(10).fill(201));
    const rows = await getDb(inject("databaseUrl")).selectFrom("users").select("id").where("email", "=", email).execute();
    expect(rows).toHaveLength(1);
    expect(await mailTo(email)).toHaveLength(1);
  });
});
