import { describe, expect, it } from "vitest";
import { api, expectProblem, json, uniqueEmail } from "./helpers.ts";

describe("rate limits", () => {
  it("stop password guessing on one account after 10 tries a minute, whatever the password", async () => {
    const email = uniqueEmail();
    const tries = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      tries.push((await api("/auth/login", json("POST", { email, password: `guess number ${attempt}` }))).status);
    }
    expect(tries).toEqual(Array<number>(10).fill(401));
    const blocked = await api("/auth/login", json("POST", { email: email.toUpperCase(), password: "one more guess" }));
    await expectProblem(blocked, 429, "too_many_requests");
    expect(blocked.headers.get("Retry-After")).toBe("60");
    // another account is not affected
    expect((await api("/auth/login", json("POST", { email: uniqueEmail(), password: "a guess" }))).status).toBe(401);
  });

  it("limit one client address across the auth endpoints to 60 requests a minute", async () => {
    const address = { "CF-Connecting-IP": "203.0.113.9" };
    const statuses = [];
    for (let request = 0; request < 60; request++) {
      const response = await api("/auth/verify/resend", json("POST", { email: uniqueEmail() }, address));
      statuses.push(response.status);
    }
    expect(statuses).toEqual(Array<number>(60).fill(202));
    const blocked = await api("/auth/signup", json("POST", { email: uniqueEmail(), password: "long enough" }, address));
    await expectProblem(blocked, 429, "too_many_requests");
    // another address is not affected
    const other = await api("/auth/verify/resend", json("POST", { email: uniqueEmail() }, { "CF-Connecting-IP": "198.51.100.7" }));
    expect(other.status).toBe(202);
  });
});
