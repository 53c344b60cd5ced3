// A login's password work is the same whatever the account holds: a hash imported from the old service
// (bcrypt, cost 12), a current one, or no account at all. Equal work is counted, call by call: the PBKDF2
// derivations the runtime performs and the bcrypt comparisons made (wall time belongs to `npm run bench`).
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { bcrypt } from "../../src/auth/bcrypt.ts";
import { hashPassword, type ImportedHashes, spendPasswordCheckTime, verifyPassword } from "../../src/auth/passwords.ts";
import { getDb } from "../../src/db/client.ts";
import { insertUser } from "../../src/db/users.ts";
import { client, expectProblem, json, uniqueEmail } from "./helpers.ts";

// made by libxcrypt's crypt(3), as passlib's hashes were, at passlib's default cost
const IMPORTED = "$2b$12$Ro0CUfOqk6cXEKf3dyaM7O0YowbpYS2gMk.mznlKcGdBVd8QCqYjO";
const GUESS = "a wrong guess";

interface Work {
  /** Iterations of each PBKDF2 deriveBits call, in order. */
  pbkdf2: number[];
  /** The cost of each bcrypt comparison, in order. */
  bcrypt: number[];
}

/** The password work `action` makes the runtime do: the real functions run, and each call is recorded. */
async function workOf(action: () => Promise<unknown>): Promise<Work> {
  const derive = vi.spyOn(crypto.subtle, "deriveBits");
  const compare = vi.spyOn(bcrypt, "compare");
  try {
    await action();
    return {
      pbkdf2: derive.mock.calls.flatMap(([algorithm]) =>
        typeof algorithm === "object" && algorithm.name === "PBKDF2" ? [Number(algorithm.iterations)] : [],
      ),
      bcrypt: compare.mock.calls.map(([, encoded]) => Number(encoded.split("$")[2])),
    };
  } finally {
    derive.mockRestore();
    compare.mockRestore();
  }
}

const ONE_PBKDF2 = Array<number>(6).fill(100_000);

afterEach(() => vi.restoreAllMocks());

describe("a password check", () => {
  it("is one PBKDF2 of 600,000 iterations, and no bcrypt, while no imported hash remains", async () => {
    const current = await hashPassword("the account's password");
    const expected: Work = { pbkdf2: ONE_PBKDF2, bcrypt: [] };
    expect(await workOf(() => verifyPassword(GUESS, current, "none"))).toEqual(expected);
    expect(await workOf(() => spendPasswordCheckTime(GUESS, "none"))).toEqual(expected);
  });

  it("is one bcrypt at cost 12 and one PBKDF2 of 600,000 for an imported hash, a current one and no account, while imported hashes remain", async () => {
    const current = await hashPassword("the account's password");
    const expected: Work = { pbkdf2: ONE_PBKDF2, bcrypt: [12] };
    const remain: ImportedHashes = "remain";
    expect(await workOf(() => verifyPassword(GUESS, IMPORTED, remain))).toEqual(expected);
    expect(await workOf(() => verifyPassword(GUESS, current, remain))).toEqual(expected);
    expect(await workOf(() => spendPasswordCheckTime(GUESS, remain))).toEqual(expected);
  });
});

// On the database of its own: whether imported hashes remain is a question about the whole table.
describe("a login", () => {
  const isolated = { DATABASE_URL: inject("isolatedDatabaseUrl"), RESEND_BASE_URL: inject("isolatedServicesUrl") };
  const db = getDb(isolated.DATABASE_URL);
  const call = client({ env: isolated });
  const tryLogin = (email: string) => call("/auth/login", json("POST", { email, password: GUESS }));

  it("pays for a bcrypt as well only while an account still holds an imported hash", async () => {
    const current = await insertUser(db, {
      email: uniqueEmail("current"),
      passwordHash: await hashPassword("the account's password"),
      firstName: null,
      lastName: null,
      status: "verified",
      role: "user",
      now: new Date(),
    });
    const imported = await insertUser(db, {
      email: uniqueEmail("imported"),
      passwordHash: IMPORTED,
      firstName: null,
      lastName: null,
      status: "verified",
      role: "user",
      now: new Date(),
    });
    if (!current || !imported) throw new Error("seeding failed");
    const padded: Work = { pbkdf2: ONE_PBKDF2, bcrypt: [12] };
    for (const email of [imported.email, current.email, uniqueEmail("unknown")]) {
      expect(await workOf(async () => expectProblem(await tryLogin(email), 401, "invalid_credentials")), email).toEqual(padded);
    }
    await db.deleteFrom("users").where("id", "=", imported.id).execute();
    const single: Work = { pbkdf2: ONE_PBKDF2, bcrypt: [] };
    for (const email of [current.email, uniqueEmail("unknown")]) {
      expect(await workOf(async () => expectProblem(await tryLogin(email), 401, "invalid_credentials")), email).toEqual(single);
    }
  });
});
