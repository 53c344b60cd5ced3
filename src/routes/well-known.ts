import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../app-env.ts";
import { publicJwks } from "../auth/tokens.ts";
import { jsonContent } from "./json-body.ts";

const JwksSchema = z
  .object({
    keys: z.array(
      z.object({
        kty: z.string(),
        crv: z.string(),
        x: z.string(),
        y: z.string().optional(),
        kid: z.string(),
        alg: z.string(),
        use: z.literal("sig"),
      }),
    ),
  })
  .openapi("JWKS");

const jwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  operationId: "getJwks",
  tags: ["Keys"],
  security: [],
  summary: "Public keys that verify this API's access tokens",
  description: "Other services verify access tokens with these keys (by kid); no shared secret is needed.",
  responses: {
    200: {
      description: "The JSON Web Key Set",
      content: jsonContent(JwksSchema, {
        keys: [{ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid: "2026-11", alg: "EdDSA", use: "sig" }],
      }),
    },
  },
});

export const wellKnownRouter = createRouter().openapi(jwksRoute, async (c) => {
  c.header("Cache-Control", "public, max-age=300");
  return c.json(await publicJwks(c.var.config), 200);
});
