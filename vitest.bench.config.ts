import { defineConfig } from "vitest/config";
import { workersPool } from "./vitest.workers.ts";

// `npm run bench`: timings taken inside workerd, the runtime production uses, against the same local
// services as the tests. `vitest bench` does not work in the Workers pool (workers-sdk issue 10049),
// so the bench files are plain test files that print their numbers.
export default defineConfig({
  plugins: [workersPool()],
  test: {
    name: "bench",
    include: ["bench/**/*.bench.ts"],
    globalSetup: ["./test/global-setup.ts"],
    fileParallelism: false,
    // the hashing figures (each test's meta) for the goals bench/http/main.ts prints
    reporters: ["default", "json"],
    outputFile: { json: "bench/results-hashing.json" },
  },
});
