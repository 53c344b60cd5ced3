import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

type Flags<T extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: T }>>["values"];

/** The command's flags; prints the usage and exits on --help (status 0) or a flag it does not know (2). */
export function parseFlags<T extends ParseArgsOptionsConfig>(options: T, usage: string): Flags<T> {
  if (process.argv.includes("--help")) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs({ options }).values;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    process.exit(2);
  }
}

/** A flag that must be a whole number of at least `min`; prints the usage and exits (2) otherwise. */
export function wholeNumberFlag(flag: string, name: string, usage: string, min = 1): number {
  const value = Number(flag);
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be a whole number of at least ${min}, not "${flag}"\n\n${usage}`);
    process.exit(2);
  }
  return value;
}
