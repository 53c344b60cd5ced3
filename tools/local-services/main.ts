import { parseFlags } from "../command-line.ts";
import { DEFAULT_SERVICES_PORT, startLocalServices } from "./server.ts";

const USAGE = `npm run services -- [flags]: the local services (Neon-protocol SQL endpoint, mail catcher, Pwned Passwords range API) in the foreground
  --port N             default ${DEFAULT_SERVICES_PORT}; 0 picks a free port
  --database-url URL   serve this real Postgres instead of the embedded PGlite
  --data-dir DIR       PGlite's data folder (default .local/pglite; memory:// for a throwaway database)
  --sql-latency-ms N   delay every /sql answer by N ms, as the trip from an edge location to the database does`;

const values = parseFlags(
  {
    port: { type: "string", default: String(DEFAULT_SERVICES_PORT) },
    "database-url": { type: "string" },
    "data-dir": { type: "string" },
    "sql-latency-ms": { type: "string", default: "0" },
  },
  USAGE,
);

const sqlLatencyMs = Number(values["sql-latency-ms"]);
if (!Number.isInteger(sqlLatencyMs) || sqlLatencyMs < 0) {
  console.error(`--sql-latency-ms must be a whole number of milliseconds, not "${values["sql-latency-ms"]}"`);
  process.exit(2);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, not "${values.port}"`);
  process.exit(2);
}

try {
  const services = await startLocalServices({
    port,
    databaseUrl: values["database-url"],
    dataDir: values["data-dir"],
    sqlLatencyMs,
    log: (line) => console.log(line),
  });
  const { url } = services;
  console.log(`Local services on ${url}
  SQL endpoint (Neon protocol)  ${url}/sql
  Mail catcher                  ${url}/
  Captured emails (JSON)        ${url}/emails
  Pwned Passwords range API     ${url}/range/{prefix}
  Request counts                ${url}/stats
DATABASE_URL for the Worker:    postgres://local:local@127.0.0.1:${services.port}/coffee
Ctrl-C stops.`);

  const stop = () => {
    console.log("Stopping…");
    services.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`Could not stop cleanly: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  console.error(`Local services could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
