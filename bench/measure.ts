// Timing helpers for the benches: plain clocks around real work, printed as a table.

const WARMUP_RUNS = 2;

export interface Row {
  name: string;
  runs: number;
  mean: number;
  median: number;
  min: number;
  max: number;
}

/** Times `work` `runs` times after a warm-up; milliseconds. */
export async function measure(name: string, runs: number, work: () => Promise<unknown>): Promise<Row> {
  for (let run = 0; run < WARMUP_RUNS; run++) await work();
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((sum, time) => sum + time, 0) / runs;
  return { name, runs, mean, median: times[Math.floor(runs / 2)] ?? 0, min: times[0] ?? 0, max: times.at(-1) ?? 0 };
}

/** The rows as an aligned text table. */
export function table(rows: Row[]): string {
  const width = Math.max(...rows.map((row) => row.name.length));
  const columns = ["mean ms", "median", "min", "max", "runs"];
  const header = ["".padEnd(width), ...columns.map((column) => column.padStart(8))].join("  ");
  const lines = rows.map((row) =>
    [
      row.name.padEnd(width),
      ...[row.mean, row.median, row.min, row.max].map((ms) => ms.toFixed(1).padStart(8)),
      String(row.runs).padStart(8),
    ].join("  "),
  );
  return [header, ...lines].join("\n");
}
