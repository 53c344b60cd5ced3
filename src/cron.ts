import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import { purgeExpired } from "./db/maintenance.ts";
import { claimDueMail } from "./db/outbox.ts";
import type { Logger } from "./log.ts";
import { recopyRecentRevocations, type RevocationEdge } from "./revocation.ts";
import { secondsAfter } from "./services/context.ts";
import { deliverMail } from "./services/mail-delivery.ts";

const BATCH_SIZE = 500;
const MAIL_BATCH_SIZE = 50;
const MAIL_LEASE_SECONDS = 5 * 60;
const DAY_SECONDS = 24 * 60 * 60;
// each one costs a KV write and a Cache API write: two of a Worker's subrequests
const RECOPY_BATCH_SIZE = 200;

export interface MaintenanceReport {
  purged: Awaited<ReturnType<typeof purgeExpired>>;
  mail: { attempted: number; sent: number };
  recopied_revocations: number;
}

/**
 * The Cron Trigger's work: purge what expired, retry mail that could not be sent, and copy recent
 * revocations to the edge again, in case an edge write failed after Postgres had committed the revocation.
 */
export async function runMaintenance(
  db: Db,
  edge: RevocationEdge,
  config: Config,
  now: Date,
  log: Logger,
): Promise<MaintenanceReport> {
  const purged = await purgeExpired(db, {
    now,
    unverifiedCreatedBefore: secondsAfter(now, -config.UNVERIFIED_USER_TTL_SECONDS),
    codesDeadBefore: secondsAfter(now, -DAY_SECONDS),
    sentMailBefore: secondsAfter(now, -30 * DAY_SECONDS),
    batchSize: BATCH_SIZE,
  });
  const due = await claimDueMail(db, now, secondsAfter(now, MAIL_LEASE_SECONDS), MAIL_BATCH_SIZE);
  const outcomes = await Promise.all(due.map((mail) => deliverMail(db, config, mail, now, log)));
  const recopied = await recopyRecentRevocations(db, edge, {
    // an access token lives ACCESS_TOKEN_TTL_SECONDS, so older revocations have no token left to refuse
    since: secondsAfter(now, -config.ACCESS_TOKEN_TTL_SECONDS),
    now,
    limit: RECOPY_BATCH_SIZE,
  });
  const report = {
    purged,
    mail: { attempted: due.length, sent: outcomes.filter(Boolean).length },
    recopied_revocations: recopied,
  };
  log.info("maintenance", { ...report });
  return report;
}
