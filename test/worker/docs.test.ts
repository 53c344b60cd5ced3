import { describe, expect, it } from "vitest";
import pkg from "../../package.json" with { type: "json" };
import { api } from "./helpers.ts";

describe("GET /docs", () => {
  it("serves Swagger UI whose scripts and styles come from the Worker itself", async () => {
    const response = await api("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const html = await response.text();
    const nonce = /nonce="([0-9a-f]+)"/.exec(html)?.[1];
    expect(nonce).toBeDefined();
    expect(response.headers.get("Content-Security-Policy")).toContain(`'nonce-${nonce}'`);
    expect(html).toContain('url: "/openapi.json"');
    // served as Workers static assets, which the test pool does not route: tools/scripts/smoke-dev.sh
    // fetches them from `npm run dev`
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(assets).toEqual(["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js"]);
  });
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document of this API with bearer authentication", async () => {
    const response = await api("/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("application/json");
    const doc = await response.json<{
      openapi: string;
      info: { version: string };
      paths: Record<string, unknown>;
      components: { securitySchemes: Record<string, unknown> };
    }>();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe(pkg.version);
    expect(doc.paths).toHaveProperty("/health");
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });
});
