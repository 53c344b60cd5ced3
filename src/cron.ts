import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import { nothingPurged, PURGED, type PurgeCounts, purgeExpired } from "./db/maintenance.ts";
import { eraseDueAccounts } from "./db/leaving.ts";
import { claimDueMail } from "./db/outbox.ts";
import { describeError, type Logger } from "./log.ts";
import { recopyRecentEndings, type RevocationEdge } from "./edge/revocations.ts";
import { POLICY } from "./policy.ts";
import { secondsAfter } from "./services/context.ts";
import { sendDueDeviceNotices } from "./services/devices.ts";
import { deliverMail } from "./services/mail-delivery.ts";

const MAIL_BATCH_SIZE = 50;
// accounts whose waiting new-device notices go out in one run; each is a statement and a send
const DEVICE_NOTICE_BATCH_SIZE = 50;
const MAIL_LEASE_SECONDS = 5 * 60;
const DAY_SECONDS = 24 * 60 * 60;
// of each kind (ended sessions, users whose every session ended); each costs a KV write and a Cache API write
const RECOPY_BATCH_SIZE = 100;
// each batch is a subrequest too; a paid Worker has 1,000 per invocation
const MAX_PURGE_BATCHES = 200;
// accounts erased per run, in one statement: owners leave by the handful a day, and the next run takes the rest
const ERASE_BATCH_SIZE = 100;

export interface MaintenanceReport {
  purged: PurgeCounts;
  /** Statements the purge took. */
  purge_batches: number;
  /** How long the purge took, and its slowest statement: a log shows when batches grow slow. */
  purge_ms: number;
  slowest_batch_ms: number;
  /** Tables whose last batch was full when the run stopped: rows are left for the next run. */
  backlog: (typeof PURGED)[number][];
  mail: { attempted: number; sent: number };
  /** New-device notices that waited for their hour (a burst of sign-ins from new devices), sent as one list each. */
  device_notices: number;
  recopied_revocations: number;
  /** Accounts whose grace period after their owner's deletion was over, erased. */
  erased: number;
}

/**
 * Deletes what expired, batch after batch, until a batch comes back short of full or the run's time
 * budget is spent; so the purge keeps up with whatever the tables grow by between runs, and a run stops
 * in time however large the backlog.
 */
async function purgeWithinBudget(
  db: Db,
  config: Config,
  now: Date,
): Promise<Pick<MaintenanceReport, "purged" | "purge_batches" | "purge_ms" | "slowest_batch_ms" | "backlog">> {
  const cutoffs = {
    now,
    unverifiedCreatedBefore: secondsAfter(now, -config.UNVERIFIED_USER_TTL_SECONDS),
    codesDeadBefore: secondsAfter(now, -DAY_SECONDS),
    mailKeptSince: secondsAfter(now, -30 * DAY_SECONDS),
    eventsKeptSince: secondsAfter(now, -config.AUDIT_RETENTION_DAYS * DAY_SECONDS),
    guessRunsKeptSince: secondsAfter(now, -365 * DAY_SECONDS),
    devicesUnusedSince: secondsAfter(now, -POLICY.devices.forgottenAfterDays * DAY_SECONDS),
    batchSize: config.PURGE_BATCH_SIZE,
  };
  const started = Date.now();
  const deadline = started + config.PURGE_TIME_BUDGET_MS;
  const purged = nothingPurged();
  let slowest = 0;
  for (let batches = 1; ; batches++) {
    const batchStarted = Date.now();
    const counts = await purgeExpired(db, cutoffs);
    slowest = Math.max(slowest, Date.now() - batchStarted);
    for (const table of PURGED) purged[table] += counts[table];
    const full = PURGED.filter((table) => counts[table] >= config.PURGE_BATCH_SIZE);
    if (full.length === 0 || Date.now() >= deadline || batches >= MAX_PURGE_BATCHES) {
      return { purged, purge_batches: batches, purge_ms: Date.now() - started, slowest_batch_ms: slowest, backlog: full };
    }
  }
}

/**
 * The Cron Trigger's work: purge what expired, retry mail that could not be sent, send the new-device notices that
 * waited for their hour, copy recent revocations to the edge again (in case an edge write failed after Postgres had
 * committed the revocation), and erase the accounts whose grace period after their owner's deletion is over.
 * Each step is a statement (or a few) of its own and leaves the tables consistent if the run is cut off
 * after it; a step that fails is logged and the next steps still run.
 */
export async function runMaintenance(db: Db, edge: RevocationEdge, config: Config, now: Date, log: Logger): Promise<MaintenanceReport> {
  const step = async <T>(name: string, work: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      log.error("maintenance step failed; the next run tries again", { step: name, error: describeError(error) });
      return fallback;
    }
  };
  const purge = await step("purge", () => purgeWithinBudget(db, config, now), {
    purged: nothingPurged(),
    purge_batches: 0,
    purge_ms: 0,
    slowest_batch_ms: 0,
    backlog: [],
  });
  const mail = await step(
    "mail",
    async () => {
      const due = await claimDueMail(db, now, secondsAfter(now, MAIL_LEASE_SECONDS), MAIL_BATCH_SIZE);
      const outcomes = await Promise.allSettled(due.map((queued) => deliverMail(db, config, queued, now, log)));
      return { attempted: due.length, sent: outcomes.filter((outcome) => outcome.status === "fulfilled" && outcome.value).length };
    },
    { attempted: 0, sent: 0 },
  );
  const deviceNotices = await step("device notices", () => sendDueDeviceNotices(db, config, now, log, DEVICE_NOTICE_BATCH_SIZE), 0);
  const recopied = await step(
    "recopy revocations",
    () =>
      recopyRecentEndings(db, edge, {
        // an access token lives ACCESS_TOKEN_TTL_SECONDS, so older revocations have no token left to refuse
        since: secondsAfter(now, -config.ACCESS_TOKEN_TTL_SECONDS),
        limit: RECOPY_BATCH_SIZE,
        accessTokenSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      }),
    0,
  );
  const erased = await step(
    "erase",
    () =>
      eraseDueAccounts(db, {
        now,
        limit: ERASE_BATCH_SIZE,
        events: { actorId: null, clientAddress: null, userAgent: null, requestId: null, now },
      }),
    0,
  );
  const report: MaintenanceReport = { ...purge, mail, device_notices: deviceNotices, recopied_revocations: recopied, erased };
  if (erased >= ERASE_BATCH_SIZE) log.warn("erasure backlog left for the next run", { erased });
  if (report.purged.mail_died > 0) log.warn("mail expired unsent", { count: report.purged.mail_died });
  if (report.backlog.length > 0) log.warn("purge backlog left for the next run", { tables: report.backlog });
  log.info("maintenance", { ...report });
  return report;
}
