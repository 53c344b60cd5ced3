import { html } from "hono/html";
import type { MailContent } from "./message.ts";

// `html` escapes every value it interpolates: nothing in a message is trusted to be markup. Codes never
// go in a subject: subjects are kept after sending and shown in notification previews.

async function codeMail(subject: string, intro: string, code: string, validMinutes: number): Promise<MailContent> {
  const closing = `The code is valid for ${validMinutes} minutes. If you did not ask for it, ignore this message.`;
  return {
    subject,
    text: `${intro}\n\n    ${code}\n\n${closing}\n`,
    html: await html`<p>${intro}</p><p style="font-size:24px;letter-spacing:4px"><strong>${code}</strong></p><p>${closing}</p>`,
  };
}

async function notice(subject: string, text: string): Promise<MailContent> {
  return { subject, text: `${text}\n`, html: await html`<p>${text}</p>` };
}

export function verificationMail(code: string, validMinutes: number): Promise<MailContent> {
  return codeMail(
    "Your Coffee Shop verification code",
    "Welcome to Coffee Shop! Confirm your email address with this code:",
    code,
    validMinutes,
  );
}

export function emailChangeMail(code: string, validMinutes: number): Promise<MailContent> {
  return codeMail(
    "Confirm your new Coffee Shop email address",
    "Confirm that this is your new Coffee Shop email address with this code:",
    code,
    validMinutes,
  );
}

/** To the current address when someone starts moving the account to another one. */
export function emailChangeStartedNotice(newAddress: string): Promise<MailContent> {
  return notice(
    "Someone asked to change your Coffee Shop email address",
    `A change of your Coffee Shop account's email address to ${newAddress} was requested. ` +
      "It takes effect only when the code sent there is entered. If you did not ask for it, change your password at once.",
  );
}

/** To the old address once the account's address has changed (by its owner's code, or by an admin). */
export function emailChangedNotice(newAddress: string): Promise<MailContent> {
  return notice(
    "Your Coffee Shop email address was changed",
    `The email address of your Coffee Shop account was changed to ${newAddress}. ` +
      "If you did not do this, contact us at once: someone else may control your account.",
  );
}

export function passwordResetMail(code: string, validMinutes: number): Promise<MailContent> {
  return codeMail(
    "Reset your Coffee Shop password",
    "Someone, hopefully you, asked to reset the password of your Coffee Shop account. Enter this code to choose a new one:",
    code,
    validMinutes,
  );
}

/** To the account's address after its password was reset or changed: every other session has ended. */
export function passwordChangedNotice(how: "reset" | "changed"): Promise<MailContent> {
  return notice(
    how === "reset" ? "Your Coffee Shop password was reset" : "Your Coffee Shop password was changed",
    `The password of your Coffee Shop account was ${how} and you were logged out everywhere else. ` +
      "If you did not do this, reset your password at once and contact us.",
  );
}
