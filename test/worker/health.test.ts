import { describe, expect, it } from "vitest";
import pkg from "../../package.json" with { type: "json" };
import { api, client, countRoundTrips, expectProblem } from "./helpers.ts";

describe("GET /health/live", () => {
  it("answers without touching the database", async () => {
    const { result: response, roundTrips } = await countRoundTrips((call) => call("/health/live"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", version: pkg.version });
    expect(roundTrips).toBe(0);
  });

  it("answers even when the database is unreachable", async () => {
    const response = await client({ env: { DATABASE_URL: "postgres://test:test@127.0.0.1:9/coffee" } })("/health/live");
    expect(response.status).toBe(200);
  });
});

describe("GET /health", () => {
  it("answers with the running version after one SQL round trip", async () => {
    const { result: response, roundTrips } = await countRoundTrips((call) => call("/health"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", version: pkg.version, database: "ok" });
    expect(roundTrips).toBe(1);
  });

  it("carries a request id and secure headers", async () => {
    const response = await api("/health");
    expect(response.headers.get("X-Request-Id")).toMatch(/^[\w-]{8,}$/);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Strict-Transport-Security")).toContain("max-age=");
    expect(response.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
  });

  it("makes its own request id whatever the client sends: the audit trail and the logs trust it", async () => {
    const response = await api("/health", { headers: { "X-Request-Id": "client-trace-1234" } });
    expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it("is 503 problem+json, with nothing internal, when the database is unreachable", async () => {
    // port 9 (discard) on loopback: nothing listens there
    const response = await client({ env: { DATABASE_URL: "postgres://test:test@127.0.0.1:9/coffee" } })("/health");
    const problem = await expectProblem(response, 503, "service_unavailable");
    expect(JSON.stringify(problem)).not.toMatch(/127\.0\.0\.1|fetch|Error|stack/i);
  });
});
