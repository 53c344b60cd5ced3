import type { Context } from "hono";
import { base64url } from "jose";
import { z } from "zod";
import { USER_ID_PATTERN } from "../schemas/user.ts";

// Cursors are opaque to clients so the paging key can change without breaking them. Lists page by a
// bigint id, newest first: a cursor names the last id of the previous page.
const PREFIX = "after:";

export function encodeCursor(lastId: string): string {
  return base64url.encode(`${PREFIX}${lastId}`);
}

function decodeCursor(cursor: string): string | undefined {
  try {
    const text = new TextDecoder().decode(base64url.decode(cursor));
    const id = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : undefined;
    return id !== undefined && USER_ID_PATTERN.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
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

/** Points the client at the next page (RFC 8288 `Link: <…>; rel="next"`), when there is one. */
export function linkNextPage(c: Context, continueAfter: string | undefined): void {
  if (continueAfter === undefined) return;
  const next = new URL(c.req.url);
  next.searchParams.set("cursor", encodeCursor(continueAfter));
  c.header("Link", `<${next.toString()}>; rel="next"`);
}

/** The documented `Link` header of a paged list. */
export const NextPageHeaders = z.object({
  Link: z.string().optional().meta({ description: 'The next page: <url>; rel="next"' }),
});
