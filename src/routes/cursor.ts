import type { Context } from "hono";
import { base64url } from "jose";
import { z } from "zod";
import { USER_ID_PATTERN, type UserCursor, UserSortSchema } from "../schemas/user.ts";

// Cursors are opaque to clients so the paging key can change without breaking them. The audit trail pages by a
// bigint id, newest first: its cursor names the last id of the previous page. The users list pages in one of its
// orders: its cursor names the order, and the last user's sort key and id in it.
const PREFIX = "after:";

function decoded(cursor: string): string | undefined {
  try {
    return new TextDecoder().decode(base64url.decode(cursor));
  } catch {
    return undefined;
  }
}

export function encodeCursor(lastId: string): string {
  return base64url.encode(`${PREFIX}${lastId}`);
}

function decodeCursor(cursor: string): string | undefined {
  const text = decoded(cursor);
  const id = text?.startsWith(PREFIX) ? text.slice(PREFIX.length) : undefined;
  return id !== undefined && USER_ID_PATTERN.test(id) ? id : undefined;
}

/** A cursor from a Link header, read back as the id of the last item of the previous page. */
export const CursorSchema = z
  .string()
  .max(100)
  .transform((cursor, ctx) => {
    const id = decodeCursor(cursor);
    if (id === undefined) ctx.addIssue({ code: "custom", message: "Invalid cursor" });
    return id ?? z.NEVER;
  })
  .meta({ description: "From the Link header of the previous page" });

/** An instant as the list's statement writes a sort key: to the microsecond, in UTC. */
const INSTANT_KEY = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

const UserCursorFields = z
  .object({ s: UserSortSchema, k: z.string().max(254).nullable(), i: z.string().regex(USER_ID_PATTERN) })
  // each order's key is what its statement reads back: an instant (none for who never signed in), or an address
  .refine(({ s, k }) => (s.endsWith("email") ? k !== null : k === null ? s.endsWith("last_sign_in_at") : INSTANT_KEY.test(k)));

export function encodeUserCursor(cursor: UserCursor): string {
  return base64url.encode(JSON.stringify({ s: cursor.sort, k: cursor.key, i: cursor.id }));
}

function decodeUserCursor(cursor: string): UserCursor | undefined {
  const text = decoded(cursor);
  if (text === undefined) return undefined;
  let fields: unknown;
  try {
    fields = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = UserCursorFields.safeParse(fields);
  return parsed.success ? { sort: parsed.data.s, key: parsed.data.k, id: parsed.data.i } : undefined;
}

/** A cursor of the users list, from its Link header. */
export const UserCursorSchema = z
  .string()
  .max(500)
  .transform((cursor, ctx) => {
    const position = decodeUserCursor(cursor);
    if (position === undefined) ctx.addIssue({ code: "custom", message: "Invalid cursor" });
    return position ?? z.NEVER;
  })
  .meta({ description: "From the Link header of the previous page (it holds the order it was made for)" });

/** Points the client at the next page (RFC 8288 `Link: <…>; rel="next"`), when there is one. */
export function linkNextPage(c: Context, cursor: string | undefined): void {
  if (cursor === undefined) return;
  const next = new URL(c.req.url);
  next.searchParams.set("cursor", cursor);
  c.header("Link", `<${next.toString()}>; rel="next"`);
}

/** The documented `Link` header of a paged list. */
export const NextPageHeaders = z.object({
  Link: z.string().optional().meta({ description: 'The next page: <url>; rel="next"' }),
});
