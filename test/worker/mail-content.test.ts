// Every message the API sends, as a person's mail client gets it: a clear subject with the product's
// name, a plain-text part and a simple HTML part, from the configured sender; codes in the body only.
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import { bearer, client, json, latestCode, login, mailTo, PASSWORD, seededUser, uniqueEmail } from "./helpers.ts";

const PRODUCT = "Bean There";
const SENDER = "Bean There <hello@bean.test>";
const call = client({ env: { PRODUCT_NAME: PRODUCT, MAIL_FROM: SENDER } });
const db = getDb(inject("databaseUrl"));

type Mail = Awaited<ReturnType<typeof mailTo>>[number];

async function newestTo(address: string): Promise<Mail> {
  const [newest] = await mailTo(address);
  if (!newest) throw new Error(`nothing was mailed to ${address}`);
  return newest;
}

function expectReadable(mail: Mail, subject: RegExp, code?: string): void {
  expect(mail.from).toBe(SENDER);
  expect(mail.subject).toMatch(subject);
  expect(mail.subject).toContain(PRODUCT);
  expect(mail.text).toContain(PRODUCT);
  expect(mail.html).toMatch(/^<!doctype html>/);
  // one centred table with inline styles: what mail clients render alike
  expect(mail.html).toContain('<table role="presentation"');
  expect(mail.html).toContain(`<title>${mail.subject}</title>`);
  expect(mail.html).not.toMatch(/<script|<link|<img|<style/i);
  if (code) {
    expect(mail.text).toContain(code);
    expect(mail.html).toContain(code);
    expect(mail.subject).not.toContain(code);
  } else {
    expect(`${mail.subject}${mail.text}`).not.toMatch(/\b\d{6}\b/);
  }
}

describe("the mail the API sends", () => {
  it("verification: the code, the product's name, from the configured sender", async () => {
    const email = uniqueEmail("mail");
    expect((await call("/auth/signup", json("POST", { email, password: PASSWORD }))).status).toBe(201);
    expectReadable(await newestTo(email), /verification code/, await latestCode(email));
  });

  it("an email change: the code to the new address, a notice to the old one when it starts and when it is done", async () => {
    const user = await seededUser();
    const { access_token } = await login(user, call);
    const next = uniqueEmail("moved");
    const started = await call(`/users/${user.id}`, bearer(access_token, json("PATCH", { email: next, current_password: PASSWORD })));
    expect(started.status).toBe(200);
    const code = await latestCode(next);
    expectReadable(await newestTo(next), /Confirm your new .* email address/, code);
    expectReadable(await newestTo(user.email), /Someone asked to change your .* email address/);
    expect((await call("/auth/verify", json("POST", { email: next, code, password: PASSWORD }))).status).toBe(200);
    expectReadable(await newestTo(user.email), /email address was changed/);
  });

  it("password reset: the code, then a notice; password change: a notice", async () => {
    // made without a signup, so no verification code holds back the reset code
    const user = await seededUser("user");
    expect((await call("/auth/password/forgot", json("POST", { email: user.email }))).status).toBe(202);
    const code = await latestCode(user.email);
    expectReadable(await newestTo(user.email), /Reset your .* password/, code);
    const reset = await call("/auth/password/reset", json("POST", { email: user.email, code, new_password: "a brand new passphrase" }));
    expect(reset.status).toBe(200);
    expectReadable(await newestTo(user.email), /password was reset/);

    const { access_token } = await login({ ...user, password: "a brand new passphrase" }, call);
    const change = { current_password: "a brand new passphrase", new_password: "yet another passphrase" };
    expect((await call("/auth/password/change", bearer(access_token, json("POST", change)))).status).toBe(200);
    expectReadable(await newestTo(user.email), /password was changed/);
  });

  it("an admin's unlock: a notice that the account takes the password again, and what to do if it was not asked for", async () => {
    const [user, admin] = await Promise.all([seededUser(), seededUser("admin")]);
    await db.updateTable("users").set({ login_failures: 7 }).where("id", "=", String(user.id)).execute();
    const { access_token } = await login(admin, call);
    expect((await call(`/users/${user.id}/unlock`, bearer(access_token, { method: "POST" }))).status).toBe(204);
    const notice = await newestTo(user.email);
    expectReadable(notice, /takes your password again/);
    expect(notice.text).toContain("Forgot password");
  });
});
