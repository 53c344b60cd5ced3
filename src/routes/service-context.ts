import type { Context } from "hono";
import type { AppEnv } from "../http/router.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import { networkOf, USER_AGENT_MAX_LENGTH } from "../http/client-address.ts";
import type { ClientInfo, ServiceContext } from "../services/context.ts";

/** Who is calling: Cloudflare sets CF-Connecting-IP on every request it forwards. */
export function clientInfo(c: Context<AppEnv>): ClientInfo {
  const address = c.req.header("CF-Connecting-IP");
  const country = c.req.raw.cf?.country;
  return {
    address,
    network: networkOf(address),
    userAgent: (c.req.header("User-Agent") ?? "").slice(0, USER_AGENT_MAX_LENGTH),
    country: typeof country === "string" ? country : null,
  };
}

/** Hands a use case what it needs from the request, and nothing of Hono. */
export function serviceContext(c: Context<AppEnv>): ServiceContext {
  const now = c.var.clock();
  const client = clientInfo(c);
  // set by the bearer guard on the routes that have one
  const claims: AccessClaims | undefined = c.get("auth");
  return {
    db: c.var.db,
    config: c.var.config,
    edge: c.var.edge,
    now,
    client,
    events: {
      actorId: claims?.userId ?? null,
      clientAddress: client.address ?? null,
      userAgent: client.userAgent || null,
      requestId: c.get("requestId"),
      now,
    },
    defer: (work) => c.executionCtx.waitUntil(work),
    log: c.var.log,
  };
}
