import { html } from "hono/html";
import type { MailContent } from "./message.ts";

// `html` escapes every value it interpolates: nothing in a message is trusted to be markup.

async function codeMail(subject: string, intro: string, code: string, validMinutes: number): Promise<MailContent> {
  const closing = `The code is valid for ${validMinutes} minutes. If you did not ask for it, ignore this message.`;
  return {
    subject,
    text: `${intro}\n\n    ${code}\n\n${closing}\n`,
    html: await html`<p>${intro}</p><p style="font-size:24px;letter-spacing:4px"><strong>${code}</strong></p><p>${closing}</p>`,
  };
}

export function verificationMail(code: string, validMinutes: number): Promise<MailContent> {
  return codeMail(
    `Your Coffee Shop verification code: ${code}`,
    "Welcome to Coffee Shop! Confirm your email address with this code:",
    code,
    validMinutes,
  );
}

export function emailChangeMail(code: string, validMinutes: number): Promise<MailContent> {
  return codeMail(
    `Confirm your new Coffee Shop email: ${code}`,
    "Confirm that this is your new Coffee Shop email address with this code:",
    code,
    validMinutes,
  );
}

/** To the old address once an email change completes: the code went to the new one only. */
export async function emailChangedNotice(newAddress: string): Promise<MailContent> {
  const text =
    `The email address of your Coffee Shop account was changed to ${newAddress}. ` +
    "If you did not do this, contact us at once: someone else may control your account.";
  return { subject: "Your Coffee Shop email address was changed", text: `${text}\n`, html: await html`<p>${text}</p>` };
}
