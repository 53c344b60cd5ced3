import { createRouter } from "../../http/router.ts";
import * as handlers from "./sessions.handlers.ts";
import * as routes from "./sessions.routes.ts";

export const sessionsRouter = createRouter()
  .openapi(routes.listOwn, handlers.listOwnHandler)
  .openapi(routes.endOwn, handlers.endOwnHandler)
  .openapi(routes.endAllOwn, handlers.endAllOwnHandler)
  .openapi(routes.listUsers, handlers.listUsersHandler)
  .openapi(routes.endAllOfUser, handlers.endAllOfUserHandler)
  .openapi(routes.endOneOfUser, handlers.endOneOfUserHandler)
  .openapi(routes.forgetOwnDevice, handlers.forgetOwnDeviceHandler)
  .openapi(routes.forgetUserDevice, handlers.forgetUserDeviceHandler)
  .openapi(routes.reportSignIn, handlers.reportSignInHandler);
