import { describe, expect, it } from "vitest";
import {
  api,
  client,
  countRoundTrips,
  expectProblem,
  failNextMail,
  json,
  latestCode,
  mailTo,
  manualClock,
  PASSWORD,
  uniqueEmail,
  verifiedUser,
} from "./helpers.ts";

const signup = (body: unknown, call = api) => call("/auth/signup", json("POST", body));
const verify = (email: string, code: string, call = api) => call("/auth/verify", json("POST", { email, code, password: PASSWORD }));

function otherCode(code: string): string {
  return code === "000000" ? "111111" : "000000";
}

describe("POST /auth/signup", () => {
  it("creates an unverified user, mails a code, and costs one round trip before the response", async () => {
    const email = uniqueEmail();
    const { result: response, roundTrips } = await countRoundTrips((call) =>
      signup({ email: `  ${email.toUpperCase()} `, password: PASSWORD, first_name: "Ada", last_name: "Lovelace" }, call),
    );
    expect(response.status).toBe(201);
    const user = await response.json<Record<string, unknown>>();
    expect(user).toEqual({
      id: expect.any(Number),
      email,
      first_name: "Ada",
      last_name: "Lovelace",
      status: "unverified",
      role: "user",
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      deletion_due_at: null,
    });
    // 1 before the response (user + code + outbox in one statement) + 1 after it (marking the mail sent)
    expect(roundTrips).toBe(2);
    const [mail] = await mailTo(email);
    // subjects are kept after sending and shown in previews: never a code there
    expect(mail?.subject).not.toMatch(/\d{6}/);
    expect(mail?.text).toContain(await latestCode(email));
  });

  it("is 409 for an address an account has proved, whatever its case or spaces", async () => {
    const { email } = await verifiedUser();
    await expectProblem(await signup({ email: ` ${email.toUpperCase()}`, password: PASSWORD }), 409, "email_taken");
  });

  it.each([
    ["missing email", { password: PASSWORD }, "email"],
    ["missing password", { email: "a@b.co" }, "password"],
    ["bad email", { email: "not-an-email", password: PASSWORD }, "email"],
    ["email too long", { email: `${"a".repeat(250)}@b.co`, password: PASSWORD }, "email"],
    ["short password", { email: "a@b.co", password: "1234567" }, "password"],
    ["long password", { email: "a@b.co", password: "x".repeat(129) }, "password"],
    ["wrong type", { email: "a@b.co", password: 12345678 }, "password"],
    ["unknown field", { email: "a@b.co", password: PASSWORD, role: "admin" }, "role"],
    ["name too long", { email: "a@b.co", password: PASSWORD, first_name: "x".repeat(101) }, "first_name"],
  ])("refuses %s with 422 naming the field", async (_, body, field) => {
    const problem = await expectProblem(await signup(body), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toContain(field);
  });

  it.each([
    ["a right-to-left override (U+202E)", "Bob\u202Egnp.exe", "U+202E"],
    ["a first-strong isolate (U+2068)", "\u2068Ada", "U+2068"],
    ["a line break", "Ada\nLovelace", "U+000A"],
    ["a zero-width space", "A\u200Bda", "U+200B"],
  ])("refuses a name with %s: 422 naming the field and the character", async (_, name, codePoint) => {
    const problem = await expectProblem(
      await signup({ email: uniqueEmail(), password: PASSWORD, last_name: name }),
      422,
      "validation_failed",
    );
    expect(problem.errors).toEqual([{ in: "json", field: "last_name", message: expect.stringContaining(codePoint) }]);
  });

  it("accepts names in any script, with the joiners some scripts and emoji need", async () => {
    const names = { first_name: "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", last_name: "\u{1F469}\u200D\u{1F4BB} 李" };
    expect((await signup({ email: uniqueEmail(), password: PASSWORD, ...names })).status).toBe(201);
  });

  it.each([
    ["8 characters", "x".repeat(8)],
    ["128 characters", "x".repeat(128)],
    ["128 emoji (256 UTF-16 units)", "😀".repeat(128)],
  ])("accepts a password of %s", async (_, password) => {
    expect((await signup({ email: uniqueEmail(), password })).status).toBe(201);
  });

  it("refuses 129 emoji: the upper limit counts characters too", async () => {
    const problem = await expectProblem(await signup({ email: uniqueEmail(), password: "😀".repeat(129) }), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toEqual(["password"]);
  });

  it("counts password length in characters, not UTF-16 units", async () => {
    // seven emoji are 14 UTF-16 units but 7 characters: too short
    const problem = await expectProblem(await signup({ email: uniqueEmail(), password: "☕😀😀😀😀😀😀" }), 422, "validation_failed");
    expect(problem.errors?.[0]?.field).toBe("password");
    expect((await signup({ email: uniqueEmail(), password: "😀".repeat(8) })).status).toBe(201);
  });

  it("still signs up when email cannot be sent, and keeps the message for a retry", async () => {
    const email = uniqueEmail();
    await failNextMail(1, undefined, email);
    const response = await signup({ email, password: PASSWORD });
    expect(response.status).toBe(201);
    expect(await mailTo(email)).toEqual([]);
  });
});

describe("POST /auth/verify", () => {
  it("verifies with the right code, once, in two round trips: the code checked, then the proof", async () => {
    const email = uniqueEmail();
    await signup({ email, password: PASSWORD });
    const code = await latestCode(email);
    const { result: response, roundTrips } = await countRoundTrips((call) => verify(email, code, call));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: expect.any(String) });
    expect(roundTrips).toBe(2);
    await expectProblem(await verify(email, code), 400, "code_invalid");
  });

  it("is 400 code_invalid for a wrong code and for an address with no code", async () => {
    const email = uniqueEmail();
    await signup({ email, password: PASSWORD });
    await expectProblem(await verify(email, otherCode(await latestCode(email))), 400, "code_invalid");
    await expectProblem(await verify(uniqueEmail(), "123456"), 400, "code_invalid");
  });

  it("is 400 code_invalid after the code's lifetime, by the clock, as for a wrong code", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail();
    await signup({ email, password: PASSWORD }, call);
    const code = await latestCode(email);
    clock.advance(10 * 60 + 1);
    const expired = await expectProblem(await verify(email, code, call), 400, "code_invalid");
    const wrong = await expectProblem(await verify(email, otherCode(code), call), 400, "code_invalid");
    expect(expired.detail).toBe(wrong.detail);
  });

  it("accepts the code just before it expires", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail();
    await signup({ email, password: PASSWORD }, call);
    clock.advance(10 * 60 - 1);
    expect((await verify(email, await latestCode(email), call)).status).toBe(200);
  });

  it("refuses even the right code after 5 wrong tries, with the same answer", async () => {
    const email = uniqueEmail();
    await signup({ email, password: PASSWORD });
    const code = await latestCode(email);
    for (let attempt = 0; attempt < 5; attempt++) {
      await expectProblem(await verify(email, otherCode(code)), 400, "code_invalid");
    }
    await expectProblem(await verify(email, code), 400, "code_invalid");
  });

  it("accepts the right code on the fifth try", async () => {
    const email = uniqueEmail();
    await signup({ email, password: PASSWORD });
    const code = await latestCode(email);
    for (let attempt = 0; attempt < 4; attempt++) {
      await expectProblem(await verify(email, otherCode(code)), 400, "code_invalid");
    }
    expect((await verify(email, code)).status).toBe(200);
  });

  it.each([
    ["a short code", { email: "a@b.co", code: "12345" }],
    ["letters", { email: "a@b.co", code: "12a456" }],
    ["a number", { email: "a@b.co", code: 123456 }],
    ["no email", { code: "123456" }],
  ])("refuses %s with 422", async (_, body) => {
    await expectProblem(await api("/auth/verify", json("POST", body)), 422, "validation_failed");
  });
});

describe("POST /auth/verify/resend", () => {
  const resend = (email: string, call = api) => call("/auth/verify/resend", json("POST", { email }));

  it("sends a fresh code, and the old one dies", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail();
    await signup({ email, password: PASSWORD }, call);
    const first = await latestCode(email);
    clock.advance(61);
    expect((await resend(email, call)).status).toBe(202);
    const mails = await mailTo(email);
    expect(mails).toHaveLength(2);
    const second = await latestCode(email);
    if (first !== second) await expectProblem(await verify(email, first, call), 400, "code_invalid");
    expect((await verify(email, second, call)).status).toBe(200);
  });

  it("sends at most one code a minute per address", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail();
    await signup({ email, password: PASSWORD }, call);
    clock.advance(30);
    expect((await resend(email, call)).status).toBe(202);
    expect(await mailTo(email)).toHaveLength(1);
    clock.advance(31);
    expect((await resend(email, call)).status).toBe(202);
    expect(await mailTo(email)).toHaveLength(2);
  });

  it("answers the same for unknown and verified addresses, and sends nothing", async () => {
    const unknown = uniqueEmail();
    const verified = await verifiedUser();
    const mailsBefore = (await mailTo(verified.email)).length;
    const answers = [await resend(unknown), await resend(verified.email)];
    const bodies = await Promise.all(answers.map((answer) => answer.json()));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
    expect(bodies[0]).toEqual(bodies[1]);
    expect(await mailTo(unknown)).toEqual([]);
    expect(await mailTo(verified.email)).toHaveLength(mailsBefore);
  });
});
