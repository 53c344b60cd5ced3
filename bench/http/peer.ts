// The Better Auth peer (bench/peer.sh), run from `npm run bench` between our own passes, so both are
// measured in one session on one machine. When the peer's folder is absent (or it fails to start), the
// bench goes on without it and says so: the peer is a reference point, never a reason for CI to fail.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

const ROOT = join(import.meta.dirname, "..", "..");

/** One operation of the peer, in the shape of our rows. */
export interface PeerRow {
  endpoint: string;
  connections: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  sql_round_trips: number;
  cpu_ms: number;
  peer: true;
}

export type PeerRun = { rows: PeerRow[]; seconds: number } | { skipped: string };

const PeerResult = z.object({
  rows: z.array(
    z.object({
      op: z.string(),
      reqPerSec: z.number(),
      p50ms: z.number(),
      p99ms: z.number(),
      errors: z.number(),
      non2xx: z.number(),
      mismatches: z.number(),
      timeouts: z.number(),
      sqlHttpPerOp: z.number(),
      workerdCpuMsPerReq: z.number().nullable(),
    }),
  ),
});

/** The peer's names for its operations, as our tables name them. */
const NAMES: Record<string, string> = {
  "sign-in": "peer: POST /api/auth/sign-in/email",
  "get-session": "peer: GET /api/auth/get-session",
  "floor (/ping)": "peer: floor (/ping)",
};

export const PEER_SIGN_IN = NAMES["sign-in"] ?? "";
export const PEER_GET_SESSION = NAMES["get-session"] ?? "";

/** Where peer.sh keeps its working copy (with its installed dependencies) between runs. */
const WORK_DIR = process.env.PEER_WORK_DIR ?? join(tmpdir(), "coffee-peer-bench");

export async function runPeer(options: { sqlLatencyMs: number; connections: number; seconds: number }): Promise<PeerRun> {
  const started = Date.now();
  let output = "";
  const code = await new Promise<number>((resolve) => {
    const child = spawn("bash", [join(ROOT, "bench", "peer.sh"), String(options.sqlLatencyMs)], {
      cwd: ROOT,
      env: { ...process.env, CONNECTIONS: String(options.connections), DURATION: String(options.seconds), PEER_WORK_DIR: WORK_DIR },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-20_000));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("exit", (status) => resolve(status ?? 1));
    child.on("error", () => resolve(127));
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (code === 2) return { skipped: output.trim().split("\n").at(-1) ?? "no peer" };
  if (code !== 0) return { skipped: `peer.sh exited with ${code}:\n${output.trim().split("\n").slice(-15).join("\n")}` };
  const results = join(WORK_DIR, "results");
  const newest = existsSync(results)
    ? readdirSync(results)
        .filter((name) => /^result-.*\.json$/.test(name))
        .map((name) => join(results, name))
        .filter((path) => statSync(path).mtimeMs >= started)
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
    : undefined;
  if (!newest) return { skipped: `peer.sh wrote no results in ${results}` };
  const parsed = PeerResult.parse(JSON.parse(readFileSync(newest, "utf8")));
  return {
    seconds,
    rows: parsed.rows.map((row) => ({
      endpoint: NAMES[row.op] ?? `peer: ${row.op}`,
      connections: options.connections,
      rps: row.reqPerSec,
      p50_ms: row.p50ms,
      p99_ms: row.p99ms,
      errors: row.errors + row.non2xx + row.mismatches + row.timeouts,
      sql_round_trips: row.sqlHttpPerOp,
      cpu_ms: row.workerdCpuMsPerReq ?? 0,
      peer: true,
    })),
  };
}
