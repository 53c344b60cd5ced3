import { createRouter } from "../../http/router.ts";
import * as handlers from "./leaving.handlers.ts";
import * as routes from "./leaving.routes.ts";

// mounted before the users router: /users/me and /users/me/export come before /users/{id} and /users/{id}/export
export const leavingRouter = createRouter()
  .openapi(routes.deleteMe, handlers.deleteMeHandler)
  .openapi(routes.cancelDeletion, handlers.cancelDeletionHandler)
  .openapi(routes.exportMe, handlers.exportMeHandler)
  .openapi(routes.exportUser, handlers.exportUserHandler);
