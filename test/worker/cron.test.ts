import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import worker from "../../src/index.ts";
import { bearer, client, failNextMail, json, latestCode, login, mailTo, manualClock, PASSWORD, uniqueEmail, verifiedUser } from "./helpers.ts";

// The cron's purges act on the whole database at the time it is told, so these tests run on a
// database and mail catcher of their own.
const isolated = {
  DATABASE_URL: inject("isolatedDatabaseUrl"),
  RESEND_BASE_URL: inject("isolatedServicesUrl"),
};
const servicesUrl = inject("isolatedServicesUrl");
const db = getDb(isolated.DATABASE_URL);

async function runCron(at: Date): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" }), { ...env, ...isolated }, ctx);
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
    await call("/auth/verify", json("POST", { email: verified, code: await latestCode(verified, servicesUrl) }));

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
    const user = await verifiedUser(call, servicesUrl);
    const tokens = await login(user, call);
    await login(user, call);
    expect((await call("/auth/logout", json("POST", { refresh_token: tokens.refresh_token }))).status).toBe(204);
    const count = async (table: "refresh_tokens" | "one_time_codes") =>
      (await db.selectFrom(table).select("user_id").where("user_id", "=", String(user.id)).execute()).length;
    // this test's own session only: other tests of this file blacklist sessions too
    const blacklisted = async () =>
      (await db.selectFrom("revoked_tokens").select("token_id").where("token_id", "=", `session:${sessionOf(tokens.access_token)}`).execute())
        .length;
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
    expect((await call("/auth/verify", json("POST", { email, code }))).status).toBe(200);

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
    const { access_token } = await login(await verifiedUser(call, servicesUrl), call);
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
});
