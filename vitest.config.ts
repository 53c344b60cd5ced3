import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

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
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                DATABASE_URL: inject("databaseUrl"),
                JWT_PRIVATE_KEYS: inject("jwtPrivateKeys"),
                HASH_SECRET: inject("hashSecret"),
                RESEND_API_KEY: "re_test_key",
                RESEND_BASE_URL: inject("localServicesUrl"),
                MAIL_FROM: "Coffee Shop <no-reply@coffee.test>",
              },
            },
          })),
        ],
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
