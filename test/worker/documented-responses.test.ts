import { describe, expect, it } from "vitest";
import { expectDocumented } from "./documented-responses.ts";
import { BASE_URL } from "./helpers.ts";

// The check every call of the suite goes through (helpers.ts `client`) must be able to fail.
describe("the check of responses against the OpenAPI document", () => {
  const health = new Request(`${BASE_URL}/health`);
  const json = (status: number, body: unknown, type = "application/json") =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });

  it("passes a declared answer", async () => {
    await expect(expectDocumented(health, json(200, { status: "ok", version: "1", database: "ok" }))).resolves.toBeUndefined();
  });

  it("refuses a status the operation does not declare", async () => {
    await expect(expectDocumented(health, json(418, {}))).rejects.toThrow(/GET \/health answered 418/);
  });

  it("refuses a body that is not the declared schema", async () => {
    await expect(expectDocumented(health, json(200, { status: "ok" }))).rejects.toThrow(/body its operation does not declare/);
  });

  it("refuses a problem code the operation does not declare for that status", async () => {
    const problem = { type: "urn:x", code: "email_taken", title: "t", status: 503, detail: "d" };
    await expect(expectDocumented(health, json(503, problem, "application/problem+json"))).rejects.toThrow(/does not declare/);
  });

  it("refuses a declared status in another content type", async () => {
    await expect(expectDocumented(health, json(200, { status: "ok", version: "1", database: "ok" }, "text/plain"))).rejects.toThrow(
      /as "text\/plain"/,
    );
  });

  it("holds answers outside any operation to problem+json", async () => {
    const unknown = new Request(`${BASE_URL}/nowhere`);
    await expect(expectDocumented(unknown, json(404, { message: "no" }))).rejects.toThrow();
  });
});
