import { createRouter } from "../../http/router.ts";
import * as handlers from "./events.handlers.ts";
import * as routes from "./events.routes.ts";

export const eventsRouter = createRouter()
  .openapi(routes.list, handlers.listHandler)
  .openapi(routes.daily, handlers.dailyHandler)
  .openapi(routes.listOfUser, handlers.listOfUserHandler);
