import { inject } from "vitest";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getDb } from "../../src/db/client.ts";
import { unseal } from "../../src/auth/seal.ts";
import { bearer, client, failNextMail, json, login, manualClock, PASSWORD, seededUser, uniqueEmail } from "./helpers.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Everything the Worker prints while `action` runs, in the isolate it shares with the tests. */
async function captureLogs(action: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  vi.spyOn(console, "log").mockImplementation(capture);
  vi.spyOn(console, "error").mockImplementation(capture);
  vi.spyOn(console, "warn").mockImplementation(capture);
  await action();
  vi.restoreAllMocks();
  return lines;
}

/** The code in a message that could not be sent: the outbox keeps its body, sealed, until it is. */
async function unsentCode(to: string): Promise<string> {
  const row = await getDb(inject("databaseUrl"))
    .selectFrom("email_outbox")
    .select("text_body")
    .where("to_address", "=", to)
    .where("sent_at", "is", null)
    .executeTakeFirstOrThrow();
  const code = /\b(\d{6})\b/.exec(await unseal(inject("hashSecret"), row.text_body))?.[1];
  if (!code) throw new Error(`no code in the unsent mail to ${to}`);
  return code;
}

describe("the Worker's logs", () => {
  it("are JSON lines with the request id, without passwords, codes, tokens or query strings", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const tokens = await login(user, call);
    const email = uniqueEmail("logged");
    const secrets: string[] = [PASSWORD, tokens.access_token, tokens.refresh_token, "access_token="];
    const lines = await captureLogs(async () => {
      // a message that could not be sent is logged, and it carries a code
      await failNextMail(1, undefined, email);
      await call("/auth/signup", json("POST", { email, password: PASSWORD }));
      await call(`/users/me?access_token=${tokens.access_token}`, bearer(tokens.access_token));
      await call("/auth/login", json("POST", { email: user.email, password: PASSWORD }));
      const rotated = await call("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }));
      secrets.push((await rotated.json<{ refresh_token: string }>()).refresh_token);
      // a spent token presented after the grace window is a reuse: a security event
      clock.advance(60);
      await call("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }));
    });
    secrets.push(await unsentCode(email));

    const entries = lines.map((line) => JSON.parse(line));
    const messages = entries.map((entry) => entry.msg);
    expect(messages).toEqual(expect.arrayContaining(["mail not sent; will retry", "refresh token reuse: session revoked"]));
    for (const entry of entries) {
      expect(entry).toMatchObject({ level: expect.stringMatching(/^(info|warn|error)$/), msg: expect.any(String) });
      expect(entry.request_id, entry.msg).toEqual(expect.any(String));
    }
    const everything = lines.join("\n");
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});
