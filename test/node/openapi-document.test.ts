import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";

// The validator compiles JSON Schemas to code at run time, which workerd forbids, so the document the
// app serves is checked here in Node, from the same app the Worker runs.
describe("GET /openapi.json", () => {
  it("serves a document that validates against the OpenAPI 3.1 schema", async () => {
    const env = {
      DATABASE_URL: "postgres://docs:docs@127.0.0.1:9/coffee",
      RESEND_API_KEY: "re_docs",
      MAIL_FROM: "docs@coffee.test",
      // only parsed here: /openapi.json signs nothing
      JWT_PRIVATE_KEYS: JSON.stringify([{ kid: "docs", kty: "OKP", crv: "Ed25519", d: "unused", x: "unused" }]),
      HASH_SECRET: "a secret only long enough to be valid",
    };
    const response = await buildApp().request("https://api.coffee.test/openapi.json", {}, env);
    expect(response.status).toBe(200);
    const document: Record<string, unknown> = JSON.parse(await response.text());
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });
});
