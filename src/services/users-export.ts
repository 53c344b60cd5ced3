// The users list as CSV, for an admin: the filtered list in its order, read in batches by keyset and written out as
// it is read, so a list of any length leaves in bounded memory and no statement returns more than a batch. Audited.
import type { AccessClaims } from "../auth/tokens.ts";
import type { EventDetails } from "../db/events.ts";
import { recordUsersExport, type UserFilters, type UserPosition, usersPageQuery } from "../db/user-list.ts";
import { ApiError } from "../errors.ts";
import type { AdminUser, UserSort } from "../schemas/user.ts";
import type { ServiceContext } from "./context.ts";
import { adminUser } from "./public-user.ts";
import { requireAdminFactor, requireRecentAuthentication } from "./step-up.ts";

/** Users a statement reads: a few hundred kilobytes of rows, well inside what one answer of the database should carry. */
const BATCH = 1000;

const COLUMNS: [header: string, value: (user: AdminUser) => string | number | null][] = [
  ["id", (user) => user.id],
  ["email", (user) => user.email],
  ["first_name", (user) => user.first_name],
  ["last_name", (user) => user.last_name],
  ["status", (user) => user.status],
  ["role", (user) => user.role],
  ["created_at", (user) => user.created_at],
  ["last_sign_in_at", (user) => user.sign_in.last?.at ?? null],
  ["last_sign_in_client", (user) => user.sign_in.last?.client ?? null],
  ["last_sign_in_address", (user) => user.sign_in.last?.client_address ?? null],
  ["password", (user) => user.sign_in.password.standing],
  ["second_factor", (user) => user.sign_in.second_factor.standing],
];

/**
 * A field as RFC 4180 writes it (quoted when it holds a comma, a quote or a line break), and defused against
 * spreadsheet formulas (OWASP, CSV injection): a name or address that starts with = + - @ or a tab is a person's
 * text, not a formula, so it gets a leading apostrophe.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  const defused = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(defused) ? `"${defused.replaceAll('"', '""')}"` : defused;
}

function csvLine(fields: (string | number | null)[]): string {
  return `${fields.map(csvField).join(",")}\r\n`;
}

export interface UsersExport {
  /** What the download is called: the day it was made. */
  filename: string;
  /** The CSV, a batch of lines at a time; the first batch was read before the answer began. */
  chunks: AsyncIterable<string>;
}

interface ExportQuery extends UserFilters {
  sort: UserSort;
}

/** The filters and order an export was asked with, as its event records them. */
function detailsOf(query: ExportQuery): EventDetails {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
}

async function batchAfter(ctx: ServiceContext, query: ExportQuery, after: UserPosition | undefined) {
  const { sort, ...filters } = query;
  return usersPageQuery(ctx.db, { filters, sort, after, limit: BATCH, now: ctx.now }).execute();
}

type Batch = Awaited<ReturnType<typeof batchAfter>>;

async function* csvChunks(ctx: ServiceContext, query: ExportQuery, first: Batch): AsyncGenerator<string> {
  yield csvLine(COLUMNS.map(([header]) => header));
  let batch = first;
  for (;;) {
    yield batch.map((row) => csvLine(COLUMNS.map(([, value]) => value(adminUser(row, ctx.now))))).join("");
    const last = batch.at(-1);
    if (batch.length < BATCH || !last) return;
    batch = await batchAfter(ctx, query, { key: last.sort_key, id: last.id });
  }
}

/**
 * The users the filters match, in the order asked, as CSV: an admin's read of everyone's data, so it needs a recent
 * sign-in, and is recorded (`users_exported`, with the filters and order) only while the admin stands, which the first
 * round trip checks; then one round trip per thousand users, the first before the answer starts (a database that
 * fails it gets a 503, not half a file).
 */
export async function exportUsers(ctx: ServiceContext, actor: AccessClaims, query: ExportQuery): Promise<UsersExport> {
  requireAdminFactor(ctx.config, actor);
  requireRecentAuthentication(ctx, actor);
  const recorded = await recordUsersExport(ctx.db, {
    actor: { id: actor.userId, needs: "admin" },
    details: detailsOf(query),
    events: ctx.events,
  });
  if (!recorded) throw new ApiError("forbidden", "Your account no longer allows this.");
  const first = await batchAfter(ctx, query, undefined);
  return { filename: `users-${ctx.now.toISOString().slice(0, 10)}.csv`, chunks: csvChunks(ctx, query, first) };
}
