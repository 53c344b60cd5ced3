// Cost of password hashing inside workerd. `vitest bench` does not run in the Workers pool (workers-sdk issue
// 10049), so this is a test file that times the work itself and prints a table: `npm run bench`.
import { hash as bcryptHash } from "bcryptjs";
import { it } from "vitest";
import { hashPassword, spendPasswordCheckTime, verifyPassword } from "../src/auth/passwords.ts";
import { chainedPbkdf2, importPbkdf2Key, pbkdf2Block } from "../src/auth/pbkdf2.ts";

const PASSWORD = "correct horse battery staple";
// bcrypt cost 12, passlib's default and so the old service's, made by libxcrypt's crypt(3).
const BCRYPT_12 = "$2b$12$Ro0CUfOqk6cXEKf3dyaM7O0YowbpYS2gMk.mznlKcGdBVd8QCqYjO";
const WARMUP_RUNS = 2;

interface Row {
  name: string;
  runs: number;
  mean: number;
  median: number;
  min: number;
  max: number;
}

async function measure(name: string, runs: number, work: () => Promise<unknown>): Promise<Row> {
  for (let run = 0; run < WARMUP_RUNS; run++) await work();
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((sum, time) => sum + time, 0) / runs;
  return { name, runs, mean, median: times[Math.floor(runs / 2)] ?? 0, min: times[0] ?? 0, max: times.at(-1) ?? 0 };
}

function table(rows: Row[]): string {
  const width = Math.max(...rows.map((row) => row.name.length));
  const columns = ["mean ms", "median", "min", "max", "runs"];
  const header = ["".padEnd(width), ...columns.map((column) => column.padStart(8))].join("  ");
  const lines = rows.map((row) =>
    [
      row.name.padEnd(width),
      ...[row.mean, row.median, row.min, row.max].map((ms) => ms.toFixed(1).padStart(8)),
      String(row.runs).padStart(8),
    ].join("  "),
  );
  return [header, ...lines].join("\n");
}

it("prints the cost of each password operation in workerd", { timeout: 120_000 }, async () => {
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
    await measure("verifyPassword, bcrypt cost 12 (old)", 5, () => verifyPassword(PASSWORD, BCRYPT_12)),
    await measure("verifyPassword, bcrypt cost 4", 10, () => verifyPassword(PASSWORD, oldBcrypt4)),
  ];
  console.log(`\nPassword hashing in workerd (${navigator.userAgent}), ms per call:\n${table(rows)}\n`);
});
