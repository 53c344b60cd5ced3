import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";

/** What every use case needs from the outside world, so any layer can be called from a test. */
export interface ServiceContext {
  db: Db;
  config: Config;
  kv: KVNamespace;
  now: Date;
  /** Work to finish after the response (waitUntil on Workers). */
  defer: (work: Promise<unknown>) => void;
}

export function secondsAfter(date: Date, seconds: number): Date {
  return new Date(date.getTime() + seconds * 1000);
}
