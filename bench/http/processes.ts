// The processes a benchmark starts: each in its own process group, stopped with everything it spawned,
// and the CPU time the Worker runtime spends, read from /proc.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

export interface Started {
  process: ChildProcess;
  /** Everything it started, by process group. */
  stop(): Promise<void>;
  output(): string;
  /** The JSON lines it printed (a Worker's own log), the last thousand. */
  logLines(): string[];
}

const running = new Set<Started>();

/** Starts `command` in a session of its own, keeping the last of its output for error messages. */
export function startGroup(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Started {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let partial = "";
  const logLines: string[] = [];
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    logLines.push(...lines.filter((line) => line.startsWith("{")));
    logLines.splice(0, logLines.length - 1000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const started: Started = {
    process: child,
    output: () => output,
    logLines: () => [...logLines],
    async stop() {
      running.delete(started);
      if (child.pid === undefined || child.exitCode !== null) return;
      signalGroup(child.pid, "SIGTERM");
      for (let wait = 0; wait < 50 && child.exitCode === null; wait++) await delay(100);
      signalGroup(child.pid, "SIGKILL");
    },
  };
  running.add(started);
  return started;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Stops everything still running: on the way out, on Ctrl-C, and on a failure. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((started) => started.stop()));
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void stopAll().then(() => process.exit(130)));
}

interface ProcStat {
  pid: number;
  comm: string;
  session: number;
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields from state (3rd of stat): session is the 6th of stat, utime and stime the 14th and 15th
    return { pid, comm, session: Number(fields[3]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** The workerd processes of a session (wrangler dev runs two: its proxy and the Worker). */
export function workerdProcesses(session: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((stat): stat is ProcStat => stat !== undefined && stat.session === session && stat.comm === "workerd")
    .map((stat) => stat.pid);
}

// USER_HZ is 100 on Linux on every architecture this runs on
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) the processes have used so far, in ms. */
export function cpuMs(pids: number[]): number {
  return pids.reduce((total, pid) => total + ((readStat(pid)?.cpuTicks ?? 0) * 1000) / TICKS_PER_SECOND, 0);
}
