import type { AppRouteHandler as Handler } from "../../http/router.ts";
import { listEventsPage } from "../../services/events.ts";
import { linkNextPage } from "../cursor.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./events.routes.ts";

export const listHandler: Handler<typeof routes.list> = async (c) => {
  const { cursor, user_id: userId, ...query } = c.req.valid("query");
  const { events, continueAfter } = await listEventsPage(serviceContext(c), { ...query, userId, afterId: cursor });
  linkNextPage(c, continueAfter);
  return c.json(events, 200);
};

export const listOfUserHandler: Handler<typeof routes.listOfUser> = async (c) => {
  const { cursor, ...query } = c.req.valid("query");
  const { events, continueAfter } = await listEventsPage(serviceContext(c), { ...query, userId: c.req.valid("param").id, afterId: cursor });
  linkNextPage(c, continueAfter);
  return c.json(events, 200);
};
