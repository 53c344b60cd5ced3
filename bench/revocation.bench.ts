// Cost of the bearer check's revocation lookup inside workerd, against miniflare's KV and Cache API (which
// locally run in the same process, so their CPU is the check's): today's lookup (KV's bulk read of both
// entries plus this location's cache for each) against the one before it (four lookups: KV and cache for
// each entry), interleaved so a busy machine slows both alike. Calls run 20 at a time, so workerd's one
// thread stays busy and the time per call is what the call costs it (workerd's clock is coarse: read the
// means). `npm run bench` prints it.
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { isAccessRevoked, productionEdge, type TokenSession } from "../src/edge/revocations.ts";
import { measure, type Row, table } from "./measure.ts";

declare module "vitest" {
  interface TaskMeta {
    revocation?: Row[];
  }
}

/** The lookup as it was before KV's bulk read (2026-12-01): one KV read and one cache match per entry. */
async function fourLookupsSingleKeys(token: TokenSession): Promise<boolean> {
  const cache = caches.default;
  const lookUp = (key: string) =>
    Promise.allSettled([
      cache.match(new Request(`https://revocations.coffee-shop.internal/${key}`)).then((response) => (response ? response.text() : null)),
      env.REVOCATIONS.get(key),
    ]);
  const [session, user] = await Promise.all([lookUp(`session:${token.sessionId}`), lookUp(`user:${token.userId}`)]);
  return (
    session.some((answer) => answer.status === "fulfilled" && answer.value !== null) ||
    user.some((answer) => answer.status === "fulfilled" && answer.value !== null && Number(answer.value) > token.generation)
  );
}

const RUNS = 60;
/** Calls in flight at once: enough to keep workerd's thread busy, so time per call is its CPU per call. */
const AT_ONCE = 20;

it("prints the cost of the revocation lookup in workerd", { timeout: 120_000 }, async ({ task }) => {
  const edge = productionEdge(env);
  let next = 0;
  // a fresh token each call, as under load (spread over many users and sessions), none revoked
  const token = (): TokenSession => ({ userId: String(1_000_000 + (next++ % 500)), sessionId: crypto.randomUUID(), generation: 0 });
  const rows: Row[] = [];
  // alternate the variants, a block of each at a time, and add the blocks up
  const blocks = 4;
  const totals = new Map<string, Row[]>();
  for (let block = 0; block < blocks; block++) {
    for (const [name, work] of [
      ["before: 4 lookups (2 KV get + 2 cache match)", () => fourLookupsSingleKeys(token())],
      ["now: 1 KV bulk get + 2 cache match", () => isAccessRevoked(edge, token())],
      [
        "cache match alone (one key)",
        () => edge.cache.match(new Request(`https://revocations.coffee-shop.internal/session:${crypto.randomUUID()}`)),
      ],
      ["KV get alone (one key)", () => env.REVOCATIONS.get(`session:${crypto.randomUUID()}`)],
      ["KV bulk get alone (two keys)", () => env.REVOCATIONS.get([`session:${crypto.randomUUID()}`, `user:${next++}`], "text")],
    ] as const) {
      const batch = () => Promise.all(Array.from({ length: AT_ONCE }, (): Promise<unknown> => work()));
      const timed = await measure(name, RUNS / blocks, batch);
      const row = {
        ...timed,
        mean: timed.mean / AT_ONCE,
        median: timed.median / AT_ONCE,
        min: timed.min / AT_ONCE,
        max: timed.max / AT_ONCE,
      };
      totals.set(name, [...(totals.get(name) ?? []), row]);
    }
  }
  for (const [name, parts] of totals) {
    const mean = parts.reduce((sum, part) => sum + part.mean, 0) / parts.length;
    const medians = parts.map((part) => part.median).sort((a, b) => a - b);
    rows.push({
      name,
      runs: RUNS * AT_ONCE,
      mean,
      median: medians[Math.floor(medians.length / 2)] ?? 0,
      min: Math.min(...parts.map((part) => part.min)),
      max: Math.max(...parts.map((part) => part.max)),
    });
  }
  task.meta.revocation = rows;
  console.log(
    `\nThe bearer check's revocation lookup in workerd (miniflare's KV and cache), ms per call, ${AT_ONCE} at a time:\n${table(rows)}\n`,
  );
});
