import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { openApiDocumentText } from "../../tools/openapi-document.ts";

// The validator compiles JSON Schemas to code at run time, which workerd forbids, so the document the
// app serves is checked here in Node, from the same app the Worker runs.

interface MediaType {
  schema: unknown;
  example?: unknown;
}

interface Operation {
  name: string;
  operationId?: string;
  summary?: string;
  description?: string;
  requestBody?: { content: Record<string, MediaType> };
  security?: unknown[];
  responses: Record<string, { content?: Record<string, MediaType> }>;
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
const WITHOUT_DATABASE = ["GET /health/live", "GET /.well-known/jwks.json", "GET /auth/oidc/providers"];

beforeAll(async () => {
  document = JSON.parse(await openApiDocumentText());
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
    for (const operation of withBody)
      expect(statusesOf(operation), operation.name).toEqual(expect.arrayContaining(["400", "413", "415", "422"]));
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

  it("gives every operation an id, a summary, a description and its security (none: [])", () => {
    const ids = new Set<string>();
    for (const operation of operations()) {
      expect(operation.operationId, operation.name).toMatch(/^[a-z][A-Za-z]+$/);
      ids.add(operation.operationId ?? "");
      expect(operation.summary, operation.name).toBeTruthy();
      expect(operation.description, operation.name).toBeTruthy();
      expect(operation.security, operation.name).toBeInstanceOf(Array);
    }
    expect(ids.size).toBe(operations().length);
  });

  it("shows an example of every request body and of every response body, problems included", () => {
    for (const operation of operations()) {
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        expect(media.example, `${operation.name} request ${type}`).toBeDefined();
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          expect(media.example, `${operation.name} ${status} ${type}`).toBeDefined();
        }
      }
    }
  });
});
