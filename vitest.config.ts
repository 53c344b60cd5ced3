import { defineConfig } from "vitest/config";
import { workersPool } from "./vitest.workers.ts";

export default defineConfig({
  test: {
    // both cores: the node project waits on child processes and sockets while the Worker's files compute
    maxWorkers: 2,
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
          // files share a runtime instead of starting one each: every test makes its own users and sessions
          isolate: false,
          globalSetup: ["./test/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
