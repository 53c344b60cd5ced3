import { z } from "zod";

/** A public key that verifies access tokens, as /.well-known/jwks.json publishes it. */
export const PublicJwkSchema = z.object({
  kty: z.string(),
  crv: z.string(),
  x: z.string(),
  y: z.string().optional(),
  kid: z.string(),
  alg: z.string(),
  use: z.literal("sig"),
});
export type PublicJwk = z.infer<typeof PublicJwkSchema>;

export const JwksSchema = z.object({ keys: z.array(PublicJwkSchema) }).meta({ id: "JWKS" });
export type Jwks = z.infer<typeof JwksSchema>;
