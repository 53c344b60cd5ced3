// Checking a password takes as long whatever the account holds: a hash imported from the old service
// (bcrypt, cost 12), a current one, or no account at all. See verifyPassword for how.
import { expect, it } from "vitest";
import { hashPassword, spendPasswordCheckTime, verifyPassword } from "../../src/auth/passwords.ts";

// made by libxcrypt's crypt(3), as passlib's hashes were, at passlib's default cost
const IMPORTED = "$2b$12$Ro0CUfOqk6cXEKf3dyaM7O0YowbpYS2gMk.mznlKcGdBVd8QCqYjO";
const GUESS = "a wrong guess";
const ROUNDS = 5;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Unpadded, bcrypt at cost 12 takes about four times as long as PBKDF2 at 600,000: these bounds leave room for noise only. */
function expectSameCost(ms: number, currentMs: number, what: string): void {
  const message = `${what}: ${ms.toFixed(1)} ms against ${currentMs.toFixed(1)} ms for a current hash`;
  expect(ms / currentMs, message).toBeGreaterThan(0.8);
  expect(ms / currentMs, message).toBeLessThan(1.25);
}

it("a wrong guess costs the same against an imported bcrypt hash, a current hash and an unknown address", { timeout: 60_000 }, async () => {
  const current = await hashPassword("the account's password");
  const rounds = [];
  // interleaved, so that a slower moment of the machine falls on all three alike; the first round warms up
  for (let round = 0; round <= ROUNDS; round++) {
    rounds.push({
      imported: await timed(() => verifyPassword(GUESS, IMPORTED)),
      current: await timed(() => verifyPassword(GUESS, current)),
      unknown: await timed(() => spendPasswordCheckTime(GUESS)),
    });
  }
  const measured = rounds.slice(1);
  const currentMs = median(measured.map((round) => round.current));
  expectSameCost(median(measured.map((round) => round.imported)), currentMs, "imported bcrypt hash");
  expectSameCost(median(measured.map((round) => round.unknown)), currentMs, "unknown address");
});
