import type { AppRouteHandler as Handler } from "../../app-env.ts";
import { changePassword, forgotPassword, resetPassword } from "../../services/passwords.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./passwords.routes.ts";

export const forgotHandler: Handler<typeof routes.forgot> = async (c) => {
  await forgotPassword(serviceContext(c), c.req.valid("json"));
  return c.json({ message: "If this address has an account, a code to reset its password is on its way." }, 202);
};

export const resetHandler: Handler<typeof routes.reset> = async (c) => {
  await resetPassword(serviceContext(c), c.req.valid("json"));
  return c.json({ message: "Password reset. Every session has ended: log in with the new password." }, 200);
};

export const changeHandler: Handler<typeof routes.change> = async (c) =>
  c.json(await changePassword(serviceContext(c), c.var.auth, c.req.valid("json")), 200);
