import type { AppRouteHandler as Handler } from "../../http/router.ts";
import { resendVerificationCode, signup, verifyCode } from "../../services/registration.ts";
import { login, logout, refresh } from "../../services/sessions.ts";
import { MESSAGES } from "../message.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./auth.routes.ts";

export const signupHandler: Handler<typeof routes.signup> = async (c) => c.json(await signup(serviceContext(c), c.req.valid("json")), 201);

export const verifyHandler: Handler<typeof routes.verify> = async (c) =>
  c.json({ message: await verifyCode(serviceContext(c), c.req.valid("json")) }, 200);

export const resendCodeHandler: Handler<typeof routes.resendCode> = async (c) => {
  await resendVerificationCode(serviceContext(c), c.req.valid("json"));
  return c.json({ message: MESSAGES.codeResent }, 202);
};

export const loginHandler: Handler<typeof routes.login> = async (c) => c.json(await login(serviceContext(c), c.req.valid("json")), 200);

export const refreshHandler: Handler<typeof routes.refresh> = async (c) =>
  c.json(await refresh(serviceContext(c), c.req.valid("json")), 200);

export const logoutHandler: Handler<typeof routes.logout> = async (c) => {
  await logout(serviceContext(c), c.req.valid("json"));
  return c.body(null, 204);
};
