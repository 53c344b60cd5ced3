// Cost of password hashing inside workerd. `vitest bench` does not run in the Workers pool (workers-sdk issue
// 10049), so this is a test file that times the work itself and prints a table: `npm run bench`.
import { compare as bcryptCompare, hash as bcryptHash } from "bcryptjs";
import { it } from "vitest";
import { hashPassword, spendPasswordCheckTime, verifyPassword } from "../src/auth/passwords.ts";
import { chainedPbkdf2, importPbkdf2Key, pbkdf2Block } from "../src/auth/pbkdf2.ts";
import { measure, type Row, table } from "./measure.ts";

const PASSWORD = "correct horse battery staple";
// bcrypt cost 12, passlib's default and so the old service's, made by libxcrypt's crypt(3).
const BCRYPT_12 = "$2b$12$Ro0CUfOqk6cXEKf3dyaM7O0YowbpYS2gMk.mznlKcGdBVd8QCqYjO";
declare module "vitest" {
  interface TaskMeta {
    /** The rows, for bench/http/main.ts's goals (read from the JSON report vitest.bench.config.ts writes). */
    hashing?: Row[];
  }
}

it("prints the cost of each password operation in workerd", { timeout: 120_000 }, async ({ task }) => {
  const encoder = new TextEncoder();
  const key = await importPbkdf2Key(encoder.encode(PASSWORD));
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const current = await hashPassword(PASSWORD);
  const oldBcrypt4 = await bcryptHash(PASSWORD, 4);

  const rows = [
    await measure("deriveBits PBKDF2-SHA256 100k (one call)", 20, () => pbkdf2Block(key, salt, 100_000, "SHA-256")),
    await measure("deriveBits PBKDF2-SHA512 100k (one call)", 20, () => pbkdf2Block(key, salt, 100_000, "SHA-512")),
    await measure("PBKDF2-SHA512 210k (3 x 70k, OWASP alt.)", 10, () =>
      chainedPbkdf2(encoder.encode(PASSWORD), salt, { digest: "SHA-512", iterations: 210_000, perCall: 70_000 }),
    ),
    await measure("hashPassword (SHA256 600k = 6 x 100k)", 10, () => hashPassword(PASSWORD)),
    await measure("verifyPassword, current PBKDF2, right", 10, () => verifyPassword(PASSWORD, current)),
    await measure("verifyPassword, current PBKDF2, wrong", 10, () => verifyPassword("wrong password", current)),
    await measure("spendPasswordCheckTime (unknown email)", 10, () => spendPasswordCheckTime(PASSWORD)),
    // an imported hash (`npm run users -- import`), checked at the same cost as the rows above: every check
    // runs one bcrypt at cost 12 and one PBKDF2 at 600k, the one the hash does not need against a stand-in
    await measure("verifyPassword, imported bcrypt 12, right", 10, () => verifyPassword(PASSWORD, BCRYPT_12)),
    await measure("verifyPassword, imported bcrypt 12, wrong", 10, () => verifyPassword("wrong password", BCRYPT_12)),
    await measure("verifyPassword, bcrypt cost 4 (not padded up)", 10, () => verifyPassword(PASSWORD, oldBcrypt4)),
    // the two halves of every check
    await measure("chainedPbkdf2 SHA256 600k alone", 10, () =>
      chainedPbkdf2(encoder.encode(PASSWORD), salt, { digest: "SHA-256", iterations: 600_000, perCall: 100_000 }),
    ),
    await measure("bcryptjs compare, cost 12 alone", 5, () => bcryptCompare(PASSWORD, BCRYPT_12)),
  ];
  task.meta.hashing = rows;
  console.log(`\nPassword hashing in workerd (${navigator.userAgent}), ms per call:\n${table(rows)}\n`);
});
