import type { AppRouteHandler as Handler } from "../../http/router.ts";
import { countsPerDay, listEventsPage } from "../../services/events.ts";
import { encodeCursor, linkNextPage } from "../cursor.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./events.routes.ts";

export const listHandler: Handler<typeof routes.list> = async (c) => {
  const { cursor, user_id: userId, email, ...query } = c.req.valid("query");
  const account = userId !== undefined ? { userId } : email !== undefined ? { email } : undefined;
  const { events, continueAfter } = await listEventsPage(serviceContext(c), { ...query, account, afterId: cursor });
  linkNextPage(c, continueAfter && encodeCursor(continueAfter));
  return c.json(events, 200);
};

export const listOfUserHandler: Handler<typeof routes.listOfUser> = async (c) => {
  const { cursor, ...query } = c.req.valid("query");
  const account = { userId: c.req.valid("param").id };
  const { events, continueAfter } = await listEventsPage(serviceContext(c), { ...query, account, afterId: cursor });
  linkNextPage(c, continueAfter && encodeCursor(continueAfter));
  return c.json(events, 200);
};

export const dailyHandler: Handler<typeof routes.daily> = async (c) =>
  c.json(await countsPerDay(serviceContext(c), c.req.valid("query").days), 200);
