import { createRouter } from "../../http/router.ts";
import * as handlers from "./identities.handlers.ts";
import * as routes from "./identities.routes.ts";

export const identitiesRouter = createRouter()
  .openapi(routes.listProviders, handlers.listProvidersHandler)
  .openapi(routes.start, handlers.startHandler)
  .openapi(routes.callback, handlers.callbackHandler)
  .openapi(routes.postedCallback, handlers.postedCallbackHandler)
  .openapi(routes.exchange, handlers.exchangeHandler)
  .openapi(routes.startLink, handlers.startLinkHandler)
  .openapi(routes.listOwn, handlers.listOwnHandler)
  .openapi(routes.unlinkOwn, handlers.unlinkOwnHandler)
  .openapi(routes.listOfUser, handlers.listOfUserHandler)
  .openapi(routes.unlinkOfUser, handlers.unlinkOfUserHandler);
