import { OpenAPIHono, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { AccessClaims } from "../auth/tokens.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { validationError } from "./problem-response.ts";
import type { RevocationEdge } from "../edge/revocations.ts";
import type { ServiceContext } from "../services/context.ts";

export type Clock = () => Date;

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    db: ServiceContext["db"];
    clock: Clock;
    edge: RevocationEdge;
    log: Logger;
    /** Set by the bearer guard on authenticated routes. */
    auth: AccessClaims;
  };
}

export type Router = OpenAPIHono<AppEnv>;

/** Every router shares one validation hook, so every invalid input gets the same problem shape. */
export function createRouter(): Router {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
