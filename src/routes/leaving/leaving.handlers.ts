import type { AppRouteHandler as Handler } from "../../http/router.ts";
import { cancelOwnDeletion, deleteOwnAccount, exportData } from "../../services/leaving.ts";
import { MESSAGES } from "../message.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./leaving.routes.ts";

export const deleteMeHandler: Handler<typeof routes.deleteMe> = async (c) =>
  c.json(await deleteOwnAccount(serviceContext(c), c.var.auth), 202);

export const cancelDeletionHandler: Handler<typeof routes.cancelDeletion> = async (c) => {
  await cancelOwnDeletion(serviceContext(c), c.req.valid("json"));
  return c.json({ message: MESSAGES.deletionCancelled }, 200);
};

export const exportMeHandler: Handler<typeof routes.exportMe> = async (c) =>
  c.json(await exportData(serviceContext(c), c.var.auth, c.var.auth.userId), 200);

export const exportUserHandler: Handler<typeof routes.exportUser> = async (c) =>
  c.json(await exportData(serviceContext(c), c.var.auth, c.req.valid("param").id), 200);
