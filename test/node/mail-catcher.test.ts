// The mail catcher answers the real `resend` SDK the way Resend does, and shows what it caught.
import { Resend } from "resend";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { startTestServices, type TestServices } from "./support/test-services.ts";

let env: TestServices;
let resend: Resend;

// The listing's shape, which the Worker's tests rely on.
const listedEmails = z.array(
  z.object({
    id: z.uuid(),
    from: z.string(),
    to: z.array(z.string()),
    cc: z.array(z.string()),
    bcc: z.array(z.string()),
    reply_to: z.array(z.string()),
    subject: z.string(),
    text: z.string().nullable(),
    html: z.string().nullable(),
    headers: z.record(z.string(), z.string()),
    created_at: z.iso.datetime(),
  }),
);

beforeAll(async () => {
  env = await startTestServices();
  resend = new Resend("re_test", { baseUrl: env.services.url });
});

afterAll(async () => {
  await env?.stop();
});

beforeEach(async () => {
  const cleared = await fetch(`${env.services.url}/emails`, { method: "DELETE" });
  expect(cleared.status).toBe(204);
});

async function listEmails(query = "") {
  const response = await fetch(`${env.services.url}/emails${query}`);
  expect(response.status).toBe(200);
  return listedEmails.parse(await response.json());
}

function message(to: string | string[], subject = "Your code") {
  return { from: "Coffee Shop <no-reply@coffee.test>", to, subject, text: "Your code is 123456.", html: "<p>123456</p>" };
}

describe("sending", () => {
  it("stores what the SDK sends and lists it newest first", async () => {
    const first = await resend.emails.send(message("ann@example.com", "first"));
    const second = await resend.emails.send({ ...message(["bob@example.com", "cy@example.com"], "second"), cc: "dee@example.com" });
    expect(first.error).toBeNull();
    expect(first.data?.id).toMatch(/^[0-9a-f-]{36}$/);

    const emails = await listEmails();
    expect(emails.map((email) => email.subject)).toEqual(["second", "first"]);
    expect(emails[0]).toMatchObject({
      id: second.data?.id,
      from: "Coffee Shop <no-reply@coffee.test>",
      to: ["bob@example.com", "cy@example.com"],
      cc: ["dee@example.com"],
      text: "Your code is 123456.",
      html: "<p>123456</p>",
    });
    expect(emails[1]).toMatchObject({ id: first.data?.id, to: ["ann@example.com"] });
  });

  it("filters by recipient address, ignoring display names and case", async () => {
    await resend.emails.send(message(["Ann <Ann@Example.com>", "bob@example.com"], "to both"));
    await resend.emails.send(message("bob@example.com", "to bob"));
    expect((await listEmails("?to=ann@example.com")).map((email) => email.subject)).toEqual(["to both"]);
    expect((await listEmails("?to=bob@example.com")).map((email) => email.subject)).toEqual(["to bob", "to both"]);
    expect(await listEmails("?to=nobody@example.com")).toEqual([]);
  });

  it("answers a repeated idempotency key with the first answer and stores the message once", async () => {
    const first = await resend.emails.send(message("ann@example.com"), { idempotencyKey: "outbox-41" });
    const again = await resend.emails.send(message("ann@example.com"), { idempotencyKey: "outbox-41" });
    const other = await resend.emails.send(message("ann@example.com"), { idempotencyKey: "outbox-42" });
    expect(again.data?.id).toBe(first.data?.id);
    expect(other.data?.id).not.toBe(first.data?.id);
    expect(await listEmails()).toHaveLength(2);
  });

  it("refuses an invalid message with Resend's validation error", async () => {
    const send = (body: string) => fetch(`${env.services.url}/emails`, { method: "POST", body });
    const missingTo = await send(JSON.stringify({ from: "a@coffee.test", subject: "s", text: "t" }));
    expect(missingTo.status).toBe(422);
    expect(await missingTo.json()).toEqual({ statusCode: 422, name: "validation_error", message: "Missing `to` field." });
    const notJson = await send("{");
    expect(await notJson.json()).toMatchObject({ statusCode: 422, name: "validation_error" });
    expect(await listEmails()).toEqual([]);
  });
});

describe("simulated failures", () => {
  async function failNext(count: number, status: number, to?: string) {
    const response = await fetch(`${env.services.url}/emails/failures`, {
      method: "POST",
      body: JSON.stringify({ count, status, ...(to === undefined ? {} : { to }) }),
    });
    expect(response.status).toBe(200);
  }

  it("fails the next sends with the status asked for, storing nothing, then recovers", async () => {
    await failNext(2, 500);
    const failed = await resend.emails.send(message("ann@example.com"), { idempotencyKey: "outbox-7" });
    expect(failed.data).toBeNull();
    expect(failed.error).toMatchObject({ statusCode: 500, name: "internal_server_error" });
    expect((await resend.emails.send(message("ann@example.com"))).error).toMatchObject({ statusCode: 500 });
    expect(await listEmails()).toEqual([]);

    // a retry with the same key (an outbox resend) goes through once the failures are used up
    const retried = await resend.emails.send(message("ann@example.com"), { idempotencyKey: "outbox-7" });
    expect(retried.error).toBeNull();
    expect(await listEmails()).toHaveLength(1);
  });

  it("fails only the sends to the address named, when one is (tests running at once keep theirs apart)", async () => {
    await failNext(1, 500, "Bob@Example.com");
    expect((await resend.emails.send(message("ann@example.com"))).error).toBeNull();
    expect((await resend.emails.send(message("bob@example.com"))).error).toMatchObject({ statusCode: 500 });
    expect((await resend.emails.send(message("bob@example.com"))).error).toBeNull();
  });

  it("answers a rate limit as Resend does", async () => {
    await failNext(1, 429);
    const limited = await resend.emails.send(message("ann@example.com"));
    expect(limited.error).toMatchObject({ statusCode: 429, name: "rate_limit_exceeded" });
  });
});

describe("the page", () => {
  it("lists the messages with all their content escaped", async () => {
    await resend.emails.send({
      ...message("ann@example.com", "<script>alert('subject')</script>"),
      text: "Code: 654321 <img src=x onerror=alert(1)> & more",
    });
    const response = await fetch(`${env.services.url}/`);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    const page = await response.text();
    expect(page).toContain("&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;");
    expect(page).toContain("Code: 654321 &lt;img src=x onerror=alert(1)&gt; &amp; more");
    expect(page).toContain("&lt;p&gt;123456&lt;/p&gt;");
    expect(page).not.toContain("<script");
    expect(page).not.toContain("<img");
    // the HTML part, previewed in a frame with no scripts and no origin of its own
    expect(page).toContain(
      '<iframe sandbox="" title="&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;" srcdoc="&lt;p&gt;123456&lt;/p&gt;">',
    );
  });
});

it("DELETE /emails forgets every message", async () => {
  await resend.emails.send(message("ann@example.com"));
  expect(await listEmails()).toHaveLength(1);
  await fetch(`${env.services.url}/emails`, { method: "DELETE" });
  expect(await listEmails()).toEqual([]);
  expect(await (await fetch(`${env.services.url}/`)).text()).toContain("No messages yet.");
});

describe("the terminal of npm run dev", () => {
  it("shows each message caught, with its text, so a developer sees the code", async () => {
    const lines: string[] = [];
    const logged = await startTestServices(undefined, (line) => lines.push(line));
    try {
      const sdk = new Resend("re_test", { baseUrl: logged.services.url });
      const { error } = await sdk.emails.send({
        from: "Coffee Shop <no-reply@coffee.test>",
        to: ["ada@coffee.test"],
        subject: "Your code",
        text: "Your code is 314159.",
      });
      expect(error).toBeNull();
      expect(lines.find((line) => line.startsWith("Mail to ada@coffee.test: Your code"))).toContain("314159");
    } finally {
      await logged.stop();
    }
  });
});
