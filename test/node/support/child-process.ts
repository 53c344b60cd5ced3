import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface NodeProcess {
  child: ChildProcess;
  finished: Promise<Finished>;
  /** Resolves with the first match of pattern in its output so far or to come; rejects if it exits first. */
  waitForOutput(pattern: RegExp): Promise<RegExpExecArray>;
}

/** Runs `node <script> ...args` with this Node (24, which runs .ts files), collecting its output. */
export function startNode(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): NodeProcess {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const finished = once(child, "exit").then(([code]: unknown[]) => ({
    code: typeof code === "number" ? code : null,
    stdout,
    stderr,
  }));
  const waitForOutput = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stdout);
        if (match) resolve(match);
        return match !== null;
      };
      if (check()) return;
      const onData = () => check() && child.stdout?.off("data", onData);
      child.stdout?.on("data", onData);
      void finished.then(({ code }) => reject(new Error(`exited (${code}) before printing ${pattern}:\n${stdout}${stderr}`)));
    });
  return { child, finished, waitForOutput };
}

/** A TCP port nothing listens on (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no TCP port");
  return address.port;
}
