import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new empty folder under the system's temp folder, removed by the returned function. */
export async function tempFolder(label: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `coffee-${label}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Writes files (name → content) into folder. */
export async function writeFiles(folder: string, files: Record<string, string>): Promise<void> {
  await Promise.all(Object.entries(files).map(([name, content]) => writeFile(join(folder, name), content)));
}
