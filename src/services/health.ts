import { pingDatabase } from "../db/health.ts";
import { databaseUnavailable } from "../errors.ts";
import { describeError } from "../log.ts";
import type { ServiceContext } from "./context.ts";

/** Proves the database answers (one round trip); 503 when it does not. */
export async function checkDatabase(ctx: ServiceContext): Promise<void> {
  try {
    await pingDatabase(ctx.db);
  } catch (error) {
    ctx.log.error("health check failed", { error: describeError(error) });
    throw databaseUnavailable();
  }
}
