import { describe, expect, it } from "vitest";
import { api, expectProblem, json, PASSWORD, uniqueEmail } from "./helpers.ts";

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
  it("limit one client address across the auth endpoints to 60 requests a minute (API4:2023)", async () => {
    const address = { "CF-Connecting-IP": "203.0.113.9" };
    const { statuses, refused } = await untilRefused(60, (attempt) =>
      attempt % 2
        ? api("/auth/verify/resend", json("POST", { email: uniqueEmail() }, address))
        : api("/auth/verify", json("POST", { email: uniqueEmail(), code: "123456", password: PASSWORD }, address)),
    );
    expect(statuses.length - 1).toBeGreaterThanOrEqual(60);
    expect(statuses.slice(0, -1).every((status) => status === 202 || status === 400)).toBe(true);
    await expectProblem(refused, 429, "too_many_requests");
    // another address is not affected
    const other = await api("/auth/verify/resend", json("POST", { email: uniqueEmail() }, { "CF-Connecting-IP": "198.51.100.7" }));
    expect(other.status).toBe(202);
  });
});
