import { fileURLToPath } from "node:url";

// Resolved from this file, so the tools behave the same from any working directory.

/** Where the embedded database (PGlite) keeps its files between runs; git-ignored. */
export const defaultPgliteDir = fileURLToPath(new URL("../.local/pglite", import.meta.url));

export const defaultMigrationsDir = fileURLToPath(new URL("../migrations", import.meta.url));
