import { buildApp } from "../src/app.ts";

// Only parsed: serving /openapi.json reaches no database and signs nothing.
const DOCUMENT_ENV = {
  DATABASE_URL: "postgres://docs:docs@127.0.0.1:9/coffee",
  RESEND_API_KEY: "re_docs",
  MAIL_FROM: "docs@coffee.test",
  JWT_PRIVATE_KEYS: JSON.stringify([{ kid: "docs", kty: "OKP", crv: "Ed25519", d: "unused", x: "unused" }]),
  HASH_SECRET: "a secret only long enough to be valid",
};

/** The OpenAPI document exactly as the API serves it at /openapi.json, from the app the Worker runs. */
export async function openApiDocumentText(origin = "https://api.coffee.test"): Promise<string> {
  const response = await buildApp().request(`${origin}/openapi.json`, {}, DOCUMENT_ENV);
  if (response.status !== 200) throw new Error(`/openapi.json answered ${response.status}: ${await response.text()}`);
  return response.text();
}
