import { describe, expect, it } from "vitest";
import { api, bearer, client, expectProblem, json, login as signIn, seededUser } from "./helpers.ts";

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

describe("problem+json for bodies an endpoint cannot take", () => {
  const login = (init: RequestInit) => api("/auth/login", { method: "POST", ...init });

  it("is 415 for a body that is not JSON", async () => {
    const response = await login({ headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "email=a@b.co" });
    await expectProblem(response, 415, "unsupported_media_type");
    expect(response.headers.get("Accept-Post")).toBe("application/json");
  });

  it("judges a type announced without a body by that type: 415 for another, 400 for an empty JSON document", async () => {
    await expectProblem(await login({ headers: { "Content-Type": "multipart/form-data; boundary=x" } }), 415, "unsupported_media_type");
    await expectProblem(await login({ headers: { "Content-Type": "application/json" } }), 400, "malformed_json");
    // nothing at all: the fields it lacks, by name
    await expectProblem(await login({}), 422, "validation_failed");
  });

  it("is 400 for JSON that does not parse", async () => {
    const problem = await expectProblem(
      await login({ headers: { "Content-Type": "application/json" }, body: '{"email": "a@b.co",' }),
      400,
      "malformed_json",
    );
    expect(problem.detail).not.toMatch(/position|SyntaxError|Unexpected/);
  });

  it("is 413 for a body over the limit, with or without a Content-Length", async () => {
    const big = JSON.stringify({ email: "a@b.co", password: "x".repeat(20_000) });
    await expectProblem(await login({ headers: { "Content-Type": "application/json" }, body: big }), 413, "payload_too_large");
    const streamed = new Blob([big]).stream();
    await expectProblem(await login({ headers: { "Content-Type": "application/json" }, body: streamed }), 413, "payload_too_large");
  });

  it("is 422 naming each failing field, for a body of the wrong shape", async () => {
    const problem = await expectProblem(await api("/auth/login", json("POST", [1, 2])), 422, "validation_failed");
    expect(problem.errors).toEqual([{ in: "json", field: "(root)", message: expect.any(String) }]);
  });

  it("is never met by an endpoint that takes no body: it does not read one (found by the random-input test)", async () => {
    const { access_token } = await signIn(await seededUser("user"));
    const response = await api(
      "/auth/logout/all",
      bearer(access_token, { method: "POST", headers: { "Content-Type": "text/plain" }, body: "{not json" }),
    );
    expect(response.status).toBe(204);
  });
});
