import type { MailContent, OutgoingMail } from "../db/outbox.ts";

function codeMail(to: string, subject: string, intro: string, code: string, validMinutes: number): OutgoingMail {
  const closing = `The code is valid for ${validMinutes} minutes. If you did not ask for it, ignore this message.`;
  return {
    to,
    subject,
    text: `${intro}\n\n    ${code}\n\n${closing}\n`,
    // the code is six digits and the address was validated, but nothing here is trusted to be markup
    html: `<p>${escapeHtml(intro)}</p><p style="font-size:24px;letter-spacing:4px"><strong>${escapeHtml(code)}</strong></p><p>${escapeHtml(closing)}</p>`,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function verificationMail(to: string, code: string, validMinutes: number): OutgoingMail {
  return codeMail(to, `Your Coffee Shop verification code: ${code}`, "Welcome to Coffee Shop! Confirm your email address with this code:", code, validMinutes);
}

export function emailChangeMail(to: string, code: string, validMinutes: number): OutgoingMail {
  return codeMail(to, `Confirm your new Coffee Shop email: ${code}`, "Confirm that this is your new Coffee Shop email address with this code:", code, validMinutes);
}

/** To the old address once an email change completes: the code went to the new one only. */
export function emailChangedNotice(newAddress: string): MailContent {
  const text =
    `The email address of your Coffee Shop account was changed to ${newAddress}. ` +
    "If you did not do this, contact us at once: someone else may control your account.";
  return { subject: "Your Coffee Shop email address was changed", text: `${text}\n`, html: `<p>${escapeHtml(text)}</p>` };
}
