import { createRouter } from "../../http/router.ts";
import * as handlers from "./users.handlers.ts";
import * as routes from "./users.routes.ts";

// /users/me before /users/{id}: the first matching route wins
export const usersRouter = createRouter()
  .openapi(routes.me, handlers.meHandler)
  .openapi(routes.list, handlers.listHandler)
  .openapi(routes.exportCsv, handlers.exportCsvHandler)
  .openapi(routes.get, handlers.getHandler)
  .openapi(routes.patch, handlers.patchHandler)
  .openapi(routes.remove, handlers.removeHandler)
  .openapi(routes.unlock, handlers.unlockHandler);
