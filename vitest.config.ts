import { defineConfig } from "vitest/config";
import { workersPool } from "./vitest.workers.ts";

export default defineConfig({
  test: {
    // one JSON line per request is the Worker's production log; in test output it is noise
    onConsoleLog: (log) => !log.includes('"msg":"request"'),
    projects: [
      {
        // Node-side tooling: the local services' protocol conformance, the mail catcher, migrations.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The Worker, inside workerd, called the way a client calls it.
        plugins: [workersPool()],
        test: {
          name: "workers",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["./test/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
