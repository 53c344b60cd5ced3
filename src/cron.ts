import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import { purgeExpired } from "./db/maintenance.ts";
import { claimDueMail } from "./db/outbox.ts";
import { recentlyRevokedSessions } from "./db/sessions.ts";
import { cacheRevokedSessions } from "./auth/revocations.ts";
import { secondsAfter } from "./services/context.ts";
import { deliverMail } from "./services/mail-delivery.ts";

const BATCH_SIZE = 500;
const MAIL_BATCH_SIZE = 50;
const MAIL_LEASE_SECONDS = 5 * 60;
const DAY_SECONDS = 24 * 60 * 60;
// each one costs a KV write and a Cache API write: two of a Worker's subrequests
const RECACHE_BATCH_SIZE = 200;

export interface MaintenanceReport {
  purged: Awaited<ReturnType<typeof purgeExpired>>;
  mail: { attempted: number; sent: number };
  recached_revocations: number;
}

/**
 * The Cron Trigger's work: purge what expired, retry mail that could not be sent, and copy recent
 * revocations to the edge again, in case a KV write failed after Postgres had committed the revocation.
 */
export async function runMaintenance(db: Db, kv: KVNamespace, config: Config, now: Date): Promise<MaintenanceReport> {
  const purged = await purgeExpired(db, {
    now,
    unverifiedCreatedBefore: secondsAfter(now, -config.UNVERIFIED_USER_TTL_SECONDS),
    codesDeadBefore: secondsAfter(now, -DAY_SECONDS),
    sentMailBefore: secondsAfter(now, -30 * DAY_SECONDS),
    batchSize: BATCH_SIZE,
  });
  const due = await claimDueMail(db, now, secondsAfter(now, MAIL_LEASE_SECONDS), MAIL_BATCH_SIZE);
  const outcomes = await Promise.all(due.map((mail) => deliverMail(db, config, mail, now)));
  // an access token lives ACCESS_TOKEN_TTL_SECONDS, so older revocations have no token left to refuse
  const revoked = await recentlyRevokedSessions(
    db,
    secondsAfter(now, -config.ACCESS_TOKEN_TTL_SECONDS),
    now,
    RECACHE_BATCH_SIZE,
  );
  await cacheRevokedSessions(kv, revoked, now);
  const report = {
    purged,
    mail: { attempted: due.length, sent: outcomes.filter(Boolean).length },
    recached_revocations: revoked.length,
  };
  console.log(JSON.stringify({ level: "info", msg: "maintenance", ...report }));
  return report;
}
