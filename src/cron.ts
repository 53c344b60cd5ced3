import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import { purgeExpired } from "./db/maintenance.ts";
import { claimDueMail } from "./db/outbox.ts";
import { secondsAfter } from "./services/context.ts";
import { deliverMail } from "./services/mail-delivery.ts";

const BATCH_SIZE = 500;
const MAIL_BATCH_SIZE = 50;
const MAIL_LEASE_SECONDS = 5 * 60;
const DAY_SECONDS = 24 * 60 * 60;

export interface MaintenanceReport {
  purged: Awaited<ReturnType<typeof purgeExpired>>;
  mail: { attempted: number; sent: number };
}

/** The Cron Trigger's work: purge what expired, then retry mail that could not be sent. */
export async function runMaintenance(db: Db, config: Config, now: Date): Promise<MaintenanceReport> {
  const purged = await purgeExpired(db, {
    now,
    unverifiedCreatedBefore: secondsAfter(now, -config.UNVERIFIED_USER_TTL_SECONDS),
    codesDeadBefore: secondsAfter(now, -DAY_SECONDS),
    sentMailBefore: secondsAfter(now, -30 * DAY_SECONDS),
    batchSize: BATCH_SIZE,
  });
  const due = await claimDueMail(db, now, secondsAfter(now, MAIL_LEASE_SECONDS), MAIL_BATCH_SIZE);
  const outcomes = await Promise.all(due.map((mail) => deliverMail(db, config, mail, now)));
  const report = { purged, mail: { attempted: due.length, sent: outcomes.filter(Boolean).length } };
  console.log(JSON.stringify({ level: "info", msg: "maintenance", ...report }));
  return report;
}
