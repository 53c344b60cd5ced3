import { HTTPException } from "hono/http-exception";
import pkg from "../package.json" with { type: "json" };
import type { ErrorHandler, NotFoundHandler } from "hono";
import { type AppEnv, createRouter, type Router } from "./http/router.ts";
import { isDatabaseUnavailable } from "./db/errors.ts";
import { ApiError, databaseUnavailable } from "./errors.ts";
import { describeError } from "./log.ts";
import { requestBodyRules } from "./http/middleware/request-body.ts";
import { limitPerClientAddress } from "./http/middleware/rate-limit.ts";
import { requestContext, type RequestDependencies, serverRequestId } from "./http/middleware/request-context.ts";
import { allowedMethodsLookup, bodyEndpointsOnly, bodyOperationsLookup } from "./http/middleware/routing.ts";
import { corsFromConfig, securityHeaders } from "./http/middleware/security-headers.ts";
import { HttpProblem, problemResponse } from "./http/problem-response.ts";
import { productionEdge } from "./edge/revocations.ts";
import { authRouter } from "./routes/auth/index.ts";
import { docsRouter } from "./routes/docs.ts";
import { eventsRouter } from "./routes/events/index.ts";
import { healthRouter } from "./routes/health.ts";
import { identitiesRouter } from "./routes/identities/index.ts";
import { leavingRouter } from "./routes/leaving/index.ts";
import { mfaRouter } from "./routes/mfa/index.ts";
import { passkeysRouter } from "./routes/passkeys/index.ts";
import { passwordsRouter } from "./routes/passwords/index.ts";
import { sessionsRouter } from "./routes/sessions/index.ts";
import { usersRouter } from "./routes/users/index.ts";
import { wellKnownRouter } from "./routes/well-known.ts";

/** What the app takes from its surroundings; tests replace some of it (a clock they move, failing stores). */
export type AppDependencies = RequestDependencies;

const productionDependencies: AppDependencies = { clock: () => new Date(), revocationEdge: productionEdge };

/** The middleware every request passes, in order. */
function useMiddleware(app: Router, dependencies: AppDependencies): void {
  app.use(serverRequestId());
  app.use(securityHeaders());
  app.use(requestContext(dependencies));
  app.use(corsFromConfig());
  const bodyTypes = bodyOperationsLookup(() =>
    app.openAPIRegistry.definitions.flatMap((definition) =>
      definition.type === "route"
        ? [
            {
              method: definition.route.method,
              path: definition.route.path,
              mediaTypes: Object.keys(definition.route.request?.body?.content ?? {}),
            },
          ]
        : [],
    ),
  );
  app.use(bodyEndpointsOnly(bodyTypes, requestBodyRules));
  // every /auth endpoint, whichever router holds it, counts against the client's allowance
  app.use("/auth/*", limitPerClientAddress());
}

/** The OpenAPI document at /openapi.json, with the bearer scheme the operations name. */
function serveDocument(app: Router): void {
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
}

/** A path no route serves: 405 with Allow when another method would be served there, else 404. */
function answerUnrouted(app: Router): NotFoundHandler<AppEnv> {
  const allowedMethods = allowedMethodsLookup(() => app.routes);
  return (c) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length === 0) return problemResponse(c, new ApiError("not_found", `There is nothing at ${c.req.path}.`));
    return problemResponse(
      c,
      new HttpProblem("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}.`, { headers: { Allow: allowed.join(", ") } }),
    );
  };
}

/** Every failure as problem+json: ours by its code, the database's as 503, anything else as 500 without its details. */
const answerError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof ApiError) return problemResponse(c, error);
  if (isDatabaseUnavailable(error)) {
    // nothing was half-written: every use case is one statement or one transaction
    c.var.log.error("database unavailable", { error: describeError(error) });
    return problemResponse(c, databaseUnavailable());
  }
  if (error instanceof HTTPException && error.status < 500) return problemResponse(c, new ApiError("bad_request", error.message));
  c.var.log.error("unhandled error", { error: describeError(error), stack: error instanceof Error ? error.stack : undefined });
  return problemResponse(c, new ApiError("internal_error", "Something went wrong on our side. Try again later."));
};

export function buildApp(overrides: Partial<AppDependencies> = {}) {
  const app = createRouter();
  useMiddleware(app, { ...productionDependencies, ...overrides });
  // chained, so the app's type carries every route: typed clients are built from it (clients/)
  const api = app
    .route("/", healthRouter)
    .route("/", wellKnownRouter)
    .route("/", authRouter)
    .route("/", passwordsRouter)
    .route("/", sessionsRouter)
    .route("/", mfaRouter)
    .route("/", identitiesRouter)
    .route("/", passkeysRouter)
    .route("/", leavingRouter)
    .route("/", usersRouter)
    .route("/", eventsRouter)
    .route("/", docsRouter);
  serveDocument(app);
  app.notFound(answerUnrouted(app));
  app.onError(answerError);
  return api;
}

/** The API's routes with their inputs and outputs, for `hono/client` (see clients/). */
export type AppType = ReturnType<typeof buildApp>;
