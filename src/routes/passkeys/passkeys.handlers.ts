import type { AppRouteHandler as Handler } from "../../http/router.ts";
import {
  listUserPasskeys,
  reauthenticateWithPasskey,
  reauthenticationOptions,
  registerPasskey,
  registrationOptions,
  removeOwnPasskey,
  removeUserPasskey,
  renameOwnPasskey,
  signInOptions,
  signInWithPasskey,
} from "../../services/passkeys.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./passkeys.routes.ts";

export const registrationOptionsHandler: Handler<typeof routes.registrationOptions> = async (c) =>
  c.json(await registrationOptions(serviceContext(c), c.var.auth), 200);

export const registerHandler: Handler<typeof routes.register> = async (c) =>
  c.json(await registerPasskey(serviceContext(c), c.var.auth, c.req.valid("json")), 201);

export const listOwnHandler: Handler<typeof routes.listOwn> = async (c) =>
  c.json(await listUserPasskeys(serviceContext(c), c.var.auth.userId, "own"), 200);

export const renameOwnHandler: Handler<typeof routes.renameOwn> = async (c) =>
  c.json(await renameOwnPasskey(serviceContext(c), c.var.auth, c.req.valid("param").id, c.req.valid("json")), 200);

export const removeOwnHandler: Handler<typeof routes.removeOwn> = async (c) => {
  await removeOwnPasskey(serviceContext(c), c.var.auth, c.req.valid("param").id, c.req.valid("json"));
  return c.body(null, 204);
};

export const signInOptionsHandler: Handler<typeof routes.signInOptions> = async (c) =>
  c.json(await signInOptions(serviceContext(c), c.req.valid("json")), 200);

export const signInHandler: Handler<typeof routes.signIn> = async (c) =>
  c.json(await signInWithPasskey(serviceContext(c), c.req.valid("json")), 200);

export const reauthenticationOptionsHandler: Handler<typeof routes.reauthenticationOptions> = async (c) =>
  c.json(await reauthenticationOptions(serviceContext(c), c.var.auth), 200);

export const reauthenticateHandler: Handler<typeof routes.reauthenticate> = async (c) =>
  c.json(await reauthenticateWithPasskey(serviceContext(c), c.var.auth, c.req.valid("json")), 200);

export const listOfUserHandler: Handler<typeof routes.listOfUser> = async (c) =>
  c.json(await listUserPasskeys(serviceContext(c), c.req.valid("param").id, "user"), 200);

export const removeOfUserHandler: Handler<typeof routes.removeOfUser> = async (c) => {
  const { id, passkey_id: passkeyId } = c.req.valid("param");
  await removeUserPasskey(serviceContext(c), c.var.auth, id, passkeyId);
  return c.body(null, 204);
};
