import { createRouter } from "../../http/router.ts";
import * as handlers from "./mfa.handlers.ts";
import * as routes from "./mfa.routes.ts";

export const mfaRouter = createRouter()
  .openapi(routes.startTotp, handlers.startTotpHandler)
  .openapi(routes.confirmTotp, handlers.confirmTotpHandler)
  .openapi(routes.disableTotp, handlers.disableTotpHandler)
  .openapi(routes.loginWithFactor, handlers.loginWithFactorHandler)
  .openapi(routes.reauthenticate, handlers.reauthenticateHandler)
  .openapi(routes.resetUserFactor, handlers.resetUserFactorHandler);
