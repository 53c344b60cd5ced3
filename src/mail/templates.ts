import { html } from "hono/html";
import type { MailContent } from "./message.ts";

// Every message has a subject, a plain-text part and an HTML part. The HTML is what mail clients render
// reliably: one centred table, inline styles, no images, scripts or web fonts, and nothing that needs
// CSS support beyond the basics. `html` escapes every value it interpolates: nothing in a message is
// trusted to be markup. Codes never go in a subject: subjects are kept after sending and shown in
// notification previews.

/** A message, written once the product's name (PRODUCT_NAME) is known. */
export type Letter = (product: string) => Promise<MailContent>;

/** A paragraph with a link after it: a mail's one action for one item (a sign-in it reports, say). */
interface Item {
  text: string;
  link: { label: string; href: string };
}

interface Body {
  subject: string;
  /** The paragraphs before the code (or the only ones). */
  lines: string[];
  code?: string;
  /** Paragraphs, each followed by its link, after the code. */
  items?: Item[];
  /** The paragraphs after the code and the items. */
  closing?: string[];
}

const FONT = "font-family:Arial,Helvetica,sans-serif;";
const PARAGRAPH = `margin:0 0 16px;${FONT}font-size:16px;line-height:24px;color:#222222;`;
const LINK = `${FONT}font-size:16px;line-height:24px;color:#8a3b12;font-weight:bold;`;

function paragraphs(lines: string[]) {
  return lines.map((line) => html`<p style="${PARAGRAPH}">${line}</p>`);
}

function itemBlocks(items: Item[]) {
  return items.map(
    ({ text, link }) => html`<p style="${PARAGRAPH}">${text}<br /><a href="${link.href}" style="${LINK}">${link.label}</a></p>`,
  );
}

function footer(product: string): string {
  return `You received this email because this address belongs to a ${product} account.`;
}

/** The plain-text part: the same paragraphs, the code indented, each item's link on a line of its own. */
function plainText(product: string, body: Body): string {
  const { lines, code, items = [], closing = [] } = body;
  return [
    product,
    "",
    ...lines.flatMap((line) => [line, ""]),
    ...(code ? [`    ${code}`, ""] : []),
    ...items.flatMap(({ text, link }) => [text, `${link.label}: ${link.href}`, ""]),
    ...closing.flatMap((line) => [line, ""]),
    "--",
    footer(product),
    "",
  ].join("\n");
}

async function compose(product: string, body: Body): Promise<MailContent> {
  const { subject, lines, code, items = [], closing = [] } = body;
  const codeBlock = code
    ? html`<p
        style="margin:8px 0 24px;font-family:'Courier New',Courier,monospace;font-size:32px;line-height:40px;font-weight:bold;letter-spacing:6px;color:#111111;"
      >
        ${code}
      </p>`
    : "";
  const document = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${subject}</title>
      </head>
      <body style="margin:0;padding:0;background-color:#f4f1ee;">
        <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f1ee;">
          <tr>
            <td align="center" style="padding:24px 12px;">
              <table
                role="presentation"
                width="100%"
                cellpadding="0"
                cellspacing="0"
                border="0"
                style="max-width:560px;background-color:#ffffff;border-radius:8px;"
              >
                <tr>
                  <td style="padding:24px 32px 8px;${FONT}font-size:20px;line-height:28px;font-weight:bold;color:#3b2a20;">${product}</td>
                </tr>
                <tr>
                  <td style="padding:8px 32px 8px;">${paragraphs(lines)}${codeBlock}${itemBlocks(items)}${paragraphs(closing)}</td>
                </tr>
                <tr>
                  <td style="padding:16px 32px 24px;border-top:1px solid #eeeeee;${FONT}font-size:12px;line-height:18px;color:#777777;">
                    ${footer(product)}
                  </td>
                </tr>
              </table>
            </td>
          </tr>
        </table>
      </body>
    </html>`;
  return { subject, text: plainText(product, body), html: await document };
}

function codeLetter(subject: (product: string) => string, intro: (product: string) => string, code: string, validMinutes: number): Letter {
  return (product) =>
    compose(product, {
      subject: subject(product),
      lines: [intro(product)],
      code,
      closing: [`The code is valid for ${validMinutes} minutes. If you did not ask for it, you can ignore this message.`],
    });
}

export function verificationMail(code: string, validMinutes: number): Letter {
  return codeLetter(
    (product) => `Your ${product} verification code`,
    (product) => `Welcome to ${product}! Confirm your email address with this code:`,
    code,
    validMinutes,
  );
}

export function emailChangeMail(code: string, validMinutes: number): Letter {
  return codeLetter(
    (product) => `Confirm your new ${product} email address`,
    (product) => `Confirm that this is the new email address of your ${product} account with this code:`,
    code,
    validMinutes,
  );
}

export function passwordResetMail(code: string, validMinutes: number): Letter {
  return codeLetter(
    (product) => `Reset your ${product} password`,
    (product) => `Someone, hopefully you, asked to reset the password of your ${product} account. Enter this code to choose a new one:`,
    code,
    validMinutes,
  );
}

/** To the current address when someone starts moving the account to another one. */
export function emailChangeStartedNotice(newAddress: string): Letter {
  return (product) =>
    compose(product, {
      subject: `Someone asked to change your ${product} email address`,
      lines: [
        `A change of your ${product} account's email address to ${newAddress} was requested. It takes effect only when the code sent there is entered.`,
        "If you did not ask for it, change your password at once.",
      ],
    });
}

/** To the old address once the account's address has changed (by its owner's code, or by an admin). */
export function emailChangedNotice(newAddress: string): Letter {
  return (product) =>
    compose(product, {
      subject: `Your ${product} email address was changed`,
      lines: [
        `The email address of your ${product} account was changed to ${newAddress}.`,
        "If you did not do this, contact us at once: someone else may control your account.",
      ],
    });
}

/** To the account's address after its password was reset or changed: every other session has ended. */
export function passwordChangedNotice(how: "reset" | "changed"): Letter {
  return (product) =>
    compose(product, {
      subject: how === "reset" ? `Your ${product} password was reset` : `Your ${product} password was changed`,
      lines: [
        `The password of your ${product} account was ${how}, and you were logged out everywhere${how === "changed" ? " else" : ""}.`,
        "If you did not do this, reset your password at once and contact us.",
      ],
    });
}

/** To an address whose codes of one kind were paused after many wrong guesses at them. */
export function codesPausedNotice(what: "verify" | "reset_password", pausedHours: number): Letter {
  const kind = what === "verify" ? "verification" : "password-reset";
  return (product) =>
    compose(product, {
      subject: `${product}: ${kind} codes for this address are paused`,
      lines: [
        `Someone entered many wrong ${kind} codes for this address, so ${kind} codes sent here will not be accepted for the next ${pausedHours} hours.`,
        what === "verify"
          ? "If you were signing up, you can still set your password with “Forgot password”, which proves the address another way."
          : "If this was not you, nothing was changed: your password is still the one you know, and you can log in with it.",
      ],
    });
}

/** To an account locked after a hundred wrong passwords in a row. */
export function accountLockedNotice(): Letter {
  return (product) =>
    compose(product, {
      subject: `Your ${product} account is locked`,
      lines: [
        `Someone entered a wrong password for your ${product} account a hundred times in a row, so it no longer accepts a password.`,
        "To open it again, choose a new password with “Forgot password”: a code will be sent to this address.",
      ],
    });
}

/** To the account when an admin cleared its wrong passwords in a row (a lock, or a wait), at its owner's call. */
export function accountUnlockedNotice(): Letter {
  return (product) =>
    compose(product, {
      subject: `Your ${product} account takes your password again`,
      lines: [
        `An administrator of ${product} cleared the wrong passwords entered for your account, so it takes your password again at once.`,
        "If you did not ask for this, someone may be guessing your password: choose a new one with “Forgot password”.",
      ],
    });
}

/** To the account when its second factor is turned on, off, or reset by an admin. */
export function mfaChangedNotice(change: "enabled" | "disabled" | "reset"): Letter {
  const what = {
    enabled:
      "A second factor (an authenticator app) was turned on for your account: logins now ask for its code, and you were logged out everywhere else.",
    disabled: "The second factor of your account was turned off: logins now ask only for your password.",
    reset:
      "An administrator removed the second factor of your account, and you were logged out everywhere. Log in with your password and set one up again.",
  }[change];
  return (product) =>
    compose(product, {
      subject: `${product}: your second factor was ${change === "reset" ? "reset" : `turned ${change === "enabled" ? "on" : "off"}`}`,
      lines: [what, "If you did not do this, reset your password at once and contact us."],
    });
}

/** To the owner, when an identity at a provider became a way into the account. */
export function identityLinkedNotice(provider: string): Letter {
  return (product) =>
    compose(product, {
      subject: `${product}: ${provider} was linked to your account`,
      lines: [
        `Your ${provider} account was linked to your account: signing in with ${provider} now signs you in here.`,
        "If you did not do this, unlink it, reset your password at once and contact us.",
      ],
    });
}

/** To the owner, when one of the provider identities linked to the account was unlinked. */
export function identityUnlinkedNotice(by: "owner" | "admin"): Letter {
  const what =
    by === "owner"
      ? "A sign-in provider was unlinked from your account: it no longer signs you in here, and the sessions it started were ended."
      : "An administrator unlinked a sign-in provider from your account: it no longer signs you in here, and you were logged out everywhere.";
  return (product) =>
    compose(product, {
      subject: `${product}: a sign-in provider was unlinked from your account`,
      lines: [what, "If you did not ask for this, reset your password at once and contact us."],
    });
}

/** To the account whose authenticator codes were paused: whoever entered them knew the password. */
export function factorPausedNotice(pausedHours: number): Letter {
  return (product) =>
    compose(product, {
      subject: `${product}: codes of your authenticator app are paused`,
      lines: [
        `Someone entered your password and then many wrong codes of your authenticator app, so its codes will not be accepted for the next ${pausedHours} hours.`,
        "If this was not you, your password is known to someone: choose a new one with “Forgot password” now.",
      ],
    });
}

/** To the account when a recovery code was used to log in: one fewer is left, and someone may have the list. */
export function recoveryCodeUsedNotice(): Letter {
  return (product) =>
    compose(product, {
      subject: `${product}: a recovery code was used to log in`,
      lines: [
        `A recovery code of your ${product} account was just used to log in in place of your authenticator app. It cannot be used again.`,
        "If this was not you, reset your password at once, turn your second factor off and on again (which makes new recovery codes), and contact us.",
      ],
    });
}

/** To the account when a passkey was added to it. */
export function passkeyAddedNotice(name: string): Letter {
  return (product) =>
    compose(product, {
      subject: `${product}: a passkey was added to your account`,
      lines: [
        `A passkey named “${name}” was added to your ${product} account: it signs in without your password from now on.`,
        "If you did not do this, remove it, reset your password at once and contact us.",
      ],
    });
}

/** To the account when a passkey was removed from it: by its owner (its sessions end), or by an administrator (all end). */
export function passkeyRemovedNotice(by: "owner" | "admin"): Letter {
  const what =
    by === "owner"
      ? "A passkey was removed from your account, and the sessions it signed in were ended."
      : "An administrator removed a passkey from your account, and you were logged out everywhere.";
  return (product) =>
    compose(product, {
      subject: `${product}: a passkey was removed from your account`,
      lines: [what, "If you did not ask for this, reset your password at once and contact us."],
    });
}

/** One sign-in from a device the account had not seen: when, which client in words, from where, and its link. */
export interface NewSignIn {
  at: Date;
  client: string;
  network: string | null;
  country: string | null;
  /** "This wasn't me": ends that device's sessions without signing in. */
  reportUrl: string;
}

const WHEN = new Intl.DateTimeFormat("en-GB", { dateStyle: "long", timeStyle: "short", timeZone: "UTC" });

function describeSignIn(signIn: NewSignIn): string {
  const where = [signIn.network, signIn.country && `(${signIn.country})`].filter(Boolean).join(" ");
  return `${signIn.client}${where ? `, from ${where}` : ""}, on ${WHEN.format(signIn.at)} UTC.`;
}

/**
 * To the account when it was signed into from a device it had not seen: one sign-in, or the list of a burst (at most
 * one such message an hour). Each with its link; nothing in it signs anyone in.
 */
export function newSignInNotice(signIns: NewSignIn[], linkHours: number): Letter {
  const several = signIns.length > 1;
  return (product) =>
    compose(product, {
      subject: several ? `${product}: new sign-ins to your account` : `${product}: a new sign-in to your account`,
      lines: [
        several
          ? `Your ${product} account was signed into from devices it had not seen before:`
          : `Your ${product} account was signed into from a device it had not seen before:`,
      ],
      items: signIns.map((signIn) => ({
        text: describeSignIn(signIn),
        link: { label: "This wasn't me: sign that device out", href: signIn.reportUrl },
      })),
      closing: [
        "If it was you, there is nothing to do.",
        `If it was not, use the link (it works for ${linkHours} hours), then choose a new password with “Forgot password” at once, and remove any passkey you do not know: whoever signed in knows your password or holds one of your passkeys.`,
      ],
    });
}

/**
 * To the owner who asked to delete their account: when its data goes, and how to keep it until then (a link to
 * the app's page that posts the token, or the token itself where no page is configured).
 */
export function deletionRequestedMail(cancel: { token: string; pageUrl: string | undefined }, dueAt: Date): Letter {
  const keep = cancel.pageUrl
    ? "Changed your mind? Keep your account with the link below before then."
    : `Changed your mind? Keep your account before then: give the app this cancellation code (it works once): ${cancel.token}`;
  return (product) =>
    compose(product, {
      subject: `Your ${product} account will be deleted`,
      lines: [
        `Your ${product} account is being deleted, as asked. Its data will be erased on ${dueAt.toUTCString()}; until then nobody can sign in to it.`,
        keep,
      ],
      ...(cancel.pageUrl
        ? { items: [{ text: "It works once.", link: { href: `${cancel.pageUrl}#token=${cancel.token}`, label: "Keep my account" } }] }
        : {}),
      closing: ["If you did not ask for this, keep your account and then change your password: someone else signed in as you."],
    });
}

/** To the owner when a deletion was cancelled: the account is as it was, and nobody was signed in. */
export function deletionCancelledNotice(): Letter {
  return (product) =>
    compose(product, {
      subject: `Your ${product} account will not be deleted`,
      lines: [
        `The deletion of your ${product} account was cancelled with the link we sent: the account is as it was. Sign in as usual.`,
        "If you did not do this, someone can read your mail: secure your mailbox, then delete the account again if you wish.",
      ],
    });
}

/** To the owner when a copy of their data was made: by them, or by an admin at a request received by other means. */
export function dataExportedNotice(by: "owner" | "admin"): Letter {
  return (product) =>
    compose(product, {
      subject: `${product}: a copy of your account's data was made`,
      lines: [
        by === "owner"
          ? `A copy of everything ${product} keeps about your account was just downloaded from your account.`
          : `An administrator of ${product} made a copy of everything kept about your account, for a request about your data.`,
        "If you did not expect this, change your password at once and contact us.",
      ],
    });
}
