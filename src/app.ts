import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import pkg from "../package.json" with { type: "json" };
import { type Clock, createRouter } from "./app-env.ts";
import { ApiError, problemResponse } from "./errors.ts";
import { bodySizeLimit, jsonBody } from "./middleware/request-body.ts";
import { requestContext } from "./middleware/request-context.ts";
import { requestLog } from "./middleware/request-log.ts";
import { allowedMethodsLookup, endpointsOnly } from "./middleware/routing.ts";
import { corsFromConfig, securityHeaders } from "./middleware/security-headers.ts";
import { authRouter } from "./routes/auth/index.ts";
import { docsRouter } from "./routes/docs.ts";
import { healthRouter } from "./routes/health.ts";
import { usersRouter } from "./routes/users/index.ts";
import { wellKnownRouter } from "./routes/well-known.ts";

export interface AppDependencies {
  /** The clock every rule reads (expiry, grace windows); tests pass one they control. */
  clock: Clock;
}

export function buildApp({ clock }: AppDependencies = { clock: () => new Date() }) {
  const app = createRouter();

  app.use(requestId());
  app.use(requestLog());
  app.use(securityHeaders());
  app.use(requestContext(clock));
  app.use(corsFromConfig());
  app.use(endpointsOnly(bodySizeLimit()));
  app.use(endpointsOnly(jsonBody()));

  app.route("/", healthRouter);
  app.route("/", wellKnownRouter);
  app.route("/", authRouter);
  app.route("/", usersRouter);
  app.route("/", docsRouter);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token from POST /auth/login or POST /auth/refresh",
  });
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "Coffee Shop API",
      version: pkg.version,
      description: "Accounts core of the Coffee Shop API: sign up, verify the address, log in, refresh and manage users.",
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }));

  const allowedMethods = allowedMethodsLookup(() => app.routes);
  app.notFound((c) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length > 0) {
      return problemResponse(
        c,
        new ApiError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}.`, {
          headers: { Allow: allowed.join(", ") },
        }),
      );
    }
    return problemResponse(c, new ApiError("not_found", `There is nothing at ${c.req.path}.`));
  });

  app.onError((error, c) => {
    if (error instanceof ApiError) return problemResponse(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      return problemResponse(c, new ApiError("bad_request", error.message));
    }
    console.error(
      JSON.stringify({
        level: "error",
        msg: "unhandled error",
        request_id: c.get("requestId"),
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      }),
    );
    return problemResponse(c, new ApiError("internal_error", "Something went wrong on our side. Try again later."));
  });

  return app;
}
