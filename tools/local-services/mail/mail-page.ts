import type { CapturedEmail } from "./outgoing-email.ts";

/** The mail catcher's page: every captured message, newest first, all of its content escaped. */
export function renderMailPage(emails: CapturedEmail[]): string {
  const list = emails.length === 0 ? "<p>No messages yet.</p>" : emails.map(renderEmail).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Mail catcher (${emails.length})</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
  article { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; padding: 0.5rem 1rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
  dt { color: #666; }
  pre { background: #f6f6f6; padding: 0.5rem; white-space: pre-wrap; }
  iframe { border: 1px solid #ddd; border-radius: 6px; height: 28rem; width: 100%; }
</style>
</head>
<body>
<h1>Mail catcher</h1>
<p>Messages sent to this service's <code>POST /emails</code>, newest first. <a href="/">Refresh</a>
· <a href="/emails">JSON</a></p>
${list}
</body>
</html>
`;
}

function renderEmail(email: CapturedEmail): string {
  // The preview renders the message as a mail client would, in a frame sandboxed without scripts, forms
  // or this page's origin (and under its policy: nothing loads from elsewhere).
  const html =
    email.html === null
      ? ""
      : `<iframe sandbox="" title="${escapeHtml(email.subject)}" srcdoc="${escapeHtml(email.html)}"></iframe>
<details><summary>HTML source</summary><pre>${escapeHtml(email.html)}</pre></details>`;
  return `<article>
<h2>${escapeHtml(email.subject)}</h2>
<dl>
<dt>From</dt><dd>${escapeHtml(email.from)}</dd>
<dt>To</dt><dd>${escapeHtml(email.to.join(", "))}</dd>
<dt>Sent</dt><dd>${escapeHtml(email.created_at)}</dd>
<dt>Id</dt><dd>${escapeHtml(email.id)}</dd>
</dl>
${email.text === null ? "" : `<pre>${escapeHtml(email.text)}</pre>`}
${html}
</article>`;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}
