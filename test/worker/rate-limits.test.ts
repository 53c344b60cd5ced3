import { describe, expect, it } from "vitest";
import { api, expectProblem, json, uniqueEmail } from "./helpers.ts";

/**
 * Sends requests until one is refused with 429, at most `2 * limit + 1`. The limiter counts in fixed
 * windows of a minute, so a run that straddles a window's end may get up to twice the limit through,
 * never less than the limit.
 */
async function untilRefused(limit: number, send: (attempt: number) => Promise<Response>) {
  const statuses: number[] = [];
  for (let attempt = 0; attempt <= 2 * limit; attempt++) {
    const response = await send(attempt);
    statuses.push(response.status);
    if (response.status === 429) return { statuses, refused: response };
  }
  throw new Error(`never refused: ${statuses.join(",")}`);
}

describe("rate limits", () => {
  it("stop password guessing on one account after 10 tries a minute, whatever the password (OWASP ASVS 5.0 V6.3.1)", async () => {
    const email = uniqueEmail();
    const { statuses, refused } = await untilRefused(10, (attempt) =>
      // the limit is on the normalised address, so changing its case does not help
      api("/auth/login", json("POST", { email: attempt % 2 ? email.toUpperCase() : email, password: `guess ${attempt}` })),
    );
    expect(statuses.length - 1).toBeGreaterThanOrEqual(10);
    expect(statuses.slice(0, -1).every((status) => status === 401)).toBe(true);
    await expectProblem(refused, 429, "too_many_requests");
    expect(refused.headers.get("Retry-After")).toBe("60");
    // another account is not affected
    expect((await api("/auth/login", json("POST", { email: uniqueEmail(), password: "a guess" }))).status).toBe(401);
  });

  it("limit one client address across the auth endpoints to 60 requests a minute (API4:2023)", async () => {
    const address = { "CF-Connecting-IP": "203.0.113.9" };
    const { statuses, refused } = await untilRefused(60, (attempt) =>
      attempt % 2
        ? api("/auth/verify/resend", json("POST", { email: uniqueEmail() }, address))
        : api("/auth/verify", json("POST", { email: uniqueEmail(), code: "123456" }, address)),
    );
    expect(statuses.length - 1).toBeGreaterThanOrEqual(60);
    expect(statuses.slice(0, -1).every((status) => status === 202 || status === 400)).toBe(true);
    await expectProblem(refused, 429, "too_many_requests");
    // another address is not affected
    const other = await api("/auth/verify/resend", json("POST", { email: uniqueEmail() }, { "CF-Connecting-IP": "198.51.100.7" }));
    expect(other.status).toBe(202);
  });
});
