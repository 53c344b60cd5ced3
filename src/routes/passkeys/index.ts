import { createRouter } from "../../http/router.ts";
import * as handlers from "./passkeys.handlers.ts";
import * as routes from "./passkeys.routes.ts";

export const passkeysRouter = createRouter()
  .openapi(routes.registrationOptions, handlers.registrationOptionsHandler)
  .openapi(routes.register, handlers.registerHandler)
  .openapi(routes.listOwn, handlers.listOwnHandler)
  .openapi(routes.signInOptions, handlers.signInOptionsHandler)
  .openapi(routes.signIn, handlers.signInHandler)
  .openapi(routes.reauthenticationOptions, handlers.reauthenticationOptionsHandler)
  .openapi(routes.reauthenticate, handlers.reauthenticateHandler)
  .openapi(routes.renameOwn, handlers.renameOwnHandler)
  .openapi(routes.removeOwn, handlers.removeOwnHandler)
  .openapi(routes.listOfUser, handlers.listOfUserHandler)
  .openapi(routes.removeOfUser, handlers.removeOfUserHandler);
