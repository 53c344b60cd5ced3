// The admin console in a real browser (Debian's Chromium through playwright-core) against `wrangler dev`:
// an admin signs in, finds a user by email prefix, disables them and sees the audit event, and that
// user's access token stops working; a non-admin is refused in words; the page's CSP is strict and
// nothing on it violates it; a change asks the admin to confirm who they are once the sign-in is older than the
// stack's step-up window (5 s here, so the test waits it out instead of 10 minutes); an admin with an
// authenticator app signs in with its code; an admin adds a passkey (the DevTools protocol's virtual authenticator),
// signs in with it alone, and once another admin removes it, it is refused. WCAG 2.1 AA: every state the test
// reaches passes axe-core's rules in light and dark, and the sign-in and a user's page, dialogs included, are used
// with Tab, Enter and Escape alone,
// with a focus ring of 3:1 at every stop and focus given back when a dialog closes. Run by .ci/run
// (`npm run test:browser`), not by `npm test`: a fresh machine has no Chromium. CONSOLE_SCREENSHOTS=docs/images also
// writes the README's screenshots.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type CDPSession, chromium, type Locator, type Page } from "playwright-core";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// an authenticator app of someone else's making, so the console meets codes the API did not compute itself
import { Secret, TOTP } from "otpauth";
import { expectAccessible } from "./accessibility.ts";
import { type DevStack, type NewUser, STEP_UP_MAX_AGE_SECONDS, startDevStack } from "./dev-stack.ts";
import { expectFocused, expectFocusVisible, tabTo } from "./keyboard.ts";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const PASSWORD = "correct horse battery staple";
const user = (email: string, firstName: string, lastName: string, role: NewUser["role"] = "user"): NewUser => ({
  email,
  password: PASSWORD,
  role,
  firstName,
  lastName,
});

const admin = user("admin@coffee.test", "Ada", "Lovelace", "admin");
const target = user("grace.hopper@coffee.test", "Grace", "Hopper");
const barista = user("alan.turing@coffee.test", "Alan", "Turing");
const otherAdmin = user("margaret.hamilton@coffee.test", "Margaret", "Hamilton", "admin");
const factorAdmin = user("mary.jackson@coffee.test", "Mary", "Jackson", "admin");
const enrolling = user("dorothy.vaughan@coffee.test", "Dorothy", "Vaughan", "admin");
// an admin whose address the local identity provider knows too (its person "ada/console")
const providerAdmin = user("ada.console@oidc.test", "Ada", "Byron", "admin");
const passkeyHolder = user("annie.easley@coffee.test", "Annie", "Easley", "admin");
// the support calls: locked out by wrong passwords, and a lost phone whose app's codes are paused
const lockedOut = user("hedy.lamarr@coffee.test", "Hedy", "Lamarr");
const phoneLost = user("mary.ross@coffee.test", "Mary", "Ross");
const others = [
  user("katherine.johnson@coffee.test", "Katherine", "Johnson"),
  otherAdmin,
  factorAdmin,
  enrolling,
  providerAdmin,
  passkeyHolder,
  lockedOut,
  phoneLost,
];

let stack: DevStack;
let browser: Browser;
let page: Page;
let screenshots: string;
/** The target's access tokens, from logins through the API: one the admin ends on its own, one that lives until the ban. */
let targetToken: string;
/** Another admin's access token, made before the console's sign-in: asking the API with it counts no sign-in the page missed. */
let watcherToken: string;
let phoneToken: string;
const PHONE = "CoffeeApp/3.1 (iPhone)";
/** The factor admin's authenticator app and the last time step whose code the API accepted. */
let factor: { app: TOTP; lastStep: number };
/** When the admin last signed in, for the step-up window. */
let signedInAt = 0;
/** The virtual authenticator of the passkey tests, and the DevTools session that made it. */
let authenticator: { devtools: CDPSession; id: string };
const cspViolations: string[] = [];
const scriptErrors: string[] = [];

// a login alone takes a good part of a second (the password hash), more on a busy machine
const WAIT_MS = 15_000;
const eventually = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: WAIT_MS });

async function api(
  path: string,
  init: { token?: string; body?: unknown; method?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  // the test's own calls come from a client of their own (wrangler dev takes CF-Connecting-IP as Cloudflare sets it):
  // they do not spend the browser's allowance of /auth requests a minute
  const headers: Record<string, string> = { "content-type": "application/json", "cf-connecting-ip": "203.0.113.50", ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const method = init.method ?? (init.body === undefined ? "GET" : "POST");
  return fetch(`${stack.url}${path}`, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
}

async function login(who: NewUser, headers: Record<string, string> = {}): Promise<string> {
  const response = await api("/auth/login", { body: { email: who.email, password: who.password }, headers });
  expect(response.status).toBe(200);
  const { access_token: token } = (await response.json()) as { access_token: string };
  return token;
}

/** Turns an authenticator app on for `who` through the API, as the app would: the secret in, a first code out. */
const stepNow = () => Math.floor(Date.now() / 1000 / 30);
const authenticatorApp = (secret: string) => new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 });

async function enrolFactor(who: NewUser): Promise<{ app: TOTP; lastStep: number }> {
  const token = await login(who);
  const started = await api("/auth/mfa/totp", { token, body: { current_password: PASSWORD } });
  expect(started.status).toBe(201);
  const { secret } = (await started.json()) as { secret: string };
  const app = authenticatorApp(secret);
  const step = stepNow();
  expect((await api("/auth/mfa/totp/confirm", { token, body: { code: app.generate({ timestamp: step * 30_000 }) } })).status).toBe(200);
  return { app, lastStep: step };
}

/** A code the API has not accepted yet: the current step's, or the next one's (within the drift it allows). */
function freshCode(): string {
  const step = Math.max(stepNow(), factor.lastStep + 1);
  factor.lastStep = step;
  return factor.app.generate({ timestamp: step * 30_000 });
}

/** A place of the console, by its link in the header's navigation. */
const navLink = (name: "Users" | "Events" | "Your account") =>
  page.getByRole("navigation", { name: "Console" }).getByRole("link", { name });

/** A hundred wrong passwords in a row, the last through the API: the account is locked, its owner told. */
async function lockOut(who: NewUser): Promise<void> {
  await stack.db.updateTable("users").set({ login_failures: 99 }).where("email", "=", who.email).execute();
  expect((await api("/auth/login", { body: { email: who.email, password: "the hundredth wrong guess" } })).status).toBe(401);
  expect((await api("/auth/login", { body: { email: who.email, password: who.password } })).status).toBe(403);
}

/** An authenticator app whose codes are paused after a hundred wrong ones (the phone is gone, someone guessed). */
async function pauseFactor(who: NewUser): Promise<void> {
  await enrolFactor(who);
  const owner = stack.db.selectFrom("users").select("id").where("email", "=", who.email);
  await stack.db
    .updateTable("totp_factors")
    .set({ failures: 100, paused_until: new Date(Date.now() + 12 * 60 * 60 * 1000) })
    .where("user_id", "=", owner)
    .execute();
}

/** A change's done notice, after the dialog that asks the admin who they are, when the sign-in is too old. */
async function afterStepUp(done: string): Promise<void> {
  const confirm = page.getByRole("dialog", { name: "Confirm it is you" });
  const notice = page.getByRole("status").filter({ hasText: done });
  await eventually(async () => (await confirm.isVisible()) || (await notice.isVisible())).toBe(true);
  if (await confirm.isVisible()) {
    await confirm.getByLabel("Password", { exact: true }).fill(admin.password);
    await confirm.getByLabel("Password", { exact: true }).press("Enter");
    await confirm.waitFor({ state: "detached" });
  }
  await notice.waitFor();
}

/** Presses "Export as CSV", confirming who the admin is if the sign-in is too old, and answers the file's text. */
async function downloadCsv(): Promise<string> {
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export as CSV" }).click();
  const confirm = page.getByRole("dialog", { name: "Confirm it is you" });
  const asked = await Promise.race([download.then(() => false), confirm.waitFor().then(() => true)]);
  if (asked) {
    await confirm.getByLabel("Password", { exact: true }).fill(admin.password);
    await confirm.getByLabel("Password", { exact: true }).press("Enter");
  }
  const file = await (await download).path();
  return readFileSync(file, "utf8");
}

/** A user's page, found through the table's search. */
async function openUser(who: NewUser, search: string): Promise<void> {
  await navLink("Users").click();
  await page.getByLabel("Email, name or id").fill(search);
  await page.getByLabel("Email, name or id").press("Enter");
  await page.getByRole("link", { name: who.email }).click();
  await page.getByRole("heading", { name: who.email, level: 1 }).waitFor();
}

async function userId(token: string, who: NewUser): Promise<number> {
  const [found] = (await (await api(`/users?email=${who.email}`, { token })).json()) as { id: number }[];
  if (!found) throw new Error(`${who.email} not found`);
  return found.id;
}

/**
 * A platform authenticator of the DevTools protocol (a phone's or a laptop's, as WebAuthn sees it): resident keys,
 * user verification that succeeds, presence given without a touch.
 */
async function virtualAuthenticator(on: Page): Promise<{ devtools: CDPSession; id: string }> {
  const devtools = await on.context().newCDPSession(on);
  await devtools.send("WebAuthn.enable");
  const { authenticatorId } = await devtools.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { devtools, id: authenticatorId };
}

/**
 * Past the stack's step-up window (5 s), a change opens the dialog that asks for the password before it goes through:
 * answers it when it opens, then waits for what the change shows when done.
 */
async function answerStepUpIfAsked(done: Locator): Promise<void> {
  const confirm = page.getByRole("dialog", { name: "Confirm it is you" });
  await eventually(async () => (await confirm.isVisible()) || (await done.isVisible())).toBe(true);
  if (await confirm.isVisible()) {
    await confirm.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await confirm.getByLabel("Password", { exact: true }).press("Enter");
  }
  await done.waitFor();
}

async function signIn(who: NewUser, password = who.password): Promise<void> {
  await page.getByLabel("Email", { exact: true }).fill(who.email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  // the keyboard is enough: Enter submits
  await page.getByLabel("Password", { exact: true }).press("Enter");
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM`);
  stack = await startDevStack();
  await Promise.all([admin, target, barista, ...others].map((each) => stack.createUser(each)));
  // a signup that never proved its address, so the table shows every status
  expect((await api("/auth/signup", { body: { email: "new.customer@coffee.test", password: PASSWORD } })).status).toBe(201);
  targetToken = await login(target);
  phoneToken = await login(target, { "user-agent": PHONE });
  factor = await enrolFactor(factorAdmin);
  watcherToken = await login(otherAdmin);
  await lockOut(lockedOut);
  await pauseFactor(phoneLost);
  screenshots = process.env.CONSOLE_SCREENSHOTS ?? join(stack.scratch, "screenshots");
  mkdirSync(screenshots, { recursive: true });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  // a viewer far from UTC, to see dates in their own time zone
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId: "America/New_York", locale: "en-US" });
  // the page's clock, moved on to see the idle sign-out without waiting for it
  await context.clock.install();
  page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  // CSP violations, whether the browser reports them to the page or only to its console
  await page.exposeFunction("reportCspViolation", (violation: string) => cspViolations.push(violation));
  await page.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (event) => reportCspViolation(event.violatedDirective + " " + event.blockedURI));`,
  });
  page.on("console", (message) => {
    if (/Content.Security.Policy|Trusted Type/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on("pageerror", (error) => scriptErrors.push(error.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe("the admin console", () => {
  it("is served with a strict CSP, frame-ancestors 'none' and no-store, and has no inline script", async () => {
    for (const path of ["/admin", "/admin/console.js", "/admin/console.css"]) {
      const response = await fetch(`${stack.url}${path}`);
      expect(response.status, path).toBe(200);
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("require-trusted-types-for 'script'");
      expect(csp, path).not.toMatch(/unsafe-|https?:|\*/);
      expect(response.headers.get("cache-control"), path).toBe("no-store");
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      if (path === "/admin") expect(await response.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=/i);
    }
  });

  it("shows the API's words when the password is wrong, then signs the admin in, from the keyboard alone", async () => {
    const response = await page.goto(`${stack.url}/admin`);
    expect(response?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    await eventually(() => page.getByRole("heading", { name: "Sign in" }).isVisible()).toBe(true);
    await expectAccessible(page, "the sign-in form");
    const email = page.getByLabel("Email", { exact: true });
    const password = page.getByLabel("Password", { exact: true });

    await expectFocused(page, email);
    await expectFocusVisible(page);
    await page.keyboard.type(admin.email);
    await tabTo(page, password);
    await page.keyboard.type("not the password");
    await page.keyboard.press("Enter");
    await eventually(() => page.getByRole("alert").textContent()).toBe("The email or password is wrong.");
    await expectAccessible(page, "the sign-in form with a refusal");

    // once around the page (the button, the skip link over the header) and back to the password
    await expectFocused(page, password);
    await tabTo(page, email);
    await tabTo(page, password);
    await page.keyboard.type(admin.password);
    await tabTo(page, page.getByRole("button", { name: "Sign in", exact: true }));
    await page.keyboard.press("Enter");
    signedInAt = Date.now();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    await page.getByRole("table", { name: "Users" }).waitFor();
    expect(await page.getByRole("status").filter({ hasText: "users match" }).textContent()).toBe("12 users match, newest first.");
    await expectAccessible(page, "the users table");
    expect(await page.locator("header").textContent()).toContain(admin.email);
    expect(await page.getByRole("table", { name: "Users" }).locator("tbody tr").count()).toBe(12);
    expect(await page.locator("footer").textContent()).toContain("America/New_York");
  });

  it("draws the last 30 days over the users, each day's numbers the API's", async () => {
    const panel = page.getByRole("region", { name: "The last 30 days" });
    const picture = panel.getByRole("img");
    await picture.waitFor();
    const counts = (await (await api("/events/daily?days=30", { token: watcherToken })).json()) as {
      day: string;
      signed_up: number;
      signed_in: number;
      refused: number;
    }[];
    const rows = panel
      .getByRole("table", { name: "Sign-ups, sign-ins and refused sign-ins by day", includeHidden: true })
      .locator("tbody tr");
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(shown).toEqual(counts.map((day) => [day.day, String(day.signed_in), String(day.signed_up), String(day.refused)]));
    // today: the users made for this test; the locked-out user's two refusals and the admin's wrong password
    expect(counts.at(-1)).toMatchObject({ signed_up: 12, refused: 3 });
    expect(await picture.getAttribute("aria-label")).toMatch(
      /^The last 30 days: \d+ sign-ins, 12 sign-ups, 3 refused sign-ins; the most refused on /,
    );
    expect(await picture.locator("polyline").count()).toBe(3);
    expect(await picture.locator(".series-refused circle").count()).toBe(30);
    await expectAccessible(page, "the users page with the last 30 days");
    await page.screenshot({ path: join(screenshots, "console-users.png") });
  });

  it("finds a user by a part of their address and opens their page, from the keyboard", async () => {
    await tabTo(page, page.getByLabel("Email, name or id"));
    await page.keyboard.type("grace");
    await page.keyboard.press("Enter");
    await eventually(() => page.getByRole("table", { name: "Users" }).locator("tbody tr").count()).toBe(1);
    await tabTo(page, page.getByRole("link", { name: target.email }));
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: target.email, level: 1 }).waitFor();
    expect(await page.locator(".details").textContent()).toContain("Verified");
    // the sessions of the API logins above
    await eventually(() =>
      page
        .getByRole("table", { name: `Live sessions of ${target.email}` })
        .locator("tbody tr")
        .count(),
    ).toBe(2);
  });

  it("asks before disabling, deleting, changing the role or ending every session, naming them; focus goes back on cancel", async () => {
    await page.getByRole("table", { name: "Events, newest first" }).waitFor();
    await expectAccessible(page, "a user's page, with sessions and events");
    // what cannot be taken back looks it
    for (const name of ["Disable account…", "Delete user…", "End all sessions…"]) {
      expect(await page.getByRole("button", { name }).getAttribute("class"), name).toBe("danger");
    }
    const questions = [
      { button: "Disable account…", dialog: `Disable Grace Hopper (${target.email})?`, close: "Escape" },
      { button: "Delete user…", dialog: `Delete Grace Hopper (${target.email})?`, close: "Enter" },
      { button: "Change role…", dialog: `Make Grace Hopper (${target.email}) an admin?`, close: "Escape", role: "admin" },
      { button: "End all sessions…", dialog: `End every session of Grace Hopper (${target.email})?`, close: "Enter" },
    ];
    for (const question of questions) {
      if (question.role) await page.getByLabel("Role", { exact: true }).selectOption(question.role);
      const opener = page.getByRole("button", { name: question.button });
      await tabTo(page, opener);
      await page.keyboard.press("Enter");
      const dialog = page.getByRole("dialog", { name: question.dialog });
      // Cancel first, so a stray Enter changes nothing
      await expectFocused(page, dialog.getByRole("button", { name: "Cancel" }));
      await expectAccessible(page, `the dialog "${question.dialog}"`);
      await page.keyboard.press(question.close);
      await dialog.waitFor({ state: "detached" });
      await expectFocused(page, opener);
    }
    expect(await page.locator(".details").textContent()).toContain("Verified");
    expect(await page.locator(".details").textContent()).toContain("User");
    await page.getByLabel("Role", { exact: true }).selectOption("user");
  });

  it("ends one of their sessions once the admin confirms who they are; the other goes on", async () => {
    // past the step-up window: the API answers reauthentication_required, and the console asks
    await delay(Math.max(0, signedInAt + (STEP_UP_MAX_AGE_SECONDS + 1) * 1000 - Date.now()));
    const sessions = page.getByRole("table", { name: `Live sessions of ${target.email}` });
    const end = sessions
      .getByRole("row")
      .filter({ hasText: PHONE })
      .getByRole("button", { name: /^End the session/ });
    await tabTo(page, end);
    await page.keyboard.press("Enter");
    const confirm = page.getByRole("dialog", { name: "Confirm it is you" });
    const password = confirm.getByLabel("Password", { exact: true });
    await expectFocused(page, password);
    // cancelled: nothing happens, and focus is back on the button
    await page.keyboard.press("Escape");
    await confirm.waitFor({ state: "detached" });
    await expectFocused(page, end);
    expect(await page.getByRole("alert").count()).toBe(0);

    await page.keyboard.press("Enter");
    await expectFocused(page, password);
    await page.keyboard.type("not the password");
    await page.keyboard.press("Enter");
    await eventually(() => confirm.getByRole("alert").textContent()).toBe("The current password is wrong.");
    await expectAccessible(page, "the step-up dialog with a refusal");
    expect((await api("/users/me", { token: phoneToken })).status).toBe(200);
    await expectFocused(page, password);
    await page.keyboard.type(admin.password);
    await page.keyboard.press("Enter");
    await confirm.waitFor({ state: "detached" });
    await eventually(() => page.getByRole("status").first().textContent()).toContain("That session has ended");
    await eventually(() => sessions.locator("tbody tr").count()).toBe(1);
    expect((await api("/users/me", { token: phoneToken })).status).toBe(401);
    expect((await api("/users/me", { token: targetToken })).status).toBe(200);
  });

  it("disables them (inside the window, without asking again), shows the status_changed event, and their access token stops working", async () => {
    expect((await api("/users/me", { token: targetToken })).status).toBe(200);
    await tabTo(page, page.getByRole("button", { name: "Disable account…" }));
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: `Disable Grace Hopper (${target.email})?` });
    expect(await dialog.locator("p").textContent()).toContain("cannot log in until an admin enables the account again");
    await tabTo(page, dialog.getByRole("button", { name: "Disable account" }));
    await page.keyboard.press("Enter");
    await eventually(() => page.getByRole("status").first().textContent()).toContain("Disabled");
    expect(await page.locator(".details").textContent()).toContain("Disabled");
    const event = page.getByRole("row").filter({ has: page.locator('[title="status_changed"]') });
    await eventually(() => event.count()).toBe(1);
    expect(await event.textContent()).toContain(`${admin.email} changed the status of ${target.email} from Verified to Disabled`);
    await page.getByText("No live sessions.").waitFor();
    await page.getByRole("heading", { name: target.email, level: 1 }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshots, "console-user.png"), fullPage: true });

    const me = await api("/users/me", { token: targetToken });
    expect(me.status).toBe(401);
    await expectAccessible(page, "a user's page after a change, with its notice");
  });

  it("shows a focus ring of 3:1 on every control of the page, the header's included, in light and dark", async () => {
    // from the notice to the end of the page, then from its top (the skip link, the header) to Sign out
    await tabTo(page, page.getByRole("button", { name: "Sign out" }));
  });

  it("reads on a phone, its tables as cards", async () => {
    const wide = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      expect(
        await page
          .locator("td")
          .first()
          .evaluate((cell) => getComputedStyle(cell).display),
      ).toBe("grid");
      await expectAccessible(page, "a user's page on a phone");
    } finally {
      if (wide) await page.setViewportSize(wide);
    }
  });

  it("lists the event in the audit trail, filtered by type", async () => {
    await navLink("Events").click();
    await page.getByRole("heading", { name: "Events" }).waitFor();
    await page.getByLabel("Event type").selectOption("status_changed");
    await page.getByRole("button", { name: "Filter" }).click();
    await eventually(() => page.locator("tbody tr").count()).toBe(1);
    expect(await page.locator("tbody tr").textContent()).toContain("Status changed");
    await expectAccessible(page, "the events page, filtered");
  });

  it("shows a locked-out user as locked, with the reason, in the table and on their page; a reset code goes out at a press", async () => {
    await navLink("Users").click();
    await page.getByLabel("Email, name or id").fill("hedy");
    await page.getByLabel("Email, name or id").press("Enter");
    const row = page.getByRole("row").filter({ hasText: lockedOut.email });
    await eventually(() => row.getByRole("cell").nth(4).textContent()).toBe(
      "Locked: 100 wrong passwords in a row, until an unlock or a reset",
    );
    await expectAccessible(page, "the users table with a locked-out user");
    await row.getByRole("link", { name: lockedOut.email }).click();
    const signIn = page.getByRole("region", { name: "Sign-in" });
    await eventually(() => signIn.getByRole("listitem").allTextContents()).toEqual([
      "Locked: 100 wrong passwords in a row, until an unlock or a reset",
    ]);
    await expectAccessible(page, "a locked-out user's page");
    await page.screenshot({ path: join(screenshots, "console-locked-out.png") });
    await signIn.getByRole("button", { name: "Send a password-reset code" }).click();
    await page.getByRole("status").filter({ hasText: "A password-reset code is on its way" }).waitFor();
    await eventually(() => stack.subjectsTo(lockedOut.email)).toContainEqual(expect.stringMatching(/reset/i));
  });

  it("unlocks them once the admin confirms, and they sign in with their password again", async () => {
    const signIn = page.getByRole("region", { name: "Sign-in" });
    await signIn.getByRole("button", { name: "Unlock…" }).click();
    const dialog = page.getByRole("dialog", { name: `Unlock Hedy Lamarr (${lockedOut.email})?` });
    expect(await dialog.getByText("100 wrong passwords in a row").count()).toBe(1);
    await expectAccessible(page, "the unlock dialog");
    await dialog.getByRole("button", { name: "Unlock", exact: true }).click();
    await afterStepUp("Unlocked");
    await eventually(() => signIn.getByRole("listitem").allTextContents()).toEqual(["Can sign in"]);
    expect(await stack.subjectsTo(lockedOut.email)).toContainEqual(expect.stringMatching(/takes your password again/));
    expect((await api("/auth/login", { body: { email: lockedOut.email, password: lockedOut.password } })).status).toBe(200);
  });

  it("shows a paused second factor until when, and resets it once confirmed: they sign in with the password alone", async () => {
    await openUser(phoneLost, "mary.ross");
    const signIn = page.getByRole("region", { name: "Sign-in" });
    await eventually(() => signIn.getByRole("listitem").first().textContent()).toMatch(
      /^Second factor paused until .+ after 100 wrong codes$/,
    );
    await signIn.getByRole("button", { name: "Reset second factor…" }).click();
    const dialog = page.getByRole("dialog", { name: `Reset the second factor of Mary Ross (${phoneLost.email})?` });
    await expectAccessible(page, "the factor reset dialog");
    await dialog.getByRole("button", { name: "Reset second factor" }).click();
    await afterStepUp("Second factor reset");
    await eventually(() => signIn.getByRole("listitem").allTextContents()).toEqual(["Can sign in"]);
    expect(await signIn.getByRole("button", { name: "Reset second factor…" }).count()).toBe(0);
    const signedIn = await api("/auth/login", { body: { email: phoneLost.email, password: phoneLost.password } });
    expect(signedIn.status).toBe(200);
  });

  it("reads the trail in words, people by their address linked to their page; the account filter takes an address or an id", async () => {
    await navLink("Events").click();
    const account = page.getByLabel("Account: email or id");
    await account.fill(lockedOut.email);
    await account.press("Enter");
    const sentences = page.getByRole("table", { name: "Events, newest first" }).locator(".sentence");
    await eventually(() => sentences.allTextContents()).toEqual(
      expect.arrayContaining([
        `${admin.email} unlocked ${lockedOut.email} (100 wrong passwords in a row, locked)`,
        `A password-reset code was sent to ${lockedOut.email}`,
        `Sign-in refused for ${lockedOut.email}: the account is locked after 100 wrong passwords`,
        `Sign-in refused for ${lockedOut.email}: wrong password, the 100th in a row`,
      ]),
    );
    await expectAccessible(page, "the events of one account, in words");
    await page.screenshot({ path: join(screenshots, "console-events.png") });
    const byAddress = await sentences.allTextContents();
    const id = new URL(
      await page
        .getByRole("link", { name: lockedOut.email })
        .first()
        .evaluate((link: HTMLAnchorElement) => link.href),
    ).hash;
    await account.fill(id.replace("#/users/", ""));
    await account.press("Enter");
    await eventually(() => sentences.allTextContents()).toEqual(byAddress);

    await account.fill("nobody@coffee.test");
    await account.press("Enter");
    await eventually(() => page.getByRole("alert").textContent()).toContain("No account has the address nobody@coffee.test");
    await expectAccessible(page, "the events page when no account has the address");
    await account.fill(lockedOut.email);
    await account.press("Enter");
    await page.locator(".sentence").getByRole("link", { name: admin.email }).first().click();
    await page.getByRole("heading", { name: admin.email, level: 1 }).waitFor();
  });

  it("shows each user's last sign-in, when, with which client and from where, in the table and on their page", async () => {
    await navLink("Users").click();
    await page.getByLabel("Email, name or id").fill("grace");
    await page.getByLabel("Email, name or id").press("Enter");
    const row = page.getByRole("row").filter({ hasText: target.email });
    await eventually(() => row.locator(".last-sign-in .hint").textContent()).toMatch(/^CoffeeApp 3\.1 on iPhone · /);
    await row.getByRole("link", { name: target.email }).click();
    const details = page.locator(".details");
    await eventually(() => details.textContent()).toContain("CoffeeApp 3.1 on iPhone");
    expect(await page.locator(".details .last-sign-in time").count()).toBe(1);
  });

  it("finds users by name, sorts them, and exports the list as CSV whose lines are the list's users", async () => {
    await navLink("Users").click();
    await page.getByLabel("Email, name or id").fill("hopper");
    await page.getByLabel("Email, name or id").press("Enter");
    const table = page.getByRole("table", { name: "Users" });
    await eventually(() => table.getByRole("link").allTextContents()).toEqual([target.email]);
    expect(await page.getByRole("status").filter({ hasText: "match" }).textContent()).toBe("1 user matches, newest first.");

    await page.getByLabel("Email, name or id").fill("coffee.test");
    await page.getByLabel("Order").selectOption("email");
    await page.getByRole("button", { name: "Search" }).click();
    await eventually(() => page.getByRole("status").filter({ hasText: "match" }).textContent()).toBe("11 users match, by email, A to Z.");
    const listed = await table.getByRole("link").allTextContents();
    expect(listed).toEqual([...listed].sort());
    await expectAccessible(page, "the users table, searched and sorted");

    const csv = await downloadCsv();
    const [header, ...lines] = csv.trimEnd().split("\r\n");
    expect(header?.split(",").slice(0, 3)).toEqual(["id", "email", "first_name"]);
    expect(lines.map((line) => line.split(",")[1])).toEqual(listed);
  });

  it("signs out with the button, which ends the session at the API", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    const token = await login(otherAdmin);
    await eventually(
      async () => (await (await api(`/users/${await userId(token, admin)}/sessions`, { token })).json()) as unknown[],
    ).toEqual([]);
  });

  it("signs out, in words, when the session is ended elsewhere", async () => {
    await signIn(admin);
    await page.getByRole("navigation", { name: "Console" }).waitFor();
    const token = await login(otherAdmin);
    expect((await api(`/users/${await userId(token, admin)}/sessions`, { token, method: "DELETE" })).status).toBe(204);

    await navLink("Users").click();
    await eventually(() => page.getByRole("alert").textContent()).toBe("Your session has ended: sign in again.");
    expect(await page.getByRole("heading", { name: "Sign in" }).isVisible()).toBe(true);
    expect(await page.getByRole("navigation", { name: "Console" }).isVisible()).toBe(false);
  });

  it("signs out after 15 minutes without activity", async () => {
    await signIn(admin);
    await page.getByRole("navigation", { name: "Console" }).waitFor();
    await page.clock.fastForward("15:30");
    await eventually(() => page.getByRole("alert").textContent()).toBe("You were signed out after 15 minutes without activity.");
    expect(await page.locator("main").textContent()).not.toContain(target.email);
  });

  it("ends the session at the API when the page is reloaded, and shows the sign-in form", async () => {
    await signIn(admin);
    await page.getByRole("navigation", { name: "Console" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    const token = await login(otherAdmin);
    await eventually(
      async () => (await (await api(`/users/${await userId(token, admin)}/sessions`, { token })).json()) as unknown[],
    ).toEqual([]);
  });

  it("refuses a non-admin in words; the API answers them 403 on admin routes", async () => {
    await signIn(barista);
    await eventually(() => page.getByRole("alert").textContent()).toContain(`${barista.email} is not an admin account`);
    expect(await page.getByRole("navigation", { name: "Console" }).isVisible()).toBe(false);

    const refused = await api("/users", { token: await login(barista) });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: "forbidden" });
  });

  it("signs an admin with an authenticator app in with its code, after a wrong one refused in words", async () => {
    await signIn(factorAdmin);
    const code = page.getByLabel("Code from your authenticator app");
    await code.waitFor();
    expect(await page.getByLabel("Password", { exact: true }).isVisible()).toBe(false);
    const right = freshCode();
    await code.fill(right === "000000" ? "111111" : "000000");
    await code.press("Enter");
    await eventually(() => page.getByRole("alert").textContent()).toContain("The code is wrong");
    await expectAccessible(page, "the sign-in form's code step with a refusal");
    await code.fill(right);
    await code.press("Enter");
    await page.getByRole("heading", { name: "Users" }).waitFor();
    expect(await page.locator("header").textContent()).toContain(factorAdmin.email);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
  });

  it("lets an admin turn an authenticator app on, shows the recovery codes once, and asks for a code at the next sign-in", async () => {
    await signIn(enrolling);
    await navLink("Your account").click();
    await page.getByRole("button", { name: "Set up an authenticator app" }).waitFor();
    await expectAccessible(page, "your account, without an authenticator app");
    await page.getByLabel("Your password").fill(PASSWORD);
    await page.getByRole("button", { name: "Set up an authenticator app" }).click();
    const secret = (await page.locator("#enrol-secret").textContent()) ?? "";
    // the QR code is drawn, as an image, under the page's CSP
    await eventually(() => page.locator("img.qr").evaluate((image: HTMLImageElement) => image.naturalWidth)).toBeGreaterThan(0);
    await expectAccessible(page, "an authenticator app's enrolment");
    await page.getByLabel("Code the app shows now").fill(authenticatorApp(secret).generate());
    await page.getByLabel("Code the app shows now").press("Enter");
    const list = page.getByRole("list", { name: "Recovery codes" });
    await list.waitFor();
    const codes = await list.locator("li").allTextContents();
    expect(codes).toHaveLength(10);
    await expectAccessible(page, "the recovery codes");
    // the session goes on (the API made it anew, with both factors): admin pages still answer
    await navLink("Users").click();
    await page.getByRole("table", { name: "Users" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();

    await signIn(enrolling);
    const code = page.getByLabel("Code from your authenticator app");
    await code.fill(codes[0] ?? "");
    await code.press("Enter");
    await page.getByRole("heading", { name: "Users" }).waitFor();
    await navLink("Your account").click();
    await page.getByText("On: you signed in with a code").waitFor();
    await expectAccessible(page, "your account, with an authenticator app");
    await page.getByRole("button", { name: "Sign out" }).click();
  });

  it("signs an admin in through the identity provider's own login page, and shows the provider linked on their page; another admin unlinks it", async () => {
    await page.getByRole("link", { name: "Sign in with the local provider" }).click();
    // the provider's page, on its own origin
    await page.getByLabel("Name").fill("ada/console");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    expect(await page.locator("header").textContent()).toContain(providerAdmin.email);
    // the one-time code is gone from the address (and was bound to this tab's verifier: the exchange needed it)
    expect(new URL(page.url()).hash).not.toContain("oidc_code");
    await page.getByLabel("Email, name or id").fill("ada.console");
    await page.getByLabel("Email, name or id").press("Enter");
    await page.getByRole("link", { name: providerAdmin.email }).click();
    const linked = page.getByRole("table", { name: "Your identity providers" });
    await eventually(() => linked.locator("tbody tr").count()).toBe(1);
    expect(await linked.textContent()).toContain("local");
    await expectAccessible(page, "a user's page with a linked identity provider");
    await page.locator("header").getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await expectAccessible(page, "the sign-in form with a provider's button");

    // another admin unlinks it (a provider account taken over): it asks first, then it is gone
    await signIn(admin);
    await navLink("Users").click();
    await page.getByLabel("Email, name or id").fill("ada.console");
    await page.getByLabel("Email, name or id").press("Enter");
    await page.getByRole("link", { name: providerAdmin.email }).click();
    await page.getByRole("table", { name: `Identity providers of ${providerAdmin.email}` }).waitFor();
    await page.getByRole("button", { name: "Unlink the local sign-in" }).click();
    const dialog = page.getByRole("dialog", { name: `Unlink the local sign-in of Ada Byron (${providerAdmin.email})?` });
    await expectAccessible(page, "the dialog that asks before unlinking a provider");
    await dialog.getByRole("button", { name: "Unlink provider" }).click();
    await answerStepUpIfAsked(page.getByRole("status").filter({ hasText: "Unlinked the local sign-in" }));
    await eventually(() => page.getByText("No identity provider is linked.").isVisible()).toBe(true);
    await page.getByRole("button", { name: "Sign out" }).click();
  });

  it("lets an admin add a passkey under “Your account”, sign out, and sign in with it alone, no password typed", async () => {
    // a passkey is bound to a domain, not an address: the stack's relying party is localhost
    await page.goto(`${stack.localUrl}/admin`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    authenticator = await virtualAuthenticator(page);
    await signIn(passkeyHolder);
    await page.getByRole("link", { name: "Your account" }).click();
    await page.getByRole("button", { name: "Add a passkey" }).waitFor();
    await expectAccessible(page, "your account, without a passkey");
    await page.getByLabel("Its name (optional)").fill("Annie's laptop");
    await page.getByLabel("Password, to add a passkey").fill(PASSWORD);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await answerStepUpIfAsked(page.getByRole("status").filter({ hasText: "Added “Annie's laptop”" }));
    const list = page.getByRole("table", { name: "Your passkeys" });
    expect(await list.locator("tbody tr").allTextContents()).toEqual([expect.stringContaining("Annie's laptop")]);
    const { credentials } = await authenticator.devtools.send("WebAuthn.getCredentials", { authenticatorId: authenticator.id });
    expect(credentials.map((credential) => credential.isResidentCredential)).toEqual([true]);
    await expectAccessible(page, "your account, with a passkey");
    await page.getByRole("button", { name: "Sign out" }).click();

    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    const passkeySignIn = Date.now();
    // signed in where the page was (its address still names “Your account”), the passkey now used once
    await page.getByRole("navigation", { name: "Console" }).waitFor();
    expect(await page.locator("header").textContent()).toContain(passkeyHolder.email);
    await eventually(() => list.locator("tbody tr td").nth(2).textContent()).not.toBe("—");
    expect(await page.getByLabel("Password", { exact: true }).count()).toBe(0);
    // the API recorded a passkey's sign-in, not a password's
    const token = await login(admin);
    const events = (await (await api(`/events?type=login_succeeded&user_id=${await userId(token, passkeyHolder)}`, { token })).json()) as {
      details: Record<string, unknown>;
    }[];
    expect(events[0]?.details).toMatchObject({ method: "passkey" });

    // past the step-up window, a change asks for the passkey the session was made with; this authenticator then
    // refuses to make a second passkey of the account (the options exclude the one it holds), in words
    await delay(Math.max(0, passkeySignIn + (STEP_UP_MAX_AGE_SECONDS + 1) * 1000 - Date.now()));
    await page.getByLabel("Password, to add a passkey").fill(PASSWORD);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    const confirm = page.getByRole("dialog", { name: "Confirm it is you" });
    await expectFocused(page, confirm.getByRole("button", { name: "Use your passkey" }));
    await expectAccessible(page, "the step-up dialog of a session made with a passkey");
    await page.keyboard.press("Enter");
    await confirm.waitFor({ state: "detached" });
    await eventually(() => page.getByRole("alert").textContent()).toBe("This authenticator holds a passkey of this account already.");
    await page.getByRole("button", { name: "Sign out" }).click();
  });

  it("lists a user's passkeys on their page; Remove asks first, and the removed passkey signs in no more", async () => {
    await signIn(admin);
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByLabel("Email, name or id").fill("annie");
    await page.getByLabel("Email, name or id").press("Enter");
    await page.getByRole("link", { name: passkeyHolder.email }).click();
    const passkeys = page.getByRole("table", { name: `Passkeys of ${passkeyHolder.email}` });
    await passkeys.waitFor();
    expect(await passkeys.locator("tbody tr").count()).toBe(1);
    await page.getByRole("table", { name: "Events, newest first" }).waitFor();
    await expectAccessible(page, "a user's page with their passkeys");
    await page.getByRole("button", { name: "Remove the passkey Annie's laptop" }).click();
    const dialog = page.getByRole("dialog", { name: `Remove the passkey “Annie's laptop” of Annie Easley (${passkeyHolder.email})?` });
    await expectAccessible(page, "the dialog that asks before removing a passkey");
    await dialog.getByRole("button", { name: "Remove passkey" }).click();
    await answerStepUpIfAsked(page.getByRole("status").filter({ hasText: "Removed the passkey" }));
    await eventually(() => page.getByText("No passkeys.").isVisible()).toBe(true);
    await page.getByRole("button", { name: "Sign out" }).click();

    // the authenticator still holds it; the API refuses it, in words
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await eventually(() => page.getByRole("alert").textContent()).toContain("The passkey's answer was not accepted");
    await expectAccessible(page, "the sign-in form with a passkey refused");
    expect(await page.getByRole("navigation", { name: "Console" }).isVisible()).toBe(false);
    await authenticator.devtools.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: authenticator.id });
  });

  it("saw no CSP violation and no script error", () => {
    expect(cspViolations).toEqual([]);
    expect(scriptErrors).toEqual([]);
  });
});
