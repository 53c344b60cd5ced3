import { createRouter } from "../../http/router.ts";
import * as handlers from "./passwords.handlers.ts";
import * as routes from "./passwords.routes.ts";

export const passwordsRouter = createRouter()
  .openapi(routes.forgot, handlers.forgotHandler)
  .openapi(routes.reset, handlers.resetHandler)
  .openapi(routes.change, handlers.changeHandler);
