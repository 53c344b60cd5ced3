import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { MigrationError } from "./migration-error.ts";

export interface MigrationFile {
  name: string;
  sql: string;
  /** SHA-256 of the file's bytes, hex: recorded when applied, so later edits are caught. */
  checksum: string;
}

const MIGRATION_NAME = /^(\d{4})_[^/\\]+\.sql$/;

/** The folder's `NNNN_name.sql` files in the order they apply. */
export async function readMigrationFiles(dir: string): Promise<MigrationFile[]> {
  const names = (await listFolder(dir)).filter((name) => name.endsWith(".sql")).sort();
  const seenNumbers = new Map<string, string>();
  for (const name of names) {
    const number = MIGRATION_NAME.exec(name)?.[1];
    if (number === undefined) throw new MigrationError(`${name}: migration files are named NNNN_name.sql`);
    const other = seenNumbers.get(number);
    // Two files with one number (two branches merged) would apply in an order nobody chose.
    if (other !== undefined) throw new MigrationError(`${other} and ${name} share the number ${number}`);
    seenNumbers.set(number, name);
  }
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name));
      return { name, sql: bytes.toString("utf8"), checksum: createHash("sha256").update(bytes).digest("hex") };
    }),
  );
}

async function listFolder(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    throw new MigrationError(`No migrations folder at ${dir}`);
  }
}
