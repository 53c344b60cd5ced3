import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";

// The validator compiles JSON Schemas to code at run time, which workerd forbids, so the document the
// app serves is checked here in Node, from the same app the Worker runs.
const env = {
  DATABASE_URL: "postgres://docs:docs@127.0.0.1:9/coffee",
  RESEND_API_KEY: "re_docs",
  MAIL_FROM: "docs@coffee.test",
  // only parsed here: /openapi.json signs nothing
  JWT_PRIVATE_KEYS: JSON.stringify([{ kid: "docs", kty: "OKP", crv: "Ed25519", d: "unused", x: "unused" }]),
  HASH_SECRET: "a secret only long enough to be valid",
};

interface Operation {
  name: string;
  requestBody?: unknown;
  security?: unknown[];
  responses: Record<string, unknown>;
}

let document: { paths: Record<string, Record<string, Omit<Operation, "name">>> };

function operations(): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, ...operation })),
  );
}

function statusesOf(operation: Operation): string[] {
  return Object.keys(operation.responses);
}

/** The operations that answer without the database. */
const WITHOUT_DATABASE = ["GET /health/live", "GET /.well-known/jwks.json"];

beforeAll(async () => {
  const response = await buildApp().request("https://api.coffee.test/openapi.json", {}, env);
  expect(response.status).toBe(200);
  document = JSON.parse(await response.text());
});

describe("GET /openapi.json", () => {
  it("serves a document that validates against the OpenAPI 3.1 schema", async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("declares 400, 413, 415 and 422 for every operation with a body", () => {
    const withBody = operations().filter((operation) => operation.requestBody !== undefined);
    expect(withBody.length).toBeGreaterThan(5);
    for (const operation of withBody) expect(statusesOf(operation), operation.name).toEqual(expect.arrayContaining(["400", "413", "415", "422"]));
  });

  it("declares 503 for every operation that uses the database, and 401 for every one that needs a token", () => {
    for (const operation of operations()) {
      if (!WITHOUT_DATABASE.includes(operation.name)) expect(statusesOf(operation), operation.name).toContain("503");
      if (operation.security?.length) expect(statusesOf(operation), operation.name).toContain("401");
    }
  });

  it("declares 429 with Retry-After for every /auth operation", () => {
    const auth = operations().filter((operation) => operation.name.includes(" /auth/"));
    expect(auth.length).toBeGreaterThan(5);
    for (const operation of auth) {
      expect(operation.responses["429"], operation.name).toMatchObject({ headers: { "Retry-After": expect.any(Object) } });
    }
  });
});
