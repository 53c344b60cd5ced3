import { z } from "@hono/zod-openapi";
import { UserIdSchema } from "../schemas/user.ts";

export const UserIdParamSchema = z.object({
  id: UserIdSchema.meta({ param: { name: "id", in: "path" }, example: "42" }),
});

/** The size of a page of a list: 50 unless asked, at most 100. */
export const LimitSchema = z.coerce.number().int().min(1).max(100).default(50).openapi({ example: 50 });
