import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import type { Clock } from "../../src/http/router.ts";
import { getDb } from "../../src/db/client.ts";
import worker from "../../src/index.ts";
import {
  armSqlFault,
  bearer,
  type Call,
  clearSqlFault,
  client,
  databaseUrlAs,
  deletionTokenMailedTo,
  expectProblem,
  failNextMail,
  json,
  latestCode,
  login,
  mailTo,
  manualClock,
  PASSWORD,
  uniqueEmail,
  seededUser,
  type Tokens,
  verifiedUser,
} from "./helpers.ts";
import { sql } from "kysely";
import { hash as bcryptHash } from "bcryptjs";
import { challenge, codeAt, completeWith, type ManualClock, nextStep, seededFactor } from "./factors.ts";
import { type OldUser, planImport } from "../../tools/import/plan.ts";
import { writeUsers } from "../../tools/import/write.ts";

// The cron's purges act on the whole database at the time it is told, so these tests run on a
// database and mail catcher of their own.
const isolated = {
  DATABASE_URL: inject("isolatedDatabaseUrl"),
  RESEND_BASE_URL: inject("isolatedServicesUrl"),
};
const servicesUrl = inject("isolatedServicesUrl");
const db = getDb(isolated.DATABASE_URL);

async function runCron(at: Date, settings: Record<string, string> = {}): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" }), { ...env, ...isolated, ...settings }, ctx);
  await waitOnExecutionContext(ctx);
}

const HOUR = 60 * 60;

function sessionOf(accessToken: string): string {
  return String(JSON.parse(atob(accessToken.split(".")[1] ?? "")).sid);
}

/** Requests the isolated mail catcher has taken, as the provider would count them. */
async function mailSendRequests(): Promise<number> {
  const stats: { requests: Record<string, number> } = await (await fetch(`${servicesUrl}/stats`)).json();
  return stats.requests["POST /emails"] ?? 0;
}

/** A refresh token row that expires at `expiresAt`, as a rotation chain leaves its spent tokens. */
function refreshTokenRow(userId: number, sessionId: string, expiresAt: Date) {
  return {
    token_hash: crypto.getRandomValues(new Uint8Array(32)),
    session_id: sessionId,
    user_id: String(userId),
    expires_at: expiresAt,
    created_at: expiresAt,
  };
}

/** A verified user with `count` refresh tokens, each of a session of its own, that expired a second ago. */
async function expiredTokensOfANewUser(clock: Clock, count: number): Promise<void> {
  const user = await seededUser("user", isolated.DATABASE_URL);
  const expired = new Date(clock().getTime() - 1000);
  await db
    .insertInto("refresh_tokens")
    .values(Array.from({ length: count }, () => refreshTokenRow(user.id, crypto.randomUUID(), expired)))
    .execute();
}

interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** The lines the Worker logs at `level` while `work` runs, kept out of the test's output. */
async function logged(level: "warn" | "error", work: () => Promise<void>): Promise<LogLine[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(String(line)));
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return lines.map((line): LogLine => JSON.parse(line));
}

async function userExists(email: string): Promise<boolean> {
  const row = await db.selectFrom("users").select("id").where("email", "=", email).executeTakeFirst();
  return row !== undefined;
}

describe("the scheduled maintenance", () => {
  it("deletes users still unverified 48 hours after signing up, and keeps the others", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const stale = uniqueEmail("stale");
    const verified = uniqueEmail("verified");
    await call("/auth/signup", json("POST", { email: stale, password: PASSWORD }));
    await call("/auth/signup", json("POST", { email: verified, password: PASSWORD }));
    await call("/auth/verify", json("POST", { email: verified, code: await latestCode(verified, servicesUrl), password: PASSWORD }));

    clock.advance(47 * HOUR);
    await runCron(clock());
    expect(await userExists(stale)).toBe(true);

    clock.advance(HOUR + 1);
    await runCron(clock());
    expect(await userExists(stale)).toBe(false);
    expect(await userExists(verified)).toBe(true);
    // the address is free again
    expect((await call("/auth/signup", json("POST", { email: stale, password: PASSWORD }))).status).toBe(201);
  });

  it("deletes expired refresh tokens and blacklist rows, and dead codes", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    // signed up through the API: the verification leaves a spent code for the purge
    const user = await verifiedUser(call, servicesUrl);
    const tokens = await login(user, call);
    await login(user, call);
    expect((await call("/auth/logout", json("POST", { refresh_token: tokens.refresh_token }))).status).toBe(204);
    const count = async (table: "refresh_tokens" | "one_time_codes") =>
      (await db.selectFrom(table).select("user_id").where("user_id", "=", String(user.id)).execute()).length;
    // this test's own session only: other tests of this file blacklist sessions too
    const blacklisted = async () =>
      (
        await db
          .selectFrom("revoked_tokens")
          .select("token_id")
          .where("token_id", "=", `session:${sessionOf(tokens.access_token)}`)
          .execute()
      ).length;
    expect(await count("refresh_tokens")).toBe(1);
    expect(await count("one_time_codes")).toBe(1); // consumed by the verification

    await runCron(clock());
    expect(await count("one_time_codes")).toBe(0);
    expect(await count("refresh_tokens")).toBe(1);

    clock.advance(30 * 24 * HOUR + 1);
    expect(await blacklisted()).toBe(1);
    await runCron(clock());
    expect(await count("refresh_tokens")).toBe(0);
    expect(await blacklisted()).toBe(0);
  });

  it("deletes a login's challenges, a provider's sign-in codes and link intents once their time is over", async () => {
    const user = await seededUser("user", isolated.DATABASE_URL);
    const userId = String(user.id);
    const expiresAt = new Date(Date.now() + HOUR * 1000);
    const secret = () => crypto.getRandomValues(new Uint8Array(32));
    const identityId = crypto.randomUUID();
    await db
      .insertInto("identities")
      .values({ id: identityId, user_id: userId, provider: "local", subject: identityId, email: null, linked_at: new Date() })
      .execute();
    const created_at = new Date();
    await db
      .insertInto("identity_sign_ins")
      .values({ token_hash: secret(), user_id: userId, identity_id: identityId, multi_factor: false, expires_at: expiresAt, created_at })
      .execute();
    await db
      .insertInto("identity_links")
      .values({ token_hash: secret(), user_id: userId, provider: "local", expires_at: expiresAt, created_at })
      .execute();
    await db
      .insertInto("mfa_challenges")
      .values({ token_hash: secret(), user_id: userId, identity_id: identityId, generation: 0, expires_at: expiresAt, created_at })
      .execute();
    const left = async () =>
      Promise.all(
        (["identity_sign_ins", "identity_links", "mfa_challenges"] as const).map(
          async (table) => (await db.selectFrom(table).select("user_id").where("user_id", "=", userId).execute()).length,
        ),
      );
    await runCron(new Date(expiresAt.getTime() - 1000));
    expect(await left()).toEqual([1, 1, 1]);
    await runCron(expiresAt);
    expect(await left()).toEqual([0, 0, 0]);
  });

  it("ends a session with its last refresh token, not before", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const user = await seededUser("user", isolated.DATABASE_URL);
    const { refresh_token, access_token } = await login(user, call);
    const session = sessionOf(access_token);
    const sessionRows = async () => (await db.selectFrom("sessions").select("id").where("id", "=", session).execute()).length;
    clock.advance(10 * 24 * HOUR);
    // the successor lives 30 days from now; the spent token expires 20 days from now
    expect((await call("/auth/refresh", json("POST", { refresh_token }))).status).toBe(200);
    clock.advance(20 * 24 * HOUR + 1);
    await runCron(clock());
    expect(await sessionRows()).toBe(1);
    clock.advance(10 * 24 * HOUR);
    await runCron(clock());
    expect(await sessionRows()).toBe(0);
  });

  it("retries mail that could not be sent, and never delivers it twice", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const email = uniqueEmail();
    await failNextMail(1, servicesUrl);
    expect((await call("/auth/signup", json("POST", { email, password: PASSWORD }))).status).toBe(201);
    expect(await mailTo(email, servicesUrl)).toHaveLength(0);

    // still backing off
    clock.advance(60);
    await runCron(clock());
    expect(await mailTo(email, servicesUrl)).toHaveLength(0);

    // two runs at once: one claims the message, the other skips it. Counted as requests to the provider:
    // the catcher, like Resend, keeps one message per idempotency key and would hide a second send.
    clock.advance(5 * 60);
    const sendsBefore = await mailSendRequests();
    await Promise.all([runCron(clock()), runCron(clock())]);
    expect((await mailSendRequests()) - sendsBefore).toBe(1);
    expect(await mailTo(email, servicesUrl)).toHaveLength(1);
    const code = await latestCode(email, servicesUrl);
    expect((await call("/auth/verify", json("POST", { email, code, password: PASSWORD }))).status).toBe(200);

    clock.advance(60 * 60);
    await runCron(clock());
    expect(await mailTo(email, servicesUrl)).toHaveLength(1);
  });

  it("keeps retrying while the mail provider is down", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const email = uniqueEmail();
    await failNextMail(2, servicesUrl);
    await call("/auth/signup", json("POST", { email, password: PASSWORD }));
    clock.advance(3 * 60);
    await runCron(clock());
    expect(await mailTo(email, servicesUrl)).toHaveLength(0);
    clock.advance(3 * 60);
    await runCron(clock());
    expect(await mailTo(email, servicesUrl)).toHaveLength(1);
    const outbox = await db.selectFrom("email_outbox").selectAll().where("to_address", "=", email).executeTakeFirstOrThrow();
    expect(outbox).toMatchObject({ attempts: 2, text_body: "", html_body: "", provider_id: expect.any(String) });
    expect(outbox.sent_at).not.toBeNull();
  });

  it("copies recent revocations into KV again, so a failed KV write is repaired", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const { access_token } = await login(await seededUser("user", isolated.DATABASE_URL), call);
    const sessionId = sessionOf(access_token);
    // what logout leaves when Postgres committed the revocation but the KV write failed
    await db
      .insertInto("revoked_tokens")
      .values({ token_id: `session:${sessionId}`, expires_at: new Date(clock().getTime() + 3600_000), revoked_at: clock() })
      .execute();
    expect((await call("/users/me", bearer(access_token))).status).toBe(200);

    clock.advance(60);
    await runCron(clock());
    expect((await call("/users/me", bearer(access_token))).status).toBe(401);
  });

  it("gives up a code's mail once the code has expired: it dies unsent, its body scrubbed", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const email = uniqueEmail("late");
    await failNextMail(100, servicesUrl);
    try {
      await call("/auth/signup", json("POST", { email, password: PASSWORD }));
      clock.advance(10 * 60 + 1);
      const sendsBefore = await mailSendRequests();
      await runCron(clock());
      expect((await mailSendRequests()) - sendsBefore).toBe(0);
    } finally {
      await failNextMail(0, servicesUrl);
    }
    const row = await db.selectFrom("email_outbox").selectAll().where("to_address", "=", email).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ sent_at: null, dead_at: expect.any(Date), text_body: "", html_body: "" });
    clock.advance(5 * 60);
    await runCron(clock());
    expect(await mailTo(email, servicesUrl)).toEqual([]);
  });

  it("gives up a message after 8 tries", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const [user, admin] = [await seededUser("user", isolated.DATABASE_URL), await seededUser("user", isolated.DATABASE_URL)];
    await db.updateTable("users").set({ role: "admin" }).where("id", "=", String(admin.id)).execute();
    const adminToken = (await login(admin, call)).access_token;
    await failNextMail(100, servicesUrl);
    try {
      // an admin's change of address sends the old one a notice, worth sending for a day
      const changed = await call(`/users/${user.id}`, bearer(adminToken, json("PATCH", { email: uniqueEmail("moved") })));
      expect(changed.status).toBe(200);
      for (let run = 0; run < 9; run++) {
        clock.advance(3 * 60);
        await runCron(clock());
      }
    } finally {
      await failNextMail(0, servicesUrl);
    }
    const notice = await db
      .selectFrom("email_outbox")
      .selectAll()
      .where("to_address", "=", user.email)
      .where("subject", "like", "%was changed%")
      .executeTakeFirstOrThrow();
    expect(notice).toMatchObject({ attempts: 8, sent_at: null, dead_at: expect.any(Date), text_body: "" });
  });

  it("drains a backlog larger than one batch, a batch per statement, within its time budget", async () => {
    const clock = manualClock();
    await expiredTokensOfANewUser(clock, 12);
    const expiredTokens = async () =>
      Number(
        (
          await db
            .selectFrom("refresh_tokens")
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .where("expires_at", "<=", clock())
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await expiredTokens();
    expect(before).toBeGreaterThanOrEqual(12);
    // out of time after one batch: the rest is left for the next run
    await runCron(clock(), { PURGE_BATCH_SIZE: "5", PURGE_TIME_BUDGET_MS: "1" });
    expect(await expiredTokens()).toBe(before - 5);
    await runCron(clock(), { PURGE_BATCH_SIZE: "5" });
    expect(await expiredTokens()).toBe(0);
  });

  it("warns of the backlog it leaves when its time runs out with a batch still full", async () => {
    const clock = manualClock();
    await expiredTokensOfANewUser(clock, 6);
    const cutShort = await logged("warn", () => runCron(clock(), { PURGE_BATCH_SIZE: "5", PURGE_TIME_BUDGET_MS: "1" }));
    expect(cutShort).toContainEqual(
      expect.objectContaining({ msg: "purge backlog left for the next run", tables: expect.arrayContaining(["refresh_tokens"]) }),
    );
    // a run that drains everything has nothing to warn of
    const drained = await logged("warn", () => runCron(clock(), { PURGE_BATCH_SIZE: "5" }));
    expect(drained.map((line) => line.msg)).not.toContain("purge backlog left for the next run");
  });

  it("logs the mail it gives up unsent, and purges dead mail 30 days after it died", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const email = uniqueEmail("undelivered");
    await failNextMail(1, servicesUrl);
    await call("/auth/signup", json("POST", { email, password: PASSWORD }));
    const outbox = () => db.selectFrom("email_outbox").select("dead_at").where("to_address", "=", email).execute();
    // the code, and so its mail, expires after 10 minutes
    clock.advance(10 * 60 + 1);
    const warnings = await logged("warn", () => runCron(clock()));
    expect(warnings).toContainEqual(expect.objectContaining({ msg: "mail expired unsent", count: expect.any(Number) }));
    const diedAt = clock();
    expect(await outbox()).toEqual([{ dead_at: diedAt }]);
    // kept 30 days as a record (its body already scrubbed), then purged
    clock.advance(30 * 24 * HOUR - 60);
    await runCron(clock());
    expect(await outbox()).toEqual([{ dead_at: diedAt }]);
    clock.advance(60);
    await runCron(clock());
    expect(await outbox()).toEqual([]);
  });
});

describe("a run cut off midway", () => {
  it("between two purge batches: no session outlives its last token, and the next run purges the rest", async () => {
    const clock = manualClock();
    const user = await seededUser("user", isolated.DATABASE_URL);
    // a year ago, so these come first in the purge's order whatever else the database holds
    const expiredAt = (second: number) => new Date(clock().getTime() - 365 * 24 * HOUR * 1000 + second * 1000);
    const sessions = { ended: crypto.randomUUID(), active: crypto.randomUUID(), untouched: crypto.randomUUID() };
    await db
      .insertInto("sessions")
      .values(
        Object.values(sessions).map((id) => ({
          id,
          user_id: String(user.id),
          created_at: expiredAt(0),
          generation: 0,
          auth_time: expiredAt(0),
          user_agent: "",
          client_address: null,
        })),
      )
      .execute();
    // batches of 3 in expiry order: ended, ended, active | active, untouched, untouched
    await db
      .insertInto("refresh_tokens")
      .values([
        refreshTokenRow(user.id, sessions.ended, expiredAt(1)),
        refreshTokenRow(user.id, sessions.ended, expiredAt(2)),
        refreshTokenRow(user.id, sessions.active, expiredAt(3)),
        refreshTokenRow(user.id, sessions.active, expiredAt(4)),
        refreshTokenRow(user.id, sessions.untouched, expiredAt(5)),
        refreshTokenRow(user.id, sessions.untouched, expiredAt(6)),
        // the active session's current token
        refreshTokenRow(user.id, sessions.active, new Date(clock().getTime() + 24 * HOUR * 1000)),
      ])
      .execute();
    const left = async () => {
      const [tokens, rows] = await Promise.all([
        db.selectFrom("refresh_tokens").select("session_id").where("user_id", "=", String(user.id)).execute(),
        db.selectFrom("sessions").select("id").where("user_id", "=", String(user.id)).execute(),
      ]);
      return Object.fromEntries(
        Object.entries(sessions).map(([name, id]) => [
          name,
          { session: rows.some((row) => row.id === id), tokens: tokens.filter((token) => token.session_id === id).length },
        ]),
      );
    };
    // the first batch commits; the connection drops under the second (a fault of this run's own database user)
    const cutOff = `cutoff_${crypto.randomUUID().replaceAll("-", "")}`;
    await armSqlFault({ mode: "drop", skip: 1, count: 1, user: cutOff }, servicesUrl);
    const errors = await logged("error", () =>
      runCron(clock(), { PURGE_BATCH_SIZE: "3", DATABASE_URL: databaseUrlAs(cutOff, isolated.DATABASE_URL) }),
    );
    expect(errors).toContainEqual(expect.objectContaining({ msg: "maintenance step failed; the next run tries again", step: "purge" }));
    // the first batch whole, the ended session with its tokens; nothing of the second
    expect(await left()).toEqual({
      ended: { session: false, tokens: 0 },
      active: { session: true, tokens: 2 },
      untouched: { session: true, tokens: 2 },
    });
    await runCron(clock(), { PURGE_BATCH_SIZE: "3" });
    expect(await left()).toEqual({
      ended: { session: false, tokens: 0 },
      active: { session: true, tokens: 1 },
      untouched: { session: false, tokens: 0 },
    });
  });

  it("leaves consistent tables: a message sent but not marked is sent again under the same key, and lands once", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const email = uniqueEmail("cutoff");
    await failNextMail(1, servicesUrl);
    await call("/auth/signup", json("POST", { email, password: PASSWORD }));
    const user = `cutoff_${crypto.randomUUID().replaceAll("-", "")}`;
    // the purge and the claim pass; the statement marking the message sent fails
    await armSqlFault({ mode: "status", status: 503, skip: 2, count: 1, user }, servicesUrl);
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    try {
      clock.advance(3 * 60);
      await runCron(clock(), { DATABASE_URL: databaseUrlAs(user, isolated.DATABASE_URL) });
    } finally {
      await clearSqlFault(servicesUrl);
      vi.restoreAllMocks();
    }
    expect(errors.some((line) => line.includes("mail sent but not marked sent"))).toBe(true);
    const row = await db.selectFrom("email_outbox").selectAll().where("to_address", "=", email).executeTakeFirstOrThrow();
    // claimed (its lease pushed on), not marked: a later run owns it again once the lease ends
    expect(row).toMatchObject({ sent_at: null, dead_at: null });
    expect(row.next_attempt_at.getTime()).toBeGreaterThan(clock().getTime());
    clock.advance(6 * 60);
    const sendsBefore = await mailSendRequests();
    await runCron(clock());
    expect((await mailSendRequests()) - sendsBefore).toBe(1);
    expect(await mailTo(email, servicesUrl)).toHaveLength(1);
    expect(await db.selectFrom("email_outbox").select("sent_at").where("to_address", "=", email).executeTakeFirstOrThrow()).toMatchObject({
      sent_at: expect.any(Date),
    });
  });
});

describe("the audit trail's retention", () => {
  it("deletes events older than AUDIT_RETENTION_DAYS, and keeps the newer ones", async () => {
    const now = new Date();
    const days = (count: number) => new Date(now.getTime() - count * 24 * HOUR * 1000);
    const [old, recent] = await Promise.all(
      [days(91), days(89)].map(
        async (created_at) =>
          (
            await db
              .insertInto("auth_events")
              .values({ type: "signed_up", details: "{}", created_at })
              .returning("id")
              .executeTakeFirstOrThrow()
          ).id,
      ),
    );
    await runCron(now);
    const left = await db
      .selectFrom("auth_events")
      .select("id")
      .where("id", "in", [old ?? "0", recent ?? "0"])
      .execute();
    expect(left.map((row) => row.id)).toEqual([recent]);
  });
});

// Which admin is the last active one depends on every row of the table: on the isolated database too.
describe("the last active admin", () => {
  it("cannot be demoted, disabled or deleted, by themself or anyone", async () => {
    const call = client({ env: isolated });
    const setAdmin = (id: number) => db.updateTable("users").set({ role: "admin" }).where("id", "=", String(id)).execute();
    const others = await db.selectFrom("users").select("id").where("role", "=", "admin").where("status", "=", "verified").execute();
    if (others.length > 0)
      await db
        .updateTable("users")
        .set({ role: "user" })
        .where(
          "id",
          "in",
          others.map((row) => row.id),
        )
        .execute();
    const last = await seededUser("user", isolated.DATABASE_URL);
    await setAdmin(last.id);
    const { access_token } = await login(last, call);
    const patch = (id: number, body: unknown, token: string) => call(`/users/${id}`, bearer(token, json("PATCH", body)));
    await expectProblem(await patch(last.id, { role: "user" }, access_token), 409, "last_admin");
    // nor leave: their own deletion would leave the shop without one
    await expectProblem(await call("/users/me", bearer(access_token, { method: "DELETE" })), 409, "last_admin");
    expect((await call("/users/me", bearer(access_token))).status).toBe(200);
    // with a second active admin, either may demote the other, but not disable themself
    const second = await seededUser("user", isolated.DATABASE_URL);
    await setAdmin(second.id);
    const secondToken = (await login(second, call)).access_token;
    await expectProblem(await patch(second.id, { status: "disabled" }, secondToken), 409, "cannot_disable_self");
    expect((await patch(last.id, { role: "user" }, secondToken)).status).toBe(200);
    await expectProblem(await patch(second.id, { role: "user" }, secondToken), 409, "last_admin");
  });

  // Which admin is the last active one depends on every row of the table: on the isolated database, in
  // this file, so no other test changes its admins meanwhile.
  it("cannot disable each other at the same moment: one wins, the other is refused, its own account disabled by then", async () => {
    const call = client({ env: isolated });
    const [first, second] = [await seededUser("user", isolated.DATABASE_URL), await seededUser("user", isolated.DATABASE_URL)];
    const ids = [String(first.id), String(second.id)];
    await db.updateTable("users").set({ role: "admin" }).where("id", "in", ids).execute();
    const [firstToken, secondToken] = [(await login(first, call)).access_token, (await login(second, call)).access_token];
    await db.updateTable("users").set({ role: "user" }).where("role", "=", "admin").where("id", "not in", ids).execute();
    const disable = (id: number, token: string) => call(`/users/${id}`, bearer(token, json("PATCH", { status: "disabled" })));
    const answers = await Promise.all([disable(second.id, firstToken), disable(first.id, secondToken)]);
    const refused = answers.filter((answer) => answer.status !== 200);
    expect(refused).toHaveLength(1);
    // the statements take turns on the admins' rows: the second finds its actor no longer an active admin
    for (const answer of refused) await expectProblem(answer, 403, "forbidden");
    const active = await db.selectFrom("users").select("id").where("role", "=", "admin").where("status", "=", "verified").execute();
    expect(active).toHaveLength(1);
  });
});

// Leaving the shop, to the end: the owner's deletion, then the erasure, which the cron does at the time it is told.
describe("an account its owner deleted", () => {
  const DEVICE = { "User-Agent": "LeavingTest/1.0", "CF-Connecting-IP": "198.51.100.61" };
  const OLD_PASSWORD = "my password from the old service";

  /** A user of the old service, imported as `npm run users -- import` does (so a re-import can be tried). */
  async function importedPerson(): Promise<{ id: string; email: string; row: OldUser }> {
    const email = uniqueEmail("leaving");
    const row: OldUser = {
      id: String(9_100_000_000_000 + Math.floor(Math.random() * 1_000_000_000)),
      email,
      password: await bcryptHash(OLD_PASSWORD, 4),
      first_name: "Leaving",
      last_name: "Soon",
      status: "verified",
      role: "user",
      created_at: new Date("2021-01-01T00:00:00Z"),
      updated_at: null,
    };
    expect((await writeUsers(db, planImport([row], new Date()).users, { dryRun: false })).imported).toBe(1);
    return { id: row.id, email, row };
  }

  /** The tables whose rows reference users, by their user column: every one of them must let go of an erased person. */
  async function referencingTables(): Promise<{ table: string; column: string }[]> {
    const { rows } = await sql<{ table: string; column: string }>`
      select c.conrelid::regclass::text as table, a.attname as column
      from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
      where c.contype = 'f' and c.confrelid = 'users'::regclass`.execute(db);
    return rows;
  }

  async function rowsNaming(table: string, column: string, id: string): Promise<number> {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${sql.ref(column)} = ${id}`.execute(
      db,
    );
    return rows[0]?.n ?? 0;
  }

  /** Rows of any table of the database whose text holds `text`. */
  async function rowsHolding(text: string): Promise<string[]> {
    const { rows: tables } = await sql<{ name: string }>`
      select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db);
    const found: string[] = [];
    for (const { name } of tables) {
      const { rows } = await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.table(name)} as r where r::text like ${`%${text}%`}`.execute(db);
      if ((rows[0]?.n ?? 0) > 0) found.push(name);
    }
    return found;
  }

  /** A sign-in with the password and a code of the app. */
  async function signInWithFactor(call: Call, person: { email: string }, secret: Uint8Array, clock: ManualClock): Promise<Tokens> {
    const started = await challenge(call, { id: 0, email: person.email, password: PASSWORD });
    const answer = await completeWith(call, started.token, { code: await codeAt(secret, clock) });
    expect(answer.status).toBe(200);
    nextStep(clock);
    return answer.json();
  }

  it("is erased when the grace period is over: nothing names them but pseudonymous events, and a re-import does not bring them back", async () => {
    const clock = manualClock();
    const call = client({ clock, env: isolated });
    const send: Call = (path, init = {}) =>
      call(path, { ...init, headers: { ...DEVICE, ...Object.fromEntries(new Headers(init.headers)) } });
    const person = await importedPerson();
    const old = await (await send("/auth/login", json("POST", { email: person.email, password: OLD_PASSWORD }))).json<Tokens>();
    // a new password, a new address, a wrong password, a wrong reset code: rows in every table that names a person
    const changed = await send(
      "/auth/password/change",
      bearer(old.access_token, json("POST", { current_password: OLD_PASSWORD, new_password: PASSWORD })),
    );
    const tokens = await changed.json<Tokens>();
    const moved = uniqueEmail("moved");
    expect(
      (await send(`/users/${person.id}`, bearer(tokens.access_token, json("PATCH", { email: moved, current_password: PASSWORD })))).status,
    ).toBe(200);
    const code = await latestCode(moved, servicesUrl);
    expect((await send("/auth/verify", json("POST", { email: moved, code }))).status).toBe(200);
    expect((await send("/auth/login", json("POST", { email: person.email, password: PASSWORD }))).status).toBe(401);
    expect((await send("/auth/login", json("POST", { email: moved, password: "not the password" }))).status).toBe(401);
    expect((await send("/auth/password/forgot", json("POST", { email: moved }))).status).toBe(202);
    const wrongCode = (await latestCode(moved, servicesUrl)) === "000000" ? "111111" : "000000";
    await send("/auth/password/reset", json("POST", { email: moved, code: wrongCode, new_password: "never set like this" }));
    const { secret } = await seededFactor({ id: Number(person.id), email: moved, password: PASSWORD }, clock(), isolated.DATABASE_URL);
    await challenge(send, { id: 0, email: moved, password: PASSWORD });
    // a passkey and a provider's identity, as their ceremonies leave them (identities.test.ts and passkeys.test.ts make them through the API)
    const providerEmail = uniqueEmail("their-provider");
    await db
      .insertInto("identities")
      .values({
        id: crypto.randomUUID(),
        user_id: person.id,
        provider: "local",
        subject: providerEmail,
        email: providerEmail,
        linked_at: clock(),
      })
      .execute();
    await db
      .insertInto("passkeys")
      .values({
        id: crypto.randomUUID(),
        user_id: person.id,
        credential_id: crypto.getRandomValues(new Uint8Array(32)),
        public_key: crypto.getRandomValues(new Uint8Array(77)),
        device_type: "singleDevice",
        backed_up: false,
        aaguid: "00000000-0000-0000-0000-000000000000",
        name: "Their phone",
        created_at: clock(),
      })
      .execute();
    const named = ["sessions", "refresh_tokens", "one_time_codes", "totp_factors", "recovery_codes", "mfa_challenges", "devices"];
    for (const table of [...named, "passkeys", "identities"]) {
      expect({ table, named: (await rowsNaming(table, "user_id", person.id)) > 0 }).toEqual({ table, named: true });
    }
    expect(await rowsHolding(moved)).toEqual(expect.arrayContaining(["email_outbox", "code_attempts", "code_failures", "auth_events"]));
    expect(await rowsHolding(person.email)).toEqual(expect.arrayContaining(["email_outbox", "auth_events"]));

    // deletes, cannot sign in, cancels once, deletes again
    expect((await send("/users/me", bearer(tokens.access_token, { method: "DELETE" }))).status).toBe(202);
    await expectProblem(await send("/auth/login", json("POST", { email: moved, password: PASSWORD })), 403, "account_pending_deletion");
    const cancelToken = await deletionTokenMailedTo(moved, servicesUrl);
    expect((await send("/auth/deletion/cancel", json("POST", { token: cancelToken }))).status).toBe(200);
    await expectProblem(await send("/auth/deletion/cancel", json("POST", { token: cancelToken })), 400, "deletion_token_invalid");
    const again = await signInWithFactor(send, { email: moved }, secret, clock);
    const deleted = await send("/users/me", bearer(again.access_token, { method: "DELETE" }));
    const dueAt = new Date((await deleted.json<{ deletion_due_at: string }>()).deletion_due_at);
    const theirEvents = await db.selectFrom("auth_events").select("id").where("user_id", "=", person.id).execute();

    await runCron(new Date(dueAt.getTime() - 1000));
    expect(await db.selectFrom("users").select("status").where("id", "=", person.id).executeTakeFirst()).toEqual({
      status: "pending_deletion",
    });
    await runCron(new Date(dueAt.getTime() + 1000));

    for (const { table, column } of await referencingTables())
      expect({ table, rows: await rowsNaming(table, column, person.id) }).toEqual({ table, rows: 0 });
    expect(await rowsHolding(moved)).toEqual([]);
    expect(await rowsHolding(person.email)).toEqual([]);
    expect(await rowsHolding(providerEmail)).toEqual([]);
    const namedEvents = await db
      .selectFrom("auth_events")
      .select("id")
      .where((eb) => eb.or([eb("user_id", "=", person.id), eb("actor_id", "=", person.id)]))
      .execute();
    expect(namedEvents).toEqual([]);
    // their events stay, under one pseudonym, without their networks and clients; and one more says they went
    const kept = await db
      .selectFrom("auth_events")
      .select(["user_pseudonym", "client_address", "user_agent"])
      .where(
        "id",
        "in",
        theirEvents.map((event) => event.id),
      )
      .execute();
    expect(kept).toHaveLength(theirEvents.length);
    const pseudonym = kept[0]?.user_pseudonym;
    expect(pseudonym).toEqual(expect.any(String));
    expect(new Set(kept.map((event) => JSON.stringify(event)))).toEqual(
      new Set([JSON.stringify({ user_pseudonym: pseudonym, client_address: null, user_agent: null })]),
    );
    const gone = await db
      .selectFrom("auth_events")
      .select(["type", "details"])
      .where("user_pseudonym", "=", pseudonym ?? "")
      .where(
        "id",
        "not in",
        theirEvents.map((event) => event.id),
      )
      .execute();
    expect(gone).toEqual([{ type: "user_deleted", details: { by: "owner" } }]);

    // the import's record of ids it wrote keeps the id alone, so a second run does not bring the person back
    const reimported = await writeUsers(db, planImport([person.row], new Date()).users, { dryRun: false });
    expect(reimported).toMatchObject({ imported: 0, alreadyThere: 1 });
    expect(await rowsHolding(person.email)).toEqual([]);
    expect(await db.selectFrom("imported_users").select("id").where("id", "=", person.id).execute()).toHaveLength(1);
    await expectProblem(
      await send("/auth/login", json("POST", { email: person.email, password: OLD_PASSWORD })),
      401,
      "invalid_credentials",
    );
  });
});
