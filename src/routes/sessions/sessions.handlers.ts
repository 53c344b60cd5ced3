import type { AppRouteHandler as Handler } from "../../http/router.ts";
import { endAllSessions, endOneSession, listOwnSessions, listUserSessions } from "../../services/account-sessions.ts";
import { forgetUserDevice, reportUnknownSignIn } from "../../services/devices.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./sessions.routes.ts";

export const listOwnHandler: Handler<typeof routes.listOwn> = async (c) =>
  c.json(await listOwnSessions(serviceContext(c), c.var.auth), 200);

export const endOwnHandler: Handler<typeof routes.endOwn> = async (c) => {
  const { auth } = c.var;
  await endOneSession(serviceContext(c), auth, { userId: auth.userId, sessionId: c.req.valid("param").id, by: "owner" });
  return c.body(null, 204);
};

export const endAllOwnHandler: Handler<typeof routes.endAllOwn> = async (c) => {
  await endAllSessions(serviceContext(c), c.var.auth, c.var.auth.userId, "owner");
  return c.body(null, 204);
};

export const listUsersHandler: Handler<typeof routes.listUsers> = async (c) =>
  c.json(await listUserSessions(serviceContext(c), c.req.valid("param").id), 200);

export const endAllOfUserHandler: Handler<typeof routes.endAllOfUser> = async (c) => {
  await endAllSessions(serviceContext(c), c.var.auth, c.req.valid("param").id, "admin");
  return c.body(null, 204);
};

export const endOneOfUserHandler: Handler<typeof routes.endOneOfUser> = async (c) => {
  const { id, session_id: sessionId } = c.req.valid("param");
  await endOneSession(serviceContext(c), c.var.auth, { userId: id, sessionId, by: "admin" });
  return c.body(null, 204);
};

export const forgetOwnDeviceHandler: Handler<typeof routes.forgetOwnDevice> = async (c) => {
  const { auth } = c.var;
  await forgetUserDevice(serviceContext(c), auth, { userId: auth.userId, deviceId: c.req.valid("param").id, by: "owner" });
  return c.body(null, 204);
};

export const forgetUserDeviceHandler: Handler<typeof routes.forgetUserDevice> = async (c) => {
  const { id, device_id: deviceId } = c.req.valid("param");
  await forgetUserDevice(serviceContext(c), c.var.auth, { userId: id, deviceId, by: "admin" });
  return c.body(null, 204);
};

export const reportSignInHandler: Handler<typeof routes.reportSignIn> = async (c) =>
  c.json({ message: await reportUnknownSignIn(serviceContext(c), c.req.valid("json").token) }, 200);
