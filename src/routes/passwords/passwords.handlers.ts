import type { AppRouteHandler as Handler } from "../../http/router.ts";
import { changePassword, forgotPassword, resetPassword } from "../../services/passwords.ts";
import { MESSAGES } from "../message.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./passwords.routes.ts";

export const forgotHandler: Handler<typeof routes.forgot> = async (c) => {
  await forgotPassword(serviceContext(c), c.req.valid("json"));
  return c.json({ message: MESSAGES.resetCodeSent }, 202);
};

export const resetHandler: Handler<typeof routes.reset> = async (c) => {
  await resetPassword(serviceContext(c), c.req.valid("json"));
  return c.json({ message: MESSAGES.passwordReset }, 200);
};

export const changeHandler: Handler<typeof routes.change> = async (c) =>
  c.json(await changePassword(serviceContext(c), c.var.auth, c.req.valid("json")), 200);
