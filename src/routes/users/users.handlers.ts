import type { AppRouteHandler as Handler } from "../../http/router.ts";
import { getOwnUser, getUser, listUsersPage, patchUser, removeUser, unlockUser } from "../../services/users.ts";
import { textStream } from "../../http/text-stream.ts";
import { exportUsers } from "../../services/users-export.ts";
import { serviceContext } from "../service-context.ts";
import { encodeUserCursor, linkNextPage } from "../cursor.ts";
import type * as routes from "./users.routes.ts";

export const meHandler: Handler<typeof routes.me> = async (c) => c.json(await getOwnUser(serviceContext(c), c.var.auth), 200);

export const listHandler: Handler<typeof routes.list> = async (c) => {
  const { cursor, email, ...query } = c.req.valid("query");
  const { users, next, total } = await listUsersPage(serviceContext(c), { ...query, emailPrefix: email, after: cursor });
  linkNextPage(c, next && encodeUserCursor(next));
  if (total) {
    c.header("X-Total-Count", String(total.count));
    c.header("X-Total-Count-Exact", String(total.exact));
  }
  return c.json(users, 200);
};

export const getHandler: Handler<typeof routes.get> = async (c) => c.json(await getUser(serviceContext(c), c.req.valid("param").id), 200);

export const patchHandler: Handler<typeof routes.patch> = async (c) =>
  c.json(await patchUser(serviceContext(c), c.var.auth, c.req.valid("param").id, c.req.valid("json")), 200);

export const removeHandler: Handler<typeof routes.remove> = async (c) => {
  await removeUser(serviceContext(c), c.var.auth, c.req.valid("param").id);
  return c.body(null, 204);
};

export const unlockHandler: Handler<typeof routes.unlock> = async (c) => {
  await unlockUser(serviceContext(c), c.var.auth, c.req.valid("param").id);
  return c.body(null, 204);
};

export const exportCsvHandler: Handler<typeof routes.exportCsv> = async (c) => {
  const { email, ...query } = c.req.valid("query");
  const { filename, chunks } = await exportUsers(serviceContext(c), c.var.auth, { ...query, emailPrefix: email });
  return c.body(textStream(chunks, c.var.log), 200, {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${filename}"`,
  });
};
