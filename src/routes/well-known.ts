import { createRoute } from "@hono/zod-openapi";
import { JwksSchema } from "../schemas/keys.ts";
import { createRouter } from "../http/router.ts";
import { publicJwks } from "../auth/tokens.ts";
import { jsonContent } from "./json-body.ts";

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
