// The Worker's logs: one JSON line each, with the request id where there is one. Workers observability
// already records every invocation (method, path, status, duration), so lines are written only for what
// it cannot know: errors, security events and failures of the services the API depends on. Logs are read
// by more people than the database is: never put a password, code, token or query string in one.

export type LogLevel = "info" | "warn" | "error";

export type LogFields = Record<string, string | number | boolean | null | undefined | object>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const WRITERS: Record<LogLevel, (line: string) => void> = {
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

function write(level: LogLevel, msg: string, context: LogFields, fields: LogFields | undefined): void {
  WRITERS[level](JSON.stringify({ level, msg, ...context, ...fields }));
}

/** A logger whose every line carries `context` (the request id, say). */
export function createLogger(context: LogFields = {}): Logger {
  return {
    info: (msg, fields) => write("info", msg, context, fields),
    warn: (msg, fields) => write("warn", msg, context, fields),
    error: (msg, fields) => write("error", msg, context, fields),
  };
}

/** An error as a log field: its name and message, never a driver's internals beyond that. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
