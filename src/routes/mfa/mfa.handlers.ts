import type { AppRouteHandler as Handler } from "../../http/router.ts";
import {
  completeMfaLogin,
  confirmTotp,
  disableTotp,
  reauthenticateSession,
  resetUserFactor,
  startTotpEnrolment,
} from "../../services/mfa.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./mfa.routes.ts";

export const startTotpHandler: Handler<typeof routes.startTotp> = async (c) =>
  c.json(await startTotpEnrolment(serviceContext(c), c.var.auth, c.req.valid("json")), 201);

export const confirmTotpHandler: Handler<typeof routes.confirmTotp> = async (c) =>
  c.json(await confirmTotp(serviceContext(c), c.var.auth, c.req.valid("json")), 200);

export const disableTotpHandler: Handler<typeof routes.disableTotp> = async (c) =>
  c.json(await disableTotp(serviceContext(c), c.var.auth, c.req.valid("json")), 200);

export const loginWithFactorHandler: Handler<typeof routes.loginWithFactor> = async (c) =>
  c.json(await completeMfaLogin(serviceContext(c), c.req.valid("json")), 200);

export const reauthenticateHandler: Handler<typeof routes.reauthenticate> = async (c) =>
  c.json(await reauthenticateSession(serviceContext(c), c.var.auth, c.req.valid("json")), 200);

export const resetUserFactorHandler: Handler<typeof routes.resetUserFactor> = async (c) => {
  await resetUserFactor(serviceContext(c), c.var.auth, c.req.valid("param").id);
  return c.body(null, 204);
};
