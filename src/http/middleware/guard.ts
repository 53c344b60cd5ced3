import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../router.ts";
import { ApiError } from "../../errors.ts";
import { HttpProblem } from "../problem-response.ts";
import { EdgeUnavailableError, isAccessRevoked, type TokenSession } from "../../edge/revocations.ts";
import type { UserRole } from "../../schemas/user.ts";
import { InvalidTokenError, verifyAccessToken } from "../../auth/tokens.ts";
import { requireAdminFactor } from "../../services/step-up.ts";

const REALM = 'Bearer realm="coffee-shop"';

function unauthorized(code: "unauthorized" | "invalid_token", detail: string): HttpProblem {
  // RFC 6750: say why only when a token was presented
  const challenge = code === "invalid_token" ? `${REALM}, error="invalid_token"` : REALM;
  return new HttpProblem(code, detail, { headers: { "WWW-Authenticate": challenge } });
}

/**
 * Asks the edge whether the token's session has ended, by itself or with every session of its user. When it cannot tell (KV or the Cache API failing), the
 * request is refused with 503, not admitted on the signature alone: a token that may have been revoked
 * is never honoured, at the price of signed-in requests failing while the edge stores do.
 */
async function sessionEnded(c: Context<AppEnv>, token: TokenSession): Promise<boolean> {
  try {
    return await isAccessRevoked(c.var.edge, token);
  } catch (error) {
    if (!(error instanceof EdgeUnavailableError)) throw error;
    c.var.log.error("revocation stores unavailable: signed-in requests refused", { error: error.message });
    throw new ApiError("service_unavailable", "Sessions cannot be checked just now. Try again shortly.", { retryAfterSeconds: 5 });
  }
}

/**
 * Admits a request carrying a valid, unrevoked access token, optionally only for some roles.
 * It costs no SQL: the signature and claims are checked locally, revocation at the edge.
 */
export function requireAuth(options: { roles?: UserRole[] } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("Authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw unauthorized("unauthorized", "This endpoint needs an access token (Authorization: Bearer <token>).");
    let claims;
    try {
      claims = await verifyAccessToken(c.var.config, match[1], c.var.clock());
    } catch (error) {
      if (error instanceof InvalidTokenError) throw unauthorized("invalid_token", error.message);
      throw error;
    }
    if (await sessionEnded(c, claims)) throw unauthorized("invalid_token", "The session of this token has ended.");
    if (options.roles && !options.roles.includes(claims.role)) {
      throw new ApiError("forbidden", "Your role does not allow this.");
    }
    if (options.roles?.includes("admin")) requireAdminFactor(c.var.config, claims);
    c.set("auth", claims);
    return next();
  };
}
