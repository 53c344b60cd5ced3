import { createRouter } from "../../http/router.ts";
import * as handlers from "./auth.handlers.ts";
import * as routes from "./auth.routes.ts";

export const authRouter = createRouter()
  .openapi(routes.signup, handlers.signupHandler)
  .openapi(routes.verify, handlers.verifyHandler)
  .openapi(routes.resendCode, handlers.resendCodeHandler)
  .openapi(routes.login, handlers.loginHandler)
  .openapi(routes.refresh, handlers.refreshHandler)
  .openapi(routes.logout, handlers.logoutHandler);
