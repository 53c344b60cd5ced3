import { createRouter } from "../../http/router.ts";
import * as handlers from "./events.handlers.ts";
import * as routes from "./events.routes.ts";

export const eventsRouter = createRouter()
  .openapi(routes.list, handlers.listHandler)
  .openapi(routes.listOfUser, handlers.listOfUserHandler);
