import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { checkBreached } from "../../src/auth/breached-passwords.ts";
import { bearer, client, expectProblem, json, latestCode, login, PASSWORD, seededUser, uniqueEmail } from "./helpers.ts";

const rangeUrl = `${inject("localServicesUrl")}/range`;
const TIMEOUT_MS = 300;

async function sha1Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}

/** A password nobody has used, and the prefix its check asks for: a fault armed for it meets no other test. */
async function freshPassword(): Promise<{ password: string; prefix: string }> {
  const password = `never breached ${crypto.randomUUID()}`;
  return { password, prefix: (await sha1Hex(password)).slice(0, 5) };
}

async function armRangeFault(fault: { mode: "status" | "hang" | "drop"; prefix: string; status?: number; ms?: number }): Promise<void> {
  const response = await fetch(`${rangeUrl}/faults`, json("POST", fault));
  expect(response.status).toBe(200);
}

/** A fetch that records what it was asked and answers `body`, for what only a stand-in can show. */
function fakeRange(body: string, status = 200): { fetch: typeof fetch; requests: Request[] } {
  const requests: Request[] = [];
  return {
    requests,
    fetch: async (input, init) => {
      requests.push(new Request(input, init));
      return new Response(body, { status });
    },
  };
}

afterEach(async () => {
  await fetch(`${rangeUrl}/faults`, { method: "DELETE" });
});

describe("checkBreached against the local range API", () => {
  it.each(["password", "P@ssw0rd", "coffee123"])("finds %j breached, with its count", async (password) => {
    expect(await checkBreached(password, { rangeUrl, timeoutMs: 5_000 })).toEqual({ breached: true, count: expect.any(Number) });
  });

  it("finds the tests' good password not breached", async () => {
    expect(await checkBreached(PASSWORD, { rangeUrl, timeoutMs: 5_000 })).toEqual({ breached: false });
  });

  it("checks the password as it is stored, NFKC-normalised: full-width letters are the same password", async () => {
    expect(await checkBreached("ｐａｓｓｗｏｒｄ", { rangeUrl, timeoutMs: 5_000 })).toMatchObject({ breached: true });
  });

  it("cannot tell when the service hangs, and says so within the bound", async () => {
    const { password, prefix } = await freshPassword();
    await armRangeFault({ mode: "hang", prefix, ms: 3_000 });
    const started = Date.now();
    const check = await checkBreached(password, { rangeUrl, timeoutMs: TIMEOUT_MS });
    expect(check).toEqual({ breached: undefined, reason: `no answer within ${TIMEOUT_MS} ms` });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1_000);
  });

  it.each([503, 429])("cannot tell when the service answers %i", async (status) => {
    const { password, prefix } = await freshPassword();
    await armRangeFault({ mode: "status", prefix, status });
    expect(await checkBreached(password, { rangeUrl, timeoutMs: 5_000 })).toEqual({
      breached: undefined,
      reason: `the range API answered ${status}`,
    });
  });

  it("cannot tell when the connection drops", async () => {
    const { password, prefix } = await freshPassword();
    await armRangeFault({ mode: "drop", prefix });
    expect(await checkBreached(password, { rangeUrl, timeoutMs: 5_000 })).toEqual({
      breached: undefined,
      reason: "the range API could not be reached",
    });
  });
});

describe("checkBreached's request and reading", () => {
  it("sends the first 5 hex digits of the SHA-1 only, upper case, asking for padding", async () => {
    const range = fakeRange("");
    await checkBreached(PASSWORD, { rangeUrl: "https://pwned.test/range", timeoutMs: 1_000, fetch: range.fetch });
    const hash = await sha1Hex(PASSWORD);
    const [request] = range.requests;
    expect(range.requests).toHaveLength(1);
    expect(request?.method).toBe("GET");
    expect(request?.url).toBe(`https://pwned.test/range/${hash.slice(0, 5)}`);
    expect(request?.headers.get("Add-Padding")).toBe("true");
    expect(request?.body).toBeNull();
    const sent = `${request?.url} ${JSON.stringify([...(request?.headers ?? [])])}`;
    expect(sent).not.toContain(hash.slice(5, 10));
    expect(sent).not.toContain(PASSWORD);
  });

  it("ignores padding: the password's own suffix counted 0 is not a breach", async () => {
    const suffix = (await sha1Hex(PASSWORD)).slice(5);
    const range = fakeRange(`${suffix}:0\r\n${"A".repeat(35)}:12`);
    expect(await checkBreached(PASSWORD, { rangeUrl: "https://pwned.test/range", timeoutMs: 1_000, fetch: range.fetch })).toEqual({
      breached: false,
    });
  });

  it("reads the count of its suffix among others, in either case and with either line ending", async () => {
    const suffix = (await sha1Hex(PASSWORD)).slice(5);
    const range = fakeRange(`${"0".repeat(35)}:0\n${suffix.toLowerCase()}:37\r\n${"F".repeat(35)}:2\r\n`);
    expect(await checkBreached(PASSWORD, { rangeUrl: "https://pwned.test/range", timeoutMs: 1_000, fetch: range.fetch })).toEqual({
      breached: true,
      count: 37,
    });
  });

  it("cannot tell from an answer that is not a list of suffixes (a proxy's page, say)", async () => {
    const range = fakeRange("<html>Service temporarily unavailable</html>");
    expect(await checkBreached(PASSWORD, { rangeUrl: "https://pwned.test/range", timeoutMs: 1_000, fetch: range.fetch })).toEqual({
      breached: undefined,
      reason: "the range API's answer was not a list of hash suffixes",
    });
  });
});

describe("new passwords through the API", () => {
  const call = client();

  it("refuses a breached one at signup, reset and change; a refused reset keeps its code", async () => {
    const email = uniqueEmail("breached");
    await expectProblem(await call("/auth/signup", json("POST", { email, password: "P@ssw0rd" })), 422, "password_breached");
    expect((await call("/auth/signup", json("POST", { email, password: PASSWORD }))).status).toBe(201);

    const user = await seededUser();
    await call("/auth/password/forgot", json("POST", { email: user.email }));
    const code = await latestCode(user.email);
    const reset = (new_password: string) => call("/auth/password/reset", json("POST", { email: user.email, code, new_password }));
    await expectProblem(await reset("qwerty123"), 422, "password_breached");
    // the code was not spent on the refused password
    expect((await reset("a brand new passphrase")).status).toBe(200);

    const other = await seededUser();
    const { access_token } = await login(other, call);
    const change = await call(
      "/auth/password/change",
      bearer(access_token, json("POST", { current_password: PASSWORD, new_password: "password" })),
    );
    await expectProblem(change, 422, "password_breached");
    expect((await login(other, call)).access_token).toEqual(expect.any(String));
  });

  it("lets the password through, and says so in the log, when the service does not answer in time", async () => {
    const { password, prefix } = await freshPassword();
    await armRangeFault({ mode: "hang", prefix, ms: 3_000 });
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: unknown) => void lines.push(String(line)));
    const started = Date.now();
    const signup = await client({ env: { PWNED_PASSWORDS_TIMEOUT_MS: String(TIMEOUT_MS) } })(
      "/auth/signup",
      json("POST", { email: uniqueEmail("silent"), password }),
    );
    vi.restoreAllMocks();
    expect(signup.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(lines.join("\n")).toContain("breached-password check unavailable");
  });
});
