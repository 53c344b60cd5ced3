import { describe, expect, it } from "vitest";
import { api, client, expectProblem } from "./helpers.ts";

describe("problem+json for requests that reach no endpoint", () => {
  it("is 404 for an unknown path", async () => {
    const problem = await expectProblem(await api("/no/such/thing"), 404, "not_found");
    expect(problem.detail).toContain("/no/such/thing");
  });

  it("is 405 with Allow for a known path and a wrong method", async () => {
    const response = await api("/health", { method: "DELETE" });
    await expectProblem(response, 405, "method_not_allowed");
    expect(response.headers.get("Allow")).toBe("GET, HEAD");
  });

  it("answers 404/405 before judging the body", async () => {
    const init = { method: "POST", headers: { "Content-Type": "text/plain" }, body: "hello" };
    await expectProblem(await api("/nowhere", init), 404, "not_found");
    await expectProblem(await api("/health", init), 405, "method_not_allowed");
  });

  it("answers HEAD where GET is allowed", async () => {
    const response = await api("/health", { method: "HEAD" });
    expect(response.status).toBe(200);
  });
});

describe("unexpected failures", () => {
  it("is 500 with nothing internal when the configuration is broken", async () => {
    const response = await client({ env: { DATABASE_URL: "mysql://nope" } })("/health");
    const problem = await expectProblem(response, 500, "internal_error");
    expect(JSON.stringify(problem)).not.toMatch(/DATABASE_URL|mysql|config|stack/i);
  });
});

describe("CORS", () => {
  it("answers a preflight and exposes the request id", async () => {
    const response = await api("/users/me", {
      method: "OPTIONS",
      headers: {
        Origin: "https://shop.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(response.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("authorization");
  });
});
